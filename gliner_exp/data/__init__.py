"""Data layer: load, validate and summarize NER examples in GLiNER's format.

Examples look like ``{"tokenized_text": ["Alice", "lives", "in", "Paris"],
"ner": [[0, 0, "person"], [3, 3, "city"]]}`` with inclusive word spans.
Deliberately free of torch/transformers/gliner imports: it runs while the
config is validated, which must stay fast.
"""

from gliner_exp.data.errors import DataError
from gliner_exp.data.formats import detect_format, read_examples, write_examples
from gliner_exp.data.splits import Splits, load_splits
from gliner_exp.data.statistics import summarize

__all__ = ["DataError", "Splits", "load_splits", "summarize", "read_examples", "write_examples", "detect_format"]
