"""A run asking for a GPU that torch cannot see fails before anything loads; a dry run only warns."""

from conftest import TINY, run_cli

NO_GPU = {"CUDA_VISIBLE_DEVICES": ""}  # what torch sees on a node without a GPU, on any machine


def test_cuda_run_without_a_visible_gpu_fails_before_loading(tmp_path):
    res = run_cli([*TINY, "hardware=gpu", f"run.dir={tmp_path}"], env=NO_GPU, timeout=300)
    assert res.returncode == 2, res.stderr[-2000:]
    assert ("gliner_exp: invalid configuration:\n  - hardware.device=cuda: torch sees no CUDA device "
            "(torch.cuda.is_available() is False; CUDA_VISIBLE_DEVICES='';") in res.stderr
    assert "hardware=cpu" in res.stderr
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "resolved").exists()  # stopped before the model was built
    assert not (tmp_path / "checkpoints").exists() and not (tmp_path / "model").exists()


def test_dry_run_without_a_visible_gpu_warns_and_goes_on(tmp_path):
    res = run_cli([*TINY, "hardware=gpu", "run.dry_run=true", f"run.dir={tmp_path}"], env=NO_GPU, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "gliner_exp: warning: hardware.device=cuda: torch sees no CUDA device" in res.stderr
    assert (tmp_path / "resolved" / "training_args.json").is_file()
