"""Per-example ``ner_labels`` / ``ner_negatives``: kept by the readers, renamed, and read by gliner's collator."""

import json

import pytest

from conftest import compose_cfg
from gliner_exp.data import DataError, read_examples
from gliner_exp.data.label_names import rename_examples
from gliner_exp.data.synthetic import generate_split

BASE = {"tokenized_text": ["Alice", "lives", "in", "Paris"], "ner": [[0, 0, "person"], [3, 3, "city"]]}


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_label_set_keys_pass_through_and_other_keys_are_dropped(tmp_path):
    rows = [dict(BASE, id=7, ner_negatives=["animal", "date"]), dict(BASE, ner_labels=["person", "city", "animal"])]
    got = read_examples(write_jsonl(tmp_path / "train.jsonl", rows))
    assert got[0] == dict(BASE, ner_negatives=["animal", "date"])
    assert got[1] == dict(BASE, ner_labels=["person", "city", "animal"])
    renamed = rename_examples(got, {"person": "human", "city": "town", "animal": "beast"})
    assert renamed[0]["ner_negatives"] == ["beast", "date"] and renamed[0]["ner"][0][2] == "human"
    assert renamed[1]["ner_labels"] == ["human", "town", "beast"]
    assert got[1]["ner_labels"] == ["person", "city", "animal"]  # the loaded examples keep the keys


def test_synthetic_examples_are_unaffected():
    assert {k for ex in generate_split(0, "train", 50) for k in ex} == {"tokenized_text", "ner"}


@pytest.mark.parametrize("extra, message", [
    ({"ner_negatives": "animal"}, "'ner_negatives' must be a list of non-empty label strings.*got string 'animal'"),
    ({"ner_negatives": ["animal", 3]}, "'ner_negatives' item 1 must be a non-empty string.*got int 3"),
    ({"ner_negatives": [" "]}, "'ner_negatives' item 0 is empty"),
    ({"ner_negatives": ["animal "]}, "'ner_negatives' item 0 'animal ': label has leading/trailing whitespace"),
    ({"ner_labels": ["person"]}, r"'ner_labels' \['person'\] lacks span labels \['city'\]"),
    ({"ner_labels": ["person", "city", "city"]}, r"'ner_labels' lists \['city'\] more than once"),
])
def test_bad_label_sets_name_file_line_and_what_is_allowed(tmp_path, extra, message):
    path = write_jsonl(tmp_path / "train.jsonl", [BASE, dict(BASE, **extra)])
    with pytest.raises(DataError, match=f"^{tmp_path / 'train.jsonl'}:2: {message}"):
        read_examples(path)


def test_bad_ner_negatives_stop_the_cli_with_file_line(tmp_path, cli):
    path = write_jsonl(tmp_path / "train.jsonl", [BASE, dict(BASE, ner_negatives=[""])])
    res = cli(["data=files", f"data.train={path}", "train.load_best_model_at_end=false",
               f"run.dir={tmp_path / 'run'}"], timeout=120)
    assert res.returncode == 2, res.stderr
    assert f"{path}:2: 'ner_negatives' item 0 is empty" in res.stderr


@pytest.fixture(scope="module")
def collate():
    """gliner_exp's training collator (gliner's own, seeded per batch) over a tiny GLiNER."""
    from gliner_exp.model.build import build_model
    from gliner_exp.model.gliner_internals import training_collator
    from gliner_exp.training.collator import SeededCollator

    model = build_model(compose_cfg(["model=tiny"]).model)
    collator = SeededCollator(training_collator(model), seed=0)
    tokenizer = model.data_processor.transformer_tokenizer

    def run(example):
        batch = collator([(0, example)])
        return batch, tokenizer.decode(batch["input_ids"][0])

    return run


def test_ner_negatives_change_the_batch_gliner_builds(collate):
    plain, plain_text = collate(BASE)
    again, _ = collate(BASE)
    hard, hard_text = collate(dict(BASE, ner_negatives=["animal", "vehicle"]))
    assert plain["input_ids"].equal(again["input_ids"])  # the draw is seeded: the difference is the key
    assert "animal" not in plain_text and "animal" in hard_text and "vehicle" in hard_text
    assert plain["labels"].shape[-1] == 2 and hard["labels"].shape[-1] == 4  # two more (all-negative) classes
    assert hard["labels"].sum() == plain["labels"].sum() == 2  # the gold spans stay positive


def test_ner_labels_are_the_prompt(collate):
    batch, text = collate(dict(BASE, ner_labels=["city", "person", "date", "animal"]))
    assert batch["labels"].shape[-1] == 4 and "date" in text and "animal" in text
    # in the order given: a span's class index is its label's position in ner_labels
    assert text.index("city") < text.index("person") < text.index("date") < text.index("animal")
    city = batch["labels"][0, :, 0].nonzero().flatten().tolist()
    person = batch["labels"][0, :, 1].nonzero().flatten().tolist()
    assert len(city) == len(person) == 1 and city != person
