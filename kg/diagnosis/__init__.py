"""Diagnosis support: findings in (free text, CURIEs or names; negated findings excluded),
ranked candidate diseases out, each with matched, unmatched and contradicting findings and the
evidence behind them.

    from kg.diagnosis import DiagnosisIndex, rank_diagnoses
    index = DiagnosisIndex.from_store(store)          # once; rebuild after loading new data
    report = rank_diagnoses(index, findings=["HP:0001166", "ectopia lentis"], excluded=["HP:0001249"])
    report = rank_diagnoses(index, text="fever, productive cough, pleuritic chest pain; denies hemoptysis")

The index is built from the graph (curated HPO / Disease Ontology / HSDN annotations and
extracted HAS_SYMPTOM relations alike). The score, a naive-Bayes log-likelihood ratio with
IC-weighted partial matches (Phenomizer's best match, in likelihood form) and penalties for
annotated-absent and excluded findings, is documented in :mod:`kg.diagnosis.score` and
``docs/DIAGNOSIS.md``.

Modules: :mod:`~kg.diagnosis.index` (the index), :mod:`~kg.diagnosis.score` (constants and the
score), :mod:`~kg.diagnosis.match` (per-finding likelihood ratios and explanations),
:mod:`~kg.diagnosis.findings` (CURIEs, names, text -> findings), :mod:`~kg.diagnosis.rank`
(:func:`rank_diagnoses`), :mod:`~kg.diagnosis.report` (output records),
the ``DIAGNOSIS_*`` queries of :mod:`kg.cypher` (the Cypher).
"""

from kg.diagnosis.errors import (
    DiagnosisBusyError,
    DiagnosisError,
    DiagnosisInputError,
    DiagnosisTimeoutError,
    EmptyIndexError,
)
from kg.diagnosis.index import Annotation, DiagnosisIndex
from kg.diagnosis.rank import rank_diagnoses, score_findings
from kg.diagnosis.report import (
    Candidate,
    Contradiction,
    ContradictionKind,
    DiagnosisReport,
    FindingMatch,
    FindingRole,
    MatchKind,
    Provenance,
    ResolvedFinding,
    Unresolved,
)

__all__ = [
    "Annotation",
    "Candidate",
    "Contradiction",
    "ContradictionKind",
    "DiagnosisBusyError",
    "DiagnosisError",
    "DiagnosisIndex",
    "DiagnosisInputError",
    "DiagnosisReport",
    "DiagnosisTimeoutError",
    "EmptyIndexError",
    "FindingMatch",
    "FindingRole",
    "MatchKind",
    "Provenance",
    "ResolvedFinding",
    "Unresolved",
    "rank_diagnoses",
    "score_findings",
]
