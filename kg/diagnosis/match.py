"""Per-finding likelihood ratios (:mod:`kg.diagnosis.score`), two ways that must agree:
vectorised over every indexed disease (ranking) and for one disease with the annotation that
matched (explanations). ``tests/kg/test_diagnosis.py`` checks that they agree.

A finding is a group of equivalent term ids (a term and its same-named terms in other
vocabularies, see :meth:`DiagnosisIndex.equivalents`); the group matches as well as its best member.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from kg.diagnosis.index import DiagnosisIndex, Edge
from kg.diagnosis.report import Contradiction, ContradictionKind, FindingMatch, MatchKind, Provenance
from kg.diagnosis.score import (
    FREQUENT,
    MISCODING_RATE,
    RELATED_MIN_IC,
    absent_lr,
    lacks_lr,
    present_lr,
)

_KIND_ORDER = {MatchKind.EXACT: 0, MatchKind.IMPLIED: 1, MatchKind.SPECIFIC: 2, MatchKind.RELATED: 3}


def _raise(m: np.ndarray, where: np.ndarray, values: np.ndarray) -> None:
    """``m[where] = max(m[where], values)``; positions in one posting are unique."""
    if len(where):
        m[where] = np.maximum(m[where], values)


def present_vector(index: DiagnosisIndex, ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """``log LR(q, D)`` for every disease, and whether D explains q by an exact, implied or
    specific match (a 'related' match alone does not make D a candidate)."""
    n = len(index)
    m = np.zeros(n)
    strong = np.zeros(n, dtype=bool)
    exact_weight = index.group_weight(ids)
    for e in ids:
        for a in index.ancestors(e):
            weight = math.exp(index.ic(a))
            if a == e:
                p = index.posting(e)
                _raise(m, p.diseases, p.freqs * exact_weight)
                strong[p.diseases] = True
                continue
            d = index.direct_posting(a)
            if len(d.diseases):
                _raise(m, d.diseases, d.freqs * weight)
                strong[d.diseases] = True
            if index.ic(a) >= RELATED_MIN_IC:
                p = index.posting(a)
                _raise(m, p.diseases, p.freqs * (MISCODING_RATE * weight))
    lr = present_lr(m)
    for e in ids:
        for a in index.ancestors(e):
            lacking = index.lacking(a)
            if len(lacking):
                lr[lacking] = lacks_lr()
                strong[lacking] = False
    return np.log(lr), strong


def excluded_vector(index: DiagnosisIndex, ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """``log LR(not x, D)`` for every disease, and ``F_D(x)``."""
    f = np.zeros(len(index))
    background = 0.0
    for e in ids:
        p = index.posting(e)
        _raise(f, p.diseases, p.freqs)
        background = max(background, index.background(e))
    return np.log(absent_lr(f, background)), f


def _prov(edge: Edge) -> Provenance:
    return Provenance(sources=edge.sources, curated=edge.curated, evidence_count=edge.evidence_count)


def _best_under(index: DiagnosisIndex, edges: dict[str, Edge], term: str) -> tuple[str, Edge] | None:
    """D's annotation at or below ``term`` with the highest frequency (ties: the term itself, then id)."""
    best: tuple[float, int, str] | None = None
    for t, edge in edges.items():
        if term in index.ancestors(t):
            key = (edge.frequency, 1 if t == term else 0, t)
            if best is None or (key[0], key[1]) > (best[0], best[1]) or (key[:2] == best[:2] and t < best[2]):
                best = key
    return None if best is None else (best[2], edges[best[2]])


def explain_present(
    index: DiagnosisIndex, pos: int, finding: str, ids: Sequence[str]
) -> tuple[FindingMatch | None, Contradiction | None, float, bool]:
    """The best match of one finding for the disease at ``pos``: (match, contradiction,
    log LR, strong); the same number :func:`present_vector` gives that disease."""
    edges, lacks = index.annotations[pos], index.lacks[pos]
    fname = index.symptom_name(finding)
    for e in ids:
        for a in sorted(index.ancestors(e)):
            if a in lacks:
                c = Contradiction(
                    finding=finding, finding_name=fname, kind=ContradictionKind.ANNOTATED_ABSENT, annotation=a,
                    annotation_name=index.symptom_name(a), log_lr=math.log(lacks_lr()), provenance=_prov(lacks[a]),
                )
                return None, c, math.log(lacks_lr()), False
    best: tuple[float, int, str, dict[str, object]] | None = None
    strong = False

    def offer(value: float, kind: MatchKind, annotation: str, edge: Edge, ancestor: str | None) -> None:
        nonlocal best, strong
        strong = strong or kind is not MatchKind.RELATED
        key = (value, -_KIND_ORDER[kind], annotation)
        if best is None or key[:2] > best[:2] or (key[:2] == best[:2] and annotation < best[2]):
            best = (*key, {"kind": kind, "annotation": annotation, "edge": edge, "ancestor": ancestor})

    exact_weight = index.group_weight(ids)
    for e in ids:
        for a in sorted(index.ancestors(e)):
            weight = math.exp(index.ic(a))
            if a == e:
                hit = _best_under(index, edges, e)
                if hit is not None:
                    t, edge = hit
                    offer(edge.frequency * exact_weight, MatchKind.EXACT if t == e else MatchKind.IMPLIED, t, edge, None)
                continue
            if a in edges:
                offer(edges[a].frequency * weight, MatchKind.SPECIFIC, a, edges[a], None)
            if index.ic(a) >= RELATED_MIN_IC:
                hit = _best_under(index, edges, a)
                if hit is not None:
                    t, edge = hit
                    offer(MISCODING_RATE * edge.frequency * weight, MatchKind.RELATED, t, edge, a)
    if best is None:
        return None, None, math.log(present_lr(0.0)), False
    value, info = best[0], best[3]
    kind: MatchKind = info["kind"]  # type: ignore[assignment]
    edge: Edge = info["edge"]  # type: ignore[assignment]
    log_lr = math.log(present_lr(value))
    match = FindingMatch(
        finding=finding, finding_name=fname, kind=kind, annotation=str(info["annotation"]),
        annotation_name=index.symptom_name(str(info["annotation"])), common_ancestor=info["ancestor"],  # type: ignore[arg-type]
        frequency=round(edge.frequency, 6), frequency_known=edge.frequency_known, log_lr=log_lr, provenance=_prov(edge),
    )
    return match, None, log_lr, strong


def explain_excluded(index: DiagnosisIndex, pos: int, finding: str, ids: Sequence[str]) -> tuple[Contradiction | None, float]:
    """(contradiction if D has the excluded finding in >= ``FREQUENT`` of patients, log LR)."""
    edges = index.annotations[pos]
    best: tuple[str, Edge] | None = None
    background = 0.0
    for e in ids:
        background = max(background, index.background(e))
        hit = _best_under(index, edges, e)
        if hit is not None and (best is None or hit[1].frequency > best[1].frequency):
            best = hit
    freq = best[1].frequency if best is not None else 0.0
    log_lr = math.log(absent_lr(freq, background))
    if best is None or freq < FREQUENT:
        return None, log_lr
    c = Contradiction(
        finding=finding, finding_name=index.symptom_name(finding), kind=ContradictionKind.EXCLUDED_FREQUENT,
        annotation=best[0], annotation_name=index.symptom_name(best[0]), frequency=round(freq, 6), log_lr=log_lr,
        provenance=_prov(best[1]),
    )
    return c, log_lr
