"""gliner's Trainer with entity-level F1 in every evaluation, length-grouped batches and exact resumes."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from gliner.training import Trainer
from transformers import EarlyStoppingCallback
from transformers.trainer_pt_utils import LengthGroupedSampler, get_length_grouped_indices
from transformers.trainer_utils import EvalLoopOutput

from gliner_exp.training.debug_pause import pause_at, pause_callbacks
from gliner_exp.training.evaluation import flatten_scores
from gliner_exp.training.loss_tally import LossTally


class EpochSeededLengthGroupedSampler(LengthGroupedSampler):
    """HF's :class:`LengthGroupedSampler`, shuffled from ``seed + epoch`` instead of torch's global RNG.

    Why: HF's sampler draws its permutation from the global RNG when an epoch's
    iteration starts. A run resumed mid-epoch starts that epoch's iteration from
    a different global RNG state (HF restores the checkpoint's RNG state only
    after skipping the trained batches), so it would train on a different order
    than the uninterrupted run. Like accelerate's ``SeedableRandomSampler`` (what
    the default random order becomes), the order here depends only on the seed
    and the epoch, which HF sets through ``set_epoch`` before each epoch, on
    every rank alike.
    """

    def __init__(self, batch_size: int, lengths: list[int], seed: int):
        super().__init__(batch_size, lengths=lengths)
        self.seed, self.epoch = seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        import torch

        if self.generator is None:
            self.generator = torch.Generator(device=torch.get_default_device())
        self.generator.manual_seed(self.seed + self.epoch)
        yield from get_length_grouped_indices(self.lengths, self.batch_size, generator=self.generator)
        self.epoch += 1  # where nothing calls set_epoch, the next epoch still gets a new order


class GLiNERExpTrainer(Trainer):
    """gliner's Trainer, plus F1 in evaluations and a resume that continues the run exactly.

    Adds ``eval_f1`` (micro) and ``eval_f1_<label>`` to the eval loss: the F1
    is what ``metric_for_best_model`` and early stopping see, scored against
    the full label set of the data. A resumed run reports what the
    uninterrupted run would have: the batch order is a function of seed and
    epoch (with ``train_lengths``, :class:`EpochSeededLengthGroupedSampler`
    groups each batch's examples by length), the training-loss sums travel in the
    checkpoint (:class:`~gliner_exp.training.loss_tally.LossTally`), and a
    run resumed from its final checkpoint trains no further step.
    """

    def __init__(self, *args, f1_fn: Callable[[Any], dict] | None = None,
                 train_lengths: list[int] | None = None, eval_loss: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.f1_fn = f1_fn
        self.eval_loss = eval_loss
        self._in_evaluate = False
        self.train_lengths = train_lengths
        self.loss_tally = LossTally(self)
        self.add_callback(self.loss_tally)
        for callback in pause_callbacks(self.run_dir):
            self.add_callback(callback)

    @property
    def run_dir(self) -> Path:
        """The run directory: gliner_exp writes checkpoints to ``<run dir>/checkpoints``."""
        return Path(self.args.output_dir).parent

    def _get_train_sampler(self, train_dataset=None):
        """With ``train_lengths`` (one per training example): batches of similar length, else HF's sampler."""
        if self.train_lengths is None:
            return super()._get_train_sampler(train_dataset)
        seed = self.args.data_seed if self.args.data_seed is not None else self.args.seed
        # per optimizer step, as HF groups: the micro-batches of one step come from one mega-batch
        return EpochSeededLengthGroupedSampler(self.args.train_batch_size * self.args.gradient_accumulation_steps,
                                               lengths=self.train_lengths, seed=seed)

    def evaluate(self, *args, **kwargs):
        self._in_evaluate = True
        try:
            return super().evaluate(*args, **kwargs)
        finally:
            self._in_evaluate = False

    def evaluation_loop(self, dataloader, description, prediction_loss_only=None, ignore_keys=None,
                        metric_key_prefix="eval"):
        if self._in_evaluate and not self.eval_loss and self.f1_fn is not None:
            # The loss pass is a second forward over dev that F1 does not need: on
            # CrossNER politics it was half of each evaluation's time. (predict() keeps it.)
            return EvalLoopOutput(predictions=None, label_ids=None, num_samples=len(dataloader.dataset),
                                  metrics=flatten_scores(self.f1_fn(self.model), metric_key_prefix))
        output = super().evaluation_loop(dataloader, description, prediction_loss_only, ignore_keys,
                                         metric_key_prefix)
        if self.f1_fn is not None:
            output.metrics.update(flatten_scores(self.f1_fn(self.model), metric_key_prefix))
        return output

    def _save_checkpoint(self, model, trial):
        self.loss_tally.capture()  # every rank, before rank 0 writes trainer_state.json
        super()._save_checkpoint(model, trial)

    def save_model(self, output_dir=None, _internal_call=False):
        super().save_model(output_dir, _internal_call)
        if _internal_call:  # a checkpoint, written weights first
            pause_at(f"save:{self.state.global_step}", self.run_dir, self.state.global_step)

    def _load_callback_state(self):
        super()._load_callback_state()
        # with restore_callback_states_from_checkpoint HF rebuilds stateful callbacks from their
        # args: the rebuilt tally must still read and restore this Trainer's sums
        for callback in self.callback_handler.callbacks:
            if isinstance(callback, LossTally):
                callback.trainer, self.loss_tally = self, callback

    def _run_epoch(self, *args, **kwargs):
        # HF checks whether training is over only after a step: resumed from the checkpoint where
        # it ended (killed during the final evaluation or export) it would train on.
        if self.training_had_ended():
            self.control.should_training_stop = True
            return None
        return super()._run_epoch(*args, **kwargs)

    def training_had_ended(self) -> bool:
        """Whether the state reached (or resumed) is where training stops: max_steps, or early stopping's patience used up."""
        if self.state.max_steps > 0 and self.state.global_step >= self.state.max_steps:
            return True
        # early stopping's count is restored from the checkpoint (restore_callback_states_from_checkpoint)
        return any(isinstance(cb, EarlyStoppingCallback)
                   and cb.early_stopping_patience_counter >= cb.early_stopping_patience
                   for cb in self.callback_handler.callbacks)
