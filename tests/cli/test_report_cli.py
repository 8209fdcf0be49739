"""``python -m gliner_exp.cli.report``: the sweep summary from the command line."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import REPO

from gliner_exp.cli.report import main


def test_report_cli_on_empty_and_missing_dirs(tmp_path, capsys):
    assert main([str(tmp_path / "nope")]) == 2
    assert "not a directory" in capsys.readouterr().err
    assert main([str(tmp_path), "--no-plots"]) == 1
    assert "no jobs found" in capsys.readouterr().err


def test_report_cli_summarises_a_sweep(tmp_path):
    job = tmp_path / "loss.gamma=2"
    job.mkdir()
    (job / "status.json").write_text(json.dumps({"status": "ran", "overrides": ["loss.gamma=2"],
                                                 "total_wall_time_s": 1.0}))
    (job / "metrics.json").write_text(json.dumps({"global_step": 4, "dev_f1": 0.5, "test_f1": 0.25}))
    out = tmp_path / "elsewhere"
    proc = subprocess.run([sys.executable, "-m", "gliner_exp.cli.report", str(tmp_path), "--out", str(out),
                           "--no-plots"], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert "best dev_f1 0.5000: loss.gamma=2" in proc.stdout
    assert (out / "summary.md").is_file() and not (out / "curves.png").exists()


def test_report_cli_help():
    proc = subprocess.run([sys.executable, "-m", "gliner_exp.cli.report", "--help"], capture_output=True,
                          text=True, cwd=REPO)
    assert proc.returncode == 0
    assert proc.stdout.startswith("usage: python -m gliner_exp.cli.report [-h] [--out OUT]")
    assert "--objective OBJECTIVE" in proc.stdout and "--no-plots" in proc.stdout
