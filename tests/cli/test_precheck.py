"""The CLI's check of a command line accepts what Hydra accepts and names every problem in one message."""

import yaml

from conftest import run_cli


def _job_cfg(res):
    assert res.returncode == 0, res.stderr
    return yaml.safe_load(res.stdout)


def _allowed(stderr: str) -> list[str]:
    return stderr.split("allowed: ", 1)[1].split("\n", 1)[0].split(", ")


def test_env_interpolation_for_an_int_is_accepted_and_resolved():
    res = run_cli(["train.max_steps=${oc.env:GX_STEPS,100}", "--cfg", "job", "--resolve"], env={"GX_STEPS": "77"})
    assert _job_cfg(res)["train"]["max_steps"] == 77


def test_env_interpolation_is_checked_once_resolved():
    res = run_cli(["train.max_steps=${oc.env:GX_STEPS,100}", "--cfg", "job"], env={"GX_STEPS": "abc"})
    assert res.returncode == 2
    assert "train.max_steps: 'abc' is not a valid int" in res.stderr


def test_interpolation_to_another_key_is_accepted():
    cfg = _job_cfg(run_cli(["optimizer.head_lr=${optimizer.encoder_lr}", "optimizer.encoder_lr=0.003",
                            "--cfg", "job", "--resolve"]))
    assert cfg["optimizer"]["head_lr"] == cfg["optimizer"]["encoder_lr"] == 0.003


def test_interpolation_in_a_run_is_accepted(tmp_path):
    res = run_cli(["experiment=smoke", "train.max_steps=${oc.env:GX_STEPS,100}", "run.dry_run=true",
                   f"run.dir={tmp_path}"], env={"GX_STEPS": "3"}, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "not a valid" not in res.stderr


def test_a_users_own_group_option_from_config_dir(tmp_path):
    (tmp_path / "mine" / "loss").mkdir(parents=True)
    (tmp_path / "mine" / "loss" / "myfocal.yaml").write_text("type: focal\ngamma: 3.5\n")
    cfg = _job_cfg(run_cli(["--config-dir", str(tmp_path / "mine"), "loss=myfocal", "--cfg", "job"]))
    assert cfg["loss"]["gamma"] == 3.5
    res = run_cli(["-cd", str(tmp_path / "mine"), "loss=nope", "--cfg", "job"])
    assert res.returncode == 2
    assert "loss=nope: no such option" in res.stderr
    assert {"focal", "myfocal"} <= set(_allowed(res.stderr))


def test_a_users_option_on_hydra_searchpath(tmp_path):
    (tmp_path / "loss").mkdir()
    (tmp_path / "loss" / "mine.yaml").write_text("gamma: 4.0\n")
    cfg = _job_cfg(run_cli([f"hydra.searchpath=[file://{tmp_path}]", "loss=mine", "--cfg", "job"]))
    assert cfg["loss"]["gamma"] == 4.0


def test_launcher_from_the_searchpath_plugin_is_accepted():
    res = run_cli(["hydra/launcher=slurm", "--cfg", "hydra"])
    assert res.returncode == 0, res.stderr
    assert "submitit" in res.stdout


def test_shell_completion_works_as_in_plain_hydra():
    res = run_cli(["--shell-completion", "install=bash"])
    assert res.returncode == 0, res.stderr
    assert "COMP_LINE" in res.stdout
    res = run_cli(["-sc", "query=bash"], env={"COMP_LINE": "gliner-exp loss="})
    assert res.returncode == 0, res.stderr
    assert "loss=focal" in res.stdout.split()


def test_each_value_of_a_sweep_is_checked(tmp_path):
    res = run_cli(["-m", "loss.gamma=0,20", "loss=focal,nope", f"hydra.sweep.dir={tmp_path}"])
    assert res.returncode == 2
    assert "loss.gamma: 20 is out of range; allowed: [0.0, 10.0]" in res.stderr
    assert "loss=nope: no such option" in res.stderr
    assert not any(tmp_path.iterdir())  # nothing launched


def test_field_and_cross_field_problems_of_a_run_come_in_one_message(tmp_path):
    res = run_cli(["loss.masking=bogus", "hub.push=true", f"run.dir={tmp_path}"])
    assert res.returncode == 2
    assert res.stderr.count("\n  - ") == 2
    assert "loss.masking: 'bogus' is not allowed" in res.stderr
    assert "hub.model_id: required when hub.push is true" in res.stderr
    assert not any(tmp_path.iterdir())  # rejected before Hydra made the run directory


def test_a_rule_about_a_rejected_value_is_not_reported(tmp_path):
    # With train.epochs rejected, "set exactly one of max_steps and epochs" would be about the default.
    res = run_cli(["train.max_steps=null", "train.epochs=abc", f"run.dir={tmp_path}"])
    assert res.returncode == 2
    assert res.stderr.count("\n  - ") == 1
    assert "train.epochs: 'abc' is not a valid float" in res.stderr


def test_hydra_keys_pass_through():
    res = run_cli(["hydra.job.chdir=false", "+hydra.job.env_set.GX_X=1", "--cfg", "job"])
    assert res.returncode == 0, res.stderr
