"""``python -m gliner_exp.cli.evaluate`` and ``eval.extra``: a real (tiny, briefly trained) GLiNER, no mocks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, TINY, compose_cfg

# The smoke recipe (tiny random BERT, synthetic_small, ~10 s) plus a zero-shot suite scored after training.
TRAIN_ARGS = [*TINY, "logger=none", "eval.extra=[synthetic]"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    from gliner_exp.training.run import train

    out = tmp_path_factory.mktemp("evaluate_run")
    train(compose_cfg(TRAIN_ARGS, run_dir=out))
    return out


def metrics_of(run_dir: Path) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())


def compose_evaluate(overrides, run_dir):
    """The evaluate app's config (``conf/evaluate.yaml``), composed as its CLI composes it."""
    from hydra import compose, initialize_config_dir

    from gliner_exp.config.store import conf_dir, register

    register()
    with initialize_config_dir(str(conf_dir()), version_base="1.3"):
        return compose("evaluate", overrides=[*overrides, f"run.dir={run_dir}"])


def run_evaluate(args, hydra_dir, timeout=300):
    """``python -m gliner_exp.cli.evaluate ARGS`` from the repo root, Hydra's output dir in ``hydra_dir``."""
    env = dict(os.environ, HYDRA_FULL_ERROR="0", OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "gliner_exp.cli.evaluate", *args, f"hydra.run.dir={hydra_dir}"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


def test_eval_extra_after_training_is_in_metrics_and_summary(run_dir):
    from gliner_exp.training.console import render_summary

    metrics = metrics_of(run_dir)
    suite = metrics["zero_shot"]["synthetic"]
    assert suite["split"] == "dev" and suite["n_examples"] == 100  # data=synthetic's own dev split
    assert sorted(suite["per_label"]) == suite["labels"] == ["city", "date", "organization", "person", "product"]
    assert 0.0 <= suite["macro_f1"] <= 1.0 and suite["f1"] > 0.0
    assert set(suite["errors"]) == {"correct", "boundary", "type", "spurious", "missed"}
    summary = render_summary(metrics, "m", "r")
    assert f"zero-shot synthetic (dev, 5 labels) F1: {100 * suite['f1']:.2f}" in summary
    assert summary.index("dev  F1") < summary.index("zero-shot synthetic")


def test_evaluate_saved_run_gives_its_own_scores(run_dir, tmp_path):
    metrics = metrics_of(run_dir)
    res = run_evaluate(["experiment=smoke", f"model.pretrained={run_dir / 'model'}", "eval.extra=[synthetic]"],
                       tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    doc = json.loads((tmp_path / "evaluation.json").read_text())
    assert doc["threshold"] == metrics["threshold"]["value"] and doc["threshold_from"] == "saved with the model"
    own = doc["datasets"]["synthetic_small"]
    assert own["role"] == "data"
    for split in ("dev", "test"):
        report = own["splits"][split]
        assert report["micro"]["f1"] == pytest.approx(metrics[f"{split}_f1"], abs=1e-12)
        assert report["micro"]["precision"] == pytest.approx(metrics[f"{split}_precision"], abs=1e-12)
        for label, scores in metrics["per_label"][split].items():
            assert report["per_label"][label]["f1"] == pytest.approx(scores["f1"], abs=1e-12)
        errors = report["errors"]
        # every prediction is correct or exactly one kind of error
        assert errors["correct"] + errors["boundary"] + errors["type"] + errors["spurious"] == report["micro"]["n_pred"]
        assert errors["correct"] + errors["missed"] <= report["micro"]["support"]
        assert set(report["macro"]) == {"precision", "recall", "f1", "labels"}
    extra = doc["datasets"]["synthetic"]
    assert extra["role"] == "eval.extra" and list(extra["splits"]) == ["dev"]
    assert extra["splits"]["dev"]["micro"]["f1"] == pytest.approx(metrics["zero_shot"]["synthetic"]["f1"], abs=1e-12)
    markdown = (tmp_path / "evaluation.md").read_text()
    assert "### synthetic_small / dev" in markdown and "| **micro** |" in markdown and "| **macro**" in markdown
    assert "| correct | boundary | type | spurious | missed |" in markdown
    assert "### synthetic_small / dev" in res.stdout  # printed as well
    assert (tmp_path / "predictions" / "synthetic_small" / "dev.jsonl").is_file()


def test_unseen_label_set_scores_exactly_the_labels_asked_for(run_dir, tmp_path):
    from gliner_exp.cli.evaluate import evaluate

    asked = ["person", "animal"]  # one label the data has, one it has never seen
    cfg = compose_evaluate(["experiment=smoke", f"model.pretrained={run_dir / 'model'}", f"data.labels=[{','.join(asked)}]"],
                           tmp_path)
    doc = evaluate(cfg)
    entry = doc["datasets"]["data"]
    assert entry["labels"] == asked
    for split, report in entry["splits"].items():
        assert list(report["per_label"]) == asked
        examples = [json.loads(line) for line in (tmp_path / "predictions" / "data" / f"{split}.jsonl").open()]
        gold_person = sum(1 for ex in examples for *_, label in ex["ner"] if label == "person")
        assert report["per_label"]["person"]["support"] == report["micro"]["support"] == gold_person
        assert report["per_label"]["animal"]["support"] == 0
        assert {p[2] for ex in examples for p in ex["predicted"]} <= set(asked)
    assert json.loads((tmp_path / "evaluation.json").read_text())["datasets"]["data"]["labels"] == asked


def test_plain_gliner_dir_decodes_with_train_threshold(run_dir, tmp_path):
    from gliner_exp.cli.evaluate import evaluate
    from gliner_exp.model.inference import SETTINGS_FILE

    plain = tmp_path / "plain_model"
    shutil.copytree(run_dir / "model", plain)
    (plain / SETTINGS_FILE).unlink()  # a GLiNER saved by something else: no gliner_exp settings
    threshold = metrics_of(run_dir)["threshold"]["value"]
    doc = evaluate(compose_evaluate(["experiment=smoke", f"model.pretrained={plain}", f"train.threshold={threshold}"],
                                    tmp_path / "out"))
    assert doc["threshold_from"] == "train.threshold" and doc["threshold"] == threshold
    assert doc["datasets"]["data"]["splits"]["dev"]["micro"]["f1"] == pytest.approx(metrics_of(run_dir)["dev_f1"])


def test_evaluate_sweeps_under_multirun(run_dir, tmp_path):
    env = dict(os.environ, HYDRA_FULL_ERROR="0", OMP_NUM_THREADS="1")
    res = subprocess.run([sys.executable, "-m", "gliner_exp.cli.evaluate", "-m", "experiment=smoke",
                          f"model.pretrained={run_dir / 'model'}", "data.labels=[person],[city]",
                          f"hydra.sweep.dir={tmp_path}"], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    docs = [json.loads(p.read_text()) for p in sorted(tmp_path.glob("*/evaluation.json"))]
    assert sorted(d["datasets"]["synthetic_small"]["labels"][0] for d in docs) == ["city", "person"]


def test_bad_eval_extra_name_is_refused_before_torch(run_dir, tmp_path):
    probe = ("import runpy, sys\n"
             "sys.argv = sys.argv[1:]\n"
             "try:\n"
             "    runpy.run_module(sys.argv[0], run_name='__main__')\n"
             "except SystemExit as exc:\n"
             "    print('exit', exc.code, 'torch' in sys.modules)\n")
    env = dict(os.environ, HYDRA_FULL_ERROR="0")
    for module, args in (("gliner_exp.cli.evaluate", [f"model.pretrained={run_dir / 'model'}"]),
                         ("gliner_exp", [*TINY, f"run.dir={tmp_path / 'train'}"])):
        res = subprocess.run([sys.executable, "-c", probe, module, *args, "eval.extra=[crossner_ai,crossner_aj]",
                              f"hydra.run.dir={tmp_path / 'hydra'}"], cwd=REPO, env=env, capture_output=True,
                             text=True, timeout=120)
        assert "exit 2 False" in res.stdout, (module, res.stdout, res.stderr)
        assert "eval.extra: 'crossner_aj' is not a data option (did you mean 'crossner_ai'?)" in res.stderr
        assert "allowed: crossner_ai, crossner_literature, crossner_politics, files, synthetic" in res.stderr
        assert "Traceback" not in res.stderr
    assert not (tmp_path / "train" / "checkpoints").exists()


def test_help_and_missing_model_answer_without_torch(tmp_path):
    env = dict(os.environ, HYDRA_FULL_ERROR="0")
    res = subprocess.run([sys.executable, "-m", "gliner_exp.cli.evaluate", "--help"], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and "model.pretrained=<model dir>" in res.stdout and "eval.extra" in res.stdout
    res = run_evaluate([], tmp_path)
    assert res.returncode == 2 and "model.pretrained: required" in res.stderr, res.stderr


def test_error_analysis_names_each_kind():
    from gliner_exp.training.evaluation import error_analysis, score_report

    gold = [[(0, 1, "person"), (3, 3, "city"), (5, 6, "org"), (8, 8, "date")]]
    pred = [[(0, 1, "person"), (3, 4, "city"), (5, 6, "person"), (10, 10, "city")]]
    errors = error_analysis(gold, pred)
    assert {k: errors[k] for k in ("correct", "boundary", "type", "spurious", "missed")} == \
        {"correct": 1, "boundary": 1, "type": 1, "spurious": 1, "missed": 1}
    assert errors["type_confusions"] == {"org -> person": 1}
    assert errors["by_label"]["missed"] == {"date": 1} and errors["by_label"]["boundary"] == {"city": 1}
    report = score_report(gold, pred, ["person", "city", "org", "date", "unused"])
    assert report["micro"]["f1"] == pytest.approx(0.25)
    assert report["macro"]["labels"] == 4  # 'unused': neither in the gold nor predicted
    assert report["macro"]["f1"] == pytest.approx((2 / 3 + 0 + 0 + 0) / 4)


def test_eval_options_find_the_conf_dir_the_apps_use():
    from gliner_exp.config.eval import conf_root, data_options
    from gliner_exp.config.store import conf_dir

    assert conf_root() == conf_dir()
    assert data_options() == sorted(p.stem for p in (conf_dir() / "data").glob("*.yaml"))
