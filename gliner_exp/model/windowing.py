"""Long texts in overlapping word windows: where the windows lie, and merging their spans back (no torch).

A GLiNER reads at most ``max_len`` words (the rest is cut off, with only a
warning) and at most the tokenizer's limit in subwords. A longer text is
cut here into windows that each fit, every window is predicted on its own,
and the spans come back in whole-text word indices, merged: a span seen by
two windows is kept once with its higher score, a span cut by a window's
edge gives way to the whole one another window saw, and overlaps are
resolved the way gliner's own greedy decoding does (``flat_ner``). Spans
are ``(start, end, label, score)`` with an inclusive word ``end``, as gliner
decodes them.

The same windows serve training (``data.window``): :func:`cut_example` turns
a long training example into one example per window, each with the gold
spans that lie wholly inside it.
"""

from __future__ import annotations

import re
from typing import Iterable, List, Optional, Sequence, Tuple

#: gliner's ``WhitespaceTokenSplitter`` pattern (gliner/data_processing/tokenizer.py): a word
#: (with inner ``-``/``_``) or any other single non-space character.
WORD_PATTERN = re.compile(r"\w+(?:[-_]\w+)*|\S")

Span = Tuple[int, int, str, float]
Window = Tuple[int, int]


def split_words(text: str) -> List[Tuple[str, int, int]]:
    """``(word, start, end)`` character offsets of ``text``'s words, as gliner's whitespace splitter cuts them."""
    return [(m.group(), m.start(), m.end()) for m in WORD_PATTERN.finditer(text)]


def default_stride(size: int, max_width: int = 12) -> int:
    """Words between window starts when none is given: a quarter of the window overlaps, at least ``max_width``.

    ``max_width`` words of overlap (gliner's longest span) mean that any span
    cut by one window's edge is seen whole by the next; never more than half
    a window, so each window still moves the text on.
    """
    overlap = min(max(max_width, size // 4), size // 2)
    return max(1, size - overlap)


def window_shape(size: Optional[int], stride: Optional[int], max_len: int, max_width: int) -> Tuple[int, int]:
    """Words per window and between window starts that a window setting means for a model.

    ``size`` null is the model's ``max_len``, and never more (gliner would cut
    the window itself); ``stride`` null is :func:`default_stride`.
    """
    size = min(size or max_len, max_len)
    return size, stride or default_stride(size, max_width)


def windows(n_words: int, size: int, stride: int, costs: Optional[Sequence[int]] = None,
            budget: Optional[int] = None) -> List[Window]:
    """``[start, end)`` word windows covering ``n_words`` words: at most ``size`` words each, starts ``stride`` apart.

    With ``costs`` (subwords per word) and ``budget`` (subwords a window may
    hold), a window also ends before its subwords exceed the budget, and the
    next one starts so that the two still overlap (by ``size - stride`` words,
    at most half the short window), never past its end, so no word is ever
    skipped (a single word over budget still gets a window of its own). A
    window inside the previous one is left out. An empty text has no windows.
    """
    if size < 1 or stride < 1:
        raise ValueError(f"window size and stride must be >= 1, got size={size}, stride={stride}")
    out: List[Window] = []
    start = 0
    while start < n_words:
        end, used = start, 0
        while end < n_words and end - start < size:
            cost = costs[end] if costs is not None else 0
            if budget is not None and end > start and used + cost > budget:
                break
            used += cost
            end += 1
        if not out or end > out[-1][1]:
            out.append((start, end))
        if end >= n_words:
            break
        # A window the budget cut short still overlaps the next (by the full windows' overlap, at most half of
        # it, as default_stride caps it): an entity across its end is then whole in the next window, and a
        # dense text still moves on by half a window at least.
        length, overlap = end - start, max(0, size - stride)
        if length < size:
            overlap = min(overlap, length // 2)
        start += max(1, min(stride, length - overlap))
    return out


def cut_example(example: dict, plan: Sequence[Window]) -> Tuple[List[dict], int]:
    """``example`` as one example per window of ``plan``, and how many of its spans no window holds whole.

    Each window example has the window's words and the gold spans wholly
    inside it, shifted to the window's own word indices; a span crossing the
    window's edge is left out of that window (its words there train as no
    entity, as any other partial span does) and kept by the windows that hold
    it whole. With an overlap of at least a span's width (the default stride
    gives ``max_width``) one always does; a span no window holds is lost and
    counted. The other keys (``ner_labels``, ``ner_negatives``) are the whole
    example's and copied to every window.
    """
    words, spans = example["tokenized_text"], example["ner"]
    out, held = [], set()
    for lo, hi in plan:
        inside = [i for i, (s, e, _) in enumerate(spans) if lo <= s and e < hi]
        held.update(inside)
        part = dict(example, tokenized_text=list(words[lo:hi]),
                    ner=[[spans[i][0] - lo, spans[i][1] - lo, spans[i][2]] for i in inside])
        out.append(part)
    return out, len(spans) - len(held)


def _clean_in(span: Span, window: Window, n_words: int) -> bool:
    """Whether ``window`` holds ``span`` away from its inner edges (a text's own ends are no cut)."""
    s, e = span[0], span[1]
    lo, hi = window
    return lo <= s and e < hi and (s > lo or lo == 0) and (e < hi - 1 or hi == n_words)


def _conflicts(a: Span, b: Span, flat_ner: bool) -> bool:
    """gliner's overlap test for one label per span (decoding/utils.py): flat rejects any overlap, nested a crossing."""
    if (a[0], a[1]) == (b[0], b[1]):
        return True
    apart = a[0] > b[1] or b[0] > a[1]
    if flat_ner:
        return not apart
    nested = (a[0] <= b[0] and a[1] >= b[1]) or (b[0] <= a[0] and b[1] >= a[1])
    return not (apart or nested)


def resolve_overlaps(spans: Iterable[Span], flat_ner: bool) -> List[Span]:
    """Greedy by score, as gliner decodes: keep a span unless it conflicts with a better kept one; sorted by start."""
    kept: List[Span] = []
    for span in sorted(spans, key=lambda sp: (-sp[3], sp[0], sp[1], sp[2])):
        if not any(_conflicts(span, other, flat_ner) for other in kept):
            kept.append(span)
    return sorted(kept, key=lambda sp: (sp[0], sp[1], sp[2]))


def merge_windows(per_window: Sequence[Tuple[Window, Sequence[Span]]], n_words: int, flat_ner: bool) -> List[Span]:
    """One text's spans from its windows' spans (each in its window's own word indices), in whole-text indices.

    A span touching a window's inner edge may be an entity cut in two; it is
    dropped where another window holds the same words away from its edges
    (that window saw the whole entity, with context). Then duplicates keep
    their best score and overlaps are resolved as gliner does.
    """
    shifted = [(window, [(s + window[0], e + window[0], label, float(score)) for s, e, label, score in spans])
               for window, spans in per_window]
    every = [w for w, _ in shifted]
    best: dict = {}
    for window, spans in shifted:
        for span in spans:
            if not _clean_in(span, window, n_words) and any(
                    other != window and _clean_in(span, other, n_words) for other in every):
                continue
            key = span[:3]
            if key not in best or span[3] > best[key][3]:
                best[key] = span
    return resolve_overlaps(best.values(), flat_ner)


def token_offsets(tokens: Sequence[str], text: str) -> List[Tuple[int, int]]:
    """Character ``(start, end)`` of each token in ``text``, found left to right; ValueError names the first missing one."""
    out, at = [], 0
    for i, token in enumerate(tokens):
        start = text.find(token, at)
        if start < 0:
            raise ValueError(f"token {i} {token!r} not found in the text after character {at}")
        out.append((start, start + len(token)))
        at = start + len(token)
    return out
