"""Several training sources with weights (``data.train=[{path, weight}, ...]``): the mix, its checks, its record.

Pure data and config (no model, no torch): the mix is drawn in the data layer,
validated with the config, recorded in the data fingerprint and shown by
inspect_data.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import pytest

from conftest import REPO, compose_cfg
from gliner_exp.config.data import DataConfig
from gliner_exp.config.errors import ConfigError
from gliner_exp.config.validate import config_problems
from gliner_exp.data import DataError, load_splits, summarize
from gliner_exp.data.mixing import apportion


def person(i: int) -> dict:
    return {"tokenized_text": ["Alice", f"a{i}", "sleeps"], "ner": [[0, 0, "person"]]}


def city(i: int) -> dict:
    return {"tokenized_text": ["Paris", f"b{i}", "shines"], "ner": [[0, 0, "city"]]}


def jsonl(path, rows) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


@pytest.fixture
def sources(tmp_path):
    """a.jsonl: 10 person examples, b.jsonl: 20 city examples."""
    return jsonl(tmp_path / "a.jsonl", [person(i) for i in range(10)]), \
        jsonl(tmp_path / "b.jsonl", [city(i) for i in range(20)])


def mix(a, b, wa, wb, seed=42, **kw):
    return load_splits(DataConfig(train=[{"path": a, "weight": wa}, {"path": b, "weight": wb}], **kw), ".", seed=seed)


def test_mix_follows_the_weights_and_is_deterministic(sources):
    a, b = sources
    splits = mix(a, b, 2, 1)
    # 30 examples in all, two thirds from a: a up-sampled (every example twice), b down-sampled to half.
    assert len(splits.train) == 30
    per_source = Counter(ex["tokenized_text"][1][0] for ex in splits.train)
    assert per_source == {"a": 20, "b": 10}
    assert set(Counter(ex["tokenized_text"][1] for ex in splits.train if ex["tokenized_text"][1][0] == "a")
               .values()) == {2}
    assert len({ex["tokenized_text"][1] for ex in splits.train if ex["tokenized_text"][1][0] == "b"}) == 10
    assert [(s["key"], s["weight"], s["examples"], s["mixed"]) for s in splits.train_mix] == [
        ("data.train[0]", 2.0, 10, 20), ("data.train[1]", 1.0, 20, 10)]
    # Shuffled, so a cut (data.max_train_examples) keeps both sources.
    assert {ex["tokenized_text"][1][0] for ex in splits.train[:10]} == {"a", "b"}

    assert mix(a, b, 2, 1).train == splits.train  # the same seed, the same mix
    other = mix(a, b, 2, 1, seed=7).train
    assert other != splits.train and Counter(ex["tokenized_text"][1][0] for ex in other) == per_source
    assert [s["mixed"] for s in mix(a, b, 1, 3).train_mix] == [8, 22]  # 30 * 1/4 = 7.5 -> largest remainder


def test_apportion_adds_up_and_breaks_ties_by_order():
    assert apportion(10, [1, 1, 1]) == [4, 3, 3]
    assert apportion(7, [0.5, 0.25, 0.25]) == [3, 2, 2]  # 3.5, 1.75, 1.75: the larger remainders round up
    assert sum(apportion(1001, [3.3, 1e-3, 7])) == 1001


def test_labels_are_the_union_of_the_sources_and_the_summary_lists_them(sources, tmp_path):
    a, b = sources
    rare = jsonl(tmp_path / "rare.jsonl", [{"tokenized_text": ["Rex"], "ner": [[0, 0, "dog"]]}])
    splits = load_splits(DataConfig(train=[{"path": a, "weight": 1000}, {"path": rare, "weight": 1}]), ".")
    # 11 examples, the rare source's share 0.01: none of it in the mix, its label still in the set.
    assert [s["mixed"] for s in splits.train_mix] == [11, 0]
    assert splits.labels == ["dog", "person"]
    summary = summarize(splits)
    assert [s["mixed"] for s in summary["train_mix"]] == [11, 0] and "sha256" not in summary["train_mix"][0]
    assert summary["sources"]["train"].startswith(f"mix of {a} (weight 1000), {rare} (weight 1)")
    # A cap cuts the mix, and the labels then are those left, as for one file.
    capped = load_splits(DataConfig(train=[{"path": a, "weight": 1}, {"path": b, "weight": 1}],
                                    max_train_examples=1), ".")
    assert len(capped.train) == 1 and len(capped.labels) == 1
    # One plain path is read as it always was: no mix, no reordering.
    single = load_splits(DataConfig(train=b), ".")
    assert single.train_mix == [] and single.train == [city(i) for i in range(20)]
    assert "train_mix" not in summarize(single)


def test_bad_weights_and_missing_files_name_each_key(sources, tmp_path):
    a, _ = sources
    train = [{"path": a, "weight": 0}, {"path": str(tmp_path / "nope.jsonl"), "weight": "heavy"},
             {"path": a, "wieght": 1}, "b.jsonl"]
    cfg = compose_cfg(["data=files", f"data.train={a}", "train.load_best_model_at_end=false"], run_dir=tmp_path)
    from omegaconf import OmegaConf

    plain = OmegaConf.to_container(cfg, resolve=True)
    plain["data"]["train"] = train
    problems = config_problems(plain)
    allowed = "allowed: a number > 0, the source's relative share of the mixed training set"
    assert f"data.train[0].weight: 0 is out of range; {allowed}" in problems
    assert f"data.train[1].weight: 'heavy' is not a number; {allowed}" in problems
    assert f"data.train[1].path: file not found: {tmp_path / 'nope.jsonl'}" in problems
    assert ("data.train[2].wieght: unknown key (did you mean 'data.train[2].weight'?); allowed: path, weight"
            in problems)
    assert any(p.startswith("data.train[2].weight: required") for p in problems)
    assert any(p.startswith("data.train[3]: must be a mapping {path: <file>, weight: <number > 0>}")
               for p in problems)
    # The data layer, called directly, stops at the first of them, and also refuses a file listed twice.
    with pytest.raises(DataError, match=r"^data\.train\[0\]\.weight: 0 is out of range"):
        load_splits(DataConfig(train=train), ".")
    with pytest.raises(DataError, match=r"^data\.train\[1\]\.path: the same file as data\.train\[0\]\.path"):
        load_splits(DataConfig(train=[{"path": a, "weight": 1}, {"path": a, "weight": 2}]), ".")


def test_command_line_errors_exit_2_before_torch(sources, tmp_path):
    a, _ = sources
    code = ("import runpy, sys\n"
            "sys.argv = ['gliner_exp', 'data=files', sys.argv[1], 'train.load_best_model_at_end=false']\n"
            "try:\n    runpy.run_module('gliner_exp', run_name='__main__')\n"
            "except SystemExit as e:\n    print('EXIT', e.code, 'torch' in sys.modules)\n")
    train = f"data.train=[{{path: {a}, weight: -1}}, {{path: {tmp_path}/gone.jsonl, weight: 1}}]"
    done = subprocess.run([sys.executable, "-c", code, train], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert "EXIT 2 False" in done.stdout, done.stdout + done.stderr[-2000:]
    assert "data.train[0].weight: -1 is out of range" in done.stderr
    assert f"data.train[1].path: file not found: {tmp_path}/gone.jsonl" in done.stderr


def test_resume_check_names_a_changed_weight(sources, tmp_path):
    from gliner_exp.training.data_fingerprint import check_unchanged, data_fingerprint, record

    a, b = sources

    def fingerprint(wa, wb):
        data = DataConfig(train=[{"path": a, "weight": wa}, {"path": b, "weight": wb}])
        from omegaconf import OmegaConf

        return data_fingerprint(OmegaConf.structured(data), mix(a, b, wa, wb), tmp_path)

    then = fingerprint(2, 1)
    assert [(s["key"], s["weight"], s["examples"]) for s in then["train_mix"]] == [
        ("data.train[0]", 2.0, 10), ("data.train[1]", 1.0, 20)]
    record(tmp_path, then, replace=True)
    check_unchanged(tmp_path, fingerprint(2, 1), "checkpoint-2")  # the same mix resumes
    with pytest.raises(ConfigError) as err:
        check_unchanged(tmp_path, fingerprint(1, 1), "checkpoint-2")
    assert "data.train[0].weight: 2 then, 1 now" in err.value.problems
    assert any(p.startswith("data.train: the examples read from mix of") for p in err.value.problems)
    jsonl(tmp_path / "b.jsonl", [city(i) for i in range(21)])  # a source's file changed
    with pytest.raises(ConfigError) as err:
        check_unchanged(tmp_path, fingerprint(2, 1), "checkpoint-2")
    assert f"data.train[1]: the examples read from {b} differ (20 examples then, 21 now)" in err.value.problems


def test_inspect_data_shows_counts_per_source(sources, tmp_path):
    from gliner_exp.cli.inspect_data import inspect_config, render

    a, b = sources
    cfg = compose_cfg(["data=files", f"data.train=[{{path: {a}, weight: 2}}, {{path: {b}, weight: 1}}]",
                       "model=tiny", "train.load_best_model_at_end=false"], run_dir=tmp_path)
    report = inspect_config(cfg, tmp_path)
    assert [(s["key"], s["examples"], s["mixed"]) for s in report["train_mix"]] == [
        ("data.train[0]", 10, 20), ("data.train[1]", 20, 10)]
    assert report["splits"]["train"]["examples"] == 30 and report["labels"] == ["city", "person"]
    table = render(report)
    assert f"data.train[0]: {a}  weight 2: 10 read, 20 in the mix" in table
    assert f"data.train[1]: {b}  weight 1: 20 read, 10 in the mix" in table
