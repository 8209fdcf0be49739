"""End to end on the tiny backbone: train, F1, save, strict reload, resume, dry run."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from conftest import REPO, TINY, compose_cfg, run_cli
from gliner_exp.training.run import train


def _weights(model_dir):
    from gliner import GLiNER

    model = GLiNER.from_pretrained(str(model_dir), strict=True)
    return {k: v.clone() for k, v in model.state_dict().items()}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("e2e")
    metrics = train(compose_cfg(TINY, run_dir=run_dir))
    return run_dir, metrics


def test_trains_to_positive_f1_and_writes_run_files(trained):
    run_dir, metrics = trained
    assert metrics["dev_f1"] > 0 and metrics["test_f1"] > 0
    on_disk = json.loads((run_dir / "metrics.json").read_text())
    assert on_disk["dev_f1"] == metrics["dev_f1"]
    assert set(on_disk["per_label"]["dev"]) == {"city", "date", "organization", "person", "product"}
    for name in ("training_args.json", "gliner_config.json", "data_summary.json"):
        assert (run_dir / "resolved" / name).is_file()
    assert (run_dir / "metrics.csv").read_text().startswith("step,epoch,metric,value")


def test_saved_model_reloads_strictly_with_same_predictions(trained):
    from gliner_exp.model.inference import load_model, predict_spans

    run_dir, metrics = trained
    model, settings = load_model(run_dir / "model")  # strict=True
    assert settings.threshold == metrics["threshold"]["value"]
    rows = [json.loads(line) for line in (run_dir / "predictions" / "test.jsonl").read_text().splitlines()]
    preds = predict_spans(model, [{"tokenized_text": r["tokenized_text"], "ner": r["ner"]} for r in rows],
                          settings.labels, settings.threshold, settings.flat_ner, 16, settings.label_names)
    assert [[list(p) for p in ps] for ps in preds] == [r["predicted"] for r in rows]
    assert any(r["predicted"] for r in rows)


def test_best_checkpoint_is_chosen_by_dev_f1(trained):
    run_dir, metrics = trained
    state = json.loads((run_dir / "checkpoints" / os.path.basename(metrics["best_checkpoint"])
                        / "trainer_state.json").read_text())
    evals = [h for h in state["log_history"] if "eval_f1" in h]
    assert evals and state["best_metric"] == max(h["eval_f1"] for h in evals)
    assert state["best_global_step"] == max(evals, key=lambda h: h["eval_f1"])["step"]


def test_dry_run_writes_resolved_objects_and_trains_nothing(tmp_path):
    res = run_cli([*TINY, "run.dry_run=true", f"run.dir={tmp_path}"], timeout=300)
    assert res.returncode == 0, res.stderr
    args = json.loads((tmp_path / "resolved" / "training_args.json").read_text())
    assert args["remove_unused_columns"] is False and args["max_steps"] > 0
    assert json.loads((tmp_path / "resolved" / "gliner_config.json").read_text())["max_width"] == 8
    summary = json.loads((tmp_path / "resolved" / "data_summary.json").read_text())
    assert summary["splits"]["train"]["examples"] == 120
    assert not list(tmp_path.glob("checkpoints/checkpoint-*")) and not (tmp_path / "model").exists()
    assert not (tmp_path / "metrics.json").exists()


RESUME_ARGS = [*TINY, "train.max_steps=24", "train.save_every=8", "train.eval_every=8", "train.logging_steps=1"]


def _launch(run_dir):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, "-m", "gliner_exp", *RESUME_ARGS, f"run.dir={run_dir}"], cwd=REPO,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_kill_and_resume_gives_identical_weights_and_metrics(tmp_path):
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    proc = _launch(straight)
    victim = _launch(killed)
    marker = killed / "checkpoints" / "checkpoint-16" / "trainer_state.json"
    deadline = time.time() + 300
    while not marker.is_file() and victim.poll() is None and time.time() < deadline:
        time.sleep(0.1)
    assert marker.is_file(), "checkpoint-16 never appeared"
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert not (killed / "metrics.json").exists()
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out

    res = run_cli([*RESUME_ARGS, f"run.dir={killed}"], env={"OMP_NUM_THREADS": "1"}, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "resuming from" in res.stderr + res.stdout and "checkpoint-16" in res.stderr + res.stdout
    a, b = (json.loads((d / "metrics.json").read_text()) for d in (straight, killed))
    assert b["resumed_from"].endswith("checkpoint-16") and b["global_step"] == a["global_step"] == 24
    # all of metrics.json, train_loss included; only what times or locates the run may differ
    run_specific = ("wall_time_s", "resumed_from", "model_dir", "best_checkpoint")
    assert {k: v for k, v in b.items() if k not in run_specific} == {k: v for k, v in a.items() if k not in run_specific}
    assert os.path.basename(a["best_checkpoint"]) == os.path.basename(b["best_checkpoint"])
    wa, wb = _weights(straight / "model"), _weights(killed / "model")
    assert wa.keys() == wb.keys()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_resume_never_and_explicit_checkpoint(tmp_path):
    first = run_cli([*TINY, "train.max_steps=16", "train.save_every=8", "train.eval_every=8",
                     f"run.dir={tmp_path}"], timeout=300)
    assert first.returncode == 0, first.stderr
    again = run_cli([*TINY, "train.max_steps=16", "train.save_every=8", "train.eval_every=8",
                     "run.resume=never", f"run.dir={tmp_path}"], timeout=300)
    assert json.loads((tmp_path / "metrics.json").read_text())["resumed_from"] is None, again.stderr
    ckpt = tmp_path / "checkpoints" / "checkpoint-8"
    explicit = run_cli([*TINY, "train.max_steps=16", "train.save_every=8", "train.eval_every=8",
                        f"run.resume={ckpt}", f"run.dir={tmp_path}"], timeout=300)
    assert explicit.returncode == 0, explicit.stderr
    assert json.loads((tmp_path / "metrics.json").read_text())["resumed_from"] == str(ckpt)
