"""Optional per-token input features of the NER model: word shape and gazetteer matches.

The packaged base is *uncased*: its tokenizer lowercases, so ``OAB``, ``Oab`` and ``oab`` are
the same input, yet case is much of what marks an abbreviation (``VSD``, ``DLT``, ``HBV``) as
an entity. These features are computed from the original, cased text through the tokenizer's
offset mapping, embedded (a few dimensions each) and concatenated to the encoder output before
the heads (:func:`extractors.ner.model.build_network`), so they cost nothing in the encoder.

* ``shape``: the shape class of the word a wordpiece belongs to (:func:`word_shape`).
* ``gazetteer``: BIO tag of the longest vocabulary term (drug / condition) matching at the
  word (:class:`extractors.ner.gazetteer.Gazetteer`): linking-KB names (computed from the
  installed packages, not shipped), Disease Ontology names and train-split gold mentions
  (shipped in the model directory); see :mod:`extractors.ner.gazetteer`.

A model records its features in ``medkg.json["features"]``; a model without that key has none,
and loads and predicts exactly as before the features existed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from extractors.ner.gazetteer import GAZ_LABELS, GAZETTEER_FILE, Gazetteer, load_model_gazetteer

__all__ = ["FEATURES", "FEATURE_DIM", "GAZETTEER_FILE", "SHAPE", "Gazetteer", "TokenFeaturizer", "feature_sizes",
           "load_featurizer", "word_shape"]

FEATURES = ("shape", "gazetteer")
"""Feature names a model may record, in the order their embeddings are concatenated."""

FEATURE_DIM = 16
"""Embedding width of each feature (the encoder output is 384 wide)."""

# shape classes; 0 is padding / special tokens
_SHAPES = (
    "pad", "lower", "title", "caps_short", "caps_long", "upper_letter", "mixed", "caps_digit",
    "alnum_digit", "digits", "punct", "other", "lower_letter",
)
SHAPE = {name: i for i, name in enumerate(_SHAPES)}


def feature_sizes(names: Sequence[str]) -> dict[str, int]:
    """Vocabulary size of each named feature (what its embedding table needs)."""
    unknown = [n for n in names if n not in FEATURES]
    if unknown:
        raise ValueError(f"unknown NER feature(s) {unknown}; known: {list(FEATURES)}")
    sizes = {"shape": len(_SHAPES), "gazetteer": 2 + 2 * len(GAZ_LABELS)}
    return {n: sizes[n] for n in FEATURES if n in names}


def word_shape(word: str) -> int:
    """Shape class of one pre-token (BERT splits on whitespace and punctuation).

    The classes separate what case tells: short all-caps words (abbreviations, 2-5 letters),
    capitalised words, mixed case (``mRNA``, ``IgE``), caps with digits (``CD4``, ``HbA1c``).
    """
    if not word:
        return SHAPE["other"]
    if word.isdigit():
        return SHAPE["digits"]
    if not any(c.isalnum() for c in word):
        return SHAPE["punct"]
    if not word.isascii() and not word.isalpha():
        return SHAPE["other"]
    has_digit = any(c.isdigit() for c in word)
    upper = sum(c.isupper() for c in word)
    lower = sum(c.islower() for c in word)
    if has_digit:
        return SHAPE["caps_digit"] if upper else SHAPE["alnum_digit"]
    if len(word) == 1:
        return SHAPE["upper_letter"] if upper else SHAPE["lower_letter"]
    if upper == 0:
        return SHAPE["lower"]
    if lower == 0:
        return SHAPE["caps_short"] if len(word) <= 5 else SHAPE["caps_long"]
    if upper == 1 and word[0].isupper():
        return SHAPE["title"]
    return SHAPE["mixed"]


class TokenFeaturizer:
    """Per-token feature ids of tokenized texts (picklable: DataLoader workers run it)."""

    def __init__(self, names: Sequence[str], gazetteer: Gazetteer | None = None) -> None:
        self.names = tuple(feature_sizes(names))
        if "gazetteer" in self.names and gazetteer is None:
            raise ValueError("the gazetteer feature needs a Gazetteer")
        self.gazetteer = gazetteer

    def __bool__(self) -> bool:
        return bool(self.names)

    def __call__(
        self, text: str, offsets: Sequence[tuple[int, int]], word_ids: Sequence[int | None]
    ) -> dict[str, list[int]]:
        """Feature ids per token of ``text`` (tokenized without special tokens): every
        wordpiece carries the id of its whole word."""
        spans: dict[int, list[int]] = {}
        for (s, e), w in zip(offsets, word_ids):
            if w is not None:
                span = spans.setdefault(w, [s, e])
                span[0], span[1] = min(span[0], s), max(span[1], e)
        order = sorted(spans)
        words = [text[spans[w][0] : spans[w][1]] for w in order]
        per_word: dict[str, dict[int, int]] = {}
        if "shape" in self.names:
            per_word["shape"] = {w: word_shape(t) for w, t in zip(order, words)}
        if "gazetteer" in self.names and self.gazetteer is not None:
            per_word["gazetteer"] = dict(zip(order, self.gazetteer.tags(words)))
        return {n: [0 if w is None else per_word[n][w] for w in word_ids] for n in self.names}


def load_featurizer(meta: Mapping[str, Any], model_dir: str | os.PathLike[str], tokenizer: Any) -> TokenFeaturizer:
    """The featurizer a model directory's ``medkg.json`` asks for (none for older models)."""
    names = list(meta.get("features", []))
    gaz = load_model_gazetteer(meta, model_dir, tokenizer) if "gazetteer" in names else None
    return TokenFeaturizer(names, gaz)
