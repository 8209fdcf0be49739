"""What DDP and FSDP need from the model: the unused pooler frozen, the encoder layers FSDP wraps."""

from __future__ import annotations

import pytest

from conftest import TINY, compose_cfg
from gliner_exp.cluster.model_prep import encoder_layer_classes
from gliner_exp.cluster.sharding import fsdp_wrap_defaults
from gliner_exp.config.errors import ConfigError


def test_pooler_frozen_and_fsdp_wrap_classes(tmp_path):
    from gliner_exp.training.assemble import build_all
    from gliner_exp.training.run import as_config, load_data

    cfg = as_config(compose_cfg(TINY, run_dir=tmp_path))
    built = build_all(cfg, tmp_path, load_data(cfg))
    frozen = {n for n, p in built.model.named_parameters() if not p.requires_grad}
    assert frozen and all(".pooler." in n for n in frozen)
    assert built.distributed["frozen_unused"] == ["pooler.dense.weight", "pooler.dense.bias"]
    assert built.args.ddp_find_unused_parameters is False
    assert sorted(encoder_layer_classes(built.model)) == ["BertEmbeddings", "BertLayer"]
    kwargs = {"fsdp": True, "fsdp_config": {"version": 2}}
    fsdp_wrap_defaults(kwargs, built.model)
    assert sorted(kwargs["fsdp_config"]["transformer_layer_cls_to_wrap"]) == ["BertEmbeddings", "BertLayer"]
    with pytest.raises(ConfigError, match="NoSuchLayer"):
        fsdp_wrap_defaults({"fsdp": True, "fsdp_config": {"transformer_layer_cls_to_wrap": ["NoSuchLayer"]}},
                           built.model)
