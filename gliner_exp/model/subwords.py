"""How many subwords gliner's tokenizer makes of label prompts and words, and which words it keeps (no torch).

The one implementation of gliner's subword arithmetic (0.2.29: the label
prompt ``<<ENT>> name ... <<SEP>>`` in front of the words, encoded with
``is_split_into_words=True, truncation=True`` at the tokenizer's
``model_max_length``), shared by the inspection report and training windows
(:mod:`gliner_exp.model.truncation`, over the tokenizer on disk) and by
prediction and windowed evaluation (:mod:`gliner_exp.model.inference`, over a
loaded model's tokenizer).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, List, Optional, Sequence

#: What gliner adds to the backbone's vocabulary (``_get_special_tokens``), with the configured ent/sep tokens.
FLERT = "[FLERT]"
#: transformers' "no limit" sentinel is 1e30; anything this large means the tokenizer never truncates.
_NO_LIMIT = 10**9


def load_tokenizer(tokenizer_dir: str, ent_token: str, sep_token: str) -> tuple[Any, Optional[int]]:
    """The ``tokenizers.Tokenizer`` gliner would use and its truncation length (None: it never truncates)."""
    from tokenizers import AddedToken, Tokenizer

    directory = Path(tokenizer_dir)
    if not (directory / "tokenizer.json").is_file():
        raise FileNotFoundError(f"no tokenizer.json in {directory}")
    tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
    # gliner adds these with add_tokens(special_tokens=True): one subword each (already there in a checkpoint).
    tokenizer.add_special_tokens([AddedToken(t, special=True, normalized=False)
                                  for t in (FLERT, ent_token, sep_token)])
    tokenizer.no_truncation()
    tokenizer.no_padding()
    limit = None
    config_file = directory / "tokenizer_config.json"
    if config_file.is_file():
        value = json.loads(config_file.read_text()).get("model_max_length")
        if isinstance(value, (int, float)) and value < _NO_LIMIT:
            limit = int(value)
    return tokenizer, limit


def label_prompt(labels: Sequence[str], ent_token: str, sep_token: str) -> List[str]:
    """The words gliner puts before a text (``BaseProcessor.prepare_inputs``): ``<<ENT>> name ... <<SEP>>``."""
    words: List[str] = []
    for label in labels:
        words.append(ent_token)
        if label:
            words.append(label)
    return words + [sep_token]


class Subwords:
    """gliner's subword arithmetic for one tokenizer: what prompts and words cost, and which words fit.

    ``word_ids`` maps a batch of word lists to each one's subword -> word index
    (None for a subword of no word), encoded without special tokens; ``limit``
    is the tokenizer's truncation length, ``special`` the special tokens it adds
    around one sequence. Build one with :meth:`from_tokenizers` (the tokenizer on disk,
    :func:`gliner_exp.model.truncation.run_subwords`) or :meth:`from_model` (a loaded model's tokenizer,
    :meth:`from_transformers`).
    """

    def __init__(self, word_ids: Callable[[List[List[str]]], List[List[Optional[int]]]], limit: int, special: int,
                 ent_token: str, sep_token: str):
        self._word_ids, self.limit, self.special = word_ids, limit, special
        self.ent_token, self.sep_token = ent_token, sep_token

    @classmethod
    def from_tokenizers(cls, tokenizer: Any, limit: int, ent_token: str, sep_token: str) -> "Subwords":
        """Over a ``tokenizers.Tokenizer`` (e.g. :func:`load_tokenizer`'s) that truncates at ``limit``."""
        special = tokenizer.post_processor.num_special_tokens_to_add(False) if tokenizer.post_processor else 0

        def word_ids(batch: List[List[str]]) -> List[List[Optional[int]]]:
            return [enc.word_ids for enc in tokenizer.encode_batch(batch, is_pretokenized=True,
                                                                   add_special_tokens=False)]

        return cls(word_ids, limit, special, ent_token, sep_token)

    @classmethod
    def from_transformers(cls, tokenizer: Any, ent_token: str, sep_token: str) -> Optional["Subwords"]:
        """Over a ``transformers`` tokenizer (gliner's, with its added tokens); None where it sets no real limit."""
        limit = getattr(tokenizer, "model_max_length", None)
        if not isinstance(limit, int) or limit >= _NO_LIMIT:
            return None

        def word_ids(batch: List[List[str]]) -> List[List[Optional[int]]]:
            # truncation=False (the default) also undoes the truncation gliner's own calls leave set.
            encoded = tokenizer(batch, is_split_into_words=True, add_special_tokens=False)
            return [encoded.word_ids(i) for i in range(len(batch))]

        return cls(word_ids, limit, tokenizer.num_special_tokens_to_add(pair=False), ent_token, sep_token)

    @classmethod
    def from_model(cls, model: Any) -> Optional["Subwords"]:
        """Over a loaded GLiNER's own tokenizer; None where it has none or it never truncates."""
        tokenizer = getattr(getattr(model, "data_processor", None), "transformer_tokenizer", None)
        if tokenizer is None:
            return None
        return cls.from_transformers(tokenizer, model.config.ent_token, model.config.sep_token)

    def prompt(self, names: Sequence[str]) -> List[str]:
        """The label prompt gliner builds for ``names`` (:func:`label_prompt`)."""
        return label_prompt(names, self.ent_token, self.sep_token)

    def measure(self, documents: Sequence[Sequence[str]], prompts: Sequence[Sequence[str]]
                ) -> List[tuple[int, List[int]]]:
        """Per document, the subwords of its prompt and of each of its words, encoded as gliner does (prompt first)."""
        inputs = [list(p) + list(d) for p, d in zip(prompts, documents)]
        out = []
        for prompt, doc, ids in zip(prompts, documents, self._word_ids(inputs) if inputs else []):
            counts = [0] * (len(prompt) + len(doc))
            for word in ids:
                if word is not None:
                    counts[word] += 1
            out.append((sum(counts[:len(prompt)]), counts[len(prompt):]))
        return out

    def budget(self, prompt_subwords: int) -> int:
        """Subwords the words of one input may use beside a prompt of ``prompt_subwords``; the rest are cut."""
        return self.limit - self.special - prompt_subwords


def kept_words(costs: Sequence[int], budget: int, pooling: str) -> int:
    """How many words keep their embedding when words of ``costs`` subwords are cut after ``budget`` subwords.

    A word is kept while the subword gliner pools for it (the first, or the
    last for ``pooling="last"``) lies within the budget; a word of no subword
    never has one.
    """
    at, kept = 0, 0
    for cost in costs:
        pooled = at + cost - 1 if pooling == "last" else at
        if cost and pooled < budget:
            kept += 1
        at += cost
    return kept
