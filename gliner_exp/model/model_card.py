"""The model card: a ``README.md`` in a saved model directory saying what the model is and how well it does.

Written by a training run once its model and ``metrics.json`` are saved
(:func:`write_model_card`) and refreshed by the export verb with its ONNX
parity figures (:func:`refresh_model_card`). What the card says is kept beside
it as ``gliner_exp_card.json`` (the key settings, the data summary, the
metrics, the exports), so a refresh re-renders the same card with more in it,
even for a model directory copied away from its run. A comparison table is
rendered where ``<run dir>/comparison/comparison.json`` exists (the compare
verb writes it), re-read at every refresh. Nothing here imports torch.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping, Optional

from gliner_exp.model.model_card_render import COMPARISON_FILE, render_card

CARD_FILE = "README.md"
FACTS_FILE = "gliner_exp_card.json"

#: The settings a card lists: (what, config key). A key the config lacks, or null, is left out.
KEY_SETTINGS = (
    ("backbone", "model.backbone"), ("started from", "model.pretrained"),
    ("max steps", "train.max_steps"), ("epochs", "train.epochs"), ("batch size", "train.batch_size"),
    ("gradient accumulation", "train.grad_accum"),
    ("encoder learning rate", "optimizer.encoder_lr"), ("head learning rate", "optimizer.head_lr"),
    ("encoder weight decay", "optimizer.encoder_weight_decay"), ("head weight decay", "optimizer.head_weight_decay"),
    ("scheduler", "optimizer.scheduler"), ("warmup ratio", "optimizer.warmup_ratio"),
    ("warmup steps", "optimizer.warmup_steps"),
    ("loss", "loss.type"), ("loss alpha", "loss.alpha"), ("loss gamma", "loss.gamma"),
    ("label smoothing", "loss.label_smoothing"), ("negatives ratio", "loss.negatives"), ("loss masking", "loss.masking"),
    ("LoRA", "lora.enabled"), ("LoRA rank", "lora.r"), ("LoRA alpha", "lora.alpha"),
    ("bf16", "hardware.bf16"), ("fp16", "hardware.fp16"),
    ("train examples cap", "data.max_train_examples"), ("seed", "run.seed"),
)
#: Architecture entries read from the saved ``gliner_config.json``.
ARCHITECTURE = ("span_mode", "max_len", "max_width", "hidden_size", "subtoken_pooling", "words_splitter_type")


# --------------------------------------------------------------------------- files
def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _write(path: Path, text: str) -> Path:
    # A reader (the hub, a copy) sees the old card or the new one, never half of one.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return path


def _lookup(config: Mapping[str, Any], key: str) -> Any:
    node: Any = config
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _plain(cfg: Any) -> dict:
    if cfg is None:
        return {}
    from omegaconf import DictConfig, OmegaConf

    return OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else dict(cfg)


def _settings(cfg: Any) -> list[list]:
    config = _plain(cfg)
    lora = bool(_lookup(config, "lora.enabled"))
    out = []
    for what, key in KEY_SETTINGS:
        value = _lookup(config, key)
        if value is None or (key.startswith("lora.") and key != "lora.enabled" and not lora):
            continue
        out.append([what, key, value])
    return out


def _architecture(model_dir: Path) -> dict:
    gliner = _read(model_dir / "gliner_config.json") or {}
    encoder = gliner.get("encoder_config") or {}
    out = {key: gliner[key] for key in ARCHITECTURE if gliner.get(key) is not None}
    for key in ("model_type", "num_hidden_layers", "hidden_size"):
        if encoder.get(key) is not None:
            out[f"encoder {key}"] = encoder[key]
    if gliner.get("model_name"):
        out["encoder weights from"] = gliner["model_name"]
    return out


def _metrics(run_dir: Path) -> dict:
    metrics = _read(run_dir / "metrics.json") or {}
    keep = ("global_step", "epoch", "threshold", "per_label", "zero_shot", "wall_time_s")
    out = {k: metrics[k] for k in keep if k in metrics}
    for split in ("dev", "test"):
        scores = {k: metrics.get(f"{split}_{k}") for k in ("f1", "precision", "recall")}
        if scores["f1"] is not None:
            out[split] = scores
    return out


def _overrides(run_dir: Path) -> Optional[list]:
    path = run_dir / ".hydra" / "overrides.yaml"
    if not path.is_file():
        return None
    import yaml

    try:
        found = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return None
    return [str(o) for o in found] if isinstance(found, list) else None


def collect_facts(model_dir: str | Path, run_dir: str | Path | None, cfg: Any = None) -> dict:
    """What a card says about ``model_dir``, read from its run directory (and ``cfg``, the run's config)."""
    model_dir = Path(model_dir)
    run = Path(run_dir) if run_dir is not None else None
    facts: dict = {"model_dir": str(model_dir), "run_dir": str(run) if run else None,
                   "settings": _settings(cfg), "architecture": _architecture(model_dir),
                   "decoding": _read(model_dir / "gliner_exp_inference.json"), "exports": {}}
    config = _plain(cfg)
    facts["run"] = {k: config.get("run", {}).get(k) for k in ("name", "description", "tags")} if config else {}
    if run is not None:
        facts["data"] = _read(run / "resolved" / "data_summary.json")
        facts["metrics"] = _metrics(run)
        facts["overrides"] = _overrides(run)
    return facts


def _save(model_dir: Path, facts: dict) -> Path:
    run = Path(facts["run_dir"]) if facts.get("run_dir") else None
    comparison = _read(run / COMPARISON_FILE) if run is not None else None
    if comparison is not None:
        markdown = run / COMPARISON_FILE.with_suffix(".md")
        facts["comparison"] = comparison
        facts["comparison_markdown"] = markdown.read_text() if markdown.is_file() else None
    _write(model_dir / FACTS_FILE, json.dumps(facts, indent=2, sort_keys=True, default=str) + "\n")
    return _write(model_dir / CARD_FILE, render_card(facts))


def write_model_card(model_dir: str | Path, run_dir: str | Path, cfg: Any = None) -> Path:
    """A new card for a model a run has just saved (``metrics.json`` written); returns the README's path.

    ``cfg`` (the run's composed config) gives the settings table. Anything an
    earlier card of the directory said (an export of an earlier model) is dropped.
    """
    return _save(Path(model_dir), collect_facts(model_dir, run_dir, cfg))


def refresh_model_card(model_dir: str | Path, export: Optional[dict] = None) -> Path:
    """Re-render the card of ``model_dir``, recording ``export`` (an ONNX export's summary, by its directory).

    Exports whose directory is gone are dropped. A directory without card facts (saved before cards existed, or not by a
    run) gets what its run directory (the model directory's parent) still says.
    """
    model_dir = Path(model_dir)
    facts = _read(model_dir / FACTS_FILE)
    if not isinstance(facts, dict):
        parent = model_dir.parent
        facts = collect_facts(model_dir, parent if (parent / "metrics.json").is_file() else None)
    facts["model_dir"] = str(model_dir)  # the card's commands name where the model is now
    exports = dict(facts.get("exports") or {})
    if export is not None:
        exports[str(export["out"])] = export
    # An export moved or deleted since (a re-check that failed moves its directory aside) is no longer there to use.
    facts["exports"] = {out: e for out, e in exports.items() if Path(out).is_dir()}
    return _save(model_dir, facts)
