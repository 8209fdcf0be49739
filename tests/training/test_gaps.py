"""Each gap of the report gliner_exp grew from (../shared/seed/) stays closed.

Every test here would fail on the behaviour that report describes.
"""

import json

import pytest
import torch

from conftest import TINY, compose_cfg, run_cli
from gliner_exp.training.assemble import build_all
from gliner_exp.training.arguments import training_args_kwargs
from gliner_exp.training.run import as_config, load_data


def _built(tmp_path, *overrides):
    cfg = as_config(compose_cfg([*TINY, *overrides], run_dir=tmp_path))
    return cfg, build_all(cfg, tmp_path, load_data(cfg))


def test_remove_unused_columns_is_false_and_predict_works(tmp_path):
    from gliner_exp.training.collator import IndexedExamples

    cfg, built = _built(tmp_path)
    assert built.args.remove_unused_columns is False
    # One batch: gliner's logits have a per-batch label dimension that HF cannot concatenate.
    out = built.trainer.predict(IndexedExamples(load_data(cfg).dev[:8]))
    assert out.metrics["test_loss"] > 0 and out.predictions is not None


def test_seed_reaches_seed_and_data_seed(tmp_path):
    _, built = _built(tmp_path, "run.seed=1234")
    assert built.args.seed == 1234 and built.args.data_seed == 1234


def test_gradient_checkpointing_is_on_the_backbone_and_trains(tmp_path):
    _, built = _built(tmp_path, "model.gradient_checkpointing=true", "train.max_steps=2",
                      "train.load_best_model_at_end=false", "train.save_every=100")
    encoder = built.model.model.token_rep_layer.bert_layer.model
    assert encoder.is_gradient_checkpointing
    assert built.args.gradient_checkpointing is False  # the TrainingArguments route crashes on GLiNER
    built.trainer.train()
    assert built.trainer.state.global_step == 2


def test_one_label_smoothing_knob(tmp_path):
    kwargs = training_args_kwargs(as_config(compose_cfg([*TINY, "loss.label_smoothing=0.1"], run_dir=tmp_path)),
                                  tmp_path, True)
    assert kwargs["label_smoothing"] == 0.1 and kwargs["label_smoothing_factor"] == 0.0


@pytest.mark.parametrize("loss", ["focal", "bce", "dice"])
def test_masking_default_matches_gliner(loss, tmp_path):
    from gliner.training import TrainingArguments

    gliner_default = TrainingArguments.__dataclass_fields__["masking"].default
    cfg = as_config(compose_cfg([*TINY, f"loss={loss}"], run_dir=tmp_path))
    assert cfg.loss.masking == gliner_default == "global"


def test_precision_and_adam_settings_are_explicit(tmp_path):
    cfg = as_config(compose_cfg([*TINY, "hardware=gpu_bf16", "optimizer.beta1=0.8", "optimizer.beta2=0.95",
                                 "optimizer.eps=1e-6"], run_dir=tmp_path))
    kw = training_args_kwargs(cfg, tmp_path, True)
    assert (kw["bf16"], kw["fp16"], kw["tf32"], kw["use_cpu"]) == (True, False, True, False)
    assert (kw["adam_beta1"], kw["adam_beta2"], kw["adam_epsilon"]) == (0.8, 0.95, 1e-6)


def test_model_selection_by_dev_f1(tmp_path):
    _, built = _built(tmp_path)
    assert built.args.load_best_model_at_end is True
    assert built.args.metric_for_best_model == "eval_f1" and built.args.greater_is_better is True


def test_training_by_epochs(tmp_path):
    _, built = _built(tmp_path, "train.max_steps=null", "train.epochs=2", "data.synthetic.n_train=16",
                      "train.eval_every=2", "train.save_every=2")
    assert built.args.max_steps == -1 and built.args.num_train_epochs == 2
    built.trainer.train()
    assert built.trainer.state.epoch == 2 and built.trainer.state.global_step == 4


def test_run_name_tags_and_description_reach_the_run(tmp_path):
    res = run_cli([*TINY, "run.name=myrun", "run.tags=[a,b]", "run.description=hello world", "run.dry_run=true",
                   f"run.dir={tmp_path}"], timeout=300)
    assert res.returncode == 0, res.stderr
    args = json.loads((tmp_path / "resolved" / "training_args.json").read_text())
    assert args["run_name"] == "myrun"
    run = json.loads((tmp_path / "resolved" / "run.json").read_text())
    assert run["tags"] == ["a", "b"] and run["description"] == "hello world"


def test_zero_learning_rate_and_decay_stay_zero(tmp_path):
    """gliner's create_training_args turns others_lr=0.0 into the default; here the head stays frozen."""
    _, built = _built(tmp_path, "optimizer.head_lr=0.0", "optimizer.head_weight_decay=0.0",
                      "optimizer.warmup_ratio=0.0", "train.max_steps=3", "train.load_best_model_at_end=false")
    assert built.args.others_lr == 0.0 and built.args.others_weight_decay == 0.0
    head = {n: p.detach().clone() for n, p in built.model.named_parameters() if "token_rep_layer" not in n}
    encoder = {n: p.detach().clone() for n, p in built.model.named_parameters() if "token_rep_layer" in n}
    built.trainer.train()
    after = dict(built.model.named_parameters())
    assert all(torch.equal(head[n], after[n]) for n in head)
    assert any(not torch.equal(encoder[n], after[n]) for n in encoder)


def test_f1_is_scored_against_the_full_label_set(tmp_path):
    cfg, built = _built(tmp_path)
    splits = load_data(cfg)
    assert built.evaluator.labels == splits.labels == ["city", "date", "organization", "person", "product"]
    from gliner_exp.training.evaluation import F1Evaluator

    ours = F1Evaluator(splits.dev, splits.labels, 0.5, True, 8)(built.model)
    _, theirs = built.model.evaluate(splits.dev, flat_ner=True, threshold=0.5, batch_size=8,
                                     entity_types=splits.labels)
    assert ours["f1"] == pytest.approx(float(theirs))


def test_hub_settings_forwarded_and_token_never_written(tmp_path, monkeypatch):
    import transformers

    from gliner_exp.training.run import train

    token = "hf_SECRETtoken1234567890"
    monkeypatch.setenv("HF_TOKEN", token)
    created = []
    # The hub is unreachable here: stand in for the repo creation the Trainer does on init.
    monkeypatch.setattr(transformers.Trainer, "init_hf_repo", lambda self, token=None: created.append(token))
    train(compose_cfg([*TINY, "hub.push=true", "hub.model_id=me/my-gliner", "hub.private=false",
                       "run.dry_run=true"], run_dir=tmp_path))
    assert created, "the Trainer was not asked to create the hub repo"
    args = json.loads((tmp_path / "resolved" / "training_args.json").read_text())
    assert args["push_to_hub"] is True and args["hub_model_id"] == "me/my-gliner"
    assert args["hub_private_repo"] is False
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert token not in path.read_text(errors="ignore"), path
