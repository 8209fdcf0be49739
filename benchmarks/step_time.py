"""Benchmark: training-step time through gliner_exp vs a hand-written loop over gliner's Trainer.

Same model config, data, batch size and optimiser settings; both run in this
one process, interleaved (A, B, A, B, ...) so machine load hits both alike.
Prints the median per-step time of each, their ratio (target <= 1.03), and
the time from "start" to the end of the first step. Also times
``python -m gliner_exp --cfg job`` beside a bare Hydra app.

    python benchmarks/step_time.py [--model tiny|minilm] [--steps 30] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))


class StepClock:
    """A TrainerCallback recording wall time at the end of each optimiser step."""

    def __init__(self, t0: float):
        from transformers import TrainerCallback

        clock = self

        class _CB(TrainerCallback):
            def on_step_end(self, args, state, control, **kwargs):
                clock.stamps.append(time.perf_counter())

        self.t0, self.stamps, self.callback = t0, [], _CB()

    def step_times(self, skip: int = 3) -> list[float]:
        return [b - a for a, b in zip(self.stamps[skip:], self.stamps[skip + 1:])]

    def first_step(self) -> float:
        return self.stamps[0] - self.t0


def overrides(model: str, steps: int) -> list[str]:
    return [f"model={model}", "logger=none", f"train.max_steps={steps}", "train.load_best_model_at_end=false",
            f"train.eval_every={steps * 10}", f"train.save_every={steps * 10}", "train.logging_steps=1000"]


def run_gliner_exp(model: str, steps: int, run_dir: str) -> StepClock:
    from conftest import compose_cfg

    from gliner_exp.training.assemble import build_all
    from gliner_exp.training.run import as_config, load_data

    clock = StepClock(time.perf_counter())
    cfg = as_config(compose_cfg(overrides(model, steps), run_dir=run_dir))
    built = build_all(cfg, Path(run_dir), load_data(cfg))
    built.trainer.add_callback(clock.callback)
    built.trainer.train()
    return clock


def run_baseline(model: str, steps: int, run_dir: str) -> StepClock:
    """What a user writes by hand: GLiNER.from_config + gliner's TrainingArguments + Trainer."""
    from conftest import compose_cfg
    from gliner import GLiNER
    from gliner.training import Trainer, TrainingArguments
    from transformers.trainer_utils import set_seed

    from gliner_exp.model.build import gliner_config_dict
    from gliner_exp.training.run import as_config, load_data

    clock = StepClock(time.perf_counter())
    cfg = as_config(compose_cfg(overrides(model, steps), run_dir=run_dir))
    splits = load_data(cfg)
    set_seed(cfg.run.seed)
    gmodel = GLiNER.from_config(gliner_config_dict(cfg.model))
    opt, loss = cfg.optimizer, cfg.loss
    args = TrainingArguments(
        output_dir=run_dir, max_steps=steps, per_device_train_batch_size=cfg.train.batch_size,
        learning_rate=opt.encoder_lr, others_lr=opt.head_lr, weight_decay=opt.encoder_weight_decay,
        others_weight_decay=opt.head_weight_decay, warmup_ratio=opt.warmup_ratio, max_grad_norm=opt.max_grad_norm,
        focal_loss_alpha=loss.alpha, focal_loss_gamma=loss.gamma, masking=loss.masking, use_cpu=True,
        save_strategy="no", report_to="none", logging_steps=1000, remove_unused_columns=False, seed=cfg.run.seed,
    )
    trainer = Trainer(model=gmodel, args=args, train_dataset=splits.train,
                      data_collator=gmodel._create_data_collator(),
                      processing_class=gmodel.data_processor.transformer_tokenizer, callbacks=[clock.callback])
    trainer.train()
    return clock


def cli_time(cmd: list[str], n: int = 5) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run(cmd, cwd=REPO, check=True, capture_output=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="minilm", choices=["tiny", "minilm"])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=2)
    a = ap.parse_args()

    # Import the heavy libraries first so neither side pays for them in "time to first step".
    import gliner.training  # noqa: F401
    import transformers  # noqa: F401

    import gliner_exp.training.assemble  # noqa: F401

    per_step = {"gliner_exp": [], "baseline": []}
    first = {"gliner_exp": [], "baseline": []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(a.rounds):
            for name, fn in (("gliner_exp", run_gliner_exp), ("baseline", run_baseline)):
                clock = fn(a.model, a.steps, os.path.join(tmp, f"{name}{r}"))
                per_step[name] += clock.step_times()
                first[name].append(clock.first_step())
    med = {k: statistics.median(v) for k, v in per_step.items()}
    print(f"model={a.model} steps={a.steps} rounds={a.rounds} torch_threads={__import__('torch').get_num_threads()}")
    for name in per_step:
        print(f"  {name:10s} median step {med[name] * 1000:8.1f} ms   time to first step "
              f"{statistics.median(first[name]):6.2f} s  (n={len(per_step[name])})")
    print(f"  per-step ratio gliner_exp/baseline: {med['gliner_exp'] / med['baseline']:.3f}  (target <= 1.03)")

    bare = REPO / "benchmarks" / "bare_hydra_app.py"
    ours = cli_time([sys.executable, "-m", "gliner_exp", "--cfg", "job"])
    base = cli_time([sys.executable, str(bare), "--cfg", "job"])
    print(f"  --cfg job: gliner_exp {ours:.2f} s, bare Hydra app {base:.2f} s")


if __name__ == "__main__":
    main()
