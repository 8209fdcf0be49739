"""Schemas of the top-level ``run``, ``train`` and ``hub`` sections."""

from dataclasses import dataclass
from typing import List, Optional

from gliner_exp.config.fields import bounded, choice, outside_experiment, prob

METRICS = ("f1", "precision", "recall", "loss")


@dataclass
class RunConfig:
    """Identity and lifecycle of one run.

    ``resume``: ``auto`` continues from the newest complete checkpoint in the
    run directory, ``never`` starts over, anything else is a checkpoint path.
    ``dir`` is where the run writes; Hydra's output directory by default.
    """

    name: str = "default"
    dir: Optional[str] = outside_experiment(None)
    seed: int = 42
    tags: List[str] = outside_experiment(default_factory=list)
    description: str = outside_experiment("")
    resume: str = outside_experiment("auto")
    dry_run: bool = outside_experiment(False)


@dataclass
class TrainConfig:
    """Length, batching, evaluation, checkpointing and model selection.

    Length is ``max_steps`` or ``epochs``: set exactly one, the other null.
    ``tune_threshold``: at the end of training, the decoding threshold with the
    best dev F1 (grid 0.05-0.95) replaces ``threshold`` for the test score and
    is saved with the model; without dev data ``threshold`` stays.
    ``group_by_length``: batches of similar length (less padding), drawn as
    reproducibly as the default random order.
    ``eval_loss``: each dev evaluation also runs Hugging Face's loss pass (a
    second forward over dev, logged as ``eval_loss``); needed, and required,
    when ``metric_for_best_model=loss``.
    """

    max_steps: Optional[int] = bounded(300, 1, None)
    epochs: Optional[float] = bounded(None, 0.0, None)
    batch_size: int = bounded(8, 1, 100_000)
    eval_batch_size: int = bounded(16, 1, 100_000)
    grad_accum: int = bounded(1, 1, 10_000)
    auto_find_batch_size: bool = False
    logging_steps: int = bounded(10, 1, None)
    eval_every: int = bounded(100, 1, None)
    save_every: int = bounded(100, 1, None)
    save_total_limit: Optional[int] = bounded(2, 1, None)
    load_best_model_at_end: bool = True
    metric_for_best_model: str = choice("f1", *METRICS)
    early_stopping_patience: int = bounded(0, 0, None)
    threshold: float = prob(0.5)
    tune_threshold: bool = True
    flat_ner: bool = True
    group_by_length: bool = False
    eval_loss: bool = False


@dataclass
class HubConfig:
    """Push to the Hugging Face hub; the token is read from ``HF_TOKEN`` only."""

    push: bool = False
    model_id: Optional[str] = None
    private: bool = True
    strategy: str = choice("every_save", "end", "every_save", "checkpoint", "all_checkpoints")
