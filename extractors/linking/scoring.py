"""Linking accuracy against gold-linked corpora (BC5CDR, NCBI-disease): MeSH/OMIM id match.

Unit of evaluation: one gold **span** (document, start, end, type). A prediction is correct when
a gold id of the span equals the predicted concept id or one of its xrefs (so a DOID or HPO
concept that carries ``MESH:D003920`` counts for gold ``D003920``). Special gold ids:

* ``-1`` (no concept in the corpus's vocabulary): the span is *not evaluable* and is excluded
  from every rate; the count of such spans is reported.
* Composite spans ("breast and ovarian cancer" -> D001943|D010051, which the loaders turn into
  one gold mention per id over the same span): a single link cannot name every concept, so
  the prediction counts as correct when it matches **any** of the span's ids (lenient); the
  number of composite spans is reported so the leniency can be judged.

Rates, all over evaluable spans: ``accuracy@1`` = correct top candidate at or above the
threshold (an unlinked span counts as wrong); ``coverage`` = spans linked (top score >=
threshold); ``precision`` = correct / linked; ``verifiable precision`` = the same over the
links whose concept has an id in the gold vocabulary (see :func:`is_verifiable`);
``recall@k`` = a correct concept among the top ``k`` candidates, threshold ignored; ``in_kb`` =
spans whose gold id resolves to some KB entry (the ceiling for an id-matching linker with this KB).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from extractors.linking.kb import KnowledgeBase
from extractors.linking.linker import LinkCandidate
from schema.records import Document, EntityType


class GoldSpan(NamedTuple):
    """One gold mention span with all its gold concept ids (empty: not evaluable)."""

    doc_id: str
    start: int | None
    end: int | None
    text: str
    label: EntityType
    gold_ids: frozenset[str]


def gold_spans(documents: Iterable[Document]) -> list[GoldSpan]:
    """Gold mentions grouped per span, in document order."""
    out: list[GoldSpan] = []
    for doc in documents:
        ids: dict[tuple[int | None, int | None, EntityType, str], set[str]] = defaultdict(set)
        for m in doc.mentions:
            group = ids[(m.start, m.end, m.label, m.text)]
            if m.concept_id is not None:
                group.add(m.concept_id)
        out += [GoldSpan(doc.id, s, e, t, lab, frozenset(g)) for (s, e, lab, t), g in ids.items()]
    return out


def is_correct(candidate: LinkCandidate, gold_ids: frozenset[str]) -> bool:
    return candidate.concept_id in gold_ids or not gold_ids.isdisjoint(candidate.xrefs)


def is_verifiable(candidate: LinkCandidate, gold_ids: frozenset[str]) -> bool:
    """Whether the candidate has any id in the gold ids' vocabularies (MESH, OMIM). A DrugBank
    drug without a MeSH xref cannot be judged against a MeSH gold id: it is counted wrong in
    accuracy, but reported apart so that missing xrefs are not mistaken for linking errors."""
    prefixes = tuple(f"{g.split(':', 1)[0]}:" for g in gold_ids)
    return candidate.concept_id.startswith(prefixes) or any(x.startswith(prefixes) for x in candidate.xrefs)


@dataclass
class TypeScores:
    """Counts for one gold type (or ``ALL``); rates are derived properties."""

    evaluable: int = 0
    not_evaluable: int = 0
    composite: int = 0
    linked: int = 0
    unverifiable: int = 0
    correct: int = 0
    correct_at_k: int = 0
    in_kb: int = 0
    predicted_labels: dict[str, int] = field(default_factory=dict)

    @property
    def accuracy(self) -> float:
        return self.correct / self.evaluable if self.evaluable else 0.0

    @property
    def coverage(self) -> float:
        return self.linked / self.evaluable if self.evaluable else 0.0

    @property
    def precision(self) -> float:
        return self.correct / self.linked if self.linked else 0.0

    @property
    def verifiable_precision(self) -> float:
        """correct / linked, leaving out links to concepts without an id in the gold vocabulary."""
        judged = self.linked - self.unverifiable
        return self.correct / judged if judged else 0.0

    @property
    def recall_at_k(self) -> float:
        return self.correct_at_k / self.evaluable if self.evaluable else 0.0

    @property
    def in_kb_rate(self) -> float:
        return self.in_kb / self.evaluable if self.evaluable else 0.0


def score_linking(spans: Sequence[GoldSpan], candidates: Sequence[Sequence[LinkCandidate]], *, threshold: float,
                  kb: KnowledgeBase | None = None) -> dict[str, TypeScores]:
    """Per-type and ``"ALL"`` scores of ranked ``candidates`` (aligned with ``spans``)."""
    if len(spans) != len(candidates):
        raise ValueError(f"{len(spans)} spans but {len(candidates)} candidate lists")
    out: dict[str, TypeScores] = defaultdict(TypeScores)
    for span, cands in zip(spans, candidates, strict=True):
        for key in (span.label.value, "ALL"):
            s = out[key]
            if not span.gold_ids:
                s.not_evaluable += 1
                continue
            s.evaluable += 1
            s.composite += len(span.gold_ids) > 1
            if kb is not None and any(kb.resolve(g) for g in span.gold_ids):
                s.in_kb += 1
            if any(is_correct(c, span.gold_ids) for c in cands):
                s.correct_at_k += 1
            if cands and cands[0].score >= threshold:
                s.linked += 1
                s.correct += is_correct(cands[0], span.gold_ids)
                s.unverifiable += not is_verifiable(cands[0], span.gold_ids)
                s.predicted_labels[cands[0].label.value] = s.predicted_labels.get(cands[0].label.value, 0) + 1
    return dict(out)


class SweepRow(NamedTuple):
    threshold: float
    coverage: float
    accuracy: float
    precision: float
    band_links: int
    band_precision: float
    band_verifiable: int
    band_verifiable_precision: float


def threshold_sweep(spans: Sequence[GoldSpan], candidates: Sequence[Sequence[LinkCandidate]],
                    thresholds: Sequence[float]) -> list[SweepRow]:
    """Coverage/accuracy/precision per threshold, plus the precision of the links whose score
    lies in ``[t, next t)`` (the *marginal* links that lowering the threshold to ``t`` adds)."""
    tops = [(c[0].score, is_correct(c[0], s.gold_ids), is_verifiable(c[0], s.gold_ids))
            for s, c in zip(spans, candidates, strict=True) if s.gold_ids and c]
    n = sum(1 for s in spans if s.gold_ids)
    rows = []
    ts = sorted(thresholds)
    for i, t in enumerate(ts):
        upper = ts[i + 1] if i + 1 < len(ts) else float("inf")
        linked = [ok for score, ok, _ in tops if score >= t]
        band = [(ok, ver) for score, ok, ver in tops if t <= score < upper]
        judged = [ok for ok, ver in band if ver]
        rows.append(SweepRow(t, len(linked) / n if n else 0.0, sum(linked) / n if n else 0.0,
                             sum(linked) / len(linked) if linked else 0.0, len(band),
                             sum(ok for ok, _ in band) / len(band) if band else 0.0, len(judged),
                             sum(judged) / len(judged) if judged else 0.0))
    return rows
