"""TensorBoard and Weights & Biases for a run, set up from the ``logger`` group.

:func:`trainer_callbacks` returns HF's own TensorBoard and wandb callbacks,
configured by us (``TrainingArguments.report_to`` stays ``none`` so the Trainer
does not add unconfigured duplicates):

* TensorBoard: HF's ``TensorBoardCallback`` with its log dir set to
  ``<run dir>/<logger.tensorboard.subdir>`` (transformers 5 removed
  ``TrainingArguments.logging_dir``; its other knob, ``TENSORBOARD_LOGGING_DIR``,
  is process-wide and would leak between the jobs of a multirun).
* wandb: :class:`WandbRunCallback`, HF's ``WandbCallback`` that first starts
  the run itself with :func:`wandb_init_kwargs` (project, entity, group = the
  sweep, job_type, tags, notes, mode, the resolved config as plain containers,
  and an id kept in ``<run dir>/wandb_run.json``: a run that resumes from a
  checkpoint continues its wandb run, one that starts over gets a new id).

:func:`finish` ends the wandb run; ``train()`` and the sweep's job wrapper call
it, so sequential jobs of a multirun never log into each other. Everything is
inspectable without training: :func:`plan` describes it as JSON.

Secrets (``WANDB_API_KEY``, ``HF_TOKEN``, ...) are never written: :func:`redact`
scrubs their values from everything gliner_exp writes or sends to wandb.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any, Mapping

WANDB_ID_FILE = "wandb_run.json"
_SECRET_NAME = re.compile(r"(TOKEN|API_KEY|APIKEY|SECRET|PASSWORD|PASSWD|CREDENTIAL)", re.I)
REDACTED = "***"


# --------------------------------------------------------------------------- secrets
def secret_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """Values of environment variables whose names look secret (longest first)."""
    env = os.environ if environ is None else environ
    values = {v for k, v in env.items() if _SECRET_NAME.search(k) and v and len(v) >= 6}
    return sorted(values, key=len, reverse=True)


def redact(obj: Any, secrets: list[str] | None = None) -> Any:
    """``obj`` with every secret value (see :func:`secret_values`) in its strings replaced by ``***``."""
    secrets = secret_values() if secrets is None else secrets
    if not secrets:
        return obj
    if isinstance(obj, str):
        for value in secrets:
            obj = obj.replace(value, REDACTED)
        return obj
    if isinstance(obj, Mapping):
        return {redact(k, secrets): redact(v, secrets) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(redact(v, secrets) for v in obj)
    return obj


# --------------------------------------------------------------------------- what a run would use
def _slot(cfg: Any, name: str) -> Any:
    logger = cfg.get("logger") if isinstance(cfg, Mapping) else getattr(cfg, "logger", None)
    if logger is None:
        return None
    return logger.get(name) if isinstance(logger, Mapping) else getattr(logger, name, None)


def _get(node: Any, key: str, default: Any = None) -> Any:
    if node is None:
        return default
    if isinstance(node, Mapping):
        return node.get(key, default)
    return getattr(node, key, default)


def tensorboard_dir(cfg: Any, run_dir: str | Path) -> Path | None:
    """``<run dir>/<logger.tensorboard.subdir>``, or None without the tensorboard logger."""
    tb = _slot(cfg, "tensorboard")
    if tb is None:
        return None
    sub = Path(str(_get(tb, "subdir") or "tensorboard"))
    if sub.is_absolute() or ".." in sub.parts:
        from gliner_exp.config.errors import ConfigError

        raise ConfigError([f"logger.tensorboard.subdir: {str(sub)!r} must be a relative path inside the run dir"])
    return Path(run_dir) / sub


def wandb_mode(wcfg: Any, environ: Mapping[str, str] | None = None) -> str:
    """``logger.wandb.mode``, with ``auto`` = $WANDB_MODE, else online iff WANDB_API_KEY is set."""
    env = os.environ if environ is None else environ
    mode = _get(wcfg, "mode", "auto")
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
    ``run_id`` is filled in by :func:`start` (None here: decided at start).
    """
    wcfg = _slot(cfg, "wandb")
    if wcfg is None:
        return None
    ctx = _context(context)
    run = _get(cfg, "run")
    plain = _plain(cfg)
    multirun = ctx.get("mode") == "MULTIRUN"
    group = _get(wcfg, "group")
    if group is None and multirun and ctx.get("sweep_dir"):
        group = Path(ctx["sweep_dir"]).name
    tags = list(dict.fromkeys([*(_get(wcfg, "tags") or []), *(_get(run, "tags") or [])]))
    notes = "\n\n".join(n for n in (_get(wcfg, "notes") or "", _get(run, "description") or "") if n) or None
    name = (ctx.get("override_dirname") if multirun else None) or _get(run, "name")
    plain["job"] = {k: ctx.get(k) for k in ("mode", "overrides", "job_num", "sweep_dir")}
    kwargs = dict(
        project=_get(wcfg, "project"),
        entity=_get(wcfg, "entity"),
        group=group,
        job_type=_get(wcfg, "job_type"),
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


def plan(cfg: Any, run_dir: str | Path, context: dict | None = None) -> dict:
    """What the selected loggers would do for this run, as JSON (no secrets, no wandb import)."""
    wandb_kwargs = wandb_init_kwargs(cfg, run_dir, context=context)
    csv_cfg = _slot(cfg, "csv")
    tb = tensorboard_dir(cfg, run_dir)
    return {
        "csv": str(Path(run_dir) / _get(csv_cfg, "filename")) if csv_cfg is not None else None,
        "tensorboard": str(tb) if tb is not None else None,
        "wandb": ({k: v for k, v in wandb_kwargs.items() if k != "config"} if wandb_kwargs else None),
    }


def trainer_callbacks(cfg: Any, run_dir: str | Path, context: dict | None = None) -> list:
    """HF's TensorBoard / wandb callbacks, configured for this run (empty without those loggers)."""
    callbacks: list = []
    tb = tensorboard_dir(cfg, run_dir)
    if tb is not None:
        from transformers.integrations import TensorBoardCallback

        callback = TensorBoardCallback()
        callback.logging_dir = str(tb)  # read in on_train_begin; never the process-wide env
        callbacks.append(callback)
    kwargs = wandb_init_kwargs(cfg, run_dir, context=context)
    if kwargs is not None:
        callbacks.append(_wandb_callback_class()(kwargs))
    return callbacks


_WANDB_CALLBACK: type | None = None


def _wandb_callback_class() -> type:
    global _WANDB_CALLBACK
    if _WANDB_CALLBACK is not None:
        return _WANDB_CALLBACK
    from transformers.integrations import WandbCallback

    class WandbRunCallback(WandbCallback):
        """HF's WandbCallback on a run started with gliner_exp's settings (see :func:`start`)."""

        def __init__(self, init_kwargs: dict):
            super().__init__()
            self.init_kwargs = init_kwargs

        def setup(self, args, state, model, **kwargs):
            if state.is_world_process_zero and self._wandb.run is None:
                # on_train_begin runs after a checkpoint's state is restored: step > 0 means resumed.
                start_with(self.init_kwargs, resumed=state.global_step > 0)
            super().setup(args, state, model, **kwargs)

    _WANDB_CALLBACK = WandbRunCallback
    return WandbRunCallback


# --------------------------------------------------------------------------- lifecycle
def start(cfg: Any, run_dir: str | Path, resumed: bool, context: dict | None = None) -> Any:
    """Begin this run's wandb run (no-op without the wandb logger); returns it."""
    kwargs = wandb_init_kwargs(cfg, run_dir, context=context)
    return None if kwargs is None else start_with(kwargs, resumed)


def start_with(init_kwargs: dict, resumed: bool) -> Any:
    """``wandb.init(**init_kwargs)`` with this run dir's id: the stored one when ``resumed``, else a new one.

    Resuming continues the wandb run (``resume="allow"``; the x axis is the
    trainer's global step, which keeps increasing).
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
    return wandb.init(**kwargs)


def log_final(metrics: Mapping[str, Any]) -> None:
    """Final dev/test scores into the wandb run's summary (no-op without an active run)."""
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
