"""Windows over long texts and the merge of their spans (pure: no model)."""

from __future__ import annotations

import pytest

from gliner_exp.model.windowing import (default_stride, merge_windows, resolve_overlaps, split_words, token_offsets,
                                        windows)


def test_split_words_matches_gliner_whitespace_splitter():
    from gliner.data_processing.tokenizer import WhitespaceTokenSplitter

    text = "Dr. Jean-Luc  Picard\tmet e_mail@x.org on 3/4 , in São Paulo!\n  Done."
    assert split_words(text) == list(WhitespaceTokenSplitter()(text))
    assert all(text[s:e] == w for w, s, e in split_words(text))


def test_windows_cover_every_word_with_overlap():
    plan = windows(25, size=10, stride=7)
    assert plan == [(0, 10), (7, 17), (14, 24), (21, 25)]
    covered = {i for a, b in plan for i in range(a, b)}
    assert covered == set(range(25))
    assert windows(10, size=10, stride=7) == [(0, 10)]
    assert windows(3, size=10, stride=7) == [(0, 3)]
    assert windows(0, size=10, stride=7) == []


def test_windows_respect_a_subword_budget_and_never_skip_words():
    costs = [1, 1, 5, 1, 1, 1, 9, 1]  # word 6 alone is over the budget
    plan = windows(len(costs), size=6, stride=4, costs=costs, budget=8)
    assert all(b - a <= 6 for a, b in plan)
    for a, b in plan:
        assert b - a == 1 or sum(costs[a:b]) <= 8
    covered = {i for a, b in plan for i in range(a, b)}
    assert covered == set(range(len(costs)))
    assert all(b2 > b1 for (_, b1), (_, b2) in zip(plan, plan[1:]))  # each window moves the text on


def test_windows_reject_bad_sizes():
    with pytest.raises(ValueError):
        windows(5, size=0, stride=1)
    with pytest.raises(ValueError):
        windows(5, size=3, stride=0)


def test_default_stride_overlaps_at_least_a_span_width():
    assert default_stride(256, max_width=12) == 192
    assert default_stride(32, max_width=12) == 20
    assert default_stride(4, max_width=12) == 2
    assert default_stride(1) == 1


def test_merge_shifts_dedupes_and_keeps_the_higher_score():
    n = 30
    per_window = [((0, 20), [(15, 16, "person", 0.7)]), ((10, 30), [(5, 6, "person", 0.9), (15, 15, "city", 0.8)])]
    assert merge_windows(per_window, n, flat_ner=True) == [(15, 16, "person", 0.9), (25, 25, "city", 0.8)]


def test_merge_prefers_the_whole_entity_over_one_cut_by_a_window_edge():
    # Window (0, 10) ends inside "New York" (words 9-10) and sees only "New" at its edge,
    # with a high score; window (5, 15) sees both words away from its edges.
    per_window = [((0, 10), [(9, 9, "city", 0.95)]), ((5, 15), [(4, 5, "city", 0.6)])]
    assert merge_windows(per_window, 15, flat_ner=True) == [(9, 10, "city", 0.6)]
    # At the text's own end there is no cut: a span there stays.
    assert merge_windows([((0, 10), [(9, 9, "city", 0.5)])], 10, flat_ner=True) == [(9, 9, "city", 0.5)]
    # A span at an inner edge that no other window holds whole is kept, not lost.
    per_window = [((0, 10), [(9, 9, "city", 0.5)]), ((9, 15), [])]
    assert merge_windows(per_window, 15, flat_ner=True) == [(9, 9, "city", 0.5)]


def test_overlaps_resolved_as_gliner_does():
    spans = [(0, 2, "org", 0.9), (1, 1, "person", 0.8), (2, 4, "city", 0.7), (0, 2, "person", 0.6)]
    assert resolve_overlaps(spans, flat_ner=True) == [(0, 2, "org", 0.9)]
    # Nested allowed, crossing and same-span-other-label not.
    assert resolve_overlaps(spans, flat_ner=False) == [(0, 2, "org", 0.9), (1, 1, "person", 0.8)]


def test_merge_matches_gliner_greedy_search():
    from gliner.decoding.decoder import BaseSpanDecoder, Span

    spans = [(0, 2, "org", 0.9), (1, 1, "person", 0.8), (2, 4, "city", 0.7), (5, 6, "city", 0.75), (4, 5, "x", 0.1)]
    for flat in (True, False):
        theirs = BaseSpanDecoder.greedy_search(None, [Span(s, e, label, score) for s, e, label, score in spans],
                                               flat_ner=flat)
        assert [(sp.start, sp.end, sp.entity_type, sp.score) for sp in theirs] == resolve_overlaps(spans, flat)


def test_token_offsets():
    text = "Alice  lives in New York."
    assert token_offsets(["Alice", "lives", "in", "New", "York", "."], text) == [
        (0, 5), (7, 12), (13, 15), (16, 19), (20, 24), (24, 25)]
    with pytest.raises(ValueError, match="'Bob'"):
        token_offsets(["Alice", "Bob"], text)
