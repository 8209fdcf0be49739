"""Rules between fields: what every field may hold alone but not together with the others.

They run after each field has passed its own check (types, choices, ranges), so
they may rely on well-typed values. The paths a config names are checked here as
well (:mod:`gliner_exp.config.paths`), so a missing file is reported with every
other problem. Nothing here imports torch.
"""

from __future__ import annotations

from typing import Any

from gliner_exp.config.data import data_problems
from gliner_exp.config.eval import eval_problems
from gliner_exp.config.hardware import hardware_problems
from gliner_exp.config.lora import lora_problems
from gliner_exp.config.model import ARCHITECTURE_KEYS
from gliner_exp.config.paths import path_problems


def cross_field_problems(cfg: Any) -> list[str]:
    """Every cross-field problem of a complete, field-wise valid config (attribute access, e.g. a DictConfig)."""
    out = []
    hw, tr, data, hub, run, model = cfg.hardware, cfg.train, cfg.data, cfg.hub, cfg.run, cfg.model
    if (model.backbone is None) == (model.pretrained is None):
        out.append("model.backbone and model.pretrained: set exactly one (a backbone for a new GLiNER, "
                   "or a GLiNER checkpoint to continue from)")
    if model.pretrained is not None:
        for key in ARCHITECTURE_KEYS:
            if model[key] is not None:
                out.append(f"model.{key}: fixed by the checkpoint in model.pretrained; must be null "
                           f"(got {model[key]!r})")
    if hw.fp16 and hw.bf16:
        out.append("hardware.fp16 and hardware.bf16: at most one may be true")
    if hw.device == "cpu" and (hw.fp16 or hw.tf32):
        out.append("hardware.fp16/hardware.tf32 need hardware.device=cuda (use hardware=gpu_fp16); "
                   "on cpu only bf16 is allowed")
    if hw.num_workers == 0 and (hw.persistent_workers or hw.prefetch_factor is not None):
        out.append("hardware.persistent_workers / hardware.prefetch_factor need hardware.num_workers > 0")
    if tr.metric_for_best_model == "loss" and not tr.eval_loss:
        out.append("train.metric_for_best_model=loss needs train.eval_loss=true (the dev loss is "
                   "computed only then)")
    if (tr.max_steps is None) == (tr.epochs is None):
        out.append("train.max_steps and train.epochs: set exactly one of them (the other null); "
                   f"got max_steps={tr.max_steps}, epochs={tr.epochs}")
    has_dev = data.synthetic is not None or data.dev is not None
    if data.synthetic is None and data.train is None:
        out.append("data.train: required unless data.synthetic is set (use data=synthetic or give a file)")
    paths_set = [f"data.{k}" for k in ("train", "dev", "test") if getattr(data, k) is not None]
    if data.synthetic is not None and paths_set:
        out.append(f"data.synthetic and {', '.join(paths_set)}: choose one source (set the paths to null)")
    if data.synthetic is not None and data.format != "auto":
        out.append(f"data.format={data.format}: only for files; must stay auto with data.synthetic")
    if not has_dev:
        if tr.load_best_model_at_end:
            out.append("train.load_best_model_at_end: needs evaluation data (data.dev); set it false or give data.dev")
        if tr.early_stopping_patience:
            out.append("train.early_stopping_patience: needs evaluation data (data.dev)")
    else:
        if tr.load_best_model_at_end and tr.save_every % tr.eval_every:
            out.append(f"train.save_every={tr.save_every} must be a multiple of train.eval_every={tr.eval_every} "
                       "when train.load_best_model_at_end is true")
    if tr.early_stopping_patience and not tr.load_best_model_at_end:
        out.append("train.early_stopping_patience: needs train.load_best_model_at_end=true")
    if hub.push and not hub.model_id:
        out.append("hub.model_id: required when hub.push is true")
    if not str(run.name).strip() or "/" in str(run.name):
        out.append(f"run.name: {run.name!r} must be non-empty and contain no '/'")
    if data.labels is not None and (not data.labels or len(set(data.labels)) != len(data.labels)):
        out.append("data.labels: must be a non-empty list without duplicates, or null to take labels from the data")
    out.extend(data_problems(data))
    out.extend(lora_problems(cfg.lora))
    out.extend(hardware_problems(hw))
    out.extend(path_problems(cfg))
    out.extend(eval_problems(cfg))
    return out
