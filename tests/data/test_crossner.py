"""Real data: CrossNER politics (CoNLL/BIO from ../shared) converted and trained briefly."""

import json

import pytest

from conftest import SHARED_DATA, compose_cfg
from gliner_exp.training.run import train

POLITICS = SHARED_DATA / "crossner" / "politics"

pytestmark = pytest.mark.skipif(not (POLITICS / "train.txt").is_file(),
                                reason=f"CrossNER politics not found at {POLITICS} (set GLINER_EXP_SHARED_DATA)")


def test_crossner_politics_trains_on_tiny_backbone(tmp_path):
    metrics = train(compose_cfg(["experiment=smoke", "data=files", "data.format=conll",
                                 f"data.train={POLITICS}/train.txt", f"data.dev={POLITICS}/dev.txt",
                                 f"data.test={POLITICS}/test.txt",
                                 "train.max_steps=30", "train.eval_every=30", "train.save_every=30"],
                                run_dir=tmp_path))
    summary = json.loads((tmp_path / "resolved" / "data_summary.json").read_text())
    assert [summary["splits"][s]["examples"] for s in ("train", "dev", "test")] == [200, 541, 651]
    labels = {"country", "election", "event", "location", "misc", "organisation", "person", "politicalparty",
              "politician"}
    assert set(summary["labels"]) == labels
    assert set(metrics["per_label"]["dev"]) == labels and set(metrics["per_label"]["test"]) == labels
    assert metrics["global_step"] == 30 and metrics["train_loss"] > 0
    assert 0.0 <= metrics["dev_f1"] <= 1.0
    rows = (tmp_path / "predictions" / "test.jsonl").read_text().splitlines()
    assert len(rows) == 651
