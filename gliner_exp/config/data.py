"""Schema of the ``data`` group: where examples come from."""

from dataclasses import dataclass, field
from typing import Dict, List, Optional

from gliner_exp.config.fields import bounded, choice


@dataclass
class SyntheticDataConfig:
    """A generated NER corpus, deterministic from ``seed`` (needs nothing on disk)."""

    seed: int = 0
    n_train: int = bounded(600, 1, 1_000_000)
    n_dev: int = bounded(100, 1, 1_000_000)
    n_test: int = bounded(100, 1, 1_000_000)


@dataclass
class DataConfig:
    """Either ``synthetic`` or file paths (GLiNER JSON/JSONL, or CoNLL/BIO).

    Relative paths are taken from the directory the command was started in.
    ``labels: null`` takes the label set from the data (train ∪ dev ∪ test).
    ``label_names`` maps a label key to the words the model reads for it
    (GLiNER matches spans against the label's text: ``politicalparty`` ->
    ``political party``); ``label_names_auto`` splits the remaining keys on
    ``_``, ``-`` and camelCase. Metrics, predictions and a reloaded model use
    the keys.
    """

    synthetic: Optional[SyntheticDataConfig] = None
    format: str = choice("auto", "auto", "json", "jsonl", "conll")
    train: Optional[str] = None
    dev: Optional[str] = None
    test: Optional[str] = None
    labels: Optional[List[str]] = None
    label_names: Dict[str, str] = field(default_factory=dict)
    label_names_auto: bool = False
    max_train_examples: Optional[int] = bounded(None, 1, None)
