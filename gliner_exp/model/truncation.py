"""Which texts gliner's tokenizer would truncate, from the backbone's tokenizer alone (no model, no torch).

gliner's processor (``UniEncoderSpanProcessor.preprocess_example`` and
``BaseProcessor.tokenize_inputs``, 0.2.29) first keeps ``tokenized_text[:max_len]``
words -- pre-tokenized examples are not re-split by the words splitter, which
only splits raw text at inference -- then puts the label prompt in front
(``<<ENT>> name`` per label, then ``<<SEP>>``) and calls the tokenizer with
``is_split_into_words=True, truncation=True``: everything past the tokenizer's
``model_max_length`` subwords is cut. A word whose pooled subword was cut gets
no embedding, so spans reaching it are lost without a warning.

The same rule is applied here with the backbone's ``tokenizers`` tokenizer
(``tokenizer.json``, plus the tokens gliner adds to it), which needs neither
torch nor the model. :func:`inspect_run` and :func:`warn_harmful` put this
together with :mod:`gliner_exp.data.inspection`.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence

from gliner_exp.data.inspection import SHOWN, inspect_splits

log = logging.getLogger(__name__)

#: GLiNERConfig's defaults (0.2.29) for the knobs the checks need; a null model.* knob means these.
#: (Copied, not read from gliner: importing gliner imports torch. tests/data/test_inspection.py compares.)
GLINER_DEFAULTS = {"max_len": 384, "max_width": 12, "ent_token": "<<ENT>>", "sep_token": "<<SEP>>",
                   "subtoken_pooling": "first"}
#: What gliner adds to the backbone's vocabulary (``_get_special_tokens``), with the configured ent/sep tokens.
FLERT = "[FLERT]"
#: transformers' "no limit" sentinel is 1e30; anything this large means the tokenizer never truncates.
_NO_LIMIT = 10**9


def model_limits(model_cfg: Any) -> Dict[str, Any]:
    """gliner's effective limits for ``model_cfg`` and where its tokenizer is (``tokenizer_dir``: None if not local).

    A new model takes each null knob from :data:`GLINER_DEFAULTS`; a ``pretrained``
    checkpoint from its ``gliner_config.json`` (``max_len``/``max_width`` may be
    overridden on load, as :mod:`gliner_exp.model.build` does).
    """
    from gliner_exp.model.backbones import is_builtin, resolve_backbone

    base = dict(GLINER_DEFAULTS)
    tokenizer_dir: Optional[str] = None
    pretrained = getattr(model_cfg, "pretrained", None)
    if pretrained:
        config_file = Path(pretrained) / "gliner_config.json"
        if config_file.is_file():
            saved = json.loads(config_file.read_text())
            base.update({k: saved[k] for k in base if saved.get(k) is not None})
            tokenizer_dir = str(pretrained)
        overrides = ("max_len", "max_width")  # the only knobs a checkpoint takes on load
    else:
        backbone = model_cfg.backbone
        if is_builtin(backbone) or Path(backbone).is_dir():
            tokenizer_dir = resolve_backbone(backbone)
        overrides = tuple(GLINER_DEFAULTS)
    for key in overrides:
        if getattr(model_cfg, key, None) is not None:
            base[key] = getattr(model_cfg, key)
    base["tokenizer_dir"] = tokenizer_dir
    base["source"] = pretrained or model_cfg.backbone
    return base


def load_tokenizer(tokenizer_dir: str, ent_token: str, sep_token: str) -> tuple[Any, Optional[int]]:
    """The ``tokenizers.Tokenizer`` gliner would use and its truncation length (None: it never truncates)."""
    from tokenizers import AddedToken, Tokenizer

    directory = Path(tokenizer_dir)
    if not (directory / "tokenizer.json").is_file():
        raise FileNotFoundError(f"no tokenizer.json in {directory}")
    tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
    # gliner adds these with add_tokens(special_tokens=True): one subword each (already there in a checkpoint).
    tokenizer.add_special_tokens([AddedToken(t, special=True, normalized=False)
                                  for t in (FLERT, ent_token, sep_token)])
    tokenizer.no_truncation()
    tokenizer.no_padding()
    limit = None
    config_file = directory / "tokenizer_config.json"
    if config_file.is_file():
        value = json.loads(config_file.read_text()).get("model_max_length")
        if isinstance(value, (int, float)) and value < _NO_LIMIT:
            limit = int(value)
    return tokenizer, limit


def label_prompt(labels: Sequence[str], ent_token: str, sep_token: str) -> List[str]:
    """The words gliner puts before a text (``BaseProcessor.prepare_inputs``): ``<<ENT>> name ... <<SEP>>``."""
    words: List[str] = []
    for label in labels:
        words.append(ent_token)
        if label:
            words.append(label)
    return words + [sep_token]


def _prompt_labels(example: dict, all_names: Sequence[str], names: Mapping[str, str]) -> List[str]:
    # ner_labels is the whole prompt when given; otherwise evaluation prompts every label, and
    # training at most those plus the example's own negatives: the longest prompt either can build.
    if "ner_labels" in example:
        return [names.get(label, label) for label in example["ner_labels"]]
    extra = [names.get(label, label) for label in example.get("ner_negatives", ())]
    return list(all_names) + [name for name in dict.fromkeys(extra) if name not in all_names]


def subword_truncation(splits: Any, limits: Mapping[str, Any], tokenizer: Any, limit: int) -> Dict[str, Any]:
    """Per split, the texts whose words gliner's tokenizer would cut at ``limit`` subwords, and entities lost."""
    names = dict(splits.label_names)
    all_names = [names.get(label, label) for label in splits.labels]
    ent, sep, max_len = limits["ent_token"], limits["sep_token"], limits["max_len"]
    pooling = limits.get("subtoken_pooling") or "first"
    special = tokenizer.post_processor.num_special_tokens_to_add(False) if tokenizer.post_processor else 0
    budget = limit - special  # truncation keeps room for [CLS]/[SEP]
    out: Dict[str, Any] = {"limit": limit, "prompt_subwords": 0, "splits": {}}
    out["prompt_subwords"] = len(tokenizer.encode(label_prompt(all_names, ent, sep), is_pretokenized=True,
                                                  add_special_tokens=False).ids)
    for split, examples in splits.items():
        if split != "train" and split not in splits.sources:
            continue
        prompts = [label_prompt(_prompt_labels(ex, all_names, names), ent, sep) for ex in examples]
        inputs = [p + ex["tokenized_text"][:max_len] for p, ex in zip(prompts, examples)]
        encodings = tokenizer.encode_batch(inputs, is_pretokenized=True, add_special_tokens=False) if inputs else []
        indices, cut_at, lost, longest = [], [], 0, 0
        for i, (ex, prompt, enc) in enumerate(zip(examples, prompts, encodings)):
            if len(enc.ids) <= budget:
                continue
            # word -> position of the subword gliner pools (first, or last for "last" pooling)
            pooled: Dict[int, int] = {}
            for pos, word in enumerate(enc.word_ids):
                if word is not None and (pooling == "last" or word not in pooled):
                    pooled[word] = pos
            n_words = min(len(ex["tokenized_text"]), max_len)
            kept = sum(1 for w in range(n_words) if pooled.get(len(prompt) + w, budget) < budget)
            if kept == n_words:
                continue
            indices.append(i)
            cut_at.append(kept)
            longest = max(longest, len(enc.ids) + special)
            lost += sum(1 for _, e, _ in ex["ner"] if kept <= e < max_len)  # past max_len: word truncation counts it
        out["splits"][split] = {"examples": len(indices), "entities_lost": lost, "longest": longest,
                                "indices": indices[:SHOWN], "kept_words": cut_at[:SHOWN]}
    return out


def check_subwords(splits: Any, limits: Mapping[str, Any]) -> Dict[str, Any]:
    """:func:`subword_truncation` for the run's tokenizer, or ``{"skipped": reason}`` where it cannot be loaded."""
    if limits["tokenizer_dir"] is None:
        return {"skipped": f"the tokenizer of {limits['source']!r} is not on local disk"}
    try:
        tokenizer, limit = load_tokenizer(limits["tokenizer_dir"], limits["ent_token"], limits["sep_token"])
    except Exception as exc:  # noqa: BLE001  (tokenizers raises a bare Exception on a malformed file)
        return {"skipped": f"cannot load the tokenizer from {limits['tokenizer_dir']}: {exc}"}
    if limit is None:
        return {"skipped": f"the tokenizer in {limits['tokenizer_dir']} sets no model_max_length (never truncates)"}
    return subword_truncation(splits, limits, tokenizer, limit)


def inspect_run(model_cfg: Any, splits: Any, full_train: Optional[Sequence[dict]] = None,
                cap: Optional[int] = None) -> Dict[str, Any]:
    """The full inspection report for ``splits`` under the model ``model_cfg`` describes."""
    limits = model_limits(model_cfg)
    report = inspect_splits(splits, limits["max_len"], limits["max_width"], full_train, cap,
                            subword=check_subwords(splits, limits))
    report["limits"].update({k: limits[k] for k in ("ent_token", "sep_token", "subtoken_pooling", "source")})
    return report


def warn_harmful(cfg: Any, splits: Any) -> Dict[str, Any]:
    """Log one warning per harmful finding of the run's data (called at train start); returns the report."""
    report = inspect_run(cfg.model, splits)
    for finding in report["findings"]:
        if finding["harmful"]:
            log.warning("data: %s (python -m gliner_exp.cli.inspect_data <same overrides> for the full report)",
                        finding["message"])
    return report
