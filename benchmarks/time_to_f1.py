"""Benchmark: dev/test F1 against training wall time, three systems side by side, one invocation.

Same encoder, data and batch size, and the same training-time budget for each:

  gliner_exp  gliner_exp's default recipe (what ``python -m gliner_exp`` trains)
  upstream    the same GLiNER through gliner's own Trainer with the hyperparameters of the
              gliner repository's configs/config.yaml (lr 1e-5 / 3e-5, weight decay 0.1 / 0.01,
              cosine, warmup 0.05, focal alpha 0.75 gamma 0 reduction sum, grad norm 10,
              hidden 768, dropout 0.3, max_types 100, max_len 512), given as gliner_exp
              overrides (each one proven wired by tests/training/test_wiring.py)
  bio_tagger  a plain Hugging Face token classifier (AutoModelForTokenClassification, BIO on
              first subwords, AdamW lr 1e-4, 10 % warmup, linear decay)

Each system first times a few steps to size its schedule to the budget (max_steps = budget /
s_per_step), then trains; a callback stops it when its training time (evaluations excluded)
reaches the budget. Dev F1 is measured at ``--points`` moments along the way (not counted as
training time). All F1s are entity-level micro F1 by one scorer
(:func:`gliner_exp.training.evaluation.score_spans`). Prints one table and writes
``<out>/time_to_f1.{md,json,png}``.

    python benchmarks/time_to_f1.py --data synthetic --budget-s 120
    python benchmarks/time_to_f1.py --data crossner_politics --budget-s 160 --systems gliner_exp,bio_tagger
    python benchmarks/time_to_f1.py --systems gliner_exp loss=bce train.threshold=0.3   # a candidate recipe
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
SYSTEMS = ("gliner_exp", "upstream", "bio_tagger")
DATA = ("synthetic", "synthetic_small", "crossner_politics", "crossner_ai", "crossner_literature")
UPSTREAM = ["optimizer.encoder_lr=1e-5", "optimizer.head_lr=3e-5", "optimizer.encoder_weight_decay=0.1",
            "optimizer.head_weight_decay=0.01", "optimizer.scheduler=cosine", "optimizer.warmup_ratio=0.05",
            "loss=focal", "loss.alpha=0.75", "loss.gamma=0", "loss.reduction=sum", "optimizer.max_grad_norm=10",
            "model.hidden_size=768", "model.dropout=0.3", "model.max_types=100", "model.max_len=512",
            # GLiNERConfig's default, which the shipped config keeps (gliner_exp's MiniLM recipe turns it off)
            "model.embed_ent_token=true", "train.tune_threshold=false"]
CALIBRATION_STEPS = 6


# --------------------------------------------------------------------------- shared pieces
def compose(overrides: list[str], run_dir: str):
    """The validated gliner_exp config for ``overrides`` (as the CLI composes it)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    from gliner_exp.config.store import conf_dir, register
    from gliner_exp.training.run import as_config

    register()
    with initialize_config_dir(str(conf_dir()), version_base="1.3"):
        cfg = hydra_compose("config", overrides=[*overrides, f"run.dir={run_dir}"])
    return as_config(cfg)


def time_to_fraction(curve: list[tuple[float, float]], final: float, fraction: float = 0.9) -> float | None:
    """Training seconds until dev F1 first reached ``fraction`` of ``final`` (None if it never did)."""
    if final <= 0:
        return None
    return next((t for t, f1 in curve if f1 >= fraction * final), None)


class Budget:
    """Training-time accounting: steps are timed, evaluations are not; stops at the budget."""

    def __init__(self, budget_s: float, points: int, evaluate: Callable[[], float]):
        self.budget_s, self.evaluate = budget_s, evaluate
        self.marks = [budget_s * (i + 1) / points for i in range(points - 1)]
        self.train_s, self.steps, self.curve, self.durations = 0.0, 0, [], []
        self._t = 0.0

    def step_begin(self) -> None:
        self._t = time.perf_counter()

    def step_end(self) -> bool:
        """Account one step; True when training must stop."""
        took = time.perf_counter() - self._t
        self.train_s += took
        self.durations.append(took)
        self.steps += 1
        while self.marks and self.train_s >= self.marks[0]:
            self.marks.pop(0)
            self.curve.append((self.train_s, self.evaluate()))
        return self.train_s >= self.budget_s

    @property
    def s_per_step(self) -> float:
        """Median step time, the first two steps (warm-up, allocation) left out where there are more."""
        steady = self.durations[2:] or self.durations or [0.0]
        return statistics.median(steady)


def budget_callback(budget: Budget):
    from transformers import TrainerCallback

    class _Stop(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            budget.step_begin()

        def on_step_end(self, args, state, control, **kwargs):
            if budget.step_end():
                control.should_training_stop = True

    return _Stop()


# --------------------------------------------------------------------------- GLiNER (both recipes)
def gliner_run(overrides: list[str], max_steps: int, budget_s: float, points: int, work: Path) -> dict:
    """Train one GLiNER recipe for ``max_steps`` within ``budget_s``; dev curve and final dev/test F1."""
    from gliner_exp.training.assemble import build_all
    from gliner_exp.training.evaluation import F1Evaluator, tune_threshold
    from gliner_exp.training.run import load_data

    run_dir = tempfile.mkdtemp(dir=work)
    big = max_steps * 10 + 10  # no periodic evaluation or checkpoint inside the budget
    cfg = compose([*overrides, "logger=none", f"train.max_steps={max_steps}", "train.load_best_model_at_end=false",
                   f"train.eval_every={big}", f"train.save_every={big}", "train.logging_steps=1000000"], run_dir)
    splits = load_data(cfg)
    built = build_all(cfg, Path(run_dir), splits)

    def f1_on(examples, threshold=cfg.train.threshold) -> float:
        scorer = F1Evaluator(examples, splits.labels, threshold, cfg.train.flat_ner,
                             cfg.train.eval_batch_size, splits.label_names)
        return 100 * scorer(built.model)["f1"]

    budget = Budget(budget_s, points, lambda: f1_on(splits.dev))
    built.trainer.add_callback(budget_callback(budget))
    built.trainer.train()
    threshold = cfg.train.threshold
    if cfg.train.tune_threshold:  # as a run ends (gliner_exp.training.run): dev-tuned, then test at it
        threshold = tune_threshold(built.model, splits.dev, splits.labels, cfg.train.flat_ner,
                                   cfg.train.eval_batch_size, splits.label_names, threshold)["threshold"]
    dev = f1_on(splits.dev, threshold)
    return {"dev_f1": dev, "test_f1": f1_on(splits.test, threshold) if splits.test else None, "steps": budget.steps,
            "train_s": budget.train_s, "s_per_step": budget.s_per_step, "curve": [*budget.curve, (budget.train_s, dev)]}


# --------------------------------------------------------------------------- the BIO tagger
def bio_encode(examples: list[dict], tokenizer, tag_ids: dict[str, int], max_len: int) -> list[dict]:
    """Tokenised examples with BIO tags on each word's first subword (-100 elsewhere)."""
    out = []
    for ex in examples:
        words = ex["tokenized_text"]
        tags = ["O"] * len(words)
        for start, end, label in ex["ner"]:
            tags[start] = f"B-{label}"
            for i in range(start + 1, end + 1):
                tags[i] = f"I-{label}"
        enc = tokenizer(words, is_split_into_words=True, truncation=True, max_length=max_len)
        labels, previous = [], None
        for word in enc.word_ids():
            labels.append(-100 if word is None or word == previous else tag_ids[tags[word]])
            previous = word
        out.append({"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"], "labels": labels,
                    "word_ids": enc.word_ids(), "n_words": len(words)})
    return out


def bio_spans(word_tags: list[str]) -> list[tuple[int, int, str]]:
    """Entity spans ``(start, end, label)`` (inclusive word indices) from BIO tags; a stray I- starts one."""
    spans, start, label = [], None, None
    for i, tag in enumerate([*word_tags, "O"]):
        inside = tag.startswith("I-") and label == tag[2:]
        if start is not None and not inside:
            spans.append((start, i - 1, label))
            start, label = None, None
        if tag.startswith("B-") or (tag.startswith("I-") and not inside):
            start, label = i, tag[2:]
    return spans


def bio_run(data_overrides: list[str], max_steps: int, budget_s: float, points: int, batch_size: int,
            seed: int, work: Path) -> dict:
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer, get_linear_schedule_with_warmup

    from gliner_exp.model.backbones import resolve_backbone
    from gliner_exp.training.evaluation import score_spans
    from gliner_exp.training.run import load_data

    cfg = compose(data_overrides, tempfile.mkdtemp(dir=work))
    splits = load_data(cfg)
    tags = ["O"] + [f"{p}-{label}" for label in splits.labels for p in ("B", "I")]
    tag_ids = {t: i for i, t in enumerate(tags)}
    path = resolve_backbone(cfg.model.backbone)
    tokenizer = AutoTokenizer.from_pretrained(path)
    torch.manual_seed(seed)
    model = AutoModelForTokenClassification.from_pretrained(path, num_labels=len(tags))
    max_len = cfg.model.max_len or 512
    train = bio_encode(splits.train, tokenizer, tag_ids, max_len)

    def batch(rows: list[dict]) -> dict:
        width = max(len(r["input_ids"]) for r in rows)
        pad = lambda key, value: torch.tensor([r[key] + [value] * (width - len(r[key])) for r in rows])  # noqa: E731
        return {"input_ids": pad("input_ids", tokenizer.pad_token_id or 0),
                "attention_mask": pad("attention_mask", 0), "labels": pad("labels", -100)}

    def f1_on(examples: list[dict]) -> float:
        model.eval()
        encoded = bio_encode(examples, tokenizer, tag_ids, max_len)
        predicted = []
        with torch.no_grad():
            for i in range(0, len(encoded), 32):
                rows = encoded[i:i + 32]
                logits = model(**{k: v for k, v in batch(rows).items() if k != "labels"}).logits
                for row, row_logits in zip(rows, logits.argmax(-1).tolist()):
                    words = ["O"] * row["n_words"]
                    for pos, (word, tag) in enumerate(zip(row["word_ids"], row_logits)):
                        if word is not None and (pos == 0 or row["word_ids"][pos - 1] != word):
                            words[word] = tags[tag]
                    predicted.append(bio_spans(words))
        model.train()
        gold = [[tuple(s) for s in ex["ner"]] for ex in examples]
        return 100 * score_spans(gold, predicted, splits.labels)["f1"]

    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    schedule = get_linear_schedule_with_warmup(optimizer, int(0.1 * max_steps), max_steps)
    budget = Budget(budget_s, points, lambda: f1_on(splits.dev))
    order = torch.Generator().manual_seed(seed)
    model.train()
    step = 0
    while step < max_steps:
        for idx in torch.randperm(len(train), generator=order).split(batch_size):
            budget.step_begin()
            loss = model(**batch([train[i] for i in idx.tolist()])).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            step += 1
            if budget.step_end() or step >= max_steps:
                break
        if budget.train_s >= budget_s:
            break
    dev = f1_on(splits.dev)
    return {"dev_f1": dev, "test_f1": f1_on(splits.test) if splits.test else None, "steps": budget.steps,
            "train_s": budget.train_s, "s_per_step": budget.s_per_step, "curve": [*budget.curve, (budget.train_s, dev)]}


# --------------------------------------------------------------------------- driver
def run_system(name: str, args: argparse.Namespace, work: Path) -> dict:
    """Calibrate the step time, size the schedule to the budget, train, score."""
    base = [f"model={args.model}", f"data={args.data}", f"train.batch_size={args.batch_size}", f"run.seed={args.seed}"]
    recipe = base + (UPSTREAM if name == "upstream" else list(args.overrides))
    started = time.perf_counter()
    if name == "bio_tagger":
        probe = bio_run(base, CALIBRATION_STEPS, math.inf, 1, args.batch_size, args.seed, work)
        steps = max(CALIBRATION_STEPS, int(args.budget_s / probe["s_per_step"]))
        result = bio_run(base, steps, args.budget_s, args.points, args.batch_size, args.seed, work)
    else:
        probe = gliner_run(recipe, CALIBRATION_STEPS, math.inf, 1, work)
        steps = max(CALIBRATION_STEPS, int(args.budget_s / probe["s_per_step"]))
        result = gliner_run(recipe, steps, args.budget_s, args.points, work)
    result.update(system=name, planned_steps=steps, wall_s=time.perf_counter() - started,
                  t90_s=time_to_fraction(result["curve"], result["dev_f1"]))
    return result


def render(rows: list[dict], args: argparse.Namespace) -> str:
    def fmt(value, digits=1):
        return "—" if value is None else f"{value:.{digits}f}"

    recipe = f"; gliner_exp with {' '.join(args.overrides)}" if args.overrides else ""
    lines = [f"time to F1 — data={args.data} model={args.model} batch={args.batch_size} "
             f"budget={args.budget_s:.0f}s of training per system (seed {args.seed}){recipe}", "",
             "| system | dev F1 | test F1 | s/step | steps | training s | time to 90% of final dev F1 (s) | wall s |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['system']} | {fmt(r['dev_f1'])} | {fmt(r['test_f1'])} | {fmt(r['s_per_step'], 3)} | "
                     f"{r['steps']} | {fmt(r['train_s'])} | {fmt(r['t90_s'])} | {fmt(r['wall_s'])} |")
    return "\n".join(lines)


def plot(rows: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for r in rows:
        ax.plot([0.0, *[t for t, _ in r["curve"]]], [0.0, *[f for _, f in r["curve"]]], marker="o", label=r["system"])
    ax.set_xlabel("training time (s, evaluations excluded)")
    ax.set_ylabel("dev entity micro F1")
    ax.set_title(textwrap.fill(title, 80), fontsize=9)  # the full command line's settings, not cut at the edge
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", choices=DATA, default="synthetic")
    parser.add_argument("--model", choices=("minilm", "tiny"), default="minilm")
    parser.add_argument("--budget-s", type=float, default=120.0, help="training seconds per system")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--points", type=int, default=4, help="dev evaluations along the budget (the last at its end)")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help=f"comma-separated subset of {','.join(SYSTEMS)}")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("overrides", nargs="*", help="gliner_exp overrides for the gliner_exp system (a recipe to try)")
    parser.add_argument("--out", type=Path, default=REPO / "outputs" / "time_to_f1")
    args = parser.parse_args(argv)
    systems = [s for s in args.systems.split(",") if s]
    unknown = [s for s in systems if s not in SYSTEMS]
    if unknown:
        parser.error(f"--systems: unknown {unknown}; choose from {', '.join(SYSTEMS)}")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        rows = [run_system(name, args, Path(tmp)) for name in systems]
    table = render(rows, args)
    (args.out / "time_to_f1.md").write_text(table + "\n")
    (args.out / "time_to_f1.json").write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                                          "rows": rows}, indent=2) + "\n")
    plot(rows, args.out / "time_to_f1.png", table.splitlines()[0])
    print(table)
    print(f"\nwritten: {args.out}/time_to_f1.md, .json, .png", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
