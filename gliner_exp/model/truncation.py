"""Which texts gliner's tokenizer would truncate, and how many subwords words cost (no model, no torch).

gliner's processor (``UniEncoderSpanProcessor.preprocess_example`` and
``BaseProcessor.tokenize_inputs``, 0.2.29) first keeps ``tokenized_text[:max_len]``
words -- pre-tokenized examples are not re-split by the words splitter, which
only splits raw text at inference -- then puts the label prompt in front
(``<<ENT>> name`` per label, then ``<<SEP>>``) and calls the tokenizer with
``is_split_into_words=True, truncation=True``: everything past the tokenizer's
``model_max_length`` subwords is cut. A word whose pooled subword was cut gets
no embedding, so spans reaching it are lost without a warning.

:class:`~gliner_exp.model.subwords.Subwords` is the one implementation of that
arithmetic, used here over the backbone's ``tokenizers`` tokenizer on disk
(``tokenizer.json``, plus the tokens gliner adds to it: no torch, no model) for
the inspection report and training windows, and by prediction over a loaded
model's own tokenizer (:func:`gliner_exp.model.inference.predict_documents`).
:func:`inspect_run` and :func:`warn_harmful` put the checks together with
:mod:`gliner_exp.data.inspection`; :func:`window_splits` cuts long training
texts into the windows ``data.window`` asks for.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence

from gliner_exp.data.inspection import SHOWN, inspect_splits
from gliner_exp.model.subwords import Subwords, kept_words, load_tokenizer

log = logging.getLogger(__name__)

#: GLiNERConfig's defaults (0.2.29) for the knobs the checks need; a null model.* knob means these.
#: (Copied, not read from gliner: importing gliner imports torch. tests/data/test_inspection.py compares.)
GLINER_DEFAULTS = {"max_len": 384, "max_width": 12, "ent_token": "<<ENT>>", "sep_token": "<<SEP>>",
                   "subtoken_pooling": "first"}


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


def _prompt_labels(example: dict, all_names: Sequence[str], names: Mapping[str, str]) -> List[str]:
    # ner_labels is the whole prompt when given; otherwise evaluation prompts every label, and
    # training at most those plus the example's own negatives: the longest prompt either can build.
    if "ner_labels" in example:
        return [names.get(label, label) for label in example["ner_labels"]]
    extra = [names.get(label, label) for label in example.get("ner_negatives", ())]
    return list(all_names) + [name for name in dict.fromkeys(extra) if name not in all_names]


def _label_names(splits: Any) -> tuple[Dict[str, str], List[str]]:
    names = dict(splits.label_names)
    return names, [names.get(label, label) for label in splits.labels]


def subword_truncation(splits: Any, limits: Mapping[str, Any], subwords: Subwords) -> Dict[str, Any]:
    """Per split, the texts whose words gliner's tokenizer would cut at ``subwords.limit``, and entities lost."""
    names, all_names = _label_names(splits)
    max_len = limits["max_len"]
    pooling = limits.get("subtoken_pooling") or "first"
    out: Dict[str, Any] = {"limit": subwords.limit, "splits": {},
                           "prompt_subwords": subwords.measure([[]], [subwords.prompt(all_names)])[0][0]}
    for split, examples in splits.items():
        if split != "train" and split not in splits.sources:
            continue
        words = [ex["tokenized_text"][:max_len] for ex in examples]
        measured = subwords.measure(words, [subwords.prompt(_prompt_labels(ex, all_names, names))
                                            for ex in examples])
        indices, cut_at, lost, longest = [], [], 0, 0
        for i, (ex, (prompt, costs)) in enumerate(zip(examples, measured)):
            budget = subwords.budget(prompt)
            if sum(costs) <= budget:
                continue
            kept = kept_words(costs, budget, pooling)
            if kept == len(costs):
                continue
            indices.append(i)
            cut_at.append(kept)
            longest = max(longest, prompt + sum(costs) + subwords.special)
            lost += sum(1 for _, e, _ in ex["ner"] if kept <= e < max_len)  # past max_len: word truncation counts it
        out["splits"][split] = {"examples": len(indices), "entities_lost": lost, "longest": longest,
                                "indices": indices[:SHOWN], "kept_words": cut_at[:SHOWN]}
    return out


def run_subwords(limits: Mapping[str, Any]) -> Subwords | str:
    """The :class:`Subwords` of the run's tokenizer (from disk), or why there is none to check against."""
    if limits["tokenizer_dir"] is None:
        return f"the tokenizer of {limits['source']!r} is not on local disk"
    try:
        tokenizer, limit = load_tokenizer(limits["tokenizer_dir"], limits["ent_token"], limits["sep_token"])
    except Exception as exc:  # noqa: BLE001  (tokenizers raises a bare Exception on a malformed file)
        return f"cannot load the tokenizer from {limits['tokenizer_dir']}: {exc}"
    if limit is None:
        return f"the tokenizer in {limits['tokenizer_dir']} sets no model_max_length (never truncates)"
    return Subwords.from_tokenizers(tokenizer, limit, limits["ent_token"], limits["sep_token"])


def check_subwords(splits: Any, limits: Mapping[str, Any]) -> Dict[str, Any]:
    """:func:`subword_truncation` for the run's tokenizer, or ``{"skipped": reason}`` where it cannot be loaded."""
    subwords = run_subwords(limits)
    if isinstance(subwords, str):
        return {"skipped": subwords}
    return subword_truncation(splits, limits, subwords)


# --------------------------------------------------------------------------- data.window for training
def window_splits(model_cfg: Any, splits: Any) -> Any:
    """``splits`` with each long training example cut into ``data.window``'s windows (as is where it is off).

    The windows are the predict verb's (:func:`~gliner_exp.model.windowing.windows`):
    at most ``max_len`` words each, ``stride`` apart, and, where the run's
    tokenizer is on disk, within its subword limit beside the longest label
    prompt the example can get. An example that fits stays one example; a longer
    one becomes one example per window (:func:`~gliner_exp.model.windowing.cut_example`).
    ``splits.window`` becomes the applied record: ``size``, ``stride``,
    ``subword_limit`` and, for train, ``examples_windowed``, ``windows`` and
    ``spans_lost`` (spans no window holds whole). dev and test stay whole texts:
    evaluation windows them itself and scores the merged spans.
    """
    from gliner_exp.model.windowing import cut_example, window_shape, windows

    asked = splits.window
    if asked is None or "train" in asked:  # off, or applied already
        return splits
    limits = model_limits(model_cfg)
    size, stride = window_shape(asked["size"], asked["stride"], limits["max_len"], limits["max_width"])
    subwords = run_subwords(limits)
    train = list(splits.train)
    measured: List[Any] = [None] * len(train)
    if not isinstance(subwords, str):
        names, all_names = _label_names(splits)
        measured = subwords.measure([ex["tokenized_text"] for ex in train],
                                    [subwords.prompt(_prompt_labels(ex, all_names, names)) for ex in train])
    out, windowed, pieces, lost = [], 0, 0, 0
    for ex, found in zip(train, measured):
        costs, budget = (found[1], subwords.budget(found[0])) if found is not None else (None, None)
        plan = windows(len(ex["tokenized_text"]), size, stride, costs, budget)
        if len(plan) <= 1:
            out.append(ex)
            continue
        parts, missing = cut_example(ex, plan)
        out.extend(parts)
        windowed, pieces, lost = windowed + 1, pieces + len(parts), lost + missing
    record = {"size": size, "stride": stride,
              "subword_limit": None if isinstance(subwords, str) else subwords.limit,
              "train": {"examples_windowed": windowed, "windows": pieces, "spans_lost": lost}}
    return dataclasses.replace(splits, train=out, window=record)


def inspect_run(model_cfg: Any, splits: Any, full_train: Optional[Sequence[dict]] = None,
                cap: Optional[int] = None) -> Dict[str, Any]:
    """The full inspection report for ``splits`` (windowed if ``data.window`` is on) under the model ``model_cfg`` describes."""
    splits = window_splits(model_cfg, splits)
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
