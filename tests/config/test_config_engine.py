"""The one validation engine: a plain container in, every problem out, in the CLI's words."""

import pytest
from omegaconf import OmegaConf

from gliner_exp.config.errors import ConfigError
from gliner_exp.config.root import Config
from gliner_exp.config.schema import field_type, schema_field, section_keys
from gliner_exp.config.validate import config_problems, validate_config

DEFAULTS = OmegaConf.to_container(OmegaConf.structured(Config))
VALID = {**DEFAULTS, "data": {**DEFAULTS["data"], "synthetic": {"seed": 0, "n_train": 10, "n_dev": 5, "n_test": 5}}}


def test_a_valid_config_passes():
    validate_config(VALID)
    validate_config(OmegaConf.create(VALID))


def test_several_problems_come_back_in_one_error():
    cfg = {**VALID, "loss": {"gama": 1, "masking": "bogus", "prob_margin": 1.5},
           "optimizer": {"encoder_lr": "abc"}, "train": {"batch_size": 1.5},
           "model": {"freeze": ["encoder"]}, "lora": {"rank_pattern": 4}, "nope": 1}
    with pytest.raises(ConfigError) as exc:
        validate_config(cfg)
    assert set(exc.value.problems) == {
        "loss.gama: unknown key (did you mean 'loss.gamma'?); allowed in 'loss': " + ", ".join(section_keys("loss")),
        "loss.masking: 'bogus' is not allowed; allowed: none, global, label, span",
        "loss.prob_margin: 1.5 is out of range; allowed: [0.0, 1.0]",
        "optimizer.encoder_lr: 'abc' is not a valid float",
        "train.batch_size: 1.5 is not a valid int",
        "model.freeze: ['encoder'] not allowed; each item must be one of: text_encoder, labels_encoder, decoder",
        "lora.rank_pattern: 4 is not a valid mapping",
        "nope: unknown key; allowed at the top level: " + ", ".join(section_keys("")),
    }
    assert str(exc.value).count("\n  - ") == len(exc.value.problems)


def test_field_problems_and_rules_together():
    cfg = {**VALID, "loss": {"masking": "bogus"}, "hub": {"push": True}}
    assert config_problems(cfg) == ["loss.masking: 'bogus' is not allowed; allowed: none, global, label, span",
                                    "hub.model_id: required when hub.push is true"]
    assert config_problems(cfg, rules=False) == config_problems(cfg)[:1]


def test_conversion_follows_omegaconf():
    # What OmegaConf's typed nodes would convert passes; what they refuse does not.
    assert config_problems({**VALID, "train": {"max_steps": "100", "epochs": None}}) == []
    assert config_problems({**VALID, "run": {"name": 5}}) == []
    assert config_problems({**VALID, "train": {"batch_size": True}}, rules=False) == [
        "train.batch_size: True is not a valid int"]
    assert config_problems({**VALID, "train": {"batch_size": 2.0}}, rules=False) == [
        "train.batch_size: 2.0 is not a valid int"]
    assert config_problems({**VALID, "loss": {"gamma": None}}, rules=False) == [
        "loss.gamma: null is not allowed; expected float"]


def test_optional_fields_take_null_and_choices_include_it():
    assert config_problems({**VALID, "model": {**VALID["model"], "span_mode": None, "max_len": None}}) == []
    assert config_problems({**VALID, "model": {"span_mode": "nope"}}, rules=False) == [
        "model.span_mode: 'nope' is not allowed; allowed: null, " + ", ".join(
            str(c) for c in schema_field("model.span_mode").metadata["choices"][1:])]


def test_a_rule_about_a_rejected_or_unsettled_value_is_left_out():
    cfg = {**VALID, "train": {"max_steps": None, "epochs": "abc"}}
    assert config_problems(cfg) == ["train.epochs: 'abc' is not a valid float"]
    both_null = {**VALID, "train": {"max_steps": None, "epochs": None}}
    assert len(config_problems(both_null)) == 1
    assert config_problems(both_null, unsettled=["train.epochs"]) == []


def test_hydra_node_is_not_checked():
    validate_config({**VALID, "hydra": {"anything": 1}})


def test_schema_introspection():
    assert schema_field("loss.gamma").metadata["range"] == (0.0, 10.0)
    assert schema_field("loss.gama") is None and schema_field("nope.x") is None
    assert field_type("train.max_steps") == (int, True)
    assert field_type("loss.gamma") == (float, False)
    with pytest.raises(KeyError):
        field_type("loss.gama")
    assert section_keys("hardware.fsdp_config") == ["transformer_layer_cls_to_wrap", "activation_checkpointing"]
    assert section_keys("loss.gamma") == []
    assert section_keys("")[0] == "model"
