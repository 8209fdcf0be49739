"""wandb online with no route to its server: the run logs offline with one warning, fast, and keeps its id."""

import json
import socket
import threading
from pathlib import Path

import pytest

from conftest import TINY, run_cli

KEY = "feedfacecafebeef" * 2 + "deadbeef"  # a fake 40-character API key, distinctive enough to grep for
CLOSED_PORT = "http://127.0.0.1:9"  # discard: nothing listens, connections are refused at once


def _run(tmp_path: Path, base_url: str, init_timeout: int):
    # Waiting out wandb's init timeout (WANDB_INIT_TIMEOUT) instead of probing the server shows as a timeout here.
    return run_cli([*TINY, "logger=wandb", "train.max_steps=40", f"run.dir={tmp_path}"], timeout=300,
                   env={"WANDB_API_KEY": KEY, "WANDB_BASE_URL": base_url, "WANDB_INIT_TIMEOUT": str(init_timeout)})


def _assert_logged_offline(res, run_dir: Path, base_url: str):
    assert res.returncode == 0, res.stderr[-3000:]
    assert "Traceback" not in res.stderr and "CommError" not in res.stderr
    assert f"gliner_exp: warning: wandb: cannot reach {base_url}" in res.stderr
    assert "logging offline" in res.stderr and "wandb sync " in res.stderr
    run_id = json.loads((run_dir / "wandb_run.json").read_text())["id"]
    assert [p.name.rsplit("-", 1)[1] for p in (run_dir / "wandb").glob("offline-run-*")] == [run_id]
    assert (run_dir / "metrics.json").is_file() and (run_dir / "checkpoints").is_dir()


def _files_holding(root: Path, secret: str) -> list[str]:
    return [str(p) for p in root.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


def test_unreachable_server_logs_offline_fast_and_writes_no_secret(tmp_path):
    res = _run(tmp_path, CLOSED_PORT, init_timeout=900)
    _assert_logged_offline(res, tmp_path, CLOSED_PORT)
    assert _files_holding(tmp_path, KEY) == []


@pytest.fixture
def mute_server():
    """A local port that accepts connections and closes them unanswered (a server that is there but broken)."""
    srv = socket.create_server(("127.0.0.1", 0))
    srv.settimeout(0.2)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.getsockname()[1]}"
    stop.set()
    thread.join()
    srv.close()


@pytest.mark.slow  # a whole run plus wandb's 5 s init timeout
def test_server_that_fails_wandb_init_falls_back_to_offline(tmp_path, mute_server):
    res = _run(tmp_path, mute_server, init_timeout=5)  # reachable, so wandb.init itself fails, after 5 s
    _assert_logged_offline(res, tmp_path, mute_server)
    assert _files_holding(tmp_path, KEY) == []


@pytest.mark.slow  # two runs
def test_a_run_logged_offline_resumes_under_its_wandb_id(tmp_path):
    first = _run(tmp_path, CLOSED_PORT, init_timeout=900)
    _assert_logged_offline(first, tmp_path, CLOSED_PORT)
    run_id = json.loads((tmp_path / "wandb_run.json").read_text())["id"]
    res = run_cli([*TINY, "logger=wandb", "train.max_steps=80", f"run.dir={tmp_path}"], timeout=300,
                  env={"WANDB_API_KEY": KEY, "WANDB_BASE_URL": CLOSED_PORT})
    assert res.returncode == 0, res.stderr[-3000:]
    assert json.loads((tmp_path / "metrics.json").read_text())["resumed_from"].endswith("checkpoint-40")
    assert json.loads((tmp_path / "wandb_run.json").read_text())["id"] == run_id
    assert {p.name.rsplit("-", 1)[1] for p in (tmp_path / "wandb").glob("offline-run-*")} == {run_id}
    assert _files_holding(tmp_path, KEY) == []
