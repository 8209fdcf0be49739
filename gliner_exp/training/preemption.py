"""Checkpoint when the job is told to stop, then stop (and requeue) or carry on.

Which signal means what
-----------------------
SLURM tells a job to stop in two ways: the ``--signal`` the slurm presets ask
for (``USR2`` ``signal_delay_s`` before the time limit; submitit's
``SUBMITIT_PREEMPT_SIGNAL``, also sent on preemption where the cluster has
``PreemptParameters=send_user_signal``) and ``SIGTERM`` (preemption,
``scancel``, ``scontrol requeue``, the time limit itself), each followed by
``SIGKILL`` after a grace period (``KillWait`` / ``GraceTime``).

submitit's own handlers, installed before the job starts, requeue the job *at
once* on ``USR2`` (``sys.exit`` from inside the handler, i.e. in the middle of
a training step, with nothing saved since the last periodic checkpoint) and
ignore ``SIGTERM``. HF's own answer (``TrainingArguments.enable_jit_checkpoint``,
off here) handles ``SIGTERM`` only, saves from ``on_pre_optimizer_step``
(before the step's update) without agreeing across ranks, and never requeues.

:class:`PreemptionCallback` (installed by ``build_all``) replaces both while
the training loop runs and chains to whatever was installed before:

========================  ==========================================================
signal, where             what happens
========================  ==========================================================
USR2, under submitit      at the next optimizer-step end: checkpoint, stop training;
                          then submitit's handler runs (``launcher.checkpoint()`` ->
                          ``scontrol requeue``); the requeued job runs the same Hydra
                          job in the same run dir and resumes from that checkpoint
SIGTERM, under submitit   at the next step end: checkpoint, and go on (submitit's
                          semantics: TERM alone does not stop a job). If SIGKILL
                          follows (preemption, requeue, scancel) the work since that
                          checkpoint is all that is lost; if not, nothing is
USR2, SIGTERM or SIGINT   at the next step end: checkpoint, stop, exit with
elsewhere (torchrun,      128+signal (140 / 143 / 130); re-running the same command
plain python, sbatch)     resumes from that checkpoint. A second SIGINT (Ctrl-C
                          twice) stops at once, as Python does; an ignored SIGINT
                          (a background job) stays ignored
SIGINT, under submitit    as elsewhere: checkpoint, stop, exit 130
any, outside the loop     the previous handler, unchanged (submitit: requeue now;
                          default: die) -- the newest periodic checkpoint is used
========================  ==========================================================

In a multi-process run every rank gets the signal, not necessarily at the same
step: the request is max-reduced across ranks at every step end (one 2-integer
all-reduce on a CPU/gloo group: no GPU synchronisation), so all ranks save and
stop at the same step. Rank 0 requeues; the
other ranks wait for the requeue to end them (submitit's rule: a non-zero rank
exiting first could take rank 0 down before it requeued).

Knobs (environment): ``GLINER_EXP_PREEMPTION=off`` disables all of this (plain
submitit/HF behaviour); ``GLINER_EXP_PREEMPT_WAIT_S`` (120) bounds how long a
non-zero rank waits to be ended; ``GLINER_EXP_DEBUG_STEP_SLEEP_S`` sleeps at
every step end (drills and tests: makes a tiny run slow enough to interrupt).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from typing import Any, Callable

from transformers import TrainerCallback

log = logging.getLogger(__name__)

DISABLE_ENV = "GLINER_EXP_PREEMPTION"
WAIT_ENV = "GLINER_EXP_PREEMPT_WAIT_S"
STEP_SLEEP_ENV = "GLINER_EXP_DEBUG_STEP_SLEEP_S"

NONE, SAVE, STOP = 0, 1, 2


def requeue_signal() -> signal.Signals:
    """submitit's preemption/timeout signal (``SUBMITIT_PREEMPT_SIGNAL``, default USR2)."""
    name = "SIG" + os.environ.get("SUBMITIT_PREEMPT_SIGNAL", "USR2")
    return getattr(signal, name, signal.SIGUSR2)


def under_submitit() -> bool:
    return bool(os.environ.get("SUBMITIT_EXECUTOR"))


class Preempted(SystemExit):
    """Raised (outside submitit) after the stop checkpoint is written; exit code 128 + signal."""


class PreemptionCallback(TrainerCallback):
    """Turns stop signals into a checkpoint at the next step end (see the module docstring)."""

    def __init__(self) -> None:
        self.enabled = os.environ.get(DISABLE_ENV, "on").lower() not in ("off", "0", "false", "no")
        self.step_sleep = float(os.environ.get(STEP_SLEEP_ENV, "0") or 0)
        self.signals = tuple(dict.fromkeys((requeue_signal(), signal.SIGTERM, signal.SIGINT)))
        self.previous: dict[int, Any] = {}
        self.armed = False
        self.exiting = False
        self.request = NONE  # this process's, set by the handler
        self.signum: int | None = None
        self.stopped = False  # all ranks agreed to stop
        self.stop_step: int | None = None
        self.saves: list[int] = []  # steps checkpointed because of a signal
        self._group: Any = False  # where ranks agree on the request (see _flag_group)

    # ------------------------------------------------------------------ signal handling
    def _install(self) -> None:
        if not self.enabled or self.previous:
            return
        if threading.current_thread() is not threading.main_thread():
            log.warning("preemption: not in the main thread, signal handlers not installed")
            return
        for sig in self.signals:
            if sig == signal.SIGINT and signal.getsignal(sig) == signal.SIG_IGN:
                continue  # a background job's ignored Ctrl-C stays ignored
            previous = signal.signal(sig, self._handle)
            owner = getattr(previous, "__self__", None)
            if isinstance(owner, PreemptionCallback):  # left by a run that raised mid-training
                previous = owner.previous.get(sig, signal.SIG_DFL)
            self.previous[sig] = previous

    def _restore(self) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        self.previous = {}

    def _action(self, signum: int) -> int:
        if under_submitit() and callable(self.previous.get(signum)) and signum == signal.SIGTERM:
            return SAVE  # submitit ignores TERM; a kill or its USR2 follows if the job must go
        return STOP

    def _handle(self, signum: int, frame: Any) -> None:
        name = signal.Signals(signum).name
        if self.exiting:
            log.info("preemption: %s ignored, already stopping", name)
            return
        if not self.armed:
            return self._chain(signum, frame)
        if signum == signal.SIGINT and self.request == STOP:
            log.warning("preemption: second SIGINT: stopping now, without a checkpoint")
            return self._chain(signum, frame)  # Ctrl-C twice: what the user's Python would do
        action = self._action(signum)
        if action > self.request:
            self.request, self.signum = action, signum
        log.warning("preemption: %s received: will checkpoint at the end of this step%s", name,
                    " and stop" if action == STOP else "")

    def _chain(self, signum: int, frame: Any) -> None:
        prev = self.previous.get(signum, signal.SIG_DFL)
        if callable(prev):
            prev(signum, frame)
        elif prev == signal.SIG_DFL or prev is None:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    # ------------------------------------------------------------------ trainer events
    def on_train_begin(self, args, state, control, **kwargs):
        self._install()
        self.armed = bool(self.previous)
        self._group = self._flag_group() if self.enabled else False

    def on_step_end(self, args, state, control, **kwargs):
        if self.step_sleep:
            time.sleep(self.step_sleep)
        if not self.enabled:
            return control
        request, signum = self._agreed(args)  # on every rank, armed or not: it is a collective
        if request == NONE:
            return control
        control.should_save = True
        self.saves.append(state.global_step)
        name = signal.Signals(signum).name if signum else "a signal on another rank"
        if request == STOP:
            control.should_training_stop = True
            self.stopped, self.stop_step, self.signum = True, state.global_step, signum or self.signum
            log.warning("preemption: %s: saving checkpoint-%d and stopping", name, state.global_step)
        else:
            log.warning("preemption: %s: saving checkpoint-%d, training goes on", name, state.global_step)
        self.request = NONE if request == SAVE else self.request
        return control

    @staticmethod
    def _flag_group() -> Any:
        """The group the per-step flag is reduced in: a CPU (gloo) one, so no step waits on the GPU.

        ``False``: single process (nothing to agree on); ``None``: the default group (already gloo).
        Every rank calls this at train begin (``new_group`` is collective).
        """
        import torch.distributed as dist

        if not (dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
            return False
        if dist.get_backend() == "gloo":
            return None
        return dist.new_group(backend="gloo")

    def _agreed(self, args) -> tuple[int, int | None]:
        """(max request over all ranks, signal) -- every rank calls this at every step end."""
        request, signum = self.request, self.signum
        group = self._group
        if group is not False:
            import torch
            import torch.distributed as dist

            flag = torch.tensor([request, signum or 0], dtype=torch.int64)
            dist.all_reduce(flag, op=dist.ReduceOp.MAX, group=group)
            request, signum = int(flag[0]), (int(flag[1]) or None)
        return request, signum

    def on_train_end(self, args, state, control, **kwargs):
        self.armed = False
        if self.stopped:
            self.exiting = True  # keep our handlers: late signals must not requeue twice
        else:
            self._restore()

    # ------------------------------------------------------------------ after trainer.train()
    def finish(self, trainer: Any) -> None:
        """Leave the process the way the signal asked for (requeue / exit); no-op if training was not stopped."""
        if not self.stopped:
            return
        import torch.distributed as dist

        from gliner_exp.training.checkpoints import newest_complete

        if dist.is_available() and dist.is_initialized():
            dist.barrier()  # every rank's share of the checkpoint (rng_state_<rank>.pth) is on disk
        ckpt = newest_complete(trainer.args.output_dir)
        signum = self.signum or requeue_signal()
        name = signal.Signals(signum).name
        rank = trainer.args.process_index
        log.warning("preemption: stopped at step %s by %s; newest complete checkpoint: %s",
                    self.stop_step, name, ckpt)
        requeue = self.previous.get(requeue_signal())
        if under_submitit() and callable(requeue):
            self._restore()
            signal.signal(signal.SIGTERM, lambda s, f: log.info("preemption: SIGTERM while exiting, ignored"))
            if rank == 0:
                log.warning("preemption: handing over to submitit to requeue the job")
            requeue(requeue_signal(), None)  # rank 0: requeue + SystemExit; other ranks: returns
            wait = float(os.environ.get(WAIT_ENV, "120"))
            log.info("preemption: rank %d waits up to %.0fs for the requeue to end this task", rank, wait)
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                time.sleep(1.0)
            raise Preempted(128 + int(signum))
        self._restore()
        raise Preempted(128 + int(signum))


def finish_if_stopped(trainer: Any) -> None:
    """Call right after ``trainer.train()``: requeue/exit if a stop signal ended training."""
    for cb in trainer.callback_handler.callbacks:
        if isinstance(cb, PreemptionCallback):
            cb.finish(trainer)


def preemption_callbacks() -> list[Callable]:
    return [PreemptionCallback()]
