"""Tests of gliner_exp.data: synthetic corpus, readers, validation, labels, summary."""

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from gliner_exp.config.data import DataConfig, SyntheticDataConfig
from gliner_exp.data import DataError, Splits, load_splits, read_examples, summarize, write_examples
from gliner_exp.data.synthetic import generate_synthetic
from gliner_exp.data.validate import check_example

from conftest import REPO

EXAMPLES = [
    {"tokenized_text": ["Alice", "lives", "in", "Paris"], "ner": [[0, 0, "person"], [3, 3, "city"]]},
    {"tokenized_text": ["It", "rained", "."], "ner": []},
    {"tokenized_text": ["Bob", "Smith", "joined", "Acme", "Corp", "in", "New", "York"],
     "ner": [[0, 1, "person"], [3, 4, "organization"], [6, 7, "city"]]},
]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def load_train(path: Path, **kw) -> Splits:
    return load_splits(DataConfig(train=str(path), **kw), path.parent)


def show(ex: dict) -> list:
    return [(" ".join(ex["tokenized_text"][s : e + 1]), label) for s, e, label in ex["ner"]]


# --------------------------------------------------------------------- synthetic


def synth(seed=0, n_train=300, n_dev=50, n_test=50, **kw) -> Splits:
    cfg = DataConfig(synthetic=SyntheticDataConfig(seed=seed, n_train=n_train, n_dev=n_dev, n_test=n_test), **kw)
    return load_splits(cfg, ".")


def test_synthetic_same_seed_identical_and_global_random_untouched():
    random.seed(123)
    state = random.getstate()
    a, b = synth(seed=7), synth(seed=7)
    assert random.getstate() == state, "generator must use its own random.Random"
    assert (a.train, a.dev, a.test) == (b.train, b.dev, b.test)
    assert a.sources == {"train": "synthetic(seed=7)", "dev": "synthetic(seed=7)", "test": "synthetic(seed=7)"}


def test_synthetic_different_seed_and_splits_differ():
    a, b = synth(seed=0), synth(seed=1)
    assert a.train != b.train
    assert a.train[:50] != a.dev and a.dev != a.test


def test_synthetic_shape_counts_and_variety():
    s = synth(seed=0, n_train=600, n_dev=100, n_test=80)
    assert (len(s.train), len(s.dev), len(s.test)) == (600, 100, 80)
    assert 4 <= len(s.labels) <= 6 and s.labels == sorted(s.labels)
    for ex in s.train + s.dev + s.test:
        assert check_example(ex, "synthetic") == ex
        assert 0 <= len(ex["ner"]) <= 3
    n_ents = [len(ex["ner"]) for ex in s.train]
    assert n_ents.count(0) > 20, "needs negatives"
    assert max(n_ents) == 3
    assert any(e > s_ for ex in s.train for s_, e, _ in ex["ner"]), "needs multi-word entities"
    # Varied vocabulary: many distinct entity strings per label.
    distinct = {label: {tuple(ex["tokenized_text"][a : b + 1]) for ex in s.train for a, b, l in ex["ner"] if l == label}
                for label in s.labels}
    assert all(len(v) >= 15 for v in distinct.values()), {k: len(v) for k, v in distinct.items()}
    # Same as calling the generator directly (no hidden post-processing).
    assert generate_synthetic(0, 600, 100, 80)["dev"] == s.dev


def test_synthetic_with_paths_is_rejected():
    cfg = DataConfig(synthetic=SyntheticDataConfig(), dev="dev.json")
    with pytest.raises(DataError, match=r"^data\.dev: must be null when data\.synthetic is set"):
        load_splits(cfg, ".")


def test_synthetic_from_dictconfig_and_max_train_examples():
    cfg = OmegaConf.structured(DataConfig(synthetic=SyntheticDataConfig(seed=2, n_train=40), max_train_examples=10))
    s = load_splits(cfg, ".")
    assert s.train == synth(seed=2, n_train=40).train[:10]


# ----------------------------------------------------------------- file formats


@pytest.mark.parametrize("name", ["train.json", "train.jsonl", "train.conll", "train.txt", "train.bio", "train.iob"])
def test_round_trip(tmp_path, name):
    path = tmp_path / name
    write_examples(EXAMPLES, path)
    s = load_train(path)
    assert s.train == EXAMPLES
    assert s.dev == [] and s.test == []
    assert s.sources == {"train": str(path)}
    assert s.labels == ["city", "organization", "person"]


def test_conll_parsing_details(tmp_path):
    # Multi-column whitespace-separated lines (tag = last column), -DOCSTART-,
    # CRLF line ends, a BOM, repeated blank lines and no final newline.
    text = (
        "\ufeff-DOCSTART- -X- O O\r\n\r\n"
        "EU NNP B-NP B-org\r\n"
        "rejects VBZ B-VP O\r\n"
        "German JJ B-NP B-misc\r\n"
        "call NN I-NP O\r\n\r\n\r\n"
        "Peter NNP B-NP B-per\r\n"
        "van NNP I-NP I-per\r\n"
        "Blom NNP I-NP I-per\r\n"
        "Blom NNP I-NP B-per"
    )
    path = write(tmp_path / "x.conll", text)
    ex = read_examples(path)
    assert [e["tokenized_text"] for e in ex] == [["EU", "rejects", "German", "call"], ["Peter", "van", "Blom", "Blom"]]
    assert ex[0]["ner"] == [[0, 0, "org"], [2, 2, "misc"]]
    # B- right after I- of the same type starts a new entity.
    assert ex[1]["ner"] == [[0, 2, "per"], [3, 3, "per"]]


def test_tab_separated_token_may_contain_space(tmp_path):
    path = write(tmp_path / "x.txt", "New\u00a0York\tB-city\nrocks\tO\n")
    assert read_examples(path) == [{"tokenized_text": ["New\u00a0York", "rocks"], "ner": [[0, 0, "city"]]}]


@pytest.mark.parametrize("name", ["t.jsonl", "t.conll"])
def test_unicode_line_separator_inside_token_is_not_a_line_break(tmp_path, name):
    odd = [{"tokenized_text": ["a\u2028b", "c\x85d", "Paris"], "ner": [[2, 2, "city"]]}]
    path = tmp_path / name
    write_examples(odd + odd, path)
    assert read_examples(path) == odd + odd
    write(path, path.read_text(encoding="utf-8") + ('{"tokenized_text": [], "ner": []}\n' if name.endswith("jsonl") else "\nx\tI-city\n"))
    with pytest.raises(DataError, match=":3: " if name.endswith("jsonl") else ":9: "):
        read_examples(path)


def test_explicit_format_overrides_extension(tmp_path):
    path = write(tmp_path / "train.dat", "Paris\tB-city\n")
    assert load_train(path, format="conll").train == [{"tokenized_text": ["Paris"], "ner": [[0, 0, "city"]]}]
    with pytest.raises(DataError, match=r"^data\.train: cannot infer the format .*'\.dat'.*set data\.format"):
        load_train(path)


def test_forced_format_is_named_when_the_file_does_not_parse(tmp_path):
    path = tmp_path / "train.txt"
    path.write_text("Alice\tB-person\nsleeps\tO\n")
    with pytest.raises(DataError, match=r"train.txt:1:.*\(read as jsonl because data.format=jsonl\)"):
        read_examples(path, "jsonl")
    assert read_examples(path, "auto")[0]["ner"] == [[0, 0, "person"]]


def test_json_extra_keys_dropped_and_pretty_printed(tmp_path):
    rows = [dict(ex, id=i) for i, ex in enumerate(EXAMPLES)]
    path = write(tmp_path / "train.json", json.dumps(rows, indent=2))
    assert load_train(path).train == EXAMPLES


def test_relative_paths_resolve_against_base_dir(tmp_path):
    (tmp_path / "data").mkdir()
    write_examples(EXAMPLES[:1], tmp_path / "data" / "train.jsonl")
    write_examples(EXAMPLES[1:], tmp_path / "data" / "dev.json")
    cfg = OmegaConf.structured(DataConfig(train="data/train.jsonl", dev="data/../data/dev.json"))
    s = load_splits(cfg, tmp_path)
    assert s.train == EXAMPLES[:1] and s.dev == EXAMPLES[1:] and s.test == []
    assert s.sources == {"train": str(tmp_path / "data" / "train.jsonl"), "dev": str(tmp_path / "data" / "dev.json")}


# ------------------------------------------------------------------------ labels


def test_labels_inferred_as_sorted_union_over_splits(tmp_path):
    write_examples([{"tokenized_text": ["a"], "ner": [[0, 0, "zeta"]]}], tmp_path / "train.jsonl")
    write_examples([{"tokenized_text": ["b"], "ner": [[0, 0, "alpha"]]}], tmp_path / "dev.jsonl")
    write_examples([{"tokenized_text": ["c"], "ner": [[0, 0, "mid"]]}], tmp_path / "test.jsonl")
    s = load_splits(DataConfig(train="train.jsonl", dev="dev.jsonl", test="test.jsonl"), tmp_path)
    assert s.labels == ["alpha", "mid", "zeta"]


def test_explicit_labels_keep_order_and_may_add_unseen(tmp_path):
    path = tmp_path / "train.json"
    write_examples(EXAMPLES, path)
    labels = ["person", "city", "organization", "date"]
    assert load_train(path, labels=labels).labels == labels


@pytest.mark.parametrize(
    "labels, pattern",
    [
        (["person", "city"], r"^data\.labels: labels in the data but not listed: 'organization' \(in train\)"),
        ([], r"^data\.labels: empty list"),
        (["person", "person", "city", "organization"], r"^data\.labels: duplicate labels \['person'\]"),
        (["person", "", "city", "organization"], r"^data\.labels: every label must be a non-empty string"),
    ],
)
def test_bad_explicit_labels(tmp_path, labels, pattern):
    path = tmp_path / "train.json"
    write_examples(EXAMPLES, path)
    with pytest.raises(DataError, match=pattern):
        load_train(path, labels=labels)


def test_max_train_examples_truncates_train_only(tmp_path):
    write_examples(EXAMPLES, tmp_path / "train.jsonl")
    write_examples(EXAMPLES, tmp_path / "dev.jsonl")
    s = load_splits(DataConfig(train="train.jsonl", dev="dev.jsonl", max_train_examples=2), tmp_path)
    assert s.train == EXAMPLES[:2] and s.dev == EXAMPLES


# ------------------------------------------------------------------------ summary


def test_summarize(tmp_path):
    write_examples(EXAMPLES, tmp_path / "train.json")
    s = load_splits(DataConfig(train="train.json"), tmp_path)
    summary = json.loads(json.dumps(summarize(s)))  # must be JSON-able
    assert summary["labels"] == ["city", "organization", "person"]
    assert summary["sources"] == {"train": str(tmp_path / "train.json")}
    assert summary["splits"]["train"] == {
        "examples": 3, "entities": 5, "tokens": 15, "examples_without_entities": 1,
        "entities_per_label": {"city": 2, "organization": 1, "person": 2},
    }
    assert summary["splits"]["dev"]["examples"] == 0 and summary["splits"]["test"]["entities"] == 0


# ------------------------------------------------------------------- config errors


def test_missing_train_file_names_key(tmp_path):
    with pytest.raises(DataError) as e:
        load_splits(DataConfig(train="nope/train.json"), tmp_path)
    assert str(e.value) == f"data.train: file not found: {tmp_path / 'nope' / 'train.json'}"


def test_missing_dev_file_names_key(tmp_path):
    write_examples(EXAMPLES, tmp_path / "train.json")
    with pytest.raises(DataError, match=r"^data\.test: file not found: .*test\.json$"):
        load_splits(DataConfig(train="train.json", test="test.json"), tmp_path)


def test_no_train_and_no_synthetic():
    with pytest.raises(DataError, match=r"^data\.train: required"):
        load_splits(DataConfig(), ".")


def test_directory_is_not_a_file(tmp_path):
    (tmp_path / "d.json").mkdir()
    with pytest.raises(DataError, match=r"^data\.train: not a file: "):
        load_splits(DataConfig(train="d.json"), tmp_path)


# ------------------------------------------------------------- bad example files

OK = '{"tokenized_text": ["Paris"], "ner": [[0, 0, "city"]]}'

# (file name, content, expected line, expected reason fragment)
BAD = [
    ("json_syntax", "t.json", f"[\n{OK},\n" + '{"tokenized_text": ["a"] "ner": []}\n]', "3:26", "invalid JSON: Expecting ',' delimiter"),
    ("json_top_level", "t.json", '\n{"data": []}', "2", "top level must be a JSON array of examples"),
    ("jsonl_as_json", "t.json", f"{OK}\n{OK}\n", "2:1", "invalid JSON: Extra data (one example per line? name the file .jsonl"),
    ("not_object", "t.json", f"[\n  {OK},\n  [\"Paris\"]\n]", "3", "example must be a JSON object"),
    ("pretty_printed_brace_line", "t.json",
     "[\n  {\n    \"tokenized_text\": [\"a\"],\n    \"ner\": []\n  },\n  {\n    \"tokenized_text\": [\"a\", \"b\"],\n"
     "    \"ner\": [[1, 2, \"x\"]]\n  }\n]", "6", "span 0 [1, 2, 'x']: end 2 out of range for 2 tokens (valid indices 0..1"),
    ("jsonl_syntax", "t.jsonl", f"{OK}\n{{\"tokenized_text\": [\"a\"], \"ner\": [}}\n", "2:35", "invalid JSON"),
    ("missing_text", "t.jsonl", f"{OK}\n\n" + '{"tokens": ["a"], "ner": []}\n', "3", "missing 'tokenized_text' (a non-empty list of token strings)"),
    ("text_not_list", "t.jsonl", '{"tokenized_text": "Alice lives in Paris", "ner": []}', "1", "'tokenized_text' must be a list of token strings, got string"),
    ("empty_text", "t.jsonl", '{"tokenized_text": [], "ner": []}', "1", "'tokenized_text' is empty"),
    ("token_not_string", "t.jsonl", f"{OK}\n" + '{"tokenized_text": ["a", 5], "ner": []}', "2", "token 1 must be a non-empty string, got int 5"),
    ("token_empty", "t.jsonl", '{"tokenized_text": ["a", ""], "ner": []}', "1", "token 1 must be a non-empty string, got ''"),
    ("missing_ner", "t.jsonl", '{"tokenized_text": ["a"]}', "1", "missing 'ner' (a list of [start, end, label] spans; use [] for no entities)"),
    ("ner_not_list", "t.jsonl", '{"tokenized_text": ["a"], "ner": {"0": "x"}}', "1", "'ner' must be a list of [start, end, label] spans, got object"),
    ("span_shape", "t.jsonl", '{"tokenized_text": ["a"], "ner": [[0, "x"]]}', "1", "span 0 must be [start, end, label] with integer start/end and a string label, got [0, 'x']"),
    ("span_float", "t.jsonl", '{"tokenized_text": ["a", "b"], "ner": [[0, 0, "x"], [0.0, 1, "y"]]}', "1", "span 1 must be [start, end, label]"),
    ("span_label_not_str", "t.jsonl", '{"tokenized_text": ["a"], "ner": [[0, 0, 3]]}', "1", "span 0 must be [start, end, label]"),
    ("start_gt_end", "t.jsonl", '{"tokenized_text": ["a", "b"], "ner": [[1, 0, "x"]]}', "1", "span 0 [1, 0, 'x']: start 1 > end 0 (spans are inclusive word indices)"),
    ("end_out_of_range", "t.jsonl", '{"tokenized_text": ["a", "b"], "ner": [[0, 2, "x"]]}', "1", "end 2 out of range for 2 tokens (valid indices 0..1; end is inclusive)"),
    ("negative", "t.jsonl", '{"tokenized_text": ["a", "b"], "ner": [[-1, 0, "x"]]}', "1", "span 0 [-1, 0, 'x']: negative index"),
    ("token_blank", "t.jsonl", '{"tokenized_text": ["a", " "], "ner": []}', "1", "token 1 must be a non-empty string, got ' ' (empty or whitespace only)"),
    ("label_padded", "t.jsonl", '{"tokenized_text": ["a"], "ner": [[0, 0, "city "]]}', "1", "span 0 [0, 0, 'city ']: label has leading/trailing whitespace"),
    ("span_bool", "t.jsonl", '{"tokenized_text": ["a", "b"], "ner": [[true, 1, "x"]]}', "1", "span 0 must be [start, end, label]"),
    ("empty_label", "t.jsonl", '{"tokenized_text": ["a"], "ner": [[0, 0, " "]]}', "1", "span 0 [0, 0, ' ']: empty label"),
    ("conll_no_tag", "t.conll", "Alice\tB-person\nlives\tO\n\nParis\n", "4", "no tag; expected 'TOKEN<TAB>TAG'"),
    ("conll_empty_tag", "t.conll", "Alice\t\n", "1", "no tag"),
    ("conll_invalid_tag", "t.txt", "Alice\tB-person\nParis\tU-city\n", "2", "invalid tag 'U-city'; allowed: O, B-<type>, I-<type>"),
    ("conll_I_after_O", "t.bio", "Alice\tO\nParis\tI-city\n", "2", "tag 'I-city' does not continue a 'city' entity (previous token: O or sentence start)"),
    ("conll_I_at_start", "t.bio", "Alice\tO\n\nParis\tI-city\n", "3", "does not continue a 'city' entity"),
    ("conll_I_other_type", "t.iob", "New\tB-city\nYork\tI-state\n", "2", "tag 'I-state' does not continue a 'state' entity (previous token: inside a 'city' entity)"),
]


@pytest.mark.parametrize("case, name, text, line, reason", BAD, ids=[b[0] for b in BAD])
def test_bad_example_reports_file_line_and_reason(tmp_path, case, name, text, line, reason):
    path = write(tmp_path / name, text)
    with pytest.raises(DataError) as e:
        load_train(path)
    msg = str(e.value)
    assert msg.startswith(f"{path}:{line}: "), msg
    assert reason in msg, msg


@pytest.mark.parametrize("name, text", [
    ("t.json", ""), ("t.json", "  \n"), ("t.json", "[]"), ("t.jsonl", "\n\n"),
    ("t.conll", ""), ("t.conll", "-DOCSTART- O\n\n"),
])
def test_empty_file_has_no_examples(tmp_path, name, text):
    path = write(tmp_path / name, text)
    with pytest.raises(DataError, match=rf"^{__import__('re').escape(str(path))}: no examples"):
        load_train(path)


def test_invalid_utf8_reports_line(tmp_path):
    path = tmp_path / "t.conll"
    path.write_bytes(b"Alice\tO\nZ\xfcrich\tB-city\n")
    with pytest.raises(DataError, match=r":2: not valid UTF-8"):
        load_train(path)


def test_error_in_dev_names_dev_file(tmp_path):
    write_examples(EXAMPLES, tmp_path / "train.json")
    write(tmp_path / "dev.jsonl", f"{OK}\n{OK}\n" + '{"tokenized_text": ["a"], "ner": [[0, 1, "x"]]}\n')
    with pytest.raises(DataError, match=rf"^{__import__('re').escape(str(tmp_path / 'dev.jsonl'))}:3: span 0"):
        load_splits(DataConfig(train="train.json", dev="dev.jsonl"), tmp_path)


# ----------------------------------------------------------------------- CrossNER


def crossner_dir() -> Path:
    from conftest import SHARED_DATA

    return SHARED_DATA / "crossner"


def test_crossner_politics_loads():
    root = crossner_dir() / "politics"
    missing = [n for n in ("train.txt", "dev.txt", "test.txt") if not (root / n).is_file()]
    if missing:
        pytest.skip(f"CrossNER not found at {root}: missing {', '.join(missing)} (set GLINER_EXP_SHARED_DATA)")
    s = load_splits(DataConfig(train="train.txt", dev="dev.txt", test="test.txt"), root)
    assert (len(s.train), len(s.dev), len(s.test)) == (200, 541, 651)
    assert s.labels == ["country", "election", "event", "location", "misc", "organisation",
                        "person", "politicalparty", "politician"]
    # First sentence of train: "... the ruling United Russia , ..."
    assert ("United Russia", "politicalparty") in show(s.train[0])
    assert ("Communist Party of the Russian Federation", "politicalparty") in show(s.train[0])
    assert summarize(s)["splits"]["train"]["examples"] == 200


def test_crossner_all_domains_load():
    root = crossner_dir()
    domains = sorted(p for p in root.glob("*") if (p / "train.txt").is_file()) if root.is_dir() else []
    if not domains:
        pytest.skip(f"CrossNER not found at {root}: no <domain>/train.txt (set GLINER_EXP_SHARED_DATA)")
    for d in domains:
        s = load_splits(DataConfig(train="train.txt", dev="dev.txt", test="test.txt"), d)
        assert s.train and s.dev and s.test and s.labels


# ------------------------------------------------------------------ import hygiene


def test_import_does_not_pull_in_torch():
    code = (
        "import sys, gliner_exp.data; "
        "heavy = sorted(m for m in ('torch', 'transformers', 'gliner') if m in sys.modules); "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "", f"gliner_exp.data imported {out.stdout.strip()}"
