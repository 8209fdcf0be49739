"""The model card (README.md of a model directory): what it renders from a run directory's files.

No model is trained here: a run directory is laid out with the files a run
writes (``metrics.json``, ``resolved/data_summary.json``, the model's
``gliner_config.json`` and decoding settings). ``tests/cli/test_export.py``
checks the card a real tiny run writes and the export refreshes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gliner_exp.model.model_card import CARD_FILE, FACTS_FILE, refresh_model_card, write_model_card

METRICS = {"global_step": 80, "dev_f1": 0.5, "dev_precision": 0.4, "dev_recall": 2 / 3, "test_f1": 0.25,
           "test_precision": 0.25, "test_recall": 0.25, "threshold": {"value": 0.35, "tuned": True},
           "per_label": {"dev": {"city": {"f1": 0.5, "precision": 0.4, "recall": 2 / 3, "support": 3}},
                         "test": {"city": {"f1": 0.25, "precision": 0.25, "recall": 0.25, "support": 4}}}}
DATA = {"labels": ["city"], "label_names": {"city": "town"}, "sources": {"dev": "dev.jsonl"},
        "splits": {"dev": {"examples": 5, "entities": 3, "examples_without_entities": 2,
                           "entities_per_label": {"city": 3}},
                   "train": {"examples": 9, "entities": 7, "examples_without_entities": 0,
                             "entities_per_label": {"city": 7}}}}


@pytest.fixture
def run_dir(tmp_path) -> Path:
    run = tmp_path / "run"
    (run / "resolved").mkdir(parents=True)
    (run / "model").mkdir()
    (run / "metrics.json").write_text(json.dumps(METRICS))
    (run / "resolved" / "data_summary.json").write_text(json.dumps(DATA))
    (run / "model" / "gliner_config.json").write_text(json.dumps({"span_mode": "markerV0", "max_width": 8}))
    (run / "model" / "gliner_exp_inference.json").write_text(json.dumps(
        {"threshold": 0.35, "flat_ner": True, "labels": ["city"], "label_names": {"city": "town"}}))
    return run


def test_card_renders_the_runs_figures(run_dir):
    cfg = {"run": {"name": "cities", "description": "a test run"}, "model": {"backbone": "builtin:tiny-bert"},
           "optimizer": {"encoder_lr": 1e-4}, "lora": {"enabled": False, "r": 8}}
    card = write_model_card(run_dir / "model", run_dir, cfg).read_text()
    assert "# cities: a GLiNER NER model" in card and "a test run" in card
    assert "| dev | 40.00 | 66.67 | 50.00 |" in card and "| test | 25.00 | 25.00 | 25.00 |" in card
    assert "| city | 50.00 | 25.00 | 3 | 4 |" in card
    assert "Decoding threshold 0.35 (tuned on dev); after 80 steps." in card
    assert "| backbone | model.backbone | builtin:tiny-bert |" in card and "| encoder learning rate |" in card
    assert "LoRA rank" not in card  # LoRA off: its rank would say nothing
    assert '`city` (read as "town")' in card
    assert card.index("| train | 9 |") < card.index("| dev | 5 |")  # splits in train, dev, test order
    assert "model.predict_entities(text, labels=['town'], threshold=0.35)" in card  # the names the model reads
    assert (run_dir / "model" / FACTS_FILE).is_file()


@pytest.mark.parametrize("comparison,expected", [
    ({"rows": [{"model": "base", "dev_f1": 0.4}, {"model": "tuned", "dev_f1": 0.5}]}, "| tuned | 0.5 |"),
    ({"base": {"dev_f1": 0.4, "per_label": {}}, "tuned": {"dev_f1": 0.5}}, "| tuned | 0.5 |"),
    ({"markdown": "| a | b |\n|---|---|\n| 1 | 2 |"}, "| 1 | 2 |"),
    ({"forgetting": 0.1}, '"forgetting": 0.1'),
    # The compare verb's shape: pairs of base, tuned and delta per data set.
    ({"base": {}, "tuned": {}, "note": None, "datasets": {"synthetic": {"split": "dev", "micro": {
        "base": {"f1": 0.1}, "tuned": {"f1": 0.5}, "delta": {"f1": 0.4}}}}}, "| synthetic | dev | 10.00 | 50.00 | +40.00 |"),
])
def test_comparison_is_rendered_when_the_run_has_one(run_dir, comparison, expected):
    card = write_model_card(run_dir / "model", run_dir).read_text()
    assert "## Comparison" not in card
    (run_dir / "comparison").mkdir()
    (run_dir / "comparison" / "comparison.json").write_text(json.dumps(comparison))
    card = refresh_model_card(run_dir / "model").read_text()  # compare ran after training: the refresh finds it
    assert "## Comparison" in card and expected in card


def test_comparison_markdown_beside_the_json_is_embedded(run_dir):
    (run_dir / "comparison").mkdir()
    (run_dir / "comparison" / "comparison.json").write_text(json.dumps({"datasets": {}}))
    (run_dir / "comparison" / "comparison.md").write_text("# gliner_exp comparison\n\n| data set | ΔF1 |\n|---|---|\n"
                                                          "| synthetic | +40.00 |\n")
    card = write_model_card(run_dir / "model", run_dir).read_text()
    assert "| synthetic | +40.00 |" in card and "# gliner_exp comparison" not in card


def test_refresh_records_exports_and_drops_those_gone(run_dir, tmp_path):
    write_model_card(run_dir / "model", run_dir)
    good, gone = tmp_path / "good", tmp_path / "gone"
    good.mkdir()
    gone.mkdir()
    base = {"tolerance": 0.01, "data": "synthetic", "split": "dev", "n_examples": 5, "opset": 19,
            "torch": {"f1": 0.5, "ms_per_example": 2.0}}
    refresh_model_card(run_dir / "model", {**base, "out": str(gone), "status": "passed", "files": {}})
    card = refresh_model_card(run_dir / "model", {**base, "out": str(good), "status": "passed", "files": {
        "model.onnx": {"f1": 0.5, "f1_diff": 0.0, "ms_per_example": 1.0, "size_mb": 3.0, "passed": True}}}).read_text()
    assert f"`{good}`: passed" in card and f"`{gone}`: passed" in card
    assert "| model.onnx | 50.00 | 0.00 | 1.00 | 3.0 | pass |" in card
    gone.rmdir()
    card = refresh_model_card(run_dir / "model").read_text()
    assert f"`{good}`" in card and f"`{gone}`" not in card
    assert "| dev | 40.00 | 66.67 | 50.00 |" in card  # the training figures stay


def test_refresh_without_facts_reads_the_run_dir(run_dir):
    model_dir = run_dir / "model"
    assert not (model_dir / FACTS_FILE).exists()  # a model saved before cards existed
    card = refresh_model_card(model_dir).read_text()
    assert (model_dir / CARD_FILE).is_file() and "| dev | 40.00 | 66.67 | 50.00 |" in card
    assert "Not recorded (the card was not written by the training run)." in card
