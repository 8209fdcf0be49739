"""data.label_names / data.label_names_auto: which words stand for each label key."""

import pytest

from gliner_exp.config.data import DataConfig, SyntheticDataConfig
from gliner_exp.data import DataError, load_splits
from gliner_exp.data.label_names import rename_examples, resolve_label_names, split_words


def test_auto_split_reads_snake_kebab_and_camel_case_as_words():
    assert [split_words(k) for k in ("person_name", "date-of-birth", "musicalArtist", "city")] == [
        "person name", "date of birth", "musical artist", "city"]


def test_explicit_names_win_over_the_automatic_split():
    names = resolve_label_names(["programlang", "person_name"], {"programlang": "programming language"}, auto=True)
    assert names == {"programlang": "programming language", "person_name": "person name"}
    assert resolve_label_names(["person_name"], {}, auto=False) == {"person_name": "person_name"}


@pytest.mark.parametrize("mapping, message", [
    ({"planet": "planet"}, "not labels of the data"),
    ({"city": "person"}, "same name"),
    ({"city": " "}, "empty name"),
])
def test_bad_maps_are_refused_naming_the_culprit(mapping, message):
    with pytest.raises(DataError, match=message):
        resolve_label_names(["city", "person"], mapping, auto=False)


def test_load_splits_resolves_names_and_keeps_keys_in_the_data(tmp_path):
    cfg = DataConfig(synthetic=SyntheticDataConfig(n_train=20, n_dev=5, n_test=5), label_names={"city": "town"})
    splits = load_splits(cfg, tmp_path)
    assert splits.label_names["city"] == "town" and splits.label_names["date"] == "date"
    assert "city" in {lab for ex in splits.train for *_, lab in ex["ner"]}
    renamed = rename_examples(splits.train, splits.label_names)
    assert "town" in {lab for ex in renamed for *_, lab in ex["ner"]}
    assert "city" in {lab for ex in splits.train for *_, lab in ex["ner"]}  # the original is left as it was
