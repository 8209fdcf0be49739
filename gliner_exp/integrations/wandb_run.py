"""Weights & Biases for a run: its ``wandb.init`` settings, the id kept for resume, its lifecycle.

:func:`wandb_callback` is HF's ``WandbCallback`` that first starts the run
itself with :func:`wandb_init_kwargs` (project, entity, group = the sweep,
job_type, tags, notes, mode, the resolved config as plain containers, and an
id kept in ``<run dir>/wandb_run.json``: a run that resumes from a checkpoint
continues its wandb run, one that starts over gets a new id).

:func:`finish` ends the wandb run; ``train()`` and the job runner call it, so
sequential jobs of a multirun never log into each other. Secrets never reach
wandb (:func:`gliner_exp.integrations.redaction.redact`).

An online run whose server cannot be reached (a compute node without internet)
logs offline instead, under the same id, with one warning that says how to
upload it (``wandb sync``): a quick probe of the server comes first, so the run
does not wait out wandb's init timeout; a server that is reachable but fails
``wandb.init`` gets the same fallback.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import socket
import sys
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Mapping

from gliner_exp.integrations.logger_slots import logger_slot, node_get
from gliner_exp.integrations.redaction import redact

WANDB_ID_FILE = "wandb_run.json"
#: Seconds the probe of the wandb server waits for a TCP connection.
PROBE_TIMEOUT_S = 5.0

log = logging.getLogger(__name__)


def wandb_mode(wcfg: Any, environ: Mapping[str, str] | None = None) -> str:
    """``logger.wandb.mode``, with ``auto`` = $WANDB_MODE, else online iff WANDB_API_KEY is set."""
    env = os.environ if environ is None else environ
    mode = node_get(wcfg, "mode", "auto")
    if mode != "auto":
        return mode
    if env.get("WANDB_MODE") in ("online", "offline", "disabled"):
        return env["WANDB_MODE"]
    if env.get("WANDB_MODE") == "dryrun":
        return "offline"
    return "online" if env.get("WANDB_API_KEY") else "offline"


def _plain(cfg: Any) -> dict:
    from omegaconf import DictConfig, OmegaConf

    if isinstance(cfg, DictConfig):
        plain = OmegaConf.to_container(cfg, resolve=True)
    else:
        plain = json.loads(json.dumps(cfg, default=str))
    return {k: v for k, v in plain.items() if k != "hydra"}


def _context(context: dict | None) -> dict:
    if context is not None:
        return context
    from gliner_exp.integrations.hydra_job import job_context

    return job_context()


def new_wandb_id() -> str:
    """A fresh wandb-style run id (8 characters of [a-z0-9])."""
    import secrets
    import string

    return "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(8))


def stored_wandb_id(run_dir: str | Path) -> str | None:
    """The wandb run id this run dir used last, if any."""
    try:
        data = json.loads((Path(run_dir) / WANDB_ID_FILE).read_text())
    except (OSError, ValueError):
        return None
    return data.get("id") if isinstance(data, dict) else None


def wandb_init_kwargs(cfg: Any, run_dir: str | Path, *, run_id: str | None = None,
                      context: dict | None = None, environ: Mapping[str, str] | None = None) -> dict | None:
    """The ``wandb.init`` keywords for this run, or None without the wandb logger.

    ``context`` is :func:`gliner_exp.integrations.hydra_job.job_context` (looked up when None);
    ``run_id`` is filled in by :func:`start_with` (None here: decided at start).
    """
    wcfg = logger_slot(cfg, "wandb")
    if wcfg is None:
        return None
    ctx = _context(context)
    run = node_get(cfg, "run")
    plain = _plain(cfg)
    multirun = ctx.get("mode") == "MULTIRUN"
    group = node_get(wcfg, "group")
    if group is None and multirun and ctx.get("sweep_dir"):
        group = Path(ctx["sweep_dir"]).name
    tags = list(dict.fromkeys([*(node_get(wcfg, "tags") or []), *(node_get(run, "tags") or [])]))
    notes = "\n\n".join(n for n in (node_get(wcfg, "notes") or "", node_get(run, "description") or "") if n) or None
    name = (ctx.get("override_dirname") if multirun else None) or node_get(run, "name")
    plain["job"] = {k: ctx.get(k) for k in ("mode", "overrides", "job_num", "sweep_dir")}
    kwargs = dict(
        project=node_get(wcfg, "project"),
        entity=node_get(wcfg, "entity"),
        group=group,
        job_type=node_get(wcfg, "job_type"),
        name=name,
        tags=[str(t) for t in tags],
        notes=notes,
        mode=wandb_mode(wcfg, environ),
        dir=str(run_dir),
        id=run_id,
        resume="allow",
        config=plain,
    )
    return redact(kwargs)


def wandb_callback(cfg: Any, run_dir: str | Path, context: dict | None = None) -> Any | None:
    """The Trainer callback that starts and logs this run's wandb run; None without the wandb logger."""
    kwargs = wandb_init_kwargs(cfg, run_dir, context=context)
    return None if kwargs is None else _wandb_callback_class()(kwargs)


@functools.cache  # one class per process: built on first use, so importing this module needs no transformers
def _wandb_callback_class() -> type:
    from transformers.integrations import WandbCallback

    class WandbRunCallback(WandbCallback):
        """HF's WandbCallback on a run started with gliner_exp's settings (see :func:`start_with`)."""

        def __init__(self, init_kwargs: dict):
            super().__init__()
            self.init_kwargs = init_kwargs

        def setup(self, args, state, model, **kwargs):
            if state.is_world_process_zero and self._wandb.run is None:
                # on_train_begin runs after a checkpoint's state is restored: step > 0 means resumed.
                start_with(self.init_kwargs, resumed=state.global_step > 0)
            super().setup(args, state, model, **kwargs)

    return WandbRunCallback


def start_with(init_kwargs: dict, resumed: bool) -> Any:
    """``wandb.init(**init_kwargs)`` with this run dir's id: the stored one when ``resumed``, else a new one.

    Resuming continues the wandb run (``resume="allow"``; the x axis is the
    trainer's global step, which keeps increasing). An online run whose server
    cannot be reached logs offline under that id, with one warning.
    """
    finish()  # never log into a previous job's run
    import wandb

    kwargs = dict(init_kwargs)
    run_dir = Path(kwargs["dir"])
    run_id = stored_wandb_id(run_dir) if resumed else None
    if run_id is None:
        run_id = new_wandb_id()
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / WANDB_ID_FILE).write_text(json.dumps({"id": run_id, "project": kwargs["project"],
                                                     "entity": kwargs["entity"], "group": kwargs["group"]},
                                                    indent=2) + "\n")
    kwargs["id"] = run_id
    return _init_online(wandb, kwargs) if kwargs.get("mode") == "online" else wandb.init(**kwargs)


def _init_online(wandb: Any, kwargs: dict) -> Any:
    """``wandb.init`` online; where the server cannot be used, offline under the same id, with one warning."""
    base_url = wandb.setup().settings.base_url  # WANDB_BASE_URL, `wandb login --host`, or wandb's default
    why = server_unreachable(base_url)
    if why is None:
        try:
            return wandb.init(**kwargs)
        except wandb.errors.AuthenticationError:
            raise  # a rejected key is the user's to fix; logging offline would only hide it
        except wandb.errors.CommError as exc:  # reachable, but no answer in wandb's init timeout
            why = str(exc).strip().splitlines()[0]
            wandb.teardown()  # the failed attempt still holds the run id in wandb's service
    run = wandb.init(**{**kwargs, "mode": "offline"})
    _warn(f"wandb: cannot reach {base_url} ({why}); logging offline under the same run id {kwargs['id']}: "
          f"upload later with `wandb sync {run.settings.sync_dir}` (or set WANDB_MODE=offline, or "
          "logger.wandb.mode=offline, to skip the attempt)")
    return run


def server_unreachable(base_url: str, timeout: float = PROBE_TIMEOUT_S) -> str | None:
    """Why no TCP connection to the wandb server ``base_url`` opens within ``timeout`` s, or None if one does.

    Where the environment names a proxy for it (``https_proxy`` ...), the proxy is probed instead.
    """
    url = urllib.parse.urlsplit(base_url)
    proxy = urllib.request.getproxies().get(url.scheme)
    if proxy and url.hostname and not urllib.request.proxy_bypass(url.hostname):
        url = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    if not url.hostname:
        return None  # not a URL this probe understands: leave it to wandb
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname, port), timeout=timeout):
            return None
    except OSError as exc:
        return f"{url.hostname}:{port}: {exc.strerror or exc}"


def _warn(message: str) -> None:
    # stderr (where the CLI prints its own words) and the job's log file.
    print(f"gliner_exp: warning: {message}", file=sys.stderr, flush=True)
    log.warning("%s", message)


def log_final(metrics: Mapping[str, Any]) -> None:
    """Final dev/test scores into the wandb run's summary (no-op without an active run)."""
    # sys.modules, not an import: a run without the wandb logger never loads wandb
    wandb = sys.modules.get("wandb")
    if wandb is None or getattr(wandb, "run", None) is None:
        return
    wandb.run.summary.update({f"final/{k}": v for k, v in metrics.items()
                              if isinstance(v, (int, float)) and not isinstance(v, bool)})


def finish(exit_code: int | None = None) -> None:
    """End the active wandb run, if any (safe to call any number of times)."""
    wandb = sys.modules.get("wandb")
    if wandb is None or getattr(wandb, "run", None) is None:
        return
    wandb.finish(exit_code=exit_code)
