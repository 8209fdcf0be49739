"""``python -m gliner_exp.cli.compare`` and ``eval.compare_base``: a real tiny GLiNER against its real base, no mocks.

About 40 s on a loaded 2-core machine: one 80-step and one 4-step smoke run, scored in process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, TINY, compose_cfg

# The smoke recipe (tiny random BERT, synthetic_small, ~10 s) with a zero-shot suite and the comparison at the end.
TRAIN_ARGS = [*TINY, "logger=none", "eval.extra=[synthetic]"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def tuned_run(tmp_path_factory) -> Path:
    from gliner_exp.training.run import train

    out = tmp_path_factory.mktemp("compare_run")
    train(compose_cfg([*TRAIN_ARGS, "eval.compare_base=true"], run_dir=out))
    return out


@pytest.fixture(scope="module")
def short_run(tmp_path_factory) -> Path:
    """Same recipe and seed, a few steps, no flag: another model from the same starting point."""
    from gliner_exp.training.run import train

    out = tmp_path_factory.mktemp("compare_short_run")
    train(compose_cfg([*TINY, "logger=none", "train.max_steps=4", "train.tune_threshold=false"], run_dir=out))
    return out


def compose_compare(overrides, run_dir):
    """The compare app's config (``conf/compare.yaml``), composed as its CLI composes it."""
    from hydra import compose, initialize_config_dir

    from gliner_exp.config.store import conf_dir, register

    register()
    with initialize_config_dir(str(conf_dir()), version_base="1.3"):
        return compose("compare", overrides=[*overrides, f"run.dir={run_dir}"])


def metrics_of(run_dir: Path) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())


def test_training_flag_writes_the_comparison_and_is_off_by_default(tuned_run, short_run):
    from gliner_exp.config.eval import EvalConfig
    from gliner_exp.config.experiment_keys import non_experiment_keys

    out = tuned_run / "comparison"
    for name in ("comparison.json", "comparison.md", "comparison.png"):
        assert (out / name).stat().st_size > 0, name
    assert (out / "comparison.png").read_bytes()[:8] == PNG_MAGIC
    doc = json.loads((out / "comparison.json").read_text())
    metrics = metrics_of(tuned_run)
    own = doc["datasets"]["data"]
    assert own["role"] == "data" and own["split"] == "dev"
    assert own["micro"]["tuned"]["f1"] == pytest.approx(metrics["dev_f1"], abs=1e-12)
    assert doc["datasets"]["synthetic"]["micro"]["tuned"]["f1"] == pytest.approx(
        metrics["zero_shot"]["synthetic"]["f1"], abs=1e-12)
    assert doc["tuned"]["threshold"] == metrics["threshold"]["value"]
    assert doc["tuned"]["threshold_from"] == "tuned on dev"
    assert doc["base"] == {"kind": "new", "backbone": "builtin:tiny-bert", "seed": 42, "threshold": 0.3,
                           "threshold_from": "train.threshold", "flat_ner": True}
    assert "untrained GLiNER" in doc["note"] and "Note: The base is an untrained" in (out / "comparison.md").read_text()
    assert "## Comparison" in (tuned_run / "model" / "README.md").read_text()  # the card shows it
    assert not (short_run / "comparison").exists()  # off by default
    assert EvalConfig().compare_base is False
    assert "eval.compare_base" in non_experiment_keys()  # switching it on continues the same run dir


def test_compare_of_a_saved_run_gives_its_own_scores_and_deltas(tuned_run, tmp_path):
    from gliner_exp.cli.compare import compare

    doc = compare(compose_compare([*TINY, f"tuned={tuned_run}", "eval.extra=[synthetic]"], tmp_path))
    metrics = metrics_of(tuned_run)
    assert doc["tuned"]["model_dir"] == str(tuned_run / "model")
    assert doc["tuned"]["threshold_from"] == "saved with the model"
    assert doc["warnings"] == []  # run.seed and encoder are the ones the run recorded
    own = doc["datasets"]["data"]
    assert own["micro"]["tuned"]["f1"] == pytest.approx(metrics["dev_f1"], abs=1e-12)
    assert list(own["per_label"]) == sorted(metrics["per_label"]["dev"])
    for label, pair in own["per_label"].items():
        assert pair["tuned"]["f1"] == pytest.approx(metrics["per_label"]["dev"][label]["f1"], abs=1e-12)
        for key in ("precision", "recall", "f1"):
            assert pair["delta"][key] == pytest.approx(pair["tuned"][key] - pair["base"][key], abs=1e-12)
        assert pair["base"]["support"] == pair["tuned"]["support"]
    assert own["micro"]["delta"]["f1"] == pytest.approx(own["micro"]["tuned"]["f1"] - own["micro"]["base"]["f1"])
    assert doc["datasets"]["synthetic"]["micro"]["tuned"]["f1"] == pytest.approx(
        metrics["zero_shot"]["synthetic"]["f1"], abs=1e-12)
    # the base is rebuilt, not the trained object: the end-of-training report's base, to the digit
    in_training = json.loads((tuned_run / "comparison" / "comparison.json").read_text())
    assert own["micro"]["base"] == in_training["datasets"]["data"]["micro"]["base"]
    assert doc["datasets"]["synthetic"]["per_label"] == in_training["datasets"]["synthetic"]["per_label"]
    assert (tmp_path / "comparison.png").read_bytes()[:8] == PNG_MAGIC
    assert json.loads((tmp_path / "comparison.json").read_text())["datasets"]["data"]["micro"] == own["micro"]
    md = (tmp_path / "comparison.md").read_text()
    assert "| data set | split | label | gold | P base | P tuned | ΔP |" in md
    assert "| data (data) | dev | city |" in md and "| synthetic (eval.extra) | dev | city |" in md


def test_the_base_does_not_depend_on_training(tuned_run, short_run, tmp_path):
    """Two runs from the same start (80 vs 4 steps): different tuned columns, the same base, to the digit."""
    from gliner_exp.cli.compare import compare

    doc = compare(compose_compare([*TINY, f"tuned={short_run / 'model'}"], tmp_path))
    long = json.loads((tuned_run / "comparison" / "comparison.json").read_text())["datasets"]["data"]
    short = doc["datasets"]["data"]
    assert short["per_label"].keys() == long["per_label"].keys()
    assert {k: p["base"] for k, p in short["per_label"].items()} == {k: p["base"] for k, p in long["per_label"].items()}
    assert short["micro"]["tuned"]["f1"] == pytest.approx(metrics_of(short_run)["dev_f1"], abs=1e-12)
    assert doc["tuned"]["threshold"] == 0.3  # tune_threshold=false: the run saved train.threshold


def test_the_base_is_the_runs_starting_point(tuned_run, tmp_path):
    """The new head the base is built with is the one training starts from (build_all), and run.seed decides it;
    a base of another seed or encoder than the run recorded is named in a warning."""
    import torch

    from gliner_exp.cli.compare import _run_warnings
    from gliner_exp.training.assemble import build_all
    from gliner_exp.training.comparison import base_contender
    from gliner_exp.training.run import as_config, load_data

    cfg = as_config(compose_cfg([*TINY, "logger=none"], run_dir=tmp_path / "run"))
    start = build_all(cfg, tmp_path / "run", load_data(cfg)).model.state_dict()
    base = base_contender(cfg).model.state_dict()
    assert start.keys() == base.keys() and all(torch.equal(start[k], base[k]) for k in start)
    other = as_config(compose_cfg([*TINY, "logger=none", "run.seed=7"], run_dir=tmp_path / "run7"))
    other_base = base_contender(other).model
    assert not all(torch.equal(v, other_base.state_dict()[k]) for k, v in base.items())
    (seed_warning,) = _run_warnings(tuned_run / "model", other, other_base)
    assert seed_warning.startswith("run.seed=7, but ") and "run.seed=42" in seed_warning
    deberta = as_config(compose_cfg([*TINY, "logger=none", "model.backbone=builtin:tiny-deberta"],
                                    run_dir=tmp_path / "deberta"))
    (encoder_warning,) = _run_warnings(tuned_run / "model", deberta, base_contender(deberta).model)
    assert "the base's encoder is" in encoder_warning and "tiny-deberta" in encoder_warning


def test_a_pretrained_base_is_reloaded_and_decodes_with_its_saved_settings(tuned_run, tmp_path):
    from gliner_exp.cli.compare import compare

    model_dir = tuned_run / "model"
    # the run's own checkpoint as the base (max_len as saved): the same model on both sides
    doc = compare(compose_compare(["data=synthetic_small", "model=gliner_small_v21", f"model.pretrained={model_dir}",
                                   "model.max_len=null", f"tuned={model_dir}"], tmp_path))
    threshold = metrics_of(tuned_run)["threshold"]["value"]
    assert doc["base"] == {"kind": "pretrained", "source": str(model_dir), "threshold": threshold,
                           "threshold_from": "saved with the model", "flat_ner": True}
    assert doc["note"] is None
    entry = doc["datasets"]["data"]
    assert entry["micro"]["base"]["f1"] == pytest.approx(metrics_of(tuned_run)["dev_f1"], abs=1e-12)
    assert all(p["delta"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0} for p in entry["per_label"].values())


def test_bad_input_is_refused_before_torch_and_help_needs_no_torch(tmp_path):
    """One process, three command lines: each bad key named in one message (exit 2), then --help; torch never loads."""
    probe = ("import json, runpy, sys\n"
             "for argv in json.loads(sys.argv[1]):\n"
             "    sys.argv = ['gliner_exp.cli.compare', *argv]\n"
             "    try:\n"
             "        runpy.run_module('gliner_exp.cli.compare', run_name='__main__')\n"
             "    except SystemExit as exc:\n"
             "        print('exit', exc.code, 'torch' in sys.modules, flush=True)\n"
             "        print('exit', exc.code, 'torch' in sys.modules, file=sys.stderr, flush=True)\n")
    hydra_dir = f"hydra.run.dir={tmp_path / 'hydra'}"
    lines = [[*TINY, f"tuned={tmp_path / 'nowhere'}", "eval.extra=[crossner_aj]", "tunned=x", hydra_dir],
             [*TINY, hydra_dir],
             ["--help"]]
    env = dict(os.environ, HYDRA_FULL_ERROR="0")
    res = subprocess.run([sys.executable, "-c", probe, json.dumps(lines)], cwd=REPO, env=env, capture_output=True,
                         text=True, timeout=120)
    assert res.stdout.count("exit 2 False") == 2 and "exit 0 False" in res.stdout, (res.stdout, res.stderr)
    first, second = res.stderr.split("exit 2 False")[:2]
    assert f"tuned: not a directory: {tmp_path / 'nowhere'}" in first
    assert "eval.extra: 'crossner_aj' is not a data option (did you mean 'crossner_ai'?)" in first
    assert "tunned: unknown key (did you mean 'tuned'?); allowed at the top level: tuned, model," in first
    assert "tuned: required" in second and "eval.extra" not in second
    assert "Traceback" not in res.stderr
    assert "Usage: python -m gliner_exp.cli.compare tuned=<model dir>" in res.stdout
    assert not (tmp_path / "hydra").exists()


def test_a_failing_comparison_still_leaves_card_summary_and_metrics(tmp_path, monkeypatch, capsys):
    """The comparison runs after the export; when it fails (here: a full disk), the trained run is all there."""
    from gliner_exp.training import comparison
    from gliner_exp.training.run import train
    from gliner_exp.training.storage_errors import RunDirWriteError

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(comparison, "compare_with_base", full_disk)
    with pytest.raises(RunDirWriteError, match="No space left on device"):  # the one storage message
        train(compose_cfg([*TINY, "logger=none", "train.max_steps=4", "eval.compare_base=true"], run_dir=tmp_path))
    assert (tmp_path / "model" / "README.md").is_file()
    assert "dev_f1" in metrics_of(tmp_path)
    assert str(tmp_path / "model") in capsys.readouterr().out  # the summary names the model it saved
