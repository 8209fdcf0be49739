"""Reading (and writing) example files: GLiNER JSON, JSONL and CoNLL/BIO.

Every reader validates every example and raises :class:`DataError` at the
first bad one, as ``"<path>:<line>: <reason>"``.
"""

import json
import re
from pathlib import Path
from typing import Iterable, List

from gliner_exp.data.conll import examples_to_conll, parse_conll
from gliner_exp.data.errors import DataError
from gliner_exp.data.validate import check_example

FORMATS = ("json", "jsonl", "conll")
EXTENSIONS = {
    ".json": "json",
    ".jsonl": "jsonl",
    ".txt": "conll",
    ".conll": "conll",
    ".bio": "conll",
    ".iob": "conll",
}

_WS = re.compile(r"\s*")


def detect_format(path: Path, fmt: str = "auto", key: str = "data") -> str:
    """Return the concrete format of ``path``; ``auto`` infers it from the extension.

    ``key`` (e.g. ``data.train``) names the config entry in error messages.
    """
    if fmt != "auto":
        if fmt not in FORMATS:
            raise DataError(f"data.format: unknown format {fmt!r}; allowed: auto, {', '.join(FORMATS)}")
        return fmt
    suffix = Path(path).suffix.lower()
    if suffix not in EXTENSIONS:
        known = ", ".join(EXTENSIONS)
        raise DataError(
            f"{key}: cannot infer the format of {path} from extension {suffix!r} (auto knows {known}); "
            f"set data.format to one of {', '.join(FORMATS)}"
        )
    return EXTENSIONS[suffix]


def read_text(path: Path) -> str:
    """Read ``path`` as UTF-8 (a leading BOM is tolerated), reporting bad bytes by line."""
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise DataError(f"{path}:{line}: not valid UTF-8 ({e.reason} at byte {e.start})") from None


def _line_of(text: str, pos: int, cache: list) -> int:
    """1-based line of ``pos``; ``cache`` = [last_pos, last_line] makes a forward scan linear."""
    last_pos, last_line = cache
    line = last_line + text.count("\n", last_pos, pos)
    cache[:] = [pos, line]
    return line


def read_json(path: Path) -> List[dict]:
    """Read a JSON array of GLiNER examples, locating each by its opening line."""
    text = read_text(path)
    if not text.strip():
        raise DataError(f"{path}: no examples (file is empty)")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        hint = ""
        if e.msg == "Extra data":
            hint = " (one example per line? name the file .jsonl or set data.format=jsonl)"
        raise DataError(f"{path}:{e.lineno}:{e.colno}: invalid JSON: {e.msg}{hint}") from None
    start = _WS.match(text).end()
    if not isinstance(doc, list):
        kind = "object" if isinstance(doc, dict) else type(doc).__name__
        raise DataError(
            f"{path}:{text.count(chr(10), 0, start) + 1}: top level must be a JSON array of examples "
            f"[{{\"tokenized_text\": [...], \"ner\": [...]}}, ...], got {kind}"
        )
    if not doc:
        raise DataError(f"{path}: no examples (empty JSON array)")

    # The document is known to be valid, so walk it again with raw_decode just to
    # learn where each element starts; json.loads alone forgets positions.
    decoder = json.JSONDecoder()
    pos = start + 1  # past '['
    cache = [0, 1]
    examples = []
    for _ in doc:
        pos = _WS.match(text, pos).end()
        where = f"{path}:{_line_of(text, pos, cache)}"
        value, pos = decoder.raw_decode(text, pos)
        examples.append(check_example(value, where))
        pos = _WS.match(text, pos).end() + 1  # past ',' or ']'
    return examples


def read_jsonl(path: Path) -> List[dict]:
    """Read one GLiNER example per line; blank lines are skipped."""
    examples = []
    # split("\n"), not splitlines(): JSON strings may hold a raw U+2028 or \x85,
    # which splitlines() would treat as line breaks.
    for lineno, line in enumerate(read_text(path).split("\n"), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"{path}:{lineno}:{e.colno}: invalid JSON: {e.msg}") from None
        examples.append(check_example(value, f"{path}:{lineno}"))
    if not examples:
        raise DataError(f"{path}: no examples (file is empty)")
    return examples


def read_conll(path: Path) -> List[dict]:
    """Read a CoNLL/BIO file (see :mod:`gliner_exp.data.conll`)."""
    # split("\n") (parse_conll strips "\r"): splitlines() would also break at
    # U+2028/\x85 inside tokens and shift every reported line number.
    examples = parse_conll(read_text(path).split("\n"), str(path))
    if not examples:
        raise DataError(f"{path}: no examples (no token lines)")
    return examples


_READERS = {"json": read_json, "jsonl": read_jsonl, "conll": read_conll}


def read_examples(path: Path, fmt: str = "auto", key: str = "data") -> List[dict]:
    """Read and validate all examples of ``path`` in format ``fmt`` (or ``auto``)."""
    reader = _READERS[detect_format(Path(path), fmt, key)]
    if fmt == "auto":
        return reader(Path(path))
    try:
        return reader(Path(path))
    except DataError as exc:
        # A forced format is the likelier culprit than the file: say which setting chose the reader.
        raise DataError(f"{exc} (read as {fmt} because data.format={fmt})") from None


def write_examples(examples: Iterable[dict], path: Path, fmt: str = "auto") -> None:
    """Write examples as GLiNER JSON, JSONL or BIO; with :func:`read_examples` this converts files.

    E.g. CoNLL -> GLiNER JSON: ``write_examples(read_examples("train.txt"), "train.json")``.
    """
    path = Path(path)
    fmt = detect_format(path, fmt)
    examples = list(examples)
    if fmt == "json":
        text = "[\n" + ",\n".join(json.dumps(ex, ensure_ascii=False) for ex in examples) + "\n]\n"
    elif fmt == "jsonl":
        text = "".join(json.dumps(ex, ensure_ascii=False) + "\n" for ex in examples)
    else:
        text = examples_to_conll(examples)
    path.write_text(text, encoding="utf-8")
