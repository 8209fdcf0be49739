"""Full fine-tuning vs LoRA / rsLoRA / DoRA on MiniLM + CrossNER politics (CPU).

For each setup, one fresh process builds a new GLiNER over MiniLM exactly as a
run does (``build_all``) and trains a fixed number of steps without
checkpoints; the trainer's end-of-training evaluation gives the dev F1.
Reported: trainable parameters, seconds per step (between the first and the
last step, so without warm-up or evaluation), peak RSS of the process, dev F1.

    .venv/bin/python benchmarks/lora_table.py                 # 100 steps each
    .venv/bin/python benchmarks/lora_table.py --steps 20 --setups full lora

Learning rates: full fine-tuning uses ``--full-lr`` on the encoder, the
adapters ``--lora-lr`` (adapters want ~10x more); the head gets ``--head-lr``
in every setup.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SETUPS = {"full": "lora=none", "lora": "lora=lora", "rslora": "lora=rslora", "dora": "lora=dora"}


def _one(setup: str, args: argparse.Namespace) -> dict:
    """Run one setup in this process and return its row."""
    import torch
    from hydra import compose, initialize_config_dir

    from gliner_exp.config.store import register

    register()
    from gliner_exp.training.assemble import build_all
    from gliner_exp.training.collator import IndexedExamples
    from gliner_exp.training.evaluation import F1Evaluator
    from gliner_exp.model.lora.apply import param_counts
    from gliner_exp.config.store import conf_dir
    from gliner_exp.training.run import as_config, load_data

    run_dir = Path(args.work) / setup
    lr = args.full_lr if setup == "full" else args.lora_lr
    overrides = [
        "model=minilm", "data=crossner_politics", SETUPS[setup], f"run.dir={run_dir}", "run.resume=never",
        f"train.max_steps={args.steps}", f"train.batch_size={args.batch_size}", "train.eval_every=100000",
        "train.save_every=100000", "train.load_best_model_at_end=false", "train.logging_steps=10",
        f"optimizer.encoder_lr={lr}", f"optimizer.head_lr={args.head_lr}", f"hardware.torch_threads={args.threads}",
        "logger=none",
    ]
    with initialize_config_dir(str(conf_dir()), version_base="1.3"):
        cfg = as_config(compose("config", overrides=overrides))
    splits = load_data(cfg)
    t0 = time.perf_counter()
    built = build_all(cfg, run_dir, splits)
    build_s = time.perf_counter() - t0
    model, trainer = built.model, built.trainer
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    dev = splits.dev[: args.dev_limit] if args.dev_limit else splits.dev
    # The trainer evaluates once, after the last step (HF's end-of-training evaluation): dev F1 from there.
    trainer.eval_dataset = IndexedExamples(dev)
    trainer.f1_fn = F1Evaluator(dev, splits.labels, cfg.train.threshold, cfg.train.flat_ner, cfg.train.eval_batch_size)
    timer = _step_timer()
    trainer.add_callback(timer)
    _log(f"{setup}: built in {build_s:.1f}s; training")
    started = time.perf_counter()
    out = trainer.train()
    wall_s = time.perf_counter() - started
    steps = trainer.state.global_step
    evals = [h for h in trainer.state.log_history if "eval_f1" in h]
    ends = timer.ends
    # Step time between the first and the last step end: no warm-up step, no evaluation.
    s_per_step = (ends[-1] - ends[0]) / (len(ends) - 1) if len(ends) > 1 else wall_s / max(steps, 1)
    return {
        "setup": setup,
        "trainable_params": trainable,
        "encoder_trainable_params": param_counts(model)["encoder_trainable_params"],
        "total_params": total,
        "steps": steps,
        "s_per_step": s_per_step,
        "train_loss": out.training_loss,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "dev_f1": evals[-1]["eval_f1"] if evals else None,
        "dev_sentences": len(dev),
        "build_s": build_s,
        "train_and_eval_s": wall_s,
        "torch_threads": torch.get_num_threads(),
        "encoder_lr": lr,
        "head_lr": args.head_lr,
    }


def _step_timer():
    """A TrainerCallback recording when each optimisation step ends."""
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        def __init__(self):
            self.ends: list[float] = []

        def on_step_end(self, args, state, control, **kwargs):
            self.ends.append(time.perf_counter())

    return StepTimer()


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _table(rows: list[dict]) -> str:
    lines = ["| setup | trainable params | of which encoder | % of total | s/step | peak RSS (MB) | dev F1 |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        f1 = "-" if r["dev_f1"] is None else f"{100 * r['dev_f1']:.1f}"
        share = 100 * r["trainable_params"] / r["total_params"]
        enc = r.get("encoder_trainable_params")
        enc_s = "-" if enc is None else f"{enc:,}"
        lines.append(f"| {r['setup']} | {r['trainable_params']:,} | {enc_s} | {share:.2f} | {r['s_per_step']:.3f} "
                     f"| {r['peak_rss_mb']:.0f} | {f1} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--full-lr", type=float, default=5e-5)
    parser.add_argument("--lora-lr", type=float, default=5e-4)
    parser.add_argument("--head-lr", type=float, default=1e-3)
    parser.add_argument("--dev-limit", type=int, default=0, help="score only the first N dev sentences (0: all)")
    parser.add_argument("--setups", nargs="+", default=list(SETUPS), choices=list(SETUPS))
    parser.add_argument("--work", default=str(REPO / "outputs" / "bench" / "lora_table"))
    parser.add_argument("--one", choices=list(SETUPS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:  # child: one setup, its row as the last stdout line
        print("ROW " + json.dumps(_one(args.one, args)), flush=True)
        return
    rows = []
    for setup in args.setups:
        cmd = [sys.executable, __file__, "--one", setup, *sys.argv[1:]]
        _log(f"{setup}: starting")
        log_file = Path(args.work) / f"{setup}.log"
        log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(log_file, "w") as err:
            proc = subprocess.run(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=err, text=True, env={**os.environ})
        row_lines = [line for line in proc.stdout.splitlines() if line.startswith("ROW ")]
        if proc.returncode or not row_lines:
            sys.stderr.write(log_file.read_text()[-4000:])
            raise SystemExit(f"{setup}: failed (exit {proc.returncode}); log: {log_file}")
        rows.append(json.loads(row_lines[-1][4:]))
        _log(f"{setup}: done ({rows[-1]['s_per_step']:.3f} s/step, {rows[-1]['train_and_eval_s']:.0f}s in all)")
    out = Path(args.work) / "table.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=2) + "\n")
    print(_table(rows))
    print(f"\n{args.steps} steps, batch {args.batch_size}, {rows[0]['torch_threads']} torch threads; rows: {out}")


if __name__ == "__main__":
    main()
