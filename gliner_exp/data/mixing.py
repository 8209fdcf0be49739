"""Several training sources mixed by weight into one training set, deterministically (no torch).

``weight`` is a source's relative share of the mixed set, as ``probabilities``
are in HF datasets' ``interleave_datasets``. The mixed set has as many
examples as the sources together (the size a plain concatenation would have),
so a source whose share is above its own size is up-sampled and one below it
is down-sampled:

* counts: source ``i`` gets ``total * w_i / sum(w)`` examples, rounded by
  largest remainder so that the counts add up to ``total`` exactly;
* up-sampling repeats every example of the source equally often (``count //
  size`` times) and adds a sample of the rest, so no example is repeated
  more than once more than another; down-sampling is that sample alone;
* the sample, and the order of the mixed set (shuffled, so that
  ``data.max_train_examples`` keeps a prefix with every source in it), are
  ranks of sha256 digests of ``(seed, source, copy, example)``: the same seed
  gives the same mix on any machine and Python version, and a larger count
  takes a superset of a smaller one's sample.
"""

from __future__ import annotations

import hashlib
from typing import List, Sequence, Tuple


def _rank(seed: int, *key: int) -> bytes:
    return hashlib.sha256(":".join(map(str, (seed, *key))).encode()).digest()


def apportion(total: int, weights: Sequence[float]) -> List[int]:
    """``total`` split in proportion to ``weights`` (largest remainder; ties go to the earlier source)."""
    scale = sum(weights)
    exact = [total * w / scale for w in weights]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


def mix_sources(sources: Sequence[Sequence[dict]], weights: Sequence[float], seed: int
                ) -> Tuple[List[dict], List[int]]:
    """The mixed training set of ``sources`` (each a non-empty example list) and how many examples each gave.

    See the module docstring for the rule. Examples are copied (one dict per
    occurrence), so nothing downstream can change two occurrences at once.
    """
    counts = apportion(sum(len(s) for s in sources), weights)
    picked: List[Tuple[bytes, int, int]] = []
    for i, (examples, count) in enumerate(zip(sources, counts)):
        copies, rest = divmod(count, len(examples))
        sample = sorted(range(len(examples)), key=lambda j: _rank(seed, i, j))[:rest]
        chosen = [(c, j) for c in range(copies) for j in range(len(examples))] + [(copies, j) for j in sample]
        picked.extend((_rank(seed, i, j, c), i, j) for c, j in chosen)
    picked.sort()
    return [dict(sources[i][j]) for _, i, j in picked], counts
