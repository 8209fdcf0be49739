"""``python -m gliner_exp.cli.inspect_data [overrides]``: what a training run would see in its data.

A thin Hydra app over the same primary config as training (``conf/config.yaml``),
so ``data=crossner_politics model=minilm data.max_train_examples=100`` inspects
exactly the data that training command would train on. It prints a table and
the findings (``!`` marks the harmful ones, which training also warns about)
and writes ``inspect_data.json`` into its Hydra output directory
(``outputs/inspect_data/<run.name>/<overrides>/``, apart from the training run's).
Loads the backbone's tokenizer, never the model; nothing heavy is imported here.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Dict, List

import hydra
from omegaconf import DictConfig, OmegaConf

from gliner_exp.cli.precheck import check_command_line
from gliner_exp.config.errors import ConfigError, exit_with
from gliner_exp.config.store import conf_dir, register

register()

REPORT_FILE = "inspect_data.json"
# Apart from training's outputs/runs/...: inspecting must not touch a run's .hydra/ or run.lock.
RUN_DIR = "hydra.run.dir='outputs/inspect_data/${run.name}/${gx_slug:${hydra:job.override_dirname}}'"

USAGE = """\
gliner_exp inspect_data: what a training run would see in its data (a GLiNER-aware `spacy debug data`)

Usage: python -m gliner_exp.cli.inspect_data [group=option ...] [key=value ...]
       (the same overrides as `python -m gliner_exp`; e.g. data=crossner_politics model=minilm)

Reports counts per label and split, examples without entities, dev/test labels never seen in train,
train/dev and train/test overlap (identical token sequences), texts gliner truncates (model.max_len
words, then the tokenizer's subword limit with the label prompt), spans wider than model.max_width
(gliner drops them), what data.max_train_examples cuts and, for a training mix, the examples each
source gives. With data.window on, train is shown as its windows. `!` marks harmful findings; training
logs a warning for each. The JSON report goes to <output dir>/inspect_data.json.

Config groups (group=option):
"""


def _groups_help() -> str:
    lines = []
    for group in sorted(p for p in conf_dir().iterdir() if p.is_dir()):
        options = sorted(f.stem for f in group.glob("*.yaml"))
        if options:
            lines.append(f"  {group.name}: {', '.join(options)}")
    return "\n".join(lines)


def typed_config(cfg: DictConfig) -> DictConfig:
    """``cfg`` validated by the schema engine (as training validates it) and typed by the schema."""
    from gliner_exp.config.root import Config
    from gliner_exp.config.validate import validate_config

    container = {k: v for k, v in OmegaConf.to_container(cfg, resolve=True).items() if k != "hydra"}
    validate_config(container)
    return OmegaConf.merge(OmegaConf.structured(Config), container)


def inspect_config(cfg: DictConfig, base_dir: str | Path) -> Dict[str, Any]:
    """The inspection report for a composed config: the data as training loads it, under its model's limits."""
    from gliner_exp.data import DataError, load_splits
    from gliner_exp.model.truncation import inspect_run

    cfg = typed_config(cfg)
    cap = cfg.data.max_train_examples
    try:
        splits = load_splits(cfg.data, base_dir, seed=cfg.run.seed)  # a training mix is drawn with run.seed
        full_train = None
        if cap is not None:
            # Train before the cut; labels from the data alone, as data.labels may list only what is kept.
            uncapped = OmegaConf.merge(cfg.data, {"max_train_examples": None, "labels": None, "label_names": {}})
            full_train = load_splits(uncapped, base_dir, seed=cfg.run.seed).train
    except DataError as exc:
        raise ConfigError([str(exc)]) from None
    return inspect_run(cfg.model, splits, full_train, cap)


def render(report: Dict[str, Any]) -> str:
    """The report as a console table plus its findings (``!`` = harmful)."""
    limits = report["limits"]
    sub = report["subword_truncation"]
    tok = f"tokenizer limit {sub['limit']} subwords" if "limit" in sub else "tokenizer limit not checked"
    lines = [f"model {limits.get('source', '?')}: max_len={limits['max_len']} words, "
             f"max_width={limits['max_width']} words, {tok}"]
    for split, source in report["sources"].items():
        lines.append(f"  {split}: {source}")
    for s in report.get("train_mix") or []:  # a training mix: what each source gives
        lines.append(f"    {s['key']}: {s['path']}  weight {s['weight']:g}: {s['examples']} read, "
                     f"{s['mixed']} in the mix")
    splits = list(report["splits"])
    rows: List[List[str]] = [["", *splits]]
    for key, title in (("examples", "examples"), ("entities", "entities"),
                       ("examples_without_entities", "without entities"), ("max_words", "longest (words)")):
        rows.append([title, *(str(report["splits"][s][key]) for s in splits)])
    rows.append(["entities per label:", *([""] * len(splits))])
    names = report.get("label_names", {})
    for label in report["labels"]:
        shown = f"  {label}" + (f" ({names[label]})" if label in names else "")
        rows.append([shown, *(str(report["splits"][s]["entities_per_label"][label]) for s in splits)])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        lines.append("  ".join([row[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(row[1:], widths[1:]))]))
    lines.append("")
    found = report["findings"]
    lines.append(f"findings ({report['harmful']} harmful, marked !):" if found else "findings: none")
    lines.extend(f"{'!' if f['harmful'] else ' '} {f['message']}" for f in found)
    return "\n".join(lines)


@hydra.main(version_base="1.3", config_path=str(conf_dir()), config_name="config")
def _hydra_entry(cfg: DictConfig) -> None:
    from hydra.core.hydra_config import HydraConfig

    try:
        report = inspect_config(cfg, os.getcwd())
    except ConfigError as exc:
        exit_with(exc)
    out = Path(HydraConfig.get().runtime.output_dir) / REPORT_FILE
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(render(report))
    print(f"\nreport: {out}", flush=True)


def main() -> None:
    """Console entry point: answer --help, check the overrides as training does, then run the Hydra app."""
    args = sys.argv[1:]
    if any(a in ("-h", "--help") for a in args):
        print(USAGE + _groups_help())
        return
    if any(a in ("-m", "--multirun") for a in args):
        exit_with(ConfigError(["inspect_data inspects one configuration; drop -m/--multirun"]))
    try:
        check_command_line(args, conf_dir(), "config", _hydra_entry)
    except ConfigError as exc:
        exit_with(exc)
    if not any(a.startswith("hydra.run.dir=") for a in args):
        sys.argv.insert(1, RUN_DIR)
    _hydra_entry()


if __name__ == "__main__":
    main()
