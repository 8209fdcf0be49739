"""CoNLL / BIO (IOB2) token-per-line files <-> GLiNER examples.

One token per line, ``TOKEN<TAB>TAG`` (or whitespace-separated columns, the
last one being the tag), a blank line between sentences, ``-DOCSTART-`` lines
skipped. Tags are ``O``, ``B-type`` or ``I-type``; an ``I-type`` must continue
an entity of the same type. IOB1 (entities opened by ``I-``) is rejected rather
than guessed, because a lenient reader would silently merge adjacent entities.
"""

import re
from typing import Iterable, List

from gliner_exp.data.errors import DataError
from gliner_exp.data.validate import check_example

_TAG = re.compile(r"^([BI])-(\S.*)$")
TAG_HINT = "allowed: O, B-<type>, I-<type> (BIO/IOB2)"


def parse_conll(lines: Iterable[str], path: str) -> List[dict]:
    """Parse CoNLL/BIO ``lines`` into GLiNER examples with inclusive spans.

    ``path`` only labels error messages, which read ``"<path>:<line>: <reason>"``
    with the 1-based line of the offending token.
    """
    examples: List[dict] = []
    tokens: List[str] = []
    ner: List[list] = []
    open_type = None  # type of the entity the previous token belongs to, if any
    first_line = 0  # line of the current sentence's first token

    def flush() -> None:
        nonlocal tokens, ner, open_type  # first_line is only read
        if tokens:
            # Well-formed by construction; checked anyway so all readers share one rulebook.
            examples.append(check_example({"tokenized_text": tokens, "ner": ner}, f"{path}:{first_line}"))
        tokens, ner, open_type = [], [], None

    for lineno, raw in enumerate(lines, 1):
        line = raw.rstrip("\r\n")
        if not line.strip():
            flush()
            continue
        if line.split()[0] == "-DOCSTART-":
            flush()
            continue
        where = f"{path}:{lineno}"
        # Tabs separate columns when present, so a token may contain spaces
        # (e.g. a non-breaking space); otherwise any whitespace does.
        parts = line.split("\t") if "\t" in line else line.split()
        token, tag = parts[0].strip(), parts[-1].strip()
        if len(parts) < 2 or not tag:
            raise DataError(f"{where}: no tag; expected 'TOKEN<TAB>TAG' ({TAG_HINT}), got {line!r}")
        if not token:
            raise DataError(f"{where}: empty token before tag {tag!r}")
        i = len(tokens)
        if i == 0:
            first_line = lineno
        tokens.append(token)
        if tag == "O":
            open_type = None
            continue
        m = _TAG.match(tag)
        if not m:
            raise DataError(f"{where}: invalid tag {tag!r}; {TAG_HINT}")
        prefix, etype = m.groups()
        if prefix == "B":
            ner.append([i, i, etype])
            open_type = etype
        elif open_type == etype:
            ner[-1][1] = i
        else:
            prev = f"inside a {open_type!r} entity" if open_type else "O or sentence start"
            raise DataError(
                f"{where}: tag {tag!r} does not continue a {etype!r} entity (previous token: {prev}); "
                f"start entities with B-{etype} (BIO/IOB2; IOB1 is not supported)"
            )
    flush()
    return examples


def examples_to_conll(examples: Iterable[dict]) -> str:
    """Render GLiNER examples as BIO text (``TOKEN<TAB>TAG``, blank line between).

    BIO cannot express overlapping or nested spans, so those raise DataError.
    """
    blocks = []
    for k, ex in enumerate(examples):
        tags = ["O"] * len(ex["tokenized_text"])
        for start, end, label in sorted(ex["ner"]):
            if any(t != "O" for t in tags[start : end + 1]):
                raise DataError(f"example {k}: span {[start, end, label]!r} overlaps another; BIO cannot express it")
            tags[start] = f"B-{label}"
            for i in range(start + 1, end + 1):
                tags[i] = f"I-{label}"
        blocks.append("\n".join(f"{tok}\t{tag}" for tok, tag in zip(ex["tokenized_text"], tags)))
    return "\n\n".join(blocks) + "\n" if blocks else ""
