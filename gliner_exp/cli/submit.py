"""Submit a sweep and return at once: ``python -m gliner_exp.cli.submit ARGS``.

``ARGS`` are those of ``python -m gliner_exp -m ARGS`` (``-m`` is added), e.g.::

    python -m gliner_exp.cli.submit hydra/launcher=slurm experiment=smoke 'run.seed=1,2,3'

The multirun client (Hydra + submitit, which submits the jobs and then waits
for them) is started as a detached background process in its own session, so
closing the terminal does not stop it. This command waits until the client has
queued its first jobs (``--submit-wait-s``, default 300 s), prints their SLURM
job ids, where the sweep goes and how to follow and collect it, and exits 0.

The background client is the ordinary one: requeued jobs (preemption, time
limit) are waited for like any other, and ``<sweep dir>/summary/`` is written
when the last job ends. If the client dies (logout on a login node that kills
sessions, a reboot), the jobs run on; ``python -m gliner_exp.cli.report <sweep dir>``
builds the same summary from the job directories at any time, also mid-sweep.

Files: ``<sweep dir>/submit.json`` (client pid/host, command, job ids) and
``<sweep dir>/submit.log`` (the client's whole output).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback

from gliner_exp.training.artifacts import write_json

INFO_ENV = "GLINER_EXP_SUBMIT_INFO"
LOG_ENV = "GLINER_EXP_SUBMIT_LOG"
CALLBACK = "+hydra.callbacks.gliner_exp_submit._target_=gliner_exp.cli.submit.SubmitCallback"
_JOB_DIR = re.compile(r"^(\d+)(?:_(\d+))?$")


class SubmitCallback(Callback):
    """In the background client: tell the submitting command the sweep dir; log into it from then on."""

    def on_multirun_start(self, config: Any, **kwargs: Any) -> None:
        info_path = os.environ.get(INFO_ENV)
        if not info_path:
            return
        sweep_dir = Path(str(config.hydra.sweep.dir)).resolve()
        sweep_dir.mkdir(parents=True, exist_ok=True)
        log_path = sweep_dir / "submit.log"
        early = os.environ.get(LOG_ENV)
        with open(log_path, "a", encoding="utf-8") as out:
            if early and Path(early).is_file():
                out.write(Path(early).read_text(encoding="utf-8", errors="replace"))
        sys.stdout.flush()
        sys.stderr.flush()
        fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
        write_json(info_path, {"sweep_dir": str(sweep_dir), "pid": os.getpid(), "log": str(log_path)})


def _split_args(argv: list[str]) -> tuple[dict, list[str]]:
    opts = {"wait_s": 300.0}
    rest: list[str] = []
    it = iter(argv)
    for arg in it:
        if arg.startswith("--submit-wait-s"):
            value = arg.split("=", 1)[1] if "=" in arg else next(it, "300")
            opts["wait_s"] = float(value)
        elif arg == "--":
            rest.extend(it)
        else:
            rest.append(arg)
    if not any(a in ("-m", "--multirun") for a in rest):
        rest.insert(0, "-m")
    return opts, rest


def submitted_jobs(sweep_dir: str | Path, since: float = 0.0) -> dict[str, list[str]]:
    """``{job or array id: [job ids]}`` of the submitit job folders under ``<sweep dir>/.submitit``."""
    root = Path(sweep_dir) / ".submitit"
    found: dict[str, list[str]] = {}
    if not root.is_dir():
        return found
    for path in sorted(root.iterdir()):
        m = _JOB_DIR.match(path.name)
        if not m or not path.is_dir():
            continue
        try:
            if path.stat().st_mtime < since - 1:
                continue  # an earlier submission of the same sweep dir
        except OSError:
            continue
        found.setdefault(m.group(1), []).append(path.name)
    for base, ids in found.items():
        if any("_" in j for j in ids):  # an array: <id>/ only holds the sbatch script
            ids[:] = [j for j in ids if "_" in j]
        ids.sort(key=lambda j: int(j.split("_")[1]) if "_" in j else -1)
    return found


def _describe(jobs: dict[str, list[str]]) -> str:
    parts = []
    for base, ids in jobs.items():
        if len(ids) == 1 and ids[0] == base:
            parts.append(base)
        else:
            parts.append(f"{base}_[{','.join(j.split('_')[1] for j in ids)}] (array {base})")
    return ", ".join(parts)


def _tail(path: Path, n: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("-h", "--help") for a in argv):
        print(__doc__)
        return 0
    opts, args = _split_args(argv)
    work = Path(tempfile.mkdtemp(prefix="gliner_exp_submit_"))
    info_path, early_log = work / "info.json", work / "client.log"
    env = dict(os.environ, **{INFO_ENV: str(info_path), LOG_ENV: str(early_log), "PYTHONUNBUFFERED": "1"})
    cmd = [sys.executable, "-m", "gliner_exp", *args, CALLBACK]
    started = time.time()
    with open(early_log, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True, cwd=os.getcwd())
    shown = "python -m gliner_exp " + " ".join(shlex.quote(a) for a in args)
    deadline = started + opts["wait_s"]
    sweep_dir: Path | None = None
    client_log = early_log
    jobs: dict[str, list[str]] = {}
    settled_at: float | None = None
    while time.time() < deadline:
        rc = proc.poll()
        if sweep_dir is None and info_path.is_file():
            info = json.loads(info_path.read_text())
            sweep_dir, client_log = Path(info["sweep_dir"]), Path(info["log"])
        if sweep_dir is not None:
            now_jobs = submitted_jobs(sweep_dir, since=started)
            if now_jobs != jobs:
                jobs, settled_at = now_jobs, time.time()
            elif jobs and settled_at is not None and time.time() - settled_at > 1.0:
                break  # an array is submitted by one sbatch call: nothing more is coming for now
        if rc is not None:
            if rc != 0:
                print(f"gliner_exp.cli.submit: the sweep client failed (exit {rc}): {shown}\n{_tail(client_log)}",
                      file=sys.stderr)
                return rc
            break
        time.sleep(0.2)
    rc = proc.poll()
    if sweep_dir is not None:  # the client copied its early log into <sweep dir>/submit.log
        shutil.rmtree(work, ignore_errors=True)
    record = {"command": shown, "cwd": os.getcwd(), "client_pid": proc.pid, "host": socket.gethostname(),
              "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
              "jobs": jobs, "client_log": str(client_log)}
    if sweep_dir is not None:
        write_json(sweep_dir / "submit.json", record)
    where = str(sweep_dir) if sweep_dir is not None else "(not known yet; see the log)"
    if jobs:
        ids = [j for ids in jobs.values() for j in ids]
        print(f"submitted {len(ids)} job(s): {_describe(jobs)}")
    elif rc == 0:
        print("the sweep already finished (nothing was queued, e.g. every job was complete)")
    else:
        print(f"no SLURM job seen within {opts['wait_s']:.0f}s (a local launcher, or still composing); "
              "the client goes on in the background")
    print(f"sweep dir: {where}")
    if rc is None:
        print(f"client:    pid {proc.pid} on {socket.gethostname()}, log {client_log}; it writes "
              f"{where}/summary/ when the last job ends")
    follow = [f"squeue -j {','.join(jobs)}"] if jobs else []
    follow.append(f"tail -f {client_log}")
    print("follow:    " + "   |   ".join(follow))
    print(f"collect:   python -m gliner_exp.cli.report {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
