"""benchmarks/gpu_check.py: the dry run plans every GPU check with its command; its judgements are right."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from conftest import REPO, SHARED_DATA, TINY

SPEC = importlib.util.spec_from_file_location("gpu_check", REPO / "benchmarks" / "gpu_check.py")
gpu_check = importlib.util.module_from_spec(SPEC)
sys.modules["gpu_check"] = gpu_check  # its dataclasses look their module up while being defined
SPEC.loader.exec_module(gpu_check)

PLANNED = ["precision/fp32", "precision/tf32", "precision/bf16", "precision/fp16", "resume/bf16", "resume/fp16",
           "compile", "grad_checkpointing", "zero2/save", "zero2/resume", "zero3/save", "zero3/resume",
           "fsdp/save", "fsdp/resume"]


def test_dry_run_plans_every_check_with_its_command(tmp_path):
    proc = subprocess.run([sys.executable, "benchmarks/gpu_check.py", "--dry-run", "--out", str(tmp_path)],
                          cwd=REPO, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    rows = {r["check"]: r for r in report["rows"]}
    md = (tmp_path / "gpu_check.md").read_text()
    for check in PLANNED:
        row = rows[check]
        assert row["status"] == "planned", row
        assert row["commands"], check
        assert f"| {check} | planned |" in md
        assert all(c in md for c in row["commands"])
        assert "pre-check ok" in row["dry_run"] and "exit " not in row["dry_run"], row["dry_run"]

    def cmds(check):
        return "\n".join(rows[check]["commands"])

    for check, preset in [("precision/fp32", "hardware=gpu "), ("precision/bf16", "hardware=gpu_bf16"),
                          ("precision/fp16", "hardware=gpu_fp16"), ("precision/tf32", "hardware.tf32=true"),
                          ("compile", "model.compile=true"), ("grad_checkpointing", "model.gradient_checkpointing=true")]:
        assert preset in cmds(check) and "model=minilm" in cmds(check), check
    for name in ("zero2", "zero3", "fsdp"):
        assert "-m torch.distributed.run --standalone --nproc_per_node 1" in cmds(f"{name}/save")
        assert f"hardware=gpu_{name}" in cmds(f"{name}/save")
        assert " reload --run-dir " in cmds(f"{name}/save")  # GLiNER.from_pretrained(strict=True) + predictions
    for check in ("resume/bf16", "resume/fp16", "fsdp/resume", "zero2/resume", "zero3/resume"):
        assert "SIGKILL once checkpoint-" in cmds(check) and "resumes" in cmds(check), check
    # both CPU builds ran: the plain command all the way, FSDP's up to what needs a GPU
    assert "CPU build: built" in rows["precision/fp32"]["dry_run"]
    assert "CPU build: not needed" not in rows["fsdp/save"]["dry_run"]
    assert rows["time_to_f1"]["commands"] and rows["time_to_f1"]["status"] in ("planned", "skipped")
    if (SHARED_DATA / "crossner" / "politics" / "train.txt").is_file():
        copied = tmp_path / "runs" / "data" / "crossner" / "politics"
        assert sorted(p.name for p in copied.iterdir()) == ["dev.txt", "test.txt", "train.txt"]
        assert "data=crossner_politics" in cmds("precision/fp32")


# --------------------------------------------------------------------------- helpers on small fake inputs
def fake_summary(**kw):
    s = {"returncode": 0, "global_step": 200, "dev_f1": 0.60, "train_loss": 3.0, "losses": {10: 9.0, 150: 2.0},
         "peak_mem_mib": 900.0, "resumed_from": None}
    s.update(kw)
    return s


def test_probe_records_become_step_figures(tmp_path):
    lines = [{"event": "train_begin", "t": 100.0, "t0": 90.0, "step": 0, "device": "NVIDIA H200"}]
    lines += [{"event": "step", "step": i, "t": 102.0 + 0.1 * i, "mem": 2**20 * (100 + i)} for i in range(1, 31)]
    lines += [{"event": "log", "step": 10, "logs": {"loss": 5.0, "grad_norm": 1.0}},
              {"event": "log", "step": 30, "logs": {"train_loss": 4.0}}]
    path = tmp_path / "r.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + '\n{"event": "step", "st')  # cut off by a SIGKILL
    records = gpu_check.read_records(path)
    assert len(records) == len(lines)
    s = gpu_check.summarize_run(records, {"global_step": 30, "dev_f1": 0.5, "train_loss": 4.0}, 0, 12.0, batch=8)
    assert s["first_step_s"] == pytest.approx(2.1)
    assert s["start_to_first_step_s"] == pytest.approx(12.1)
    assert s["steady_step_ms"] == pytest.approx(100.0)
    assert s["samples_per_s"] == pytest.approx(80.0)
    assert s["peak_mem_mib"] == pytest.approx(130.0)
    assert s["losses"] == {10: 5.0} and s["device"] == "NVIDIA H200"
    assert gpu_check.read_records(tmp_path / "missing.jsonl") == []


def test_steady_step_time_leaves_out_the_warm_up():
    # 10 slow steps (compilation), then 0.2 s steps
    stamps = [(i, 5.0 * i) for i in range(11)] + [(10 + i, 50.0 + 0.2 * i) for i in range(1, 21)]
    assert gpu_check.median_step_s(stamps, skip=10) == pytest.approx(0.2)
    assert gpu_check.median_step_s([(1, 0.0)]) is None


def test_loss_and_prediction_comparisons():
    assert gpu_check.max_rel_diff({10: 2.0, 20: 1.0}, {10: 2.0, 20: 1.1}) == pytest.approx(0.1 / 1.1)
    assert gpu_check.max_rel_diff({10: 2.0, 20: 1.0}, {10: 9.0, 20: 1.0}, after=10) == 0.0
    assert gpu_check.max_rel_diff({10: 2.0}, {20: 1.0}) is None
    run = [[[0, 1, "person"], [3, 3, "city"]], []]
    assert gpu_check.prediction_agreement(run, [[(3, 3, "city"), (0, 1, "person")], []]) == (2, 2)
    assert gpu_check.prediction_agreement(run, [[(0, 1, "person")], []]) == (1, 2)
    assert gpu_check.prediction_agreement(run, [[]]) == (0, 2)


def test_precision_verdicts():
    ref = fake_summary()
    assert gpu_check.precision_verdict(fake_summary(dev_f1=0.62), ref) == ("pass", "")
    status, note = gpu_check.precision_verdict(fake_summary(dev_f1=0.40), ref)
    assert status == "fail" and "dev F1 0.4000 vs fp32 0.6000" in note
    status, note = gpu_check.precision_verdict(fake_summary(losses={10: float("nan")}), ref)
    assert status == "fail" and "non-finite loss" in note
    assert "exit 1" in gpu_check.precision_verdict(fake_summary(returncode=1), ref)[1]
    assert "reached step 120" in gpu_check.precision_verdict(fake_summary(global_step=120), None)[1]


def test_resume_verdicts():
    ref = fake_summary()
    resumed = fake_summary(resumed_from="/x/checkpoints/checkpoint-100", losses={10: 1.0, 150: 2.02})
    killed = {"killed": True, "returncode": -9}
    assert gpu_check.resume_verdict(killed, resumed, ref, kill_step=100) == ("pass", "")
    status, note = gpu_check.resume_verdict({"killed": False}, resumed, ref, kill_step=100)
    assert status == "fail" and "not killed mid-run" in note
    status, note = gpu_check.resume_verdict(killed, fake_summary(), ref, kill_step=100)
    assert status == "fail" and "resumed_from=None" in note
    drifted = fake_summary(resumed_from="/x/checkpoints/checkpoint-100", losses={150: 3.0})
    assert "losses after step 100 differ" in gpu_check.resume_verdict(killed, drifted, ref, kill_step=100)[1]


def test_compile_checkpointing_and_save_verdicts():
    off = fake_summary()
    assert gpu_check.compile_verdict(fake_summary(dev_f1=0.58), off) == ("pass", "")
    assert gpu_check.compile_verdict(fake_summary(dev_f1=0.2), off)[0] == "fail"
    assert gpu_check.checkpointing_verdict(fake_summary(peak_mem_mib=600.0, losses={10: 9.0, 150: 2.01}), off) \
        == ("pass", "")
    assert "not below" in gpu_check.checkpointing_verdict(fake_summary(peak_mem_mib=950.0), off)[1]
    assert "losses differ" in gpu_check.checkpointing_verdict(fake_summary(peak_mem_mib=1.0, losses={10: 7.0}), off)[1]
    good = {"strict_load": True, "n_equal": 100, "n_total": 100}
    assert gpu_check.save_verdict(off, good) == ("pass", "")
    status, note = gpu_check.save_verdict(off, {"strict_load": False, "error": "RuntimeError: size mismatch"})
    assert status == "fail" and "size mismatch" in note
    assert "90/100" in gpu_check.save_verdict(off, {"strict_load": True, "n_equal": 90, "n_total": 100})[1]
    assert gpu_check.save_verdict(off, None)[0] == "fail"


def test_cpu_dry_run_outcomes_that_mean_well_formed():
    assert gpu_check.accept_cpu_build(0, "warning: hardware.device=cuda: no CUDA device")[0]
    assert gpu_check.accept_cpu_build(2, "gliner_exp: invalid configuration:\n  - hardware.device=cuda: ...")[0]
    assert gpu_check.accept_cpu_build(1, "ValueError: Your setup doesn't support bf16/gpu.")[0]
    ok, why = gpu_check.accept_cpu_build(2, "gliner_exp: invalid configuration:\n  - train.max_stepz: unknown key")
    assert not ok and "train.max_stepz" in why
    assert not gpu_check.accept_cpu_build(1, "Traceback ...\nKeyError: 'x'")[0]


def test_markdown_lists_every_row_and_its_commands():
    report = {"meta": {"device": "NVIDIA H200"}, "rows": [
        {"check": "precision/bf16", "status": "pass", "figures": {"steady_step_ms": 21.5, "dev_f1": 0.61},
         "note": "", "commands": ["python a b"]},
        {"check": "zero3/save", "status": "skipped", "figures": {}, "note": "deepspeed not installed",
         "commands": ["python c | d"]}]}
    md = gpu_check.render_markdown(report)
    assert "| precision/bf16 | pass | steady_step_ms=21.5, dev_f1=0.61 |  |" in md
    assert "| zero3/save | skipped |  | deepspeed not installed |" in md
    assert "    python a b" in md and "    python c | d" in md and "device: NVIDIA H200" in md


# --------------------------------------------------------------------------- the machinery, for real, on CPU
@pytest.mark.slow
def test_probe_reload_and_kill_resume_on_cpu(tmp_path):
    """What the GPU rows run, on the tiny CPU run: step probe, strict reload + predictions, SIGKILL + resume."""
    runner = gpu_check.Runner(tmp_path, tmp_path / "runs", gpu_check.child_env({"OMP_NUM_THREADS": "1"}))
    plain = gpu_check.RunSpec("smoke", (*TINY, "logger=none"))
    s = runner.summary(plain)
    assert s["global_step"] == 80 and s["steady_step_ms"] > 0 and s["first_step_s"] > 0 and s["losses"]
    assert s["peak_mem_mib"] is None  # no GPU
    assert gpu_check.save_verdict(s, runner.reload(plain), steps=80) == ("pass", "")
    killed = gpu_check.RunSpec("smoke_resume", plain.overrides, kill_at=40)
    resumed = runner.summary(killed)
    assert runner.killed_summary(killed)["returncode"] == -9
    assert gpu_check.resume_verdict(runner.killed_summary(killed), resumed, s, steps=80, kill_step=40) == ("pass", "")
    assert runner.digest(killed) == runner.digest(plain)  # CPU: bit-exact
    assert (tmp_path / "logs" / "smoke_resume.killed.log").is_file() and (tmp_path / "logs" / "smoke.reload.log").is_file()
