"""gliner's Trainer with entity-level F1 in every evaluation."""

from __future__ import annotations

from typing import Any, Callable

from gliner.training import Trainer

from gliner_exp.training.evaluation import flatten_scores


class GLiNERExpTrainer(Trainer):
    """Adds ``eval_f1`` (micro) and ``eval_f1_<label>`` to the eval loss of gliner's Trainer.

    The F1 is what ``metric_for_best_model`` and early stopping see, scored
    against the full label set of the data.
    """

    def __init__(self, *args, f1_fn: Callable[[Any], dict] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.f1_fn = f1_fn

    def evaluation_loop(self, dataloader, description, prediction_loss_only=None, ignore_keys=None,
                        metric_key_prefix="eval"):
        output = super().evaluation_loop(dataloader, description, prediction_loss_only, ignore_keys,
                                         metric_key_prefix)
        if self.f1_fn is not None:
            output.metrics.update(flatten_scores(self.f1_fn(self.model), metric_key_prefix))
        return output
