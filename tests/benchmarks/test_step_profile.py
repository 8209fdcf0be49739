"""The step-profile benchmark must not rot: one round on the tiny backbone prints every variant's row."""

from __future__ import annotations

import importlib.util
import sys

from conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))  # step_profile imports its sibling time_to_f1
SPEC = importlib.util.spec_from_file_location("step_profile", REPO / "benchmarks" / "step_profile.py")
bench = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(bench)


def test_every_variant_is_timed_beside_the_tagger(capsys):
    assert bench.main(["--model", "tiny", "--data", "synthetic_small", "--steps", "1", "--rounds", "1",
                       "--width", "4"]) == 0
    out = capsys.readouterr().out
    for name in ("tagger", "tagger, fused AdamW", "tagger, fused AdamW + gliner_exp's dropout",
                 "gliner (gliner's span layer)", "gliner", "gliner width=4"):
        assert f"| {name} | " in out
    assert "| tagger | " in out and "| 1.00 |" in out
    assert "span scoring + loss" in out and "token_rep_layer" in out
