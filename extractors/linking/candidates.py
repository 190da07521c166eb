"""Approximate name matching: character 3-gram TF-IDF vectors and cosine nearest neighbours.

The same representation scispacy's candidate generator uses (``char_wb`` 3-grams, TF-IDF,
cosine), without its approximate-NN library: with ~100k names an exact search is a sparse
matrix product, ``queries x names^T``, done in chunks of queries so that memory stays bounded
(one chunk's product holds at most ``chunk_size x n_names`` scores, far fewer in practice
because most names share no 3-gram with a given query).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer


class Neighbours(NamedTuple):
    """Indices of the nearest names (into the indexed list) and their cosine similarities, best first."""

    indices: np.ndarray
    scores: np.ndarray


_EMPTY = Neighbours(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32))


def top_k_cosine(queries: sparse.csr_matrix, names_t: sparse.csr_matrix, *, k: int,
                 chunk_size: int = 256) -> list[Neighbours]:
    """The ``k`` best columns of ``queries @ names_t`` per query row (rows L2-normalised, so cosine).

    Pure function over two sparse matrices: ``queries`` is ``(n_queries, n_features)``,
    ``names_t`` the transposed name matrix ``(n_features, n_names)``, both CSR.
    """
    out: list[Neighbours] = []
    for lo in range(0, queries.shape[0], chunk_size):
        product = (queries[lo : lo + chunk_size] @ names_t).tocsr()
        for r in range(product.shape[0]):
            start, end = product.indptr[r], product.indptr[r + 1]
            if start == end:
                out.append(_EMPTY)
                continue
            data, cols = product.data[start:end], product.indices[start:end]
            if end - start > k:
                part = np.argpartition(-data, k - 1)[:k]
                data, cols = data[part], cols[part]
            order = np.lexsort((cols, -data))  # score desc, then index for determinism
            out.append(Neighbours(cols[order].astype(np.int64), data[order].astype(np.float32)))
    return out


class CharNgramIndex:
    """A fitted 3-gram TF-IDF index over a fixed list of (already normalised) name strings."""

    def __init__(self, names: Sequence[str], *, chunk_size: int = 256) -> None:
        if not names:
            raise ValueError("cannot index an empty list of names")
        self.chunk_size = chunk_size
        self.vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 3), lowercase=False,
                                          dtype=np.float32)
        matrix = self.vectorizer.fit_transform(names)
        self._names_t: sparse.csr_matrix = matrix.T.tocsr()
        self.size = len(names)

    def query(self, texts: Sequence[str], *, k: int) -> list[Neighbours]:
        """Nearest indexed names for each text (texts must be normalised like the names)."""
        if not texts:
            return []
        return top_k_cosine(self.vectorizer.transform(texts), self._names_t, k=k, chunk_size=self.chunk_size)
