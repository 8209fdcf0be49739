"""Label names and the tuned threshold: what the model reads and decodes with, saved with it."""

import json

import pytest

from conftest import TINY, compose_cfg
from gliner_exp.training.run import train

NAMES = {"city": "town", "organization": "company name"}
NAME_ARGS = [*TINY, "+data.label_names={city: town, organization: company name}"]


def _rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def named_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("named")
    return run_dir, train(compose_cfg(NAME_ARGS, run_dir=run_dir))


def test_training_batches_carry_label_names(tmp_path):
    from gliner_exp.training.assemble import build_all
    from gliner_exp.training.run import as_config, load_data

    cfg = as_config(compose_cfg(NAME_ARGS, run_dir=tmp_path))
    built = build_all(cfg, tmp_path, load_data(cfg))
    trained_on = {label for i in range(len(built.trainer.train_dataset))
                  for *_, label in built.trainer.train_dataset[i][1]["ner"]}
    assert {"town", "company name"} <= trained_on and not {"city", "organization"} & trained_on
    batch = built.trainer.data_collator([built.trainer.train_dataset[i] for i in range(32)])
    prompts = [" ".join(built.trainer.processing_class.convert_ids_to_tokens(ids)) for ids in batch["input_ids"]]
    assert any("company name" in p for p in prompts) and not any("organization" in p for p in prompts)


def test_evaluation_prompts_names_and_reports_keys(named_run):
    from gliner_exp.model.inference import load_model, predict_spans

    run_dir, metrics = named_run
    assert set(metrics["per_label"]["dev"]) == {"city", "date", "organization", "person", "product"}
    rows = _rows(run_dir / "predictions" / "test.jsonl")
    predicted = {span[2] for r in rows for span in r["predicted"]}
    assert predicted and predicted <= {"city", "date", "organization", "person", "product"}
    summary = json.loads((run_dir / "resolved" / "data_summary.json").read_text())
    assert summary["label_names"] == NAMES

    model, settings = load_model(run_dir / "model")
    assert settings.label_names["city"] == "town" and settings.labels == sorted(metrics["per_label"]["dev"])
    seen = []
    decode = model.decode_batch
    model.decode_batch = lambda out, batch, **kw: seen.append(batch["id_to_classes"]) or decode(out, batch, **kw)
    preds = predict_spans(model, [{"tokenized_text": r["tokenized_text"], "ner": r["ner"]} for r in rows],
                          settings.labels, settings.threshold, settings.flat_ner, 16, settings.label_names)
    assert [[list(p) for p in ps] for ps in preds] == [r["predicted"] for r in rows]  # keys, as the run wrote
    prompted = {label for classes in seen for c in (classes if isinstance(classes, list) else [classes])
                for label in c.values()}
    assert "town" in prompted and "city" not in prompted


def test_tuned_threshold_is_saved_and_used_after_reload(named_run):
    from gliner_exp.model.inference import InferenceSettings

    run_dir, metrics = named_run
    th = metrics["threshold"]
    assert th["tuned"] and th["configured"] == 0.3
    assert th["dev_f1"] == pytest.approx(max(th["grid"].values()), abs=1e-4) and th["dev_f1"] == metrics["dev_f1"]
    assert th["dev_f1"] >= th["dev_f1_at_configured"]
    assert InferenceSettings.load(run_dir / "model").threshold == th["value"]
    # reload at the saved threshold reproduces the run's test predictions:
    # tests/training/test_end_to_end.py::test_saved_model_reloads_strictly_with_same_predictions


def test_one_forward_pass_decodes_every_threshold_as_separate_passes_would(named_run):
    from gliner_exp.model.inference import load_model, predict_spans, predict_spans_at

    run_dir, _ = named_run
    model, settings = load_model(run_dir / "model")
    examples = _rows(run_dir / "predictions" / "dev.jsonl")
    grid = predict_spans_at(model, examples, settings.labels, [0.1, 0.5, 0.9], True, 7, settings.label_names)
    for t in (0.1, 0.9):
        assert grid[t] == predict_spans(model, examples, settings.labels, t, True, 16, settings.label_names)
    assert sum(map(len, grid[0.1])) > sum(map(len, grid[0.9]))


def test_without_tuning_the_configured_threshold_is_saved(tmp_path):
    from gliner_exp.model.inference import InferenceSettings

    metrics = train(compose_cfg([*TINY, "train.tune_threshold=false", "train.max_steps=8", "train.eval_every=8",
                                 "train.save_every=8"], run_dir=tmp_path))
    assert metrics["threshold"] == {"value": 0.3, "tuned": False}
    assert InferenceSettings.load(tmp_path / "model").threshold == 0.3
