"""``train(cfg) -> metrics``: one GLiNER training run from a composed config.

Order matters: everything cheap that can reject the run (config, data) runs
before torch or a model is loaded.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from gliner_exp.cluster.devices import check_device
from gliner_exp.cluster.environment import setup_distributed
from gliner_exp.config.errors import ConfigError, run_dir_missing
from gliner_exp.config.root import Config
from gliner_exp.config.validate import validate_config
from gliner_exp.data import DataError, load_splits, summarize
from gliner_exp.integrations.wandb_run import finish, log_final
from gliner_exp.model.export import save_final_model
from gliner_exp.model.lora.resume import check_resume
from gliner_exp.model.model_card import write_model_card
from gliner_exp.model.truncation import warn_harmful, window_splits
from gliner_exp.training.artifacts import write_json, write_predictions, write_resolved
from gliner_exp.training.checkpoints import ResumeError, resolve_resume, run_relative, set_aside_incomplete
from gliner_exp.training.console import render_summary
from gliner_exp.training.data_fingerprint import check_unchanged, data_fingerprint, record
from gliner_exp.training.debug_pause import pause_at
from gliner_exp.model.inference import InferenceSettings
from gliner_exp.training.evaluation import F1Evaluator, flatten_scores, load_suites, score_suites, tune_threshold
from gliner_exp.training.run_lock import hold_run_dir
from gliner_exp.training.storage_errors import reported_storage_errors

log = logging.getLogger(__name__)


def as_config(cfg: Any) -> DictConfig:
    """Validate ``cfg`` (DictConfig or plain dict) and return it typed by the schema."""
    if isinstance(cfg, DictConfig):
        container = OmegaConf.to_container(cfg, resolve=True)
    else:
        container = cfg
    container = {k: v for k, v in container.items() if k != "hydra"}
    validate_config(container)
    return OmegaConf.merge(OmegaConf.structured(Config), container)


def run_dir_of(cfg: DictConfig) -> Path:
    """The run directory (``run.dir``, which Hydra sets to its output directory)."""
    if cfg.run.dir:
        return Path(cfg.run.dir)
    raise run_dir_missing()


def load_data(cfg: DictConfig):
    """The data splits as trained on (a mix drawn with ``run.seed``, long texts in ``data.window``'s windows),
    with data errors reported as config errors (``file:line``)."""
    try:
        splits = load_splits(cfg.data, base_dir=os.getcwd(), seed=cfg.run.seed)
    except DataError as exc:
        raise ConfigError([str(exc)]) from None
    return window_splits(cfg.model, splits)


def train(cfg: Any) -> dict:
    """Validate, build, train (resuming where a previous run stopped), evaluate, save; return metrics."""
    started = time.time()
    cfg = as_config(cfg)
    run_dir = run_dir_of(cfg)
    with hold_run_dir(run_dir):  # a second copy of this run stops here (RunDirBusy, exit 2), before anything heavy
        with reported_storage_errors(run_dir):  # disk full / read-only mid-run: one message, the run dir resumable
            return _train_locked(cfg, run_dir, started)


def _train_locked(cfg: DictConfig, run_dir: Path, started: float) -> dict:
    setup_distributed(run_dir)  # torchrun env as is, or exported from SLURM tasks; rank>0 logs to its own file
    splits = load_data(cfg)
    warn_harmful(cfg, splits)  # truncation, too-wide spans, unseen dev labels, overlap: one warning each
    suites = load_suites(cfg.eval.extra, os.getcwd())  # eval.extra: a broken file stops the run now, not at the end
    try:
        resume = resolve_resume(cfg.run.resume, run_dir / "checkpoints")
    except ResumeError as exc:
        raise ConfigError([str(exc)]) from None
    data_fp = data_fingerprint(cfg.data, splits, os.getcwd())
    if resume is not None:
        check_unchanged(run_dir, data_fp, resume)  # a resume onto changed data would mix old and new

    # torch, transformers and gliner load only now that config and data are accepted.
    from gliner_exp.training.assemble import build_all
    from gliner_exp.training.preemption import finish_if_stopped

    check_device(cfg)  # cuda asked for but not visible: stop before loading (a dry run only warns)
    built = build_all(cfg, run_dir, splits)
    model, args, trainer = built.model, built.args, built.trainer
    is_main = trainer.is_world_process_zero()
    if is_main:
        write_resolved(run_dir, args, model.config, summarize(splits), records=built.records())
    if cfg.run.dry_run:
        return {"dry_run": True, "run_dir": str(run_dir)}
    if is_main:
        if cfg.run.resume == "auto":
            set_aside_incomplete(run_dir / "checkpoints")  # passed over: their steps are saved afresh
        record(run_dir, data_fp, replace=resume is None)

    if resume is not None:
        log.info("resuming from %s", resume)
        check_resume(model, resume)  # gliner's loader would drop mismatched adapter keys silently
    train_out = trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    finish_if_stopped(trainer)  # stopped by a signal: checkpoint saved; requeue (submitit) or exit 128+sig

    metrics: dict = {
        "global_step": trainer.state.global_step,
        "epoch": trainer.state.epoch,
        "resumed_from": str(resume) if resume else None,
        "run": built.run_info,
        "best_checkpoint": run_relative(trainer.state.best_model_checkpoint, run_dir),  # a moved run dir stays true
        "train_loss": train_out.training_loss,
    }
    threshold = _decoding_threshold(cfg, model, splits, metrics)
    per_label = {}
    for split in ("dev", "test"):
        examples = getattr(splits, split)
        if examples:
            evaluator = F1Evaluator(examples, splits.labels, threshold, cfg.train.flat_ner,
                                    cfg.train.eval_batch_size, splits.label_names, splits.window)
            scores = evaluator(model)
            metrics.update(flatten_scores({k: v for k, v in scores.items() if k != "per_label"}, split))
            per_label[split] = scores["per_label"]
            if is_main:
                write_predictions(run_dir / "predictions" / f"{split}.jsonl", examples, evaluator.last_predictions)
            pause_at("final_eval", run_dir)  # drills only (GLINER_EXP_DEBUG_PAUSE_AT): a kill mid-evaluation
    metrics["per_label"] = per_label
    if suites:  # zero-shot suites: other data options, each with its own labels, at the decoding threshold
        metrics["zero_shot"] = score_suites(model, suites, threshold, cfg.train.flat_ner, cfg.train.eval_batch_size,
                                            splits.label_names)
    if is_main:
        adapter_dir = run_dir / "adapter" if cfg.lora.enabled and cfg.lora.save_adapter else None
        model_dir = save_final_model(model, run_dir / "model", adapter_dir=adapter_dir)
        InferenceSettings(threshold, cfg.train.flat_ner, list(splits.labels), dict(splits.label_names)).save(model_dir)
        pause_at("export", run_dir)  # drills only: a kill between the export and metrics.json
        metrics["model_dir"] = str(model_dir)
        metrics["wall_time_s"] = time.time() - started
        log_final(metrics)
        finish()  # the next job of a multirun gets a wandb run of its own
        write_json(run_dir / "metrics.json", metrics)
        try:
            if cfg.eval.compare_base:  # after the export: a failing report never costs the trained model
                from gliner_exp.training.comparison import compare_with_base

                compare_with_base(cfg, model, splits, suites, threshold, run_dir)
        finally:  # a failed comparison still leaves the card and the summary; its error then propagates
            write_model_card(model_dir, run_dir, cfg)  # README.md: settings, data, metrics, comparison, reload
            print(render_summary(metrics, str(model_dir), str(run_dir)), flush=True)
    return metrics


def _decoding_threshold(cfg: DictConfig, model: Any, splits: Any, metrics: dict) -> float:
    """``train.threshold``, or the one tuned on dev (``train.tune_threshold``); recorded in ``metrics``."""
    configured = cfg.train.threshold
    if not (cfg.train.tune_threshold and splits.dev):
        if cfg.train.tune_threshold:
            log.warning("train.tune_threshold: no dev data to tune on; decoding with train.threshold=%s", configured)
        metrics["threshold"] = {"value": configured, "tuned": False}
        return configured
    tuned = tune_threshold(model, splits.dev, splits.labels, cfg.train.flat_ner, cfg.train.eval_batch_size,
                           splits.label_names, configured, splits.window)
    metrics["threshold"] = {"value": tuned["threshold"], "tuned": True, "configured": configured,
                            "dev_f1": tuned["f1"], "dev_f1_at_configured": tuned["f1_at_default"],
                            "grid": tuned["grid"]}
    log.info("decoding threshold tuned on dev: %s (dev F1 %.4f; %.4f at train.threshold=%s)",
             tuned["threshold"], tuned["f1"], tuned["f1_at_default"], configured)
    return tuned["threshold"]
