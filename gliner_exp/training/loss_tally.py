"""The training-loss running sums, carried in every checkpoint so a resumed run reports the whole run's loss.

HF's Trainer keeps them in memory only (``_total_loss_scalar``: the loss drained
at each logging step; ``_tr_loss``: the loss since the last logging step;
``_globalstep_last_logged``) and zeroes them when ``train()`` starts, so after
a resume ``train_loss`` (the sum over all steps / ``global_step``) covered only
the last segment, and the first ``loss`` logged after the resume averaged over
the wrong number of steps. :class:`LossTally` is an ``ExportableState``
callback: HF writes its :meth:`~LossTally.state` into ``trainer_state.json``
(``stateful_callbacks``) with every checkpoint; at train begin it puts the sums
of the checkpoint being resumed back into the Trainer.
"""

from __future__ import annotations

import logging
from typing import Any

from transformers import TrainerCallback
from transformers.trainer_callback import ExportableState

log = logging.getLogger(__name__)


class LossTally(TrainerCallback, ExportableState):
    """Saves and restores the Trainer's training-loss sums with each checkpoint.

    ``trainer`` is the Trainer whose sums these are (it adds this callback
    itself). The sums to save are captured by :meth:`capture`, which every
    rank calls before a checkpoint is written (the loss since the last log is
    averaged across ranks there, as HF does when it logs). HF rebuilds
    stateful callbacks from their ``args`` only with
    ``restore_callback_states_from_checkpoint`` (off in gliner_exp); the
    restore here reads ``trainer_state.json``'s entry directly instead.
    """

    def __init__(self, trainer: Any = None) -> None:
        self.trainer = trainer
        self.total = 0.0
        self.pending = 0.0
        self.last_logged = 0

    def capture(self) -> None:
        """Record the Trainer's current sums (call on every rank: a multi-process run gathers here)."""
        from transformers.trainer_pt_utils import nested_gather

        t = self.trainer
        self.total = float(t._total_loss_scalar)
        self.pending = nested_gather(t._tr_loss.detach(), t.args.parallel_mode).mean().item()
        self.last_logged = int(t._globalstep_last_logged)

    def state(self) -> dict:
        return {"args": {}, "attributes": {"total": self.total, "pending": self.pending,
                                           "last_logged": self.last_logged}}

    def on_train_begin(self, args, state, control, **kwargs):
        if state.global_step == 0 or self.trainer is None:
            return
        name = type(self).__name__
        saved = state.stateful_callbacks.get(name)
        if isinstance(saved, list):
            saved = saved[-1] if saved else None
        if not saved:
            # a checkpoint written before the tally existed: the sums of its steps are gone
            state.stateful_callbacks[name] = self.state()  # HF's save looks the name up
            log.warning("resuming from a checkpoint without the loss tally: train_loss covers only "
                        "the steps after step %d", state.global_step)
            return
        import torch

        attrs = saved.get("attributes", {})
        t = self.trainer
        t._total_loss_scalar = float(attrs.get("total", 0.0))
        t._tr_loss = torch.tensor(float(attrs.get("pending", 0.0)), device=t._tr_loss.device)
        t._globalstep_last_logged = int(attrs.get("last_logged", state.global_step))
