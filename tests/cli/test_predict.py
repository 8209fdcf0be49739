"""``python -m gliner_exp.cli.predict``: a really trained (briefly) MiniLM GLiNER, texts of any length."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, compose_cfg

# A MiniLM GLiNER that reads 32 words, trained ~40 s (the default recipe on the small synthetic corpus):
# enough to find people and cities (dev F1 ~78 over five labels; at 80 steps person was confused with organization).
MAX_LEN = 32
TRAIN_ARGS = ["model=minilm", f"model.max_len={MAX_LEN}", "data=synthetic_small", "train.max_steps=200",
              "train.eval_every=200", "train.save_every=200", "logger=none"]
FILLER = "the committee met again and the weather stayed quiet all afternoon ."
ENTITY = "Alice Smith moved to Paris in May ."


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    from gliner_exp.training.run import train

    run_dir = tmp_path_factory.mktemp("predict_model")
    train(compose_cfg(TRAIN_ARGS, run_dir=run_dir))
    return run_dir / "model"


def run_predict(args, hydra_dir, timeout=300):
    """``python -m gliner_exp.cli.predict ARGS`` from the repo root, Hydra's output dir in ``hydra_dir``."""
    env = dict(os.environ, HYDRA_FULL_ERROR="0", OMP_NUM_THREADS="1")
    args = [*args, f"hydra.run.dir={hydra_dir}"]  # not the repo's outputs/
    return subprocess.run([sys.executable, "-m", "gliner_exp.cli.predict", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


def predict_in_process(overrides):
    """Compose ``conf/predict.yaml`` as the app does and run the job in this process (no start-up cost)."""
    from hydra import compose, initialize_config_dir

    from gliner_exp.cli.predict import predict
    from gliner_exp.config.store import conf_dir, register

    register()
    with initialize_config_dir(str(conf_dir()), version_base="1.3"):
        cfg = compose("predict", overrides=list(overrides))
    return predict(cfg)


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def long_text() -> str:
    """Three times what the model reads, with the one entity sentence in the last window only."""
    filler = []
    while len(filler) < 3 * MAX_LEN - 4:
        filler += FILLER.split()
    # Two spaces and a tab: offsets must follow the raw text, not a re-joined one.
    return " ".join(filler) + "  Then\t" + ENTITY


def test_long_text_finds_an_entity_in_its_last_window(model_dir, tmp_path):
    from gliner_exp.model.windowing import split_words

    text = long_text()
    words = split_words(text)
    assert len(words) >= 3 * MAX_LEN
    (tmp_path / "in.txt").write_text(text + "\n" + ENTITY + "\n")
    out = tmp_path / "out.jsonl"
    done = run_predict([f"model_dir={model_dir}", f"input={tmp_path / 'in.txt'}", f"output={out}"], tmp_path / "hydra")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "1 longer than max_len=32, windowed" in done.stdout
    long_row, short_row = rows(out)
    assert long_row["text"] == text
    people = [e for e in long_row["entities"] if e["label"] == "person"]
    assert people, long_row["entities"]
    start = text.index("Alice Smith")
    assert (people[0]["start"], people[0]["end"], people[0]["text"]) == (start, start + len("Alice Smith"), "Alice Smith")
    # The entity lies past the first two windows' worth of words: only a window there can see it.
    assert start > words[2 * MAX_LEN][1]
    for entity in long_row["entities"]:
        assert text[entity["start"]:entity["end"]] == entity["text"]
        assert 0.0 <= entity["score"] <= 1.0
    # The same sentence on its own (no windows) gives the same person.
    assert ("Alice Smith", "person") in {(e["text"], e["label"]) for e in short_row["entities"]}


def test_labels_from_the_command_line_or_the_model(model_dir, tmp_path):
    from gliner_exp.model.inference import InferenceSettings

    saved = InferenceSettings.load(model_dir)
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": 7, "text": ENTITY}) + "\n"
                   + json.dumps({"tokenized_text": ENTITY.split()}) + "\n")
    summary = predict_in_process([f"model_dir={model_dir}", f"input={src}", f"output={tmp_path / 'a.jsonl'}"])
    assert summary["labels"] == saved.labels and summary["threshold"] == saved.threshold
    raw, pre = rows(tmp_path / "a.jsonl")
    assert raw["id"] == 7 and ("Alice Smith", "person") in {(e["text"], e["label"]) for e in raw["entities"]}
    person = next(e for e in pre["entities"] if e["label"] == "person")
    assert (person["token_start"], person["token_end"], person["text"]) == (0, 1, "Alice Smith")
    assert pre["tokenized_text"] == ENTITY.split()

    summary = predict_in_process([f"model_dir={model_dir}", f"input={src}", f"output={tmp_path / 'b.jsonl'}",
                                  "labels=[city]", "threshold=0.2"])
    assert summary["labels"] == ["city"] and summary["threshold"] == 0.2
    for row in rows(tmp_path / "b.jsonl"):
        assert {e["label"] for e in row["entities"]} == {"city"}
        assert "Paris" in {e["text"] for e in row["entities"]}


def test_missing_input_file_is_a_clear_error(tmp_path):
    missing = tmp_path / "nope.txt"
    done = run_predict([f"model_dir={tmp_path}", f"input={missing}", "batch_sise=4"], tmp_path / "hydra", timeout=60)
    assert done.returncode == 2
    assert f"input: file not found: {missing}" in done.stderr
    assert "batch_sise: unknown key (did you mean 'batch_size'?)" in done.stderr
    assert f"model_dir: no gliner_config.json in {tmp_path}" in done.stderr
    assert "Traceback" not in done.stderr


def test_bad_input_lines_are_named(tmp_path):
    from gliner_exp.cli.predict import read_inputs
    from gliner_exp.config.errors import ConfigError

    src = tmp_path / "in.jsonl"
    src.write_text('"a text"\n{"text": 3}\n\nnot json\n{"tokenized_text": ["a", "b"]}\n{"id": 1}\n')
    with pytest.raises(ConfigError) as err:
        read_inputs(src)
    assert ["in.jsonl:2", "in.jsonl:4", "in.jsonl:6"] == [p.split(": ")[1] for p in err.value.problems]


def test_help_is_fast_and_imports_no_torch():
    code = ("import sys\nsys.argv = ['predict', '--help']\nimport gliner_exp.cli.predict as p\n"
            "try:\n    p.main()\nexcept SystemExit:\n    pass\n"
            "print('TORCH' if 'torch' in sys.modules else 'LIGHT')")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert "model_dir=<dir> input=<file.txt|file.jsonl>" in done.stdout
    assert done.stdout.strip().endswith("LIGHT"), done.stdout[-500:] + done.stderr[-2000:]


def test_predict_yaml_composes_to_the_schema():
    """conf/predict.yaml states no defaults of its own: composed, it is the schema (plus the two required paths)."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from gliner_exp.config.predict import PredictConfig, predict_problems
    from gliner_exp.config.store import conf_dir, register

    register()
    with initialize_config_dir(str(conf_dir()), version_base="1.3"):
        cfg = compose("predict", overrides=["model_dir=/m", "input=/i.txt"])
    composed = OmegaConf.to_container(cfg)
    schema = OmegaConf.to_container(OmegaConf.structured(PredictConfig))
    assert composed == {**schema, "model_dir": "/m", "input": "/i.txt"}
    assert predict_problems(composed) == ["model_dir: not a directory: /m", "input: file not found: /i.txt"]
