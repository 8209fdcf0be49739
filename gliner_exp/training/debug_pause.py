"""Pause a run at a named point, so a drill or a test can kill it exactly there (off unless asked for).

``GLINER_EXP_DEBUG_PAUSE_AT=<point>`` makes the run write
``<run dir>/debug/paused.json`` (``{"point", "pid", "global_step"}``) when it
reaches ``<point>`` and then sleep ``GLINER_EXP_DEBUG_PAUSE_S`` seconds (300)
before carrying on. Points:

==============  ===============================================================
``step:N``      during optimizer step N: gradients computed, weights not updated
``save:N``      while checkpoint-N is written: its weights are on disk, the
                optimizer, scheduler, RNG and ``trainer_state.json`` are not
``saved:N``     right after checkpoint-N is complete (``on_save``)
``final_eval``  during the final evaluation: dev predictions written, test not
``export``      after ``model/`` is exported, before ``metrics.json``
==============  ===============================================================

Signals arriving during the pause are handled as anywhere else (a SIGTERM is
acted on at the end of the step, after the pause).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

PAUSE_AT_ENV = "GLINER_EXP_DEBUG_PAUSE_AT"
PAUSE_S_ENV = "GLINER_EXP_DEBUG_PAUSE_S"
MARKER = Path("debug") / "paused.json"

_paused: set[str] = set()  # each point pauses once per process (final_eval is reached once per split)


def pause_at(point: str, run_dir: str | Path, global_step: int | None = None) -> None:
    """If ``GLINER_EXP_DEBUG_PAUSE_AT`` names ``point``: write the marker, then sleep; else return at once."""
    if os.environ.get(PAUSE_AT_ENV, "") != point or point in _paused:
        return
    _paused.add(point)
    marker = Path(run_dir) / MARKER
    marker.parent.mkdir(parents=True, exist_ok=True)
    tmp = marker.with_suffix(".tmp")
    # renamed into place: whoever waits for the marker never reads half of it
    tmp.write_text(json.dumps({"point": point, "pid": os.getpid(), "global_step": global_step}) + "\n")
    os.replace(tmp, marker)
    time.sleep(float(os.environ.get(PAUSE_S_ENV, "300") or 0))


def pause_callbacks(run_dir: str | Path) -> list:
    """The Trainer callback for the ``step:N`` and ``saved:N`` points (none unless a pause is asked for)."""
    if not os.environ.get(PAUSE_AT_ENV):
        return []
    from transformers import TrainerCallback

    class PauseCallback(TrainerCallback):
        def on_pre_optimizer_step(self, args, state, control, **kwargs):
            pause_at(f"step:{state.global_step + 1}", run_dir, state.global_step)

        def on_save(self, args, state, control, **kwargs):
            pause_at(f"saved:{state.global_step}", run_dir, state.global_step)

    return [PauseCallback()]
