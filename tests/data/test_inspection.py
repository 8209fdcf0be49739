"""inspect_data: what a training run would see in its data, and what gliner would lose.

Tiny JSONL files in tmp_path (``data=files``) carry one of each problem; the
subword truncation rule is checked against gliner's own processor.
"""

import json
import logging
import subprocess
import sys

import pytest

from conftest import REPO, compose_cfg
from gliner_exp.cli.inspect_data import REPORT_FILE, inspect_config, render
from gliner_exp.data.splits import Splits

LONG = [f"w{i}" for i in range(14)]  # over model.max_len=10 words, with an entity past the cut
TRAIN = [
    {"tokenized_text": ["Alice", "lives", "in", "Paris", "."], "ner": [[0, 0, "person"], [3, 3, "city"]]},
    {"tokenized_text": LONG, "ner": [[1, 1, "person"], [12, 12, "city"]]},
    # a 5-word span, over model.max_width=3
    {"tokenized_text": "the New York Stock Exchange opened".split(), "ner": [[1, 5, "city"]]},
    {"tokenized_text": ["nothing", "here"], "ner": []},
]
DEV = [
    {"tokenized_text": ["Alice", "lives", "in", "Paris", "."], "ner": [[0, 0, "person"], [3, 3, "city"]]},  # = train
    {"tokenized_text": ["Rex", "barked"], "ner": [[0, 0, "animal"]]},  # a label train never shows
]
LIMITS = ["model=tiny", "model.max_len=10", "model.max_width=3"]


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


@pytest.fixture
def files(tmp_path):
    return ["data=files", f"data.train={write_jsonl(tmp_path / 'train.jsonl', TRAIN)}",
            f"data.dev={write_jsonl(tmp_path / 'dev.jsonl', DEV)}"]


def harmful(report):
    return {(f["kind"], f["split"]) for f in report["findings"] if f["harmful"]}


def test_each_harmful_problem_is_flagged(files, tmp_path):
    report = inspect_config(compose_cfg([*files, *LIMITS], run_dir=tmp_path), tmp_path)
    assert harmful(report) == {("word_truncation", "train"), ("too_wide_spans", "train"),
                               ("unseen_labels", "dev"), ("overlap", "dev")}
    assert report["word_truncation"]["train"] == {"examples": 1, "entities_lost": 1, "longest": 14, "indices": [1]}
    assert report["too_wide_spans"]["train"]["per_label"] == {"city": 1}
    assert report["unseen_labels"]["dev"] == {"animal": 1}
    assert report["overlap"]["dev"] == {"examples": 1, "indices": [0]}
    assert report["splits"]["train"]["examples_without_entities"] == 1
    assert report["splits"]["dev"]["entities_per_label"] == {"animal": 1, "city": 1, "person": 1}
    # the tiny tokenizer sets no model_max_length: said, not flagged
    assert "never truncates" in report["subword_truncation"]["skipped"]
    table = render(report)
    assert "! train/dev overlap: 1 dev example(s)" in table and "! dev: 1 label(s) never seen in train" in table


def test_clean_data_has_no_harmful_finding(files, tmp_path):
    # gliner's defaults for the tiny model (max_len=128, max_width=8) fit TRAIN; no dev split.
    report = inspect_config(compose_cfg([*files[:2], "model=tiny", "train.load_best_model_at_end=false"], run_dir=tmp_path), tmp_path)
    assert harmful(report) == set() and list(report["splits"]) == ["train"]


def test_train_cap_reports_what_it_cuts(files, tmp_path):
    report = inspect_config(compose_cfg([*files, *LIMITS, "data.max_train_examples=1"], run_dir=tmp_path), tmp_path)
    cap = report["train_cap"]
    assert cap["examples_cut"] == 3 and cap["entities_cut"] == 3 and cap["labels_lost"] == []
    assert report["splits"]["train"]["examples"] == 1  # the rest describes what training sees
    assert ("word_truncation", "train") not in harmful(report)


def test_training_warns_once_per_harmful_finding(files, tmp_path, caplog):
    from gliner_exp.model.truncation import warn_harmful
    from gliner_exp.training.run import as_config, load_data

    cfg = as_config(compose_cfg([*files, *LIMITS], run_dir=tmp_path / "run"))
    with caplog.at_level(logging.WARNING, logger="gliner_exp.model.truncation"):
        report = warn_harmful(cfg, load_data(cfg))
    assert len(caplog.records) == report["harmful"] == 4
    assert any("never seen in train: animal (1)" in r.getMessage() for r in caplog.records)


def test_subword_truncation_matches_gliners_processor():
    """The tokenizer-only rule keeps exactly the words gliner's own processor embeds (MiniLM, 512 subwords)."""
    from gliner import GLiNERConfig
    from gliner.data_processing.processor import UniEncoderSpanProcessor
    from transformers import AutoTokenizer

    from gliner_exp.model.backbones import minilm_path
    from gliner_exp.model.subwords import Subwords, load_tokenizer
    from gliner_exp.model.truncation import GLINER_DEFAULTS, subword_truncation

    assert {k: getattr(GLiNERConfig(), k) for k in GLINER_DEFAULTS} == GLINER_DEFAULTS
    words = ["electroencephalography", "cat", "antidisestablishmentarianism", "the", "xylophonist"]
    examples = [{"tokenized_text": [words[(i * 7 + n) % 5] for i in range(n)], "ner": [[n - 1, n - 1, "person"]]}
                for n in (40, 150, 230, 390)]
    labels = ["person", "political party"]
    config = GLiNERConfig(model_name=minilm_path(), max_len=300)
    tokenizer = AutoTokenizer.from_pretrained(minilm_path())
    tokenizer.add_tokens(["[FLERT]", config.ent_token, config.sep_token], special_tokens=True)
    processor = UniEncoderSpanProcessor(config, tokenizer, None)
    batch = processor.collate_fn(processor.collate_raw_batch(examples, entity_types=labels), prepare_labels=False)
    embedded = [int(row.max()) for row in batch["words_mask"]]  # words gliner keeps an embedding for

    fast, limit = load_tokenizer(minilm_path(), config.ent_token, config.sep_token)
    splits = Splits(train=examples, labels=labels, sources={"train": "mem"})
    subwords = Subwords.from_tokenizers(fast, limit, config.ent_token, config.sep_token)
    found = subword_truncation(splits, dict(GLINER_DEFAULTS, max_len=300), subwords)["splits"]["train"]
    assert limit == 512 and embedded[0] == 40  # the short one fits
    assert found["indices"] == [i for i, n in enumerate(embedded) if n < min(len(examples[i]["tokenized_text"]), 300)]
    assert found["kept_words"] == [embedded[i] for i in found["indices"]]
    assert found["entities_lost"] == 2  # the last word of #1 and #2; #3's entity is past max_len (word truncation)


def test_cli_exits_0_and_writes_its_json(files, tmp_path):
    out = tmp_path / "out"
    res = subprocess.run([sys.executable, "-m", "gliner_exp.cli.inspect_data", *files, *LIMITS,
                          f"hydra.run.dir={out}"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    report = json.loads((out / REPORT_FILE).read_text())
    assert report["harmful"] == 4 and "findings (4 harmful" in res.stdout
    assert str(out / REPORT_FILE) in res.stdout


def test_cli_help_is_fast_and_bad_overrides_exit_2(tmp_path):
    res = subprocess.run([sys.executable, "-m", "gliner_exp.cli.inspect_data", "--help"], cwd=REPO,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and "data.max_train_examples" in res.stdout and "model: " in res.stdout
    res = subprocess.run([sys.executable, "-m", "gliner_exp.cli.inspect_data", "data=files",
                          f"data.train={tmp_path}/nope.jsonl"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "data.train: file not found" in res.stderr
