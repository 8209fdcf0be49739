"""Make gliner's collation reproducible per batch.

gliner's processor samples negative types and shuffles labels with Python's
*global* ``random``. Seeding it once leaves each batch's draw dependent on
every draw before it, so a resumed run diverges from an uninterrupted one.
Here every batch is drawn from a seed derived from the run seed and the
indices of its examples: the same batch gets the same draw however the run
got there.

Seeding alone is not enough: gliner shuffles and samples lists built from
``set``s of label strings, whose order depends on the per-process string hash
seed. Inside a seeded call, ``random.shuffle``/``random.sample`` therefore
first put their input in a canonical order (which leaves the draw exactly as
random, only reproducible across processes).
"""

from __future__ import annotations

import contextlib
import hashlib
import random
from typing import Any, Callable, Iterator, Sequence

_shuffle, _sample = random.shuffle, random.sample


def _canonical_shuffle(x, *args, **kwargs):
    x.sort(key=repr)
    return _shuffle(x, *args, **kwargs)


def _canonical_sample(population, k, *args, **kwargs):
    return _sample(sorted(population, key=repr), k, *args, **kwargs)


@contextlib.contextmanager
def seeded_random(seed: int) -> Iterator[None]:
    """Global ``random`` seeded and order-canonical inside, untouched outside."""
    state = random.getstate()
    random.seed(seed)
    random.shuffle, random.sample = _canonical_shuffle, _canonical_sample
    try:
        yield
    finally:
        random.shuffle, random.sample = _shuffle, _sample
        random.setstate(state)


class IndexedExamples:
    """A map-style dataset yielding ``(index, example)`` so the collator knows which examples it got."""

    def __init__(self, examples: Sequence[dict]):
        self.examples = examples

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, i: int) -> tuple[int, dict]:
        return i, self.examples[i]


class SeededCollator:
    """Wraps a gliner collator; seeds ``random`` from (seed, example indices) around each call."""

    def __init__(self, collator: Callable[[list[dict]], Any], seed: int):
        self.collator = collator
        self.seed = seed

    def batch_seed(self, indices: Sequence[int]) -> int:
        key = f"{self.seed}:" + ",".join(map(str, indices))
        return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little")

    def __call__(self, items: list[tuple[int, dict]]) -> Any:
        with seeded_random(self.batch_seed([i for i, _ in items])):
            return self.collator([ex for _, ex in items])
