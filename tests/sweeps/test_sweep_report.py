"""The sweep report on hand-made sweep dirs (milliseconds): table, marginals, best job, pending jobs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from conftest import REPO

from gliner_exp.sweeps.report.summary import write_summary

BASE = ["experiment=smoke"]
BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"


def _fake_job(root, name, overrides, status, dev=None, test=None, error=None, steps=6, curve=True, zero_shot=None):
    d = root / name
    (d / ".hydra").mkdir(parents=True)
    OmegaConf.save(OmegaConf.create(overrides), d / ".hydra" / "overrides.yaml")
    OmegaConf.save(OmegaConf.create({"hydra": {"runtime": {"cwd": "/some/where"}}}), d / ".hydra" / "hydra.yaml")
    (d / "status.json").write_text(json.dumps({"status": status, "error": error, "total_wall_time_s": 2.0,
                                               "dev_f1": dev, "test_f1": test, "global_step": steps}))
    if status in ("ran", "resumed", "skipped"):
        metrics = {"global_step": steps, "dev_f1": dev, "test_f1": test}
        if zero_shot is not None:  # eval.extra: what training writes per suite (trimmed to what the report reads)
            metrics["zero_shot"] = {name: {"split": "dev", "f1": f1, "precision": f1, "recall": f1}
                                    for name, f1 in zero_shot.items()}
        (d / "metrics.json").write_text(json.dumps(metrics))
    if curve:
        (d / "metrics.csv").write_text("step,epoch,metric,value\n1,0.5,loss,3.0\n2,1.0,loss,2.0\n2,1.0,eval_f1,0.1\n")
    return d


def _grid(root, task, exclude_keys):
    """The ``multirun.yaml`` a basic-sweeper grid saves."""
    OmegaConf.save(OmegaConf.create({"hydra": {
        "sweeper": {"_target_": BASIC_SWEEPER, "params": None},
        "overrides": {"task": task},
        "job": {"config": {"override_dirname": {"exclude_keys": exclude_keys}}}}}), root / "multirun.yaml")


def test_report_table_marginals_best_and_pending(tmp_path):
    _fake_job(tmp_path, "a", BASE + ["loss.gamma=0", "loss.masking=none"], "ran", 0.2, 0.1)
    _fake_job(tmp_path, "b", BASE + ["loss.gamma=0", "loss.masking=global"], "skipped", 0.6, 0.5)
    _fake_job(tmp_path, "c", BASE + ["loss.gamma=2", "loss.masking=none"], "failed", error="RuntimeError: x")
    # the grid that was launched: one job (gamma=2, global) has no dir yet
    _grid(tmp_path, BASE + ["loss.gamma=0,2", "loss.masking=none,global"], ["run.resume"])

    out = write_summary(tmp_path)
    rows = out["rows"]
    assert [r["status"] for r in rows] == ["skipped", "ran", "failed", "pending"]
    assert out["params"] == ["loss.gamma", "loss.masking"]
    assert out["best"]["job"] == "b"
    assert "  reproduce: python -m gliner_exp experiment=smoke loss.gamma=0 loss.masking=global\n" in out["text"]
    gamma = {e["value"]: e for e in out["marginals"]["loss.gamma"]}
    assert gamma["0"]["n"] == 2 and gamma["0"]["mean"] == pytest.approx(0.4) and gamma["2"]["failed"] == 1
    paths = out["paths"]
    for key in ("csv", "markdown", "json", "marginals"):
        assert Path(paths[key]).is_file()
    assert set(paths["plots"].values()) == {str(tmp_path / "summary" / "f1_by_param.png"),
                                           str(tmp_path / "summary" / "curves.png")}
    md = Path(paths["markdown"]).read_text()
    assert "RuntimeError: x" in md and "pending" in md and "## Marginal means" in md
    table = Path(paths["csv"]).read_text().splitlines()
    assert table[0].startswith("rank,loss.gamma,loss.masking,status,dev_f1")
    assert table[1].split(",")[3:5] == ["skipped", "0.6"]
    data = json.loads(Path(paths["json"]).read_text())
    assert data["best"]["command"] == "python -m gliner_exp " + " ".join(BASE + ["loss.gamma=0", "loss.masking=global"])
    assert data["best"]["launched_from"] == "/some/where"  # kept, but out of the command


def test_best_command_is_portable(tmp_path):
    """The command to rerun the best job is typed from the project root of any checkout: no ``cd``
    into the launching machine's directory, in the console text or in summary.md."""
    _fake_job(tmp_path, "a", BASE + ["loss.gamma=0", "data.train=my data/train.jsonl"], "ran", 0.2, 0.1)
    out = write_summary(tmp_path, plots=False)
    expected = "python -m gliner_exp experiment=smoke loss.gamma=0 'data.train=my data/train.jsonl'"
    md = Path(out["paths"]["markdown"]).read_text()
    command = md.split("```bash\n", 1)[1].split("\n```", 1)[0]
    assert command == expected
    assert f"reproduce: {expected}\n" in out["text"]
    assert "/some/where" not in md and "/some/where" not in out["text"]


def test_committed_sweep_example_is_portable():
    """docs/sweep_example/ names no directory of the machine that produced it."""
    example = REPO / "docs" / "sweep_example"
    for path in sorted(example.glob("*.md")) + sorted(example.glob("*.csv")):
        text = path.read_text()
        assert str(REPO) not in text and "cd /" not in text, path.name
    md = (example / "summary.md").read_text()
    assert md.split("```bash\n", 1)[1].startswith("python -m gliner_exp ")


def test_pending_jobs_of_a_sweep_saved_with_the_exclude_keys_interpolation(tmp_path):
    """Today's multirun.yaml holds ``${gx_non_experiment_keys:}``: a standalone report still
    knows that a non-experiment key (run.tags) does not make a job of its own."""
    _fake_job(tmp_path, "a", BASE + ["loss.gamma=0", "run.tags=[a]"], "ran", 0.2, 0.1)
    _grid(tmp_path, BASE + ["loss.gamma=0,2", "run.tags=[b]"], "${gx_non_experiment_keys:}")
    code = ("import sys; from gliner_exp.sweeps.report.collect import collect; "
            "print([r['status'] + ':' + r['params']['loss.gamma'] for r in collect(sys.argv[1])])")
    # a fresh process: no resolver registered, as for `python -m gliner_exp.cli.report`
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "['ran:0', 'pending:2']"


def test_report_of_a_sweep_without_finished_jobs(tmp_path):
    _fake_job(tmp_path, "a", BASE + ["loss.gamma=0"], "failed", error="ValueError: y", curve=False)
    out = write_summary(tmp_path, plots=False)
    assert out["best"] is None and "no finished job yet" in out["text"]
    assert "No job has finished yet." in Path(out["paths"]["markdown"]).read_text()
    assert out["paths"]["plots"] == {}


def test_report_import_is_light():
    code = ("import sys, gliner_exp.sweeps.report.summary, gliner_exp.sweeps.job_runner, "
            "gliner_exp.sweeps.callback, gliner_exp.cli.report; "
            "heavy = [m for m in ('torch', 'transformers', 'wandb', 'matplotlib') if m in sys.modules]; "
            "print(heavy); sys.exit(bool(heavy))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _seed_sweep(root):
    """``-m run.seed=1,2,3 loss.gamma=0,2``: gamma=2 has the single best job, gamma=0 the best mean."""
    scores = {("0", "1"): (0.80, 0.70), ("0", "2"): (0.82, 0.71), ("0", "3"): (0.84, 0.72),
              ("2", "1"): (0.90, 0.60), ("2", "2"): (0.70, 0.60), ("2", "3"): (0.80, 0.60)}
    for (gamma, seed), (dev, test) in scores.items():
        _fake_job(root, f"g{gamma}s{seed}", BASE + [f"run.seed={seed}", f"loss.gamma={gamma}"], "ran", dev, test)


def test_seeds_are_repeats_of_one_setting(tmp_path):
    """Jobs that differ only in run.seed form one setting: mean ± sample std over n=3 seeds in
    summary.md, settings.csv and summary.json; the marginals leave the seed out; the best
    configuration is the best mean, not the best single job."""
    _seed_sweep(tmp_path)
    out = write_summary(tmp_path)
    assert out["params"] == ["run.seed", "loss.gamma"]  # the job table keeps the seed column
    by_gamma = {g["params"]["loss.gamma"]: g for g in out["settings"]}
    assert list(out["settings"][0]["params"].values()) == ["0"]  # best mean first
    assert by_gamma["0"]["n"] == 3 and by_gamma["0"]["seeds"] == ["1", "2", "3"]
    assert by_gamma["0"]["mean"] == pytest.approx(0.82) and by_gamma["0"]["std"] == pytest.approx(0.02)
    assert by_gamma["2"]["mean"] == pytest.approx(0.80) and by_gamma["2"]["std"] == pytest.approx(0.10)
    assert by_gamma["0"]["mean_test_f1"] == pytest.approx(0.71) and by_gamma["0"]["std_test_f1"] == pytest.approx(0.01)

    md = Path(out["paths"]["markdown"]).read_text()
    assert "## Settings" in md
    assert "| 1 | 0 | 1,2,3 | 0.8200 ± 0.0200 (n=3) | 0.7100 ± 0.0100 (n=3) | 0 |" in md
    assert "| 2 | 2 | 1,2,3 | 0.8000 ± 0.1000 (n=3) | 0.6000 ± 0.0000 (n=3) | 0 |" in md
    assert "mean `dev_f1` over the `run.seed` repeats" in md
    assert "python -m gliner_exp -m experiment=smoke loss.gamma=0 run.seed=1,2,3" in md
    assert out["best"]["job"] == "g0s3" and out["best_setting"]["params"] == {"loss.gamma": "0"}
    assert "reproduce: python -m gliner_exp -m experiment=smoke loss.gamma=0 run.seed=1,2,3\n" in out["text"]

    # marginals: no run.seed; per gamma value the mean of its settings' means
    assert list(out["marginals"]) == ["loss.gamma"]
    gamma = {e["value"]: e for e in out["marginals"]["loss.gamma"]}
    assert gamma["0"]["n"] == 3 and gamma["0"]["mean"] == pytest.approx(0.82) and gamma["2"]["max"] == pytest.approx(0.80)
    assert "**run.seed**" not in md
    marg = Path(out["paths"]["marginals"]).read_text().splitlines()
    assert not any(line.startswith("run.seed,") for line in marg)

    import csv
    with open(out["paths"]["settings"], newline="") as fh:
        table = list(csv.DictReader(fh))
    assert [r["loss.gamma"] for r in table] == ["0", "2"] and "run.seed" not in table[0]
    assert table[0]["n"] == "3" and float(table[0]["mean_dev_f1"]) == pytest.approx(0.82)
    assert float(table[0]["std_dev_f1"]) == pytest.approx(0.02) and float(table[1]["std_dev_f1"]) == pytest.approx(0.1)
    data = json.loads(Path(out["paths"]["json"]).read_text())
    assert data["settings"][0]["std"] == pytest.approx(0.02) and data["settings"][0]["jobs"] == ["g0s3", "g0s2", "g0s1"]
    assert data["best_setting"]["command"] == "python -m gliner_exp -m experiment=smoke loss.gamma=0 run.seed=1,2,3"


def test_a_failed_seed_leaves_the_others(tmp_path):
    """A setting with one seed finished shows its mean with n=1 and no ±."""
    _fake_job(tmp_path, "a", BASE + ["run.seed=1", "loss.gamma=0"], "ran", 0.5, 0.4)
    _fake_job(tmp_path, "b", BASE + ["run.seed=2", "loss.gamma=0"], "failed", error="RuntimeError: x")
    out = write_summary(tmp_path, plots=False)
    (only,) = out["settings"]
    assert only["n"] == 1 and only["std"] is None and only["failed"] == 1 and only["not_finished"] == 1
    md = Path(out["paths"]["markdown"]).read_text()
    assert "| 1 | 1 | 0.5000 (n=1) | 0.4000 (n=1) | 1 |" in md
    assert out["marginals"] == {}


def test_a_single_seed_sweep_has_no_settings(tmp_path):
    """A fixed run.seed is no repeat: the report is the per-job one (no settings table or file)."""
    _fake_job(tmp_path, "a", BASE + ["run.seed=1", "loss.gamma=0"], "ran", 0.2, 0.1)
    _fake_job(tmp_path, "b", BASE + ["run.seed=1", "loss.gamma=2"], "ran", 0.6, 0.5)
    out = write_summary(tmp_path, plots=False)
    assert out["settings"] is None and out["best_setting"] is None and "settings" not in out["paths"]
    assert out["best"]["job"] == "b" and list(out["marginals"]) == ["loss.gamma"]
    md = Path(out["paths"]["markdown"]).read_text()
    assert "## Settings" not in md and " ± " not in md
    assert json.loads(Path(out["paths"]["json"]).read_text())["settings"] is None


def test_zero_shot_suites_get_a_column_beside_dev_and_test(tmp_path):
    """metrics.json's zero_shot (eval.extra) shows as zs_<suite>_f1: per job in summary.md/csv/json, and as
    mean ± sample std over the seeds of each setting in the settings table, settings.csv and summary.json."""
    import csv

    ai = {("0", "1"): 0.30, ("0", "2"): 0.34, ("2", "1"): 0.20, ("2", "2"): 0.22}
    for (gamma, seed), f1 in ai.items():
        overrides = BASE + [f"run.seed={seed}", f"loss.gamma={gamma}", "eval.extra=[crossner_ai]"]
        _fake_job(tmp_path, f"g{gamma}s{seed}", overrides, "ran", 0.8 if gamma == "0" else 0.7, 0.6,
                  zero_shot={"crossner_ai": f1}, curve=False)
    _fake_job(tmp_path, "g4s1", BASE + ["run.seed=1", "loss.gamma=4", "eval.extra=[crossner_ai]"], "failed",
              error="RuntimeError: x", curve=False)
    out = write_summary(tmp_path, plots=False)
    assert out["zero_shot_suites"] == ["crossner_ai"]
    by_job = {r["job"]: r for r in out["rows"]}
    assert by_job["g0s2"]["zero_shot"] == {"crossner_ai": 0.34} and by_job["g4s1"]["zero_shot"] == {}

    md = Path(out["paths"]["markdown"]).read_text()
    jobs = md.split("## Jobs", 1)[1].split("## Settings", 1)[0]
    assert "| status | dev_f1 | test_f1 | zs_crossner_ai_f1 | steps |" in jobs
    assert "| ran | 0.8000 | 0.6000 | 0.3400 | 6 |" in jobs and "| failed | - | - | - |" in jobs
    assert "| rank | loss.gamma | seeds | dev_f1 mean ± std | test_f1 mean ± std | zs_crossner_ai_f1 mean ± std |" in md
    assert "| 1 | 0 | 1,2 | 0.8000 ± 0.0000 (n=2) | 0.6000 ± 0.0000 (n=2) | 0.3200 ± 0.0283 (n=2) | 0 |" in md
    assert "| 2 | 2 | 1,2 | 0.7000 ± 0.0000 (n=2) | 0.6000 ± 0.0000 (n=2) | 0.2100 ± 0.0141 (n=2) | 0 |" in md
    assert "`zs_crossner_ai_f1` = F1 on data option `crossner_ai`" in md
    assert "zs_crossner_ai_f1" in out["text"].splitlines()[0]

    with open(out["paths"]["csv"], newline="") as fh:
        jobs_csv = {r["job"]: r for r in csv.DictReader(fh)}
    assert float(jobs_csv["g2s2"]["zs_crossner_ai_f1"]) == 0.22 and jobs_csv["g4s1"]["zs_crossner_ai_f1"] == ""
    with open(out["paths"]["settings"], newline="") as fh:
        table = {r["loss.gamma"]: r for r in csv.DictReader(fh)}
    assert table["0"]["n_zs_crossner_ai_f1"] == "2"
    assert float(table["0"]["mean_zs_crossner_ai_f1"]) == pytest.approx(0.32)
    assert float(table["2"]["std_zs_crossner_ai_f1"]) == pytest.approx(0.0141421, abs=1e-6)
    assert table["4"]["n_zs_crossner_ai_f1"] == "0" and table["4"]["mean_zs_crossner_ai_f1"] == ""
    data = json.loads(Path(out["paths"]["json"]).read_text())
    assert data["zero_shot_suites"] == ["crossner_ai"]
    assert {j["job"]: j["zero_shot"] for j in data["jobs"]}["g0s1"] == {"crossner_ai": 0.30}
    best = data["settings"][0]["zero_shot"]["crossner_ai"]
    assert best["n"] == 2 and best["mean"] == pytest.approx(0.32) and best["std"] == pytest.approx(0.0282843, abs=1e-6)


def test_a_sweep_without_eval_extra_has_no_zero_shot_column(tmp_path):
    _fake_job(tmp_path, "a", BASE + ["loss.gamma=0"], "ran", 0.2, 0.1, curve=False)
    _fake_job(tmp_path, "b", BASE + ["loss.gamma=2"], "ran", 0.3, 0.1, curve=False)
    out = write_summary(tmp_path, plots=False)
    assert out["zero_shot_suites"] == [] and "zs_" not in Path(out["paths"]["markdown"]).read_text()
    assert "zs_" not in Path(out["paths"]["csv"]).read_text().splitlines()[0]
