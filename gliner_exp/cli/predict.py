"""``python -m gliner_exp.cli.predict model_dir=<dir> input=<file>``: entities of every text of a file, as JSONL.

A thin Hydra app over :func:`gliner_exp.model.inference.predict_documents`
(schema: :mod:`gliner_exp.config.predict`, ``conf/predict.yaml``). Every bad
key, path or input line is named in one message (exit 2) before torch is
imported; ``--help`` and ``--cfg job`` answer without torch.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any, List

import hydra
from omegaconf import DictConfig, OmegaConf

from gliner_exp.config.errors import ConfigError, exit_with
from gliner_exp.config.predict import PredictConfig, predict_problems
from gliner_exp.config.store import conf_dir, register

register()
log = logging.getLogger("gliner_exp.predict")
# Input lines reported at most, so a wrong file gives a readable message, not thousands of lines.
_MAX_LINE_PROBLEMS = 20


# --------------------------------------------------------------------------- input
def _record(value: Any, where: str) -> dict:
    """One input: ``text`` (str or None), ``tokens`` (list or None), ``extra`` keys copied to the output."""
    if isinstance(value, str):
        return {"text": value, "tokens": None, "extra": {}}
    if not isinstance(value, dict):
        raise ValueError(f"{where}: expected a string or an object, got {type(value).__name__}")
    text, tokens = value.get("text"), value.get("tokenized_text")
    if text is None and tokens is None:
        raise ValueError(f'{where}: an object needs "text" (a string) or "tokenized_text" (a list of strings)')
    if text is not None and not isinstance(text, str):
        raise ValueError(f'{where}: "text" must be a string, got {type(text).__name__}')
    if tokens is not None and not (isinstance(tokens, list) and all(isinstance(t, str) for t in tokens)):
        raise ValueError(f'{where}: "tokenized_text" must be a list of strings')
    extra = {k: v for k, v in value.items() if k not in ("text", "tokenized_text", "entities")}
    return {"text": text, "tokens": tokens, "extra": extra}


def read_inputs(path: str | Path) -> List[dict]:
    """The inputs of a ``.txt`` (a text per line) or ``.jsonl`` file; ConfigError names each bad ``file:line``."""
    path = Path(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    if path.suffix.lower() == ".txt":
        return [{"text": line, "tokens": None, "extra": {}} for line in lines]
    out, problems = [], []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue  # JSONL: blank lines carry no record
        where = f"{path.name}:{number}"
        try:
            out.append(_record(json.loads(line), where))
        except json.JSONDecodeError as exc:
            problems.append(f"{where}: not JSON ({exc.msg} at column {exc.colno})")
        except ValueError as exc:
            problems.append(str(exc))
        if len(problems) >= _MAX_LINE_PROBLEMS:
            problems.append(f"{path.name}: stopped after {_MAX_LINE_PROBLEMS} bad lines")
            break
    if problems:
        raise ConfigError([f"input: {p}" for p in problems])
    return out


def _words(model: Any, item: dict, where: str) -> tuple[str, List[str], List[tuple]]:
    """The text, its words and their character offsets: split by the model's splitter, or as given."""
    from gliner_exp.model.inference import split_text
    from gliner_exp.model.windowing import token_offsets

    tokens, text = item["tokens"], item["text"]
    if tokens is None:
        words = split_text(model, text)
        return text, [w for w, _, _ in words], [(s, e) for _, s, e in words]
    if text is None:
        text, offsets, at = " ".join(tokens), [], 0
        for token in tokens:
            offsets.append((at, at + len(token)))
            at += len(token) + 1
        return text, list(tokens), offsets
    try:
        return text, list(tokens), token_offsets(tokens, text)
    except ValueError as exc:
        raise ConfigError([f"input: {where}: {exc} (tokenized_text must be the text's words, in order)"]) from None


def _output_record(item: dict, text: str, offsets: List[tuple], spans: List[tuple]) -> dict:
    entities = []
    for start, end, label, score in spans:
        char_start, char_end = offsets[start][0], offsets[end][1]
        entity = {"start": char_start, "end": char_end, "text": text[char_start:char_end], "label": label,
                  "score": round(float(score), 6)}
        if item["tokens"] is not None:
            entity.update(token_start=start, token_end=end)  # inclusive, as gliner's "ner" spans
        entities.append(entity)
    out = {**item["extra"], "text": text}
    if item["tokens"] is not None:
        out["tokenized_text"] = item["tokens"]
    out["entities"] = entities
    return out


# --------------------------------------------------------------------------- the job
def _output_path(cfg: DictConfig) -> Path:
    if cfg.output:
        return Path(os.path.abspath(os.path.expanduser(cfg.output)))
    from hydra.core.hydra_config import HydraConfig

    return Path(HydraConfig.get().runtime.output_dir) / "predictions.jsonl"


def predict(cfg: DictConfig) -> dict:
    """Run one prediction job for a composed predict config; returns a summary (counts, seconds, texts/s)."""
    plain = OmegaConf.to_container(cfg, resolve=True)
    problems = predict_problems(plain)
    if problems:
        raise ConfigError(problems)
    items = read_inputs(cfg.input)
    from gliner_exp.model.inference import SETTINGS_FILE, load_for_prediction, predict_documents

    if cfg.labels is None and not (Path(cfg.model_dir) / SETTINGS_FILE).is_file():
        raise ConfigError([f"labels: required: {cfg.model_dir} has no {SETTINGS_FILE} with the model's labels "
                           "(e.g. 'labels=[person,city]')"])
    if cfg.labels is not None and not cfg.labels:
        raise ConfigError(["labels: empty; give at least one label or null for the model's own"])
    model, settings = load_for_prediction(cfg.model_dir)
    labels = list(cfg.labels) if cfg.labels is not None else list(settings.labels)
    threshold = cfg.threshold if cfg.threshold is not None else (settings.threshold if settings else 0.5)
    flat_ner = cfg.flat_ner if cfg.flat_ner is not None else (settings.flat_ner if settings else True)
    label_names = dict(settings.label_names) if settings else {}
    max_len = int(model.config.max_len)
    if cfg.window.size is not None and cfg.window.size > max_len:
        log.warning("window.size=%d is more than the model reads (max_len=%d): windows of %d words",
                    cfg.window.size, max_len, max_len)
    prepared = [_words(model, item, f"record {i + 1}") for i, item in enumerate(items)]
    started = time.perf_counter()
    spans = predict_documents(model, [words for _, words, _ in prepared], labels, threshold, flat_ner,
                              cfg.batch_size, label_names, cfg.window.size, cfg.window.stride)
    seconds = time.perf_counter() - started
    out_path = _output_path(cfg)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    partial = out_path.with_name(out_path.name + ".partial")  # a crash never leaves a half file under the real name
    with open(partial, "w", encoding="utf-8") as fh:
        for item, (text, _, offsets), found in zip(items, prepared, spans):
            fh.write(json.dumps(_output_record(item, text, offsets, found), ensure_ascii=False) + "\n")
    partial.replace(out_path)
    long = sum(len(words) > max_len for _, words, _ in prepared)
    summary = {"texts": len(items), "entities": sum(map(len, spans)), "windowed": long, "seconds": round(seconds, 3),
               "texts_per_s": round(len(items) / seconds, 2) if seconds > 0 else None, "output": str(out_path),
               "labels": labels, "threshold": threshold}
    print(f"gliner_exp predict: {summary['texts']} texts ({long} longer than max_len={max_len}, windowed), "
          f"{summary['entities']} entities, {seconds:.2f}s ({summary['texts_per_s']} texts/s) -> {out_path}")
    return summary


@hydra.main(version_base="1.3", config_path=str(conf_dir()), config_name="predict")
def _hydra_entry(cfg: DictConfig) -> None:
    try:
        predict(cfg)
    except ConfigError as exc:
        exit_with(exc)


# --------------------------------------------------------------------------- command-line check
def check_command_line(argv: List[str]) -> None:
    """Raise ConfigError naming every bad key, value and path of ``argv`` at once (Hydra stops at the first).

    Commands that compose nothing or only print (``--help``, ``--cfg``, ``--info``, ...) and
    lines Hydra cannot parse are left to Hydra, which words its own errors.
    """
    from gliner_exp.cli.precheck import set_dotted, verb_overrides

    parsed = verb_overrides(argv)
    if parsed is None:
        return
    plain = OmegaConf.to_container(OmegaConf.structured(PredictConfig))
    for ov in parsed:
        set_dotted(plain, ov.key_or_group, ov.value())
    problems = predict_problems(plain)
    if problems:
        raise ConfigError(problems)


def main() -> None:
    """Console entry point: check the command line, then hand over to Hydra."""
    try:
        check_command_line(sys.argv[1:])
    except ConfigError as exc:
        exit_with(exc)
    _hydra_entry()


if __name__ == "__main__":
    main()
