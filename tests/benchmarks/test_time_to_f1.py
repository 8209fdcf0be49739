"""The time-to-F1 benchmark must not rot: a seconds-long run on the tiny backbone gives every row."""

from __future__ import annotations

import importlib.util
import json

from conftest import REPO

SPEC = importlib.util.spec_from_file_location("time_to_f1", REPO / "benchmarks" / "time_to_f1.py")
bench = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(bench)


def test_every_system_produces_its_row_with_an_f1(tmp_path, capsys):
    assert bench.main(["--model", "tiny", "--data", "synthetic_small", "--budget-s", "2", "--points", "2",
                       "--out", str(tmp_path)]) == 0
    rows = json.loads((tmp_path / "time_to_f1.json").read_text())["rows"]
    assert [r["system"] for r in rows] == list(bench.SYSTEMS)
    for row in rows:
        assert 0.0 <= row["dev_f1"] <= 100.0 and 0.0 <= row["test_f1"] <= 100.0, row
        assert row["steps"] >= 1 and row["curve"], row
    table = capsys.readouterr().out
    assert all(f"| {name} |" in table for name in bench.SYSTEMS)
    assert (tmp_path / "time_to_f1.png").stat().st_size > 0


def test_bio_tags_become_the_spans_the_scorer_expects():
    assert bench.bio_spans(["B-person", "I-person", "O", "B-city", "B-city", "I-date"]) == [
        (0, 1, "person"), (3, 3, "city"), (4, 4, "city"), (5, 5, "date")]


def test_time_to_ninety_percent_of_final():
    curve = [(10.0, 20.0), (20.0, 85.0), (30.0, 95.0), (40.0, 100.0)]
    assert bench.time_to_fraction(curve, 100.0) == 30.0
    assert bench.time_to_fraction([(5.0, 0.0)], 0.0) is None
