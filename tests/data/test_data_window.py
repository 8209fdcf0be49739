"""``data.window=true``: long texts trained and evaluated in the predict verb's windows instead of truncated.

The tiny backbone reads ``model.max_len=16`` words here; every long text is
three times that, with its entity in the last window only. Training is checked
on what gliner's own training collator makes of the examples (the entity's
span labelled, or lost to truncation); evaluation on a tiny model trained
until it finds the one entity type (a few seconds).
"""

from __future__ import annotations

import json
import random

import pytest

from conftest import compose_cfg

MAX_LEN = 16
FILLER = "the cat sat on a mat and we went home after lunch with some friends today".split()


def jsonl(path, rows) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def long_example(at: int = 3 * MAX_LEN - 4, width: int = 2) -> dict:
    """3 x max_len words, a ``width``-word person starting at ``at`` (in the last window only)."""
    rng = random.Random(1)
    words = [rng.choice(FILLER) for _ in range(3 * MAX_LEN)]
    words[at:at + width] = ["alice", "smith"][:width]
    return {"tokenized_text": words, "ner": [[at, at + width - 1, "person"]]}


def short_examples(n: int = 40) -> list:
    rng = random.Random(0)
    out = []
    for _ in range(n):
        words = [rng.choice(FILLER) for _ in range(rng.randint(6, 14))]
        at = rng.randrange(len(words))
        words[at] = "alice"
        out.append({"tokenized_text": words, "ner": [[at, at, "person"]]})
    return out


def overrides(tmp_path, window: bool, train: list, dev: list | None = None) -> list:
    out = ["experiment=smoke", "data=files", f"data.train={jsonl(tmp_path / 'train.jsonl', train)}",
           f"model.max_len={MAX_LEN}", f"data.window={str(window).lower()}", "logger=none"]
    if dev is None:
        return out + ["train.load_best_model_at_end=false"]
    return out + [f"data.dev={jsonl(tmp_path / 'dev.jsonl', dev)}"]


def test_windows_hold_the_entity_gliner_would_truncate(tmp_path):
    from gliner_exp.model.build import build_model
    from gliner_exp.model.gliner_internals import training_collator
    from gliner_exp.training.run import as_config, load_data

    long = long_example()
    on = load_data(as_config(compose_cfg(overrides(tmp_path, True, [long]), run_dir=tmp_path / "on")))
    off = load_data(as_config(compose_cfg(overrides(tmp_path, False, [long]), run_dir=tmp_path / "off")))
    # Off: the one long example, as read. On: max_len windows, a quarter overlapping (16 words, 8 apart).
    assert off.train == [long] and off.window is None
    assert [len(ex["tokenized_text"]) for ex in on.train] == [MAX_LEN] * 5
    assert on.window == {"size": MAX_LEN, "stride": 8, "subword_limit": None,
                         "train": {"examples_windowed": 1, "windows": 5, "spans_lost": 0}}
    last = on.train[-1]
    assert last["tokenized_text"] == long["tokenized_text"][2 * MAX_LEN:]
    start = 3 * MAX_LEN - 4 - 2 * MAX_LEN
    assert last["ner"] == [[start, start + 1, "person"]]
    assert last["tokenized_text"][start:start + 2] == ["alice", "smith"]
    assert all(not ex["ner"] for ex in on.train[:-1])  # no earlier window holds it (the one at 24-40 ends before)

    # What gliner's own training collator trains on: the span labelled in the window, nothing in the long text.
    model = build_model(as_config(compose_cfg(overrides(tmp_path, True, [long]), run_dir=tmp_path / "m")).model)
    collate = training_collator(model)
    batch = collate([last])
    labelled = batch["span_idx"][0][batch["labels"][0].sum(-1) > 0].tolist()
    assert labelled == [[start, start + 1]]
    assert float(collate([long])["labels"].sum()) == 0.0  # truncated to max_len words: the entity is lost


def test_a_span_across_a_window_edge_is_kept_by_a_window_holding_it_whole():
    from gliner_exp.model.windowing import cut_example, windows

    example = {"tokenized_text": [f"w{i}" for i in range(24)], "ner": [[7, 9, "org"], [0, 0, "x"]],
               "ner_negatives": ["city"]}
    plan = windows(24, size=10, stride=6)
    parts, lost = cut_example(example, plan)
    assert plan == [(0, 10), (6, 16), (12, 22), (18, 24)] and lost == 0
    assert [p["ner"] for p in parts] == [[[7, 9, "org"], [0, 0, "x"]], [[1, 3, "org"]], [], []]
    assert all(p["ner_negatives"] == ["city"] for p in parts)
    # Too little overlap for a span: it is in no window whole, and counted as lost.
    parts, lost = cut_example(example, windows(24, size=8, stride=8))
    assert lost == 1 and [p["ner"] for p in parts] == [[[0, 0, "x"]], [], []]


def test_window_budget_keeps_the_overlap_when_subwords_cut_a_window_short():
    from gliner_exp.model.windowing import windows

    # size 10, stride 6 (overlap 4); word 5 is expensive, so the budget ends the first window after 5 words.
    costs = [1, 1, 1, 1, 1, 4, 1, 1, 1, 1, 1, 1]
    plan = windows(12, size=10, stride=6, costs=costs, budget=8)
    # The next window starts 2 words (half the short window) back from the cut, not at it.
    assert plan == [(0, 5), (3, 8), (6, 12)]
    assert windows(12, size=10, stride=6) == [(0, 10), (6, 12)]  # full windows: stride apart, as always


def test_windowed_evaluation_finds_the_entity_in_the_last_window(tmp_path):
    from gliner_exp.model.inference import load_model
    from gliner_exp.training.evaluation import evaluate_examples
    from gliner_exp.training.run import train

    long = long_example(width=1)
    train_set = short_examples()
    run_dir = tmp_path / "run"
    metrics = train(compose_cfg([*overrides(tmp_path, True, train_set, [long]), "train.max_steps=120",
                                 "train.eval_every=120", "train.save_every=120"], run_dir=run_dir))
    # Scored during and after training on the whole dev text, predicted in windows and merged.
    assert metrics["dev_recall"] == 1.0 and metrics["dev_precision"] == 1.0
    predicted = json.loads((run_dir / "predictions" / "dev.jsonl").read_text().splitlines()[0])
    assert json.dumps(predicted).count("person") >= 1
    assert json.loads((run_dir / "resolved" / "data_summary.json").read_text())["window"]["size"] == MAX_LEN

    model, settings = load_model(run_dir / "model")
    whole = {"size": None, "stride": None}
    found, spans = evaluate_examples(model, [long], ["person"], settings.threshold, True, 8, window=whole)
    assert spans == [[(3 * MAX_LEN - 4, 3 * MAX_LEN - 4, "person")]] and found["micro"]["recall"] == 1.0
    truncated, spans = evaluate_examples(model, [long], ["person"], settings.threshold, True, 8)
    assert spans == [[]] and truncated["micro"]["recall"] == 0.0  # without windows gliner reads 16 words only
    # Texts that fit score the same either way.
    short = train_set[:16]
    assert (evaluate_examples(model, short, ["person"], settings.threshold, True, 8, window=whole)[0]["micro"]
            == evaluate_examples(model, short, ["person"], settings.threshold, True, 8)[0]["micro"])


def test_inspect_data_reports_windows_instead_of_truncation(tmp_path):
    from gliner_exp.cli.inspect_data import inspect_config

    long = long_example()
    kinds = {}
    for window in (False, True):
        cfg = compose_cfg(overrides(tmp_path, window, [long], [long]), run_dir=tmp_path)
        report = inspect_config(cfg, tmp_path)
        kinds[window] = {(f["kind"], f["split"]): f["harmful"] for f in report["findings"]}
    assert kinds[False][("word_truncation", "train")] and kinds[False][("word_truncation", "dev")]
    assert ("word_truncation", "train") not in kinds[True] and ("word_truncation", "dev") not in kinds[True]
    assert kinds[True][("windowed_train", "train")] is False and kinds[True][("windowed_eval", "dev")] is False
    assert report["splits"]["train"]["examples"] == 5 and report["window"]["train"]["windows"] == 5


@pytest.mark.parametrize("window", [True, False])
def test_the_fingerprint_records_the_window(tmp_path, window):
    from gliner_exp.training.data_fingerprint import check_unchanged, data_fingerprint, record
    from gliner_exp.training.run import as_config, load_data

    def fingerprint(on):
        cfg = as_config(compose_cfg(overrides(tmp_path, on, [long_example()]), run_dir=tmp_path / "run"))
        return data_fingerprint(cfg.data, load_data(cfg), tmp_path)

    record(tmp_path, fingerprint(window), replace=True)
    check_unchanged(tmp_path, fingerprint(window), "checkpoint-1")
    from gliner_exp.config.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        check_unchanged(tmp_path, fingerprint(not window), "checkpoint-1")
    assert any(p.startswith("data.window: ") for p in err.value.problems)
