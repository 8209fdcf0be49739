"""Make gliner's collation reproducible per batch.

gliner's processor samples negative types and shuffles labels with Python's
*global* ``random``. Seeding it once leaves each batch's draw dependent on
every draw before it, so a resumed run diverges from an uninterrupted one.
Here every batch is drawn from a seed derived from the run seed and the
indices of its examples: the same batch gets the same draw however the run
got there.
"""

from __future__ import annotations

import hashlib
import random
from typing import Any, Callable, Sequence


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
        indices = [i for i, _ in items]
        state = random.getstate()
        random.seed(self.batch_seed(indices))
        try:
            return self.collator([ex for _, ex in items])
        finally:
            # Leave everyone else's stream of global randomness untouched.
            random.setstate(state)
