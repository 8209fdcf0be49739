"""Bad input fails fast, non-zero, with one message naming the culprit and what is allowed."""

import os
import subprocess
import sys

import pytest

from conftest import REPO, run_cli

# (overrides, fragments the single error message must contain)
BAD_CONFIGS = [
    (["loss.gama=1"], ["loss.gama", "did you mean 'loss.gamma'", "allowed in 'loss'"]),
    (["loss=focl"], ["loss=focl", "allowed: bce, dice, focal"]),
    (["loss.masking=bogus"], ["loss.masking", "'bogus'", "allowed: none, global, label, span"]),
    (["loss.type=bce"], ["loss.type", "allowed: focal, dice"]),
    (["loss.reduction=none"], ["loss.reduction", "allowed: sum, mean"]),
    (["optimizer.scheduler=cosin"], ["optimizer.scheduler", "cosine_with_restarts"]),
    (["optimizer.name=adam"], ["optimizer.name", "adamw_torch"]),
    (["loss.prob_margin=1.5"], ["loss.prob_margin", "out of range", "[0.0, 1.0]"]),
    (["loss.label_smoothing=-0.1"], ["loss.label_smoothing", "out of range"]),
    (["hardware=gpu_bf16", "hardware.fp16=true"], ["hardware.fp16 and hardware.bf16", "at most one"]),
    (["optimizer.encoder_lr=abc"], ["optimizer.encoder_lr", "not a valid float"]),
    (["train.batch_size=1.5"], ["train.batch_size", "not a valid int"]),
    (["train.epochs=2"], ["train.max_steps and train.epochs", "exactly one"]),
    (["data=files", "data.train=x.jsonl"], ["train.load_best_model_at_end", "needs evaluation data"]),
    (["hub.push=true"], ["hub.model_id", "required when hub.push"]),
    (["model.freeze=[encoder]"], ["model.freeze", "text_encoder"]),
    (["model=gliner_small_v21", "model.span_mode=marker"], ["model.span_mode", "fixed by the checkpoint"]),
    (["hardware.prefetch_factor=2"], ["hardware.prefetch_factor", "num_workers > 0"]),
    (["run.resume=/nonexistent/checkpoint-5"], ["run.resume", "not a complete checkpoint"]),
    (["run.resume="], ["run.resume: '' is not allowed; use auto, never, or a checkpoint-N path"]),
    (["train.save_every=30", "train.eval_every=20"], ["train.save_every=30", "multiple of train.eval_every=20"]),
    (["data.synthetic.n_train=0"], ["data.synthetic.n_train", "out of range"]),
    (["lora=pissa", "lora.lora_bias=true"], ["lora.lora_bias", "lora.init_lora_weights=true or false"]),
]


@pytest.mark.parametrize("overrides,fragments", BAD_CONFIGS, ids=[" ".join(o) for o, _ in BAD_CONFIGS])
def test_bad_config_is_rejected_with_named_key(overrides, fragments, tmp_path):
    res = run_cli([*overrides, f"run.dir={tmp_path}/run"], timeout=120)
    assert res.returncode != 0, res.stdout
    for fragment in fragments:
        assert fragment in res.stderr, (fragment, res.stderr)
    assert "Traceback" not in res.stderr
    # Rejected before anything was trained or written.
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_every_bad_key_in_one_message(tmp_path):
    res = run_cli(["loss.gama=1", "optimizer.scheduler=cosin", "hardware.torch_thread=2",
                   f"run.dir={tmp_path}"], timeout=120)
    assert res.returncode == 2
    assert res.stderr.count("\n  - ") == 3
    for key in ("loss.gama", "optimizer.scheduler", "hardware.torch_thread"):
        assert key in res.stderr


def test_a_malformed_training_source_is_named_once(tmp_path):
    res = run_cli(["data=files", "data.train=3", f"data.dev={tmp_path}/dev.jsonl", f"run.dir={tmp_path}/run"],
                  timeout=120)
    assert res.returncode == 2
    assert [line for line in res.stderr.splitlines() if line.startswith("  - ")] == [
        "  - data.train: must be a file path or a list of {path: <file>, weight: <number > 0>}, got 3",
        f"  - data.dev: file not found: {tmp_path}/dev.jsonl"]


BAD_DATA = [
    ("train.jsonl", '{"tokenized_text": ["a", "b"], "ner": [[0, 1, "x"]]}\n'
                    '{"tokenized_text": ["a"], "ner": [[0, 3, "x"]]}\n', "train.jsonl:2"),
    ("train.jsonl", '{"tokenized_text": ["a", "b"], "ner": [[1, 0, "x"]]}\n', "train.jsonl:1"),
    ("train.jsonl", '{"tokenized_text": ["a", "b"], "ner": [[0, 0, ""]]}\n', "train.jsonl:1"),
    ("train.jsonl", '{"tokenized_text": [], "ner": []}\n', "train.jsonl:1"),
    ("train.jsonl", '{"tokenized_text": ["a"], "ner": []}\n{oops\n', "train.jsonl:2"),
    ("train.json", '[\n {"tokenized_text": ["a"], "ner": []},\n {"tokenized_text": ["b"], "ner": [[0, 1, "y"]]}\n]\n',
     "train.json:3"),
    ("train.txt", "Alice\tB-person\nlives\tO\nin\tX-city\n", "train.txt:3"),
    ("train.txt", "Alice\tB-person\n\nParis\tI-city\n", "train.txt:3"),
]


@pytest.mark.parametrize("name,content,where", BAD_DATA, ids=[w for _, _, w in BAD_DATA])
def test_bad_data_file_names_file_and_line(name, content, where, tmp_path):
    path = tmp_path / name
    path.write_text(content)
    res = run_cli(["data=files", f"data.train={path}", "train.load_best_model_at_end=false",
                   f"run.dir={tmp_path}/run"], timeout=120)
    assert res.returncode != 0
    assert where in res.stderr, res.stderr
    assert "Traceback" not in res.stderr


def test_missing_data_file_names_the_key(tmp_path):
    res = run_cli(["data=files", f"data.train={tmp_path}/nope.jsonl", "train.load_best_model_at_end=false",
                   f"run.dir={tmp_path}/run"], timeout=120)
    assert res.returncode != 0
    assert "data.train" in res.stderr and "nope.jsonl" in res.stderr


def test_rejection_happens_before_torch_is_imported(tmp_path):
    code = (
        "import sys\n"
        "from conftest import compose_cfg\n"
        "from gliner_exp.training.run import train\n"
        "from gliner_exp.config.errors import ConfigError\n"
        f"cfg = compose_cfg(['loss.masking=bogus'], run_dir={str(tmp_path)!r})\n"
        "try:\n    train(cfg)\nexcept ConfigError as e:\n    print('REJECTED', 'torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO / "tests", capture_output=True, text=True,
                         timeout=120)
    assert "REJECTED False" in out.stdout, out.stderr


def test_unreachable_backbone_fails_with_clear_message(tmp_path):
    res = run_cli(["model.backbone=microsoft/deberta-v3-small", "run.dry_run=true", f"run.dir={tmp_path}"],
                  env={"HF_HUB_OFFLINE": "1"}, timeout=300)
    assert res.returncode != 0
    assert "model.backbone='microsoft/deberta-v3-small' could not be loaded" in res.stderr
    assert "model=minilm" in res.stderr


def test_missing_file_and_other_problems_come_in_one_message(tmp_path):
    res = run_cli(["data=files", "data.train=/nonexistent.json", f"run.dir={tmp_path}/run"], timeout=120)
    assert res.returncode == 2
    assert res.stderr.count("\n  - ") == 2, res.stderr
    assert "data.train: file not found: /nonexistent.json" in res.stderr
    assert "train.load_best_model_at_end: needs evaluation data" in res.stderr
    assert not (tmp_path / "run").exists()  # rejected before Hydra made the run directory


def test_every_bad_path_is_named_at_once_relative_to_the_current_directory(tmp_path):
    (tmp_path / "train.jsonl").write_text('{"tokenized_text": ["Alice"], "ner": [[0, 0, "person"]]}\n')
    (tmp_path / "dev").mkdir()
    res = run_cli(["data=files", "data.train=train.jsonl", "data.dev=dev", "data.test=gone/test.jsonl",
                   "run.resume=no/checkpoint-5", "hub.push=true", f"run.dir={tmp_path}/run"], cwd=tmp_path,
                  timeout=120)
    assert res.returncode == 2
    assert res.stderr.count("\n  - ") == 4, res.stderr
    assert f"data.dev: not a file: {tmp_path / 'dev'}" in res.stderr
    assert f"data.test: file not found: {tmp_path / 'gone' / 'test.jsonl'}" in res.stderr
    assert f"run.resume='no/checkpoint-5': not a complete checkpoint directory (no directory {tmp_path / 'no'}" \
           in res.stderr
    assert "hub.model_id: required when hub.push is true" in res.stderr
    assert "data.train" not in res.stderr
    assert not (tmp_path / "run").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file: an unreadable file needs a non-root user")
def test_unreadable_file_is_named_with_the_other_problems(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text('{"tokenized_text": ["Alice"], "ner": [[0, 0, "person"]]}\n')
    path.chmod(0)
    res = run_cli(["data=files", f"data.train={path}", f"run.dir={tmp_path}/run"], timeout=120)
    assert res.returncode == 2
    assert res.stderr.count("\n  - ") == 2, res.stderr
    assert f"data.train: cannot be read (permission denied): {path}" in res.stderr
