"""``python -m gliner_exp.cli.export``: a real (tiny, briefly trained) GLiNER, real gliner export, real onnxruntime.

One tiny run serves every test: its model card (written by the run), an export
that passes its gate, and the same export with its graph corrupted (the logits
negated: it still loads and runs) that fails it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, TINY, compose_cfg

TRAIN_ARGS = [*TINY, "logger=none"]
INT8_TOLERANCE = 0.05
PROBE = ("import runpy, sys\n"
         "sys.argv = sys.argv[1:]\n"
         "try:\n"
         "    runpy.run_module(sys.argv[0], run_name='__main__')\n"
         "except SystemExit as exc:\n"
         "    print('exit', exc.code, 'torch' in sys.modules)\n")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A trained tiny run, with the composed config where Hydra would have written it (the export's default data)."""
    from omegaconf import OmegaConf

    from gliner_exp.training.run import train

    out = tmp_path_factory.mktemp("export_run")
    cfg = compose_cfg(TRAIN_ARGS, run_dir=out)
    train(cfg)
    (out / ".hydra").mkdir()
    OmegaConf.save(cfg, out / ".hydra" / "config.yaml")
    return out


def compose_export(overrides):
    """The export app's config (``conf/export.yaml``), composed as its CLI composes it."""
    from hydra import compose, initialize_config_dir

    from gliner_exp.config.store import conf_dir, register

    register()
    with initialize_config_dir(str(conf_dir()), version_base="1.3"):
        return compose("export", overrides=list(overrides))


@pytest.fixture(scope="module")
def exported(run_dir) -> dict:
    """The run's model exported in this process: fp32 and int8, opset 17, gated on the run's own dev split.

    int8 is lossy (the tiny model's can lose ~2 F1 points, MiniLM's ~3.5): its tolerance is the caller's call.
    """
    from gliner_exp.cli.export import export

    return export(compose_export([f"model_dir={run_dir / 'model'}", "quantize=true", "opset=17",
                                  f"tolerance={INT8_TOLERANCE}"]))


def run_export(args, hydra_dir, timeout=300):
    env = dict(os.environ, HYDRA_FULL_ERROR="0", OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "gliner_exp.cli.export", *args, f"hydra.run.dir={hydra_dir}"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


def negate_logits(path: Path) -> None:
    """Corrupt an exported graph so that it still loads and runs: its ``logits`` output negated."""
    import onnx
    from onnx import helper

    model = onnx.load(str(path))
    for node in model.graph.node:
        node.output[:] = ["logits_raw" if name == "logits" else name for name in node.output]
    model.graph.node.append(helper.make_node("Neg", ["logits_raw"], ["logits"], name="corrupted"))
    onnx.save(model, str(path))


def test_training_writes_a_model_card_with_its_f1(run_dir):
    metrics = json.loads((run_dir / "metrics.json").read_text())
    card = (run_dir / "model" / "README.md").read_text()
    assert card.startswith("---\nlibrary_name: gliner\n")
    assert f"| dev | {100 * metrics['dev_precision']:.2f} | {100 * metrics['dev_recall']:.2f} | " \
           f"{100 * metrics['dev_f1']:.2f} |" in card
    assert f"| test | {100 * metrics['test_precision']:.2f} | {100 * metrics['test_recall']:.2f} | " \
           f"{100 * metrics['test_f1']:.2f} |" in card
    city = metrics["per_label"]
    assert f"| city | {100 * city['dev']['city']['f1']:.2f} | {100 * city['test']['city']['f1']:.2f} | 16 | 11 |" in card
    assert "| backbone | model.backbone | builtin:tiny-bert |" in card  # the settings, from the run's config
    assert "| encoder learning rate | optimizer.encoder_lr | 0.005 |" in card
    assert "| dev | 30 | 56 | 4 | synthetic(seed=0) |" in card  # the data summary
    assert f"GLiNER.from_pretrained({str(run_dir / 'model')!r})" in card
    assert f"python -m gliner_exp.cli.predict model_dir={run_dir / 'model'}" in card
    assert "## Comparison" not in card  # no <run dir>/comparison/comparison.json


def test_export_passes_its_gate(run_dir, exported):
    import onnx

    from gliner_exp.model.inference import InferenceSettings

    metrics = json.loads((run_dir / "metrics.json").read_text())
    out = run_dir / "model" / "onnx"
    assert exported["status"] == "passed" and exported["out"] == str(out)
    # Same labels, names and threshold as training's final evaluation: torch scores what metrics.json says.
    assert exported["torch"]["f1"] == pytest.approx(metrics["dev_f1"], abs=1e-12)
    assert exported["threshold"] == metrics["threshold"]["value"] and exported["n_examples"] == 30
    assert exported["data"].startswith("the run's data") and exported["split"] == "dev"
    assert list(exported["files"]) == ["model.onnx", "model_quantized.onnx"]
    for name, result in exported["files"].items():
        assert result["passed"] and result["f1_diff"] <= INT8_TOLERANCE, (name, result)
        assert result["opset"] == 17 and result["ms_per_example"] > 0
        graph = onnx.load(str(out / name))
        assert next(o.version for o in graph.opset_import if o.domain in ("", "ai.onnx")) == 17
    fp32, int8 = exported["files"]["model.onnx"], exported["files"]["model_quantized.onnx"]
    assert fp32["f1_diff"] <= 0.01 and fp32["span_agreement"] > 0.99  # torch's spans, not only its F1
    assert int8["size_mb"] < fp32["size_mb"] / 2
    assert "MatMulInteger" in {n.op_type for n in onnx.load(str(out / "model_quantized.onnx")).graph.node}
    assert exported["torch"]["ms_per_example"] > 0
    assert json.loads((out / "onnx_export.json").read_text())["status"] == "passed"
    assert "| model.onnx |" in (out / "onnx_export.md").read_text()
    assert InferenceSettings.load(out) == InferenceSettings.load(run_dir / "model")  # the export decodes alike
    assert not list(out.parent.glob(".onnx.*")), "staging directory left behind"

    card = (run_dir / "model" / "README.md").read_text()
    assert "## ONNX export" in card and f"`{out}`: passed its parity gate" in card
    assert f"| model_quantized.onnx | {100 * int8['f1']:.2f} |" in card
    assert f"{100 * metrics['dev_f1']:.2f}" in card  # the card keeps the training figures
    assert f"GLiNER.from_pretrained({str(out)!r}, load_onnx_model=True" in card


def test_corrupted_export_fails_its_gate(run_dir, exported, tmp_path):
    from gliner_exp.cli.export import export

    model_dir = tmp_path / "model"
    shutil.copytree(run_dir / "model", model_dir)  # with its export (onnx/) and card; away from the run dir
    out = model_dir / "onnx"
    negate_logits(out / "model.onnx")
    (out / "model_quantized.onnx").unlink()  # int8 is gated at its own tolerance (see exported); this is fp32's
    done = run_export([f"model_dir={model_dir}", "verify_only=true", "data=synthetic_small"], tmp_path / "hydra")
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-3000:]
    torch_f1 = exported["torch"]["f1"]
    assert torch_f1 > 0.01, "premise: an F1 gate only catches a broken graph of a model that scores something"
    assert "export REJECTED by its parity gate: model.onnx scores dev F1 " in done.stderr
    assert f"against torch's {torch_f1:.4f}" in done.stderr and "> tolerance 0.01" in done.stderr
    assert "Traceback" not in done.stderr
    rejected = model_dir / "onnx.rejected"
    assert not out.exists() and (rejected / "model.onnx").is_file()  # nothing at out looks like a good export
    report = json.loads((rejected / "onnx_export.json").read_text())
    assert report["status"] == "rejected" and report["moved_to"] == str(rejected)
    assert list(report["files"]) == ["model.onnx"] and not report["files"]["model.onnx"]["passed"]
    assert report["files"]["model.onnx"]["span_agreement"] < 0.5  # it finds other spans than torch does
    card = (model_dir / "README.md").read_text()
    assert f"`{rejected}`: **rejected**" in card and f"`{out}`:" not in card
    assert "| backbone | model.backbone | builtin:tiny-bert |" in card  # the card's facts travelled with the model

    # The same broken graph passes a tolerance that allows any difference: the gate is the tolerance's.
    elsewhere = tmp_path / "elsewhere"
    rejected.rename(elsewhere)
    report = export(compose_export([f"model_dir={model_dir}", "verify_only=true", f"out={elsewhere}",
                                    "tolerance=1.0", "data=synthetic"]))
    assert report["status"] == "passed" and report["out"] == str(elsewhere)
    assert report["n_examples"] == 100 and not report["data"].startswith("the run's")  # data=synthetic's dev split


def test_bad_input_is_refused_before_torch(run_dir, tmp_path):
    env = dict(os.environ, HYDRA_FULL_ERROR="0")
    not_an_export = run_dir / "resolved"
    res = subprocess.run([sys.executable, "-c", PROBE, "gliner_exp.cli.export", f"model_dir={run_dir / 'model'}",
                          "opset=9", "tolerance=2", "quantise=true", "data=synthetik", f"out={not_an_export}",
                          f"hydra.run.dir={tmp_path}"], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=120)
    assert "exit 2 False" in res.stdout, res.stdout + res.stderr
    for problem in ("quantise: unknown key (did you mean 'quantize'?)", "opset: 9 is out of range; allowed: [14, 20]",
                    "tolerance: 2 is out of range; allowed: [0.0, 1.0]",
                    f"out: {not_an_export} exists and is not an export",
                    "data: 'synthetik' is not a data option (did you mean 'synthetic'?)"):
        assert problem in res.stderr, res.stderr
    assert "Traceback" not in res.stderr


def test_export_rules_name_each_problem(run_dir, tmp_path):
    from gliner_exp.config.export import export_problems
    from gliner_exp.model.inference import SETTINGS_FILE

    plain = shutil.copytree(run_dir / "model", tmp_path / "model", ignore=shutil.ignore_patterns("onnx*"))
    problems = export_problems({"model_dir": str(plain), "verify_only": True, "quantize": True}, SETTINGS_FILE)
    assert problems[0].startswith("quantize: only applies to a new export")
    assert any(p.startswith(f"out: no export to verify at {plain / 'onnx'}") for p in problems)
    assert any(p.startswith(f"data: required: no {tmp_path / '.hydra' / 'config.yaml'}") for p in problems)
    assert export_problems({"model_dir": str(plain), "out": str(plain)}, SETTINGS_FILE)[0].startswith(
        f"out: {plain} would replace the model directory")
    (plain / SETTINGS_FILE).unlink()
    assert f"model_dir: no {SETTINGS_FILE} in {plain}: the gate scores with the labels and threshold a gliner_exp " \
        "run saves with its model (<run dir>/model)" in export_problems({"model_dir": str(plain)}, SETTINGS_FILE)


def test_help_imports_no_torch():
    code = ("import sys\nsys.argv = ['export', '--help']\nimport gliner_exp.cli.export as e\n"
            "try:\n    e.main()\nexcept SystemExit:\n    pass\n"
            "print('TORCH' if 'torch' in sys.modules else 'LIGHT')")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert "Usage: python -m gliner_exp.cli.export model_dir=<dir>" in done.stdout and "tolerance" in done.stdout
    assert done.stdout.strip().endswith("LIGHT"), done.stdout[-500:] + done.stderr[-2000:]


def test_export_yaml_composes_to_the_schema():
    """conf/export.yaml states no defaults of its own: composed, it is the schema (plus the model directory)."""
    from omegaconf import OmegaConf

    from gliner_exp.config.export import ExportConfig

    composed = OmegaConf.to_container(compose_export(["model_dir=/m"]))
    assert composed == {**OmegaConf.to_container(OmegaConf.structured(ExportConfig)), "model_dir": "/m"}
