"""Benchmark: a GLiNER training step against a BIO tagger's step on the same batch, and where the time goes.

One process, one encoder, the same examples in every batch; the variants are
timed interleaved (A, B, C, ..., A, B, C, ...) so machine load hits them alike,
and the median over rounds is reported. A step is forward + backward + AdamW.

  tagger            AutoModelForTokenClassification (BIO on first subwords) on the batch's texts,
                    torch's AdamW as benchmarks/time_to_f1.py's tagger (and HF's adamw_torch) runs it
  tagger, fused AdamW   the same with torch's fused AdamW kernel (what gliner_exp's default optimizer uses)
  tagger, fused AdamW + gliner_exp's dropout   and its nn.Dropout modules on gliner_exp.model.fast_dropout:
                    what the tagger would gain from the two CPU speed-ups that are not GLiNER-specific
  gliner (gliner's span layer)  gliner's own forward (the span layer's MLP run on every span, torch's dropout)
                    and optimizer.name=adamw_torch: a step as gliner itself takes it
  gliner            what gliner_exp builds (gliner_exp.model.gliner_internals.fuse_span_projection):
                    the MLP's first Linear run per word, its last Linear folded into the labels, every
                    dropout's mask drawn cheaply (fast_dropout); the optimizer the run's trainer creates
  gliner width=W    the same with model.max_width=W (the CrossNER presets' 8)

Also prints, for the gliner_exp model, the forward time per top-level module.

    python benchmarks/step_profile.py --data crossner_politics --steps 8 --rounds 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import types
from collections import defaultdict
from pathlib import Path

from time_to_f1 import bio_encode, compose


def gliner_variant(overrides: list[str], batches: list[list[int]], plain_span_layer: bool):
    """A step function for one GLiNER build over the given example batches, and its model."""
    import torch
    from gliner.modeling.span_rep import SpanMarkerV0

    from gliner_exp.model.gliner_internals import core
    from gliner_exp.training.assemble import build_all
    from gliner_exp.training.run import load_data

    run_dir = tempfile.mkdtemp()
    cfg = compose(overrides, run_dir)
    splits = load_data(cfg)
    built = build_all(cfg, Path(run_dir), splits)
    model = built.model.model
    if plain_span_layer:
        inner = core(built.model)
        inner.forward = types.MethodType(type(inner).forward, inner)
        for module in inner.modules():
            if type(module) is SpanMarkerV0:
                module.forward = types.MethodType(SpanMarkerV0.forward, module)
            if type(module) is torch.nn.Dropout:
                vars(module).pop("forward", None)  # torch's own dropout, as gliner runs it
    collate = built.trainer.data_collator
    data = built.trainer.train_dataset
    collated = [collate([data[i] for i in idx]) for idx in batches]
    optimizer = built.trainer.create_optimizer()  # optimizer.name, its parameter groups and rates
    model.train()

    def step(k: int) -> None:
        model(**collated[k % len(collated)]).loss.backward()
        optimizer.step()
        optimizer.zero_grad()

    return step, model, collated


def tagger_variant(overrides: list[str], batches: list[list[int]], fused: bool = False,
                   fast_dropout: bool = False):
    """A step function for the BIO tagger over the same example batches."""
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    from gliner_exp.model.backbones import resolve_backbone
    from gliner_exp.training.run import load_data

    cfg = compose(overrides, tempfile.mkdtemp())
    splits = load_data(cfg)
    tags = ["O"] + [f"{p}-{label}" for label in splits.labels for p in ("B", "I")]
    path = resolve_backbone(cfg.model.backbone)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForTokenClassification.from_pretrained(path, num_labels=len(tags))
    if fast_dropout:
        from gliner_exp.model import fast_dropout as cheap_masks

        cheap_masks.install(model)
    rows = bio_encode(splits.train, tokenizer, {t: i for i, t in enumerate(tags)}, cfg.model.max_len or 512)

    def pad(batch_rows: list[dict]) -> dict:
        width = max(len(r["input_ids"]) for r in batch_rows)
        fill = lambda key, value: torch.tensor([r[key] + [value] * (width - len(r[key])) for r in batch_rows])  # noqa: E731
        return {"input_ids": fill("input_ids", tokenizer.pad_token_id or 0),
                "attention_mask": fill("attention_mask", 0), "labels": fill("labels", -100)}

    collated = [pad([rows[i] for i in idx]) for idx in batches]
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=fused or None)
    model.train()

    def step(k: int) -> None:
        model(**collated[k % len(collated)]).loss.backward()
        optimizer.step()
        optimizer.zero_grad()

    return step, collated


def module_times(model, collated: list[dict]) -> dict[str, float]:
    """Forward seconds per top-level module of the GLiNER core, averaged over the batches."""
    times: dict[str, float] = defaultdict(float)
    handles = []
    for name, module in model.named_children():
        def pre(m, _inputs):
            m._gx_t0 = time.perf_counter()

        def post(m, _inputs, _out, name=name):
            times[name] += time.perf_counter() - m._gx_t0
        handles += [module.register_forward_pre_hook(pre), module.register_forward_hook(post)]
    total = 0.0
    for batch in collated:
        t0 = time.perf_counter()
        loss = model(**batch).loss
        total += time.perf_counter() - t0
        loss.backward()
    model.zero_grad()
    for handle in handles:
        handle.remove()
    # gliner_exp's forward scores spans itself (the span layer module is not called)
    times["span scoring + loss"] = total - sum(times.values())
    return {k: v / len(collated) for k, v in sorted(times.items(), key=lambda kv: -kv[1])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="crossner_politics")
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--steps", type=int, default=8, help="timed steps per variant and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--width", type=int, default=8, help="the narrower model.max_width variant")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)

    import torch

    from gliner_exp.training.run import load_data

    base = [f"model={args.model}", f"data={args.data}", f"train.batch_size={args.batch_size}"]
    n_train = len(load_data(compose(base, tempfile.mkdtemp())).train)
    order = torch.randperm(n_train, generator=torch.Generator().manual_seed(args.seed)).tolist()
    batches = [order[i:i + args.batch_size] for i in range(0, args.steps * args.batch_size, args.batch_size)]

    tagger, _ = tagger_variant(base, batches)
    tagger_fused, _ = tagger_variant(base, batches, fused=True)
    tagger_cheap, _ = tagger_variant(base, batches, fused=True, fast_dropout=True)
    plain, _, _ = gliner_variant([*base, "optimizer.name=adamw_torch"], batches, plain_span_layer=True)
    fused, fused_model, fused_batches = gliner_variant(base, batches, plain_span_layer=False)
    narrow, _, _ = gliner_variant([*base, f"model.max_width={args.width}"], batches, plain_span_layer=False)
    variants = {"tagger": tagger, "tagger, fused AdamW": tagger_fused,
                "tagger, fused AdamW + gliner_exp's dropout": tagger_cheap, "gliner (gliner's span layer)": plain,
                "gliner": fused, f"gliner width={args.width}": narrow}
    for step in variants.values():  # warm-up
        step(0)
    seconds: dict[str, list[float]] = defaultdict(list)
    for _ in range(args.rounds):
        for name, step in variants.items():
            t0 = time.perf_counter()
            for k in range(args.steps):
                step(k)
            seconds[name].append((time.perf_counter() - t0) / args.steps)
    tagger_s = statistics.median(seconds["tagger"])
    print(f"step time — data={args.data} model={args.model} batch={args.batch_size}, {args.steps} steps x "
          f"{args.rounds} rounds, interleaved, torch threads {torch.get_num_threads()}\n")
    fused_s = statistics.median(seconds["tagger, fused AdamW"])
    print("| variant | s/step (median) | x tagger | x tagger, fused AdamW |\n|---|---:|---:|---:|")
    for name, values in seconds.items():
        median = statistics.median(values)
        print(f"| {name} | {median:.3f} | {median / tagger_s:.2f} | {median / fused_s:.2f} |")
    print("\nforward s/step per module (gliner):")
    for name, value in module_times(fused_model, fused_batches).items():
        print(f"  {name:18s} {value:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
