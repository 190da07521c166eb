"""The NER model's gazetteer feature: which vocabulary term (drug / condition) matches at a word.

A ``gazetteer`` model's term set has three parts, kept apart because their licences differ:

* **linking-KB names** (drug dictionary, HPO phenotypes, OMIM/ORPHA diseases;
  :func:`kb_terms`): *not* shipped with the model. The drug names include Wikipedia-derived
  synonyms (CC BY-SA) and HPO asks for attributed, versioned, unmodified redistribution (see
  :mod:`extractors.linking.kb_build`), so, like the linking KB itself, this part is computed from
  the installed, pinned packages at first use and cached under the medkg cache folder.
  ``medkg.json["gazetteer"]["kb_sha256"]`` records the digest of the part used in training; a
  different one at load time is logged as a warning, since predictions may then shift.
* **Disease Ontology names** (CC0) and **train-split gold mentions** of the training corpora
  (BC5CDR public, RareDis BSD-3): shipped in the model directory (:data:`GAZETTEER_FILE`).

The model's term set is the union, the KB part first (it decides the label of a term that is
in both), so the loaded set is exactly the one used in training. Models trained before the
split (no ``kb_sha256``) ship their whole term set and load it as it is.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

GAZETTEER_FILE = "gazetteer.tsv.gz"
"""Shipped terms of a ``gazetteer`` model, in its directory: ``label<TAB>exact<TAB>words``."""

GAZ_LABELS = ("Drug", "Disease")
"""Gazetteer term labels; tag ids are 0 pad, 1 O, then B/I per label."""

KB_TERMS_REVISION = 1
"""Bump when :func:`gazetteer_terms` or the KB name selection changes, to invalidate caches."""

Term = tuple[str, bool, tuple[str, ...]]


def _is_exact(term_words: Sequence[str]) -> bool:
    """Terms matched with case: short upper-case ones (``ALL`` is a leukemia, ``all`` is not)."""
    return len(term_words) == 1 and len(term_words[0]) <= 6 and not any(c.islower() for c in term_words[0])


def gazetteer_terms(names: Iterable[tuple[str, str]], tokenizer: Any) -> list[Term]:
    """``(label, exact, words)`` terms of ``(label, name)`` pairs (see :class:`Gazetteer`)."""
    pre = tokenizer.backend_tokenizer.pre_tokenizer
    terms = []
    for label, name in names:
        words = tuple(w for w, _ in pre.pre_tokenize_str(name))
        if not words:
            continue
        exact = _is_exact(words)
        if not exact and len(words) == 1 and len(words[0]) < 4:
            continue
        terms.append((label, exact, words if exact else tuple(w.lower() for w in words)))
    return terms


class Gazetteer:
    """Longest-match tagging of word sequences with vocabulary terms.

    Terms are matched on the tokenizer's words, lower-cased, except short upper-case
    abbreviations, which must match with case. One-word terms shorter than 4 characters that
    are not upper-case are dropped: as lower-case words they are mostly English (``can``).
    A term listed twice keeps its first label.
    """

    def __init__(self, terms: Iterable[Term]) -> None:
        self.terms: dict[tuple[bool, tuple[str, ...]], str] = {}
        for label, exact, words in terms:
            if label not in GAZ_LABELS:
                raise ValueError(f"gazetteer label must be one of {GAZ_LABELS}, got {label!r}")
            if words:
                self.terms.setdefault((exact, tuple(words)), label)
        self.max_words = max((len(w) for _, w in self.terms), default=0)
        # per (exact, first word): the term lengths starting with it, longest first, so tagging
        # only tries lengths that exist (same result as trying every length down from max_words)
        starts: dict[tuple[bool, str], set[int]] = {}
        for exact, words in self.terms:
            starts.setdefault((exact, words[0]), set()).add(len(words))
        self._lengths = {k: sorted(v, reverse=True) for k, v in starts.items()}

    def __len__(self) -> int:
        return len(self.terms)

    def items(self) -> Iterator[Term]:
        """The terms as ``(label, exact, words)``, in insertion order."""
        return ((label, exact, words) for (exact, words), label in self.terms.items())

    @classmethod
    def from_names(cls, names: Iterable[tuple[str, str]], tokenizer: Any) -> Gazetteer:
        """From ``(label, name)`` pairs, split into words by ``tokenizer``'s pre-tokenizer."""
        return cls(sorted(gazetteer_terms(names, tokenizer)))

    def lines(self) -> list[str]:
        """Sorted ``label<TAB>exact<TAB>words`` lines (the file format, and what is hashed)."""
        return sorted(f"{lab}\t{int(ex)}\t{' '.join(w)}" for (ex, w), lab in self.terms.items())

    def sha256(self) -> str:
        """Digest of the sorted term list: equal digests, equal term sets (labels included)."""
        return hashlib.sha256("\n".join(self.lines()).encode("utf-8")).hexdigest()

    def save(self, path: str | os.PathLike[str]) -> None:
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            fh.write("\n".join(self.lines()) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Gazetteer:
        return cls(read_terms(path))

    def tags(self, words: Sequence[str]) -> list[int]:
        """Per word: 1 = no term, ``2 + 2k`` = begins a term of label ``k``, ``3 + 2k`` = inside one."""
        lower = [w.lower() for w in words]
        out = [1] * len(words)
        i = 0
        while i < len(words):
            exact_n, lower_n = self._lengths.get((True, words[i]), ()), self._lengths.get((False, lower[i]), ())
            lengths = sorted({*exact_n, *lower_n}, reverse=True) if exact_n and lower_n else (exact_n or lower_n)
            for n in (n for n in lengths if n <= len(words) - i):
                label = self.terms.get((True, tuple(words[i : i + n]))) or self.terms.get((False, tuple(lower[i : i + n])))
                if label is not None:
                    k = GAZ_LABELS.index(label)
                    out[i] = 2 + 2 * k
                    out[i + 1 : i + n] = [3 + 2 * k] * (n - 1)
                    i += n
                    break
            else:
                i += 1
        return out


def read_terms(path: str | os.PathLike[str]) -> list[Term]:
    """Terms of a file written by :meth:`Gazetteer.save`."""
    terms = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, 1):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3:
                raise ValueError(f"{path}:{line_no}: expected label<TAB>exact<TAB>words")
            terms.append((parts[0], parts[1] == "1", tuple(parts[2].split(" "))))
    return terms


# -- the parts of a model's term set --------------------------------------------------------------


def _kb_label(entry: Any) -> str:
    return "Drug" if entry.label.value == "Drug" else "Disease"


def kb_terms(tokenizer: Any, *, cache_dir: str | os.PathLike[str] | None = None) -> Gazetteer:
    """The linking-KB part (see the module docstring): every name and alias of the drug
    dictionary, HPO and OMIM/ORPHA entries of :func:`extractors.linking.kb_build.build_kb`.

    The learned train alias table is left out: its texts are BC5CDR / NCBI-disease train
    mentions, which the trainer adds fold by fold instead, so that no training document sees its
    own mentions as dictionary terms. That is also why this is not :func:`default_kb` (which
    includes the alias table); it is built the same way (a few seconds) and cached next to it,
    keyed by the same package-version fingerprint and the tokenizer's pre-tokenizer, so a load
    only reads a file.
    """
    from extractors.linking.kb_build import build_kb, default_cache_dir, default_kb_fingerprint

    pre = tokenizer.backend_tokenizer.pre_tokenizer.__getstate__()
    key = hashlib.sha256(
        json.dumps({"kb": default_kb_fingerprint(), "rev": KB_TERMS_REVISION}).encode() + bytes(pre)
    ).hexdigest()[:12]
    path = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = path / f"ner-gazetteer-kb-{key}.tsv.gz"
    if path.exists():
        return Gazetteer.load(path)
    # the terms the shipped NER model was trained with: the DO names are its own part (below)
    kb = build_kb(train_aliases=None, shipped_disease_ontology=False)
    gaz = Gazetteer(gazetteer_terms(((_kb_label(e), n) for e in kb for n in e.names), tokenizer))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        gaz.save(tmp)
        os.replace(tmp, path)
    except OSError as exc:  # a read-only home must not stop inference: only the cache is lost
        warnings.warn(f"could not cache the NER gazetteer's KB terms at {path} ({exc})", stacklevel=2)
    return gaz


def default_disease_ontology(root: str | os.PathLike[str] | None = None) -> Path:
    """The Disease Ontology folder of the shared data folder (see :func:`extractors.ner.data.data_root`)."""
    from extractors.ner.data import data_root

    return data_root(root) / "knowledge" / "disease_ontology"


def disease_ontology_terms(folder: str | os.PathLike[str], tokenizer: Any) -> list[Term]:
    """Names and synonyms of the Disease Ontology classes in ``folder`` (``HumanDO.tsv``)."""
    from extractors.errors import CorpusFormatError
    from extractors.linking.kb_build import build_kb

    if not (Path(folder) / "HumanDO.tsv").is_file():
        raise CorpusFormatError(
            f"Disease Ontology folder {folder} has no HumanDO.tsv (needed by the gazetteer feature; pass "
            "disease_ontology / --disease-ontology, or --data-root for the shared data folder)"
        )
    kb = build_kb(disease_ontology=folder, train_aliases=None, drugs=False, hpo=False)
    return gazetteer_terms(((_kb_label(e), n) for e in kb for n in e.names), tokenizer)


def mention_names(
    text: str, spans: Iterable[tuple[int, int, str]], discontinuous: Iterable[tuple[int, int]] = ()
) -> list[tuple[str, str]]:
    """``(label, text)`` of a document's contiguous gold mentions (Symptom counts as Disease)."""
    gaps = set(discontinuous)
    return [("Drug" if lab == "Drug" else "Disease", text[s:e]) for s, e, lab in spans if (s, e) not in gaps]


def fold_gazetteers(
    tokenizer: Any, base: Sequence[Term], docs: Iterable[Sequence[Any]], folds: int
) -> tuple[Gazetteer, list[Gazetteer] | None]:
    """The model's gazetteer and, when ``folds`` >= 2, one training gazetteer per fold.

    ``docs`` are the training corpora's gold documents (each a sequence of
    :class:`extractors.ner.data.GoldDocument`). With folds, their mentions join ``base`` in the
    model's gazetteer, while document ``i`` of a corpus is featurized (fold ``i % folds``) by a
    gazetteer without its fold's mentions: a document never sees its own mentions as
    dictionary terms, just as unseen text at inference does not.
    """
    base = list(base)
    if folds < 2:
        return Gazetteer(base), None
    fold_terms: list[list[Term]] = [[] for _ in range(folds)]
    for corpus_docs in docs:
        for i, d in enumerate(corpus_docs):
            fold_terms[i % folds] += gazetteer_terms(mention_names(d.text, d.spans, d.discontinuous), tokenizer)
    full = Gazetteer(base + [t for terms in fold_terms for t in terms])
    per_fold = [Gazetteer(base + [t for j, terms in enumerate(fold_terms) if j != f for t in terms]) for f in range(folds)]
    return full, per_fold


def shipped_part(full: Gazetteer, kb: Gazetteer) -> Gazetteer:
    """The terms of ``full`` to save with the model: those not in the KB part."""
    return Gazetteer(t for t in full.items() if (t[1], t[2]) not in kb.terms)


def load_model_gazetteer(meta: Mapping[str, Any], model_dir: str | os.PathLike[str], tokenizer: Any) -> Gazetteer:
    """A model directory's gazetteer: the shipped terms, after the KB part when the model has one."""
    path = Path(model_dir) / GAZETTEER_FILE
    if not path.exists():
        from extractors.errors import ModelNotFoundError

        raise ModelNotFoundError(f"{model_dir} has no {GAZETTEER_FILE} (medkg.json lists the gazetteer feature)")
    shipped = read_terms(path)
    expected = meta.get("gazetteer", {}).get("kb_sha256")
    if not expected:
        return Gazetteer(shipped)
    kb = kb_terms(tokenizer)
    digest = kb.sha256()
    if digest != expected:
        log.warning(
            "NER model %s: the gazetteer's linking-KB terms differ from training (sha256 %s, trained with %s); "
            "predictions may shift. Install the versions pinned in pyproject.toml to reproduce them.",
            model_dir, digest, expected,
        )
    return Gazetteer([*kb.items(), *shipped])


def training_gazetteer(
    tokenizer: Any, *, disease_ontology: str | os.PathLike[str] | None, docs: Iterable[Sequence[Any]], folds: int
) -> tuple[Gazetteer, list[Gazetteer] | None, dict[str, Any]]:
    """The trainer's gazetteer, per-fold gazetteers (:func:`fold_gazetteers`) and its
    ``medkg.json["gazetteer"]`` entry: KB part first, then the Disease Ontology, then mentions."""
    from extractors.ner.data import display_path

    kb = kb_terms(tokenizer)
    do = disease_ontology_terms(disease_ontology, tokenizer) if disease_ontology is not None else []
    full, per_fold = fold_gazetteers(tokenizer, [*kb.items(), *do], docs, folds)
    shipped = [
        *(["Disease Ontology names (CC0)"] if disease_ontology is not None else []),
        *(["train-split gold mentions of the training corpora"] if folds >= 2 else []),
    ]
    meta = {
        "terms": len(full),
        "kb_terms": len(kb),
        "kb_sha256": kb.sha256(),
        "kb_sources": "linking KB names: drug dictionary, HPO, OMIM/ORPHA (not shipped; computed from the "
        "installed packages at load time, extractors.ner.gazetteer.kb_terms)",
        "shipped_terms": len(full) - len(kb),
        "shipped_sources": ", ".join(shipped) or "none",
        "disease_ontology": display_path(disease_ontology) if disease_ontology is not None else None,
        "train_mention_folds": folds,
    }
    return full, per_fold, meta
