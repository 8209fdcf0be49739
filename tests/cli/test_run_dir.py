"""``run.dir=<dir>`` on the command line: Hydra's own output (config, overrides, log) goes there too."""

from __future__ import annotations

import yaml

from conftest import run_cli
from gliner_exp.cli.main import hydra_dir_follows_run_dir


def test_a_given_run_dir_holds_the_runs_config_log_and_overrides(tmp_path):
    run_dir = tmp_path / "scratch" / "r1"
    done = run_cli(["experiment=smoke", f"run.dir={run_dir}", "run.dry_run=true"], cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    overrides = yaml.safe_load((run_dir / ".hydra" / "overrides.yaml").read_text())
    assert overrides == ["experiment=smoke", f"run.dir={run_dir}", "run.dry_run=true"]  # as the model card quotes
    assert (run_dir / "gliner_exp.log").stat().st_size > 0
    assert (run_dir / "resolved").is_dir()
    assert not (tmp_path / "outputs").exists()  # nothing under Hydra's default outputs/runs/...


def test_sweeps_and_an_explicit_hydra_dir_are_left_as_given():
    argv = ["gliner_exp", "run.dir=/r", "loss.gamma=0"]
    assert hydra_dir_follows_run_dir(argv) == ["gliner_exp", "hydra.run.dir=/r", "run.dir=/r", "loss.gamma=0"]
    assert hydra_dir_follows_run_dir(["gliner_exp", "-m", "run.dir=/r"]) == ["gliner_exp", "-m", "run.dir=/r"]
    explicit = ["gliner_exp", "run.dir=/r", "hydra.run.dir=/h"]
    assert hydra_dir_follows_run_dir(explicit) == explicit
    assert hydra_dir_follows_run_dir(["gliner_exp", "loss.gamma=0"]) == ["gliner_exp", "loss.gamma=0"]
