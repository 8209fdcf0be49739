"""Multi-process TrainingArguments: gloo only for multi-process CPU, DeepSpeed/FSDP options and their checks.

No GPU needed: the options are checked as TrainingArguments keywords, and as
the FSDP plugin arguments HF derives from them on CPU.
"""

from __future__ import annotations

import json

import pytest

from conftest import TINY, compose_cfg
from gliner_exp.config.errors import ConfigError


def _kwargs(overrides, tmp_path):
    from gliner_exp.training.arguments import training_args_kwargs
    from gliner_exp.training.run import as_config

    return training_args_kwargs(as_config(compose_cfg([*TINY, *overrides], run_dir=tmp_path)), tmp_path, True)


def test_gloo_only_for_multi_process_cpu(monkeypatch, tmp_path):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert _kwargs([], tmp_path)["ddp_backend"] is None  # accelerate refuses a backend in one process
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert _kwargs([], tmp_path)["ddp_backend"] == "gloo"
    assert _kwargs(["hardware=gpu"], tmp_path)["ddp_backend"] is None  # NCCL, accelerate's choice


def test_deepspeed_presets_build_the_config(tmp_path):
    zero2 = _kwargs(["hardware=gpu_zero2"], tmp_path)
    ds = zero2["deepspeed"]
    assert ds["zero_optimization"]["stage"] == 2 and "offload_optimizer" not in ds["zero_optimization"]
    # what HF fills from the TrainingArguments (trainer_config_process): one source of truth
    assert {k for k, v in ds.items() if v == "auto"} == {
        "train_batch_size", "train_micro_batch_size_per_gpu", "gradient_accumulation_steps", "gradient_clipping"}
    assert ds["bf16"] == {"enabled": "auto"} and zero2["bf16"] is True and zero2["fsdp"] is None
    assert "optimizer" not in ds and "scheduler" not in ds  # gliner's two-LR AdamW stays
    zero3 = _kwargs(["hardware=gpu_zero3", "hardware.deepspeed_offload=true"], tmp_path)["deepspeed"]
    z = zero3["zero_optimization"]
    assert z["stage"] == 3 and z["stage3_gather_16bit_weights_on_model_save"] is True
    assert z["offload_optimizer"]["device"] == z["offload_param"]["device"] == "cpu"
    assert zero3["zero_force_ds_cpu_optimizer"] is False
    assert json.loads(json.dumps(zero3)) == zero3


def test_fsdp_preset_reaches_hf_plugin_args(tmp_path):
    from gliner.training import TrainingArguments

    kw = _kwargs(["hardware=gpu_fsdp", "hardware.fsdp=shard_grad_op offload",
                  "hardware.fsdp_config.activation_checkpointing=true"], tmp_path)
    assert kw["fsdp"] is True and kw["deepspeed"] is None
    assert kw["fsdp_config"] == {"version": 2, "reshard_after_forward": False, "cpu_offload": True,
                                 "auto_wrap_policy": "TRANSFORMER_BASED_WRAP", "state_dict_type": "FULL_STATE_DICT",
                                 "activation_checkpointing": True}
    # HF turns them into accelerate's FSDP plugin arguments (built on CPU here: no GPU needed for that)
    kw = dict(kw, use_cpu=True, bf16=False, tf32=None, dataloader_pin_memory=False,
              dataloader_persistent_workers=False, dataloader_num_workers=0, dataloader_prefetch_factor=None,
              fsdp_config=dict(kw["fsdp_config"], transformer_layer_cls_to_wrap=["BertLayer"]))
    plugin = TrainingArguments(**kw).fsdp_plugin_args
    assert plugin["fsdp_version"] == 2 and plugin["reshard_after_forward"] is False
    assert plugin["cpu_offload"] is True and plugin["transformer_cls_names_to_wrap"] == "BertLayer"
    assert plugin["activation_checkpointing"] is True and plugin["state_dict_type"] == "FULL_STATE_DICT"


@pytest.mark.parametrize("overrides,message", [
    (["hardware.deepspeed=zero2"], "hardware.deepspeed: needs hardware.device=cuda"),
    (["hardware.fsdp=full_shard"], "hardware.fsdp: needs hardware.device=cuda"),
    (["hardware=gpu_zero2", "hardware.fsdp=full_shard"], "choose one"),
    (["hardware=gpu", "hardware.fsdp=full_shard shard_grad_op"], "exactly one sharding strategy"),
    (["hardware=gpu", "hardware.fsdp=full_shard hybrid"], "unknown word(s) ['hybrid']"),
    (["hardware.deepspeed_offload=true"], "hardware.deepspeed_offload: only with"),
    (["hardware.fsdp_config.activation_checkpointing=true"], "hardware.fsdp_config.activation_checkpointing: set"),
])
def test_sharding_rules(overrides, message, tmp_path):
    with pytest.raises(ConfigError) as exc:
        _kwargs(overrides, tmp_path)
    assert message in str(exc.value)


def test_deepspeed_missing_is_reported_at_build(tmp_path, monkeypatch):
    import importlib.util

    from gliner_exp.training.arguments import build_training_args
    from gliner_exp.training.run import as_config

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "deepspeed" else real(name, *a))
    cfg = as_config(compose_cfg([*TINY, "hardware=gpu_zero2"], run_dir=tmp_path))
    with pytest.raises(ConfigError, match="pip install deepspeed"):
        build_training_args(cfg, tmp_path, True)
