"""Rank candidate diseases for a patient's findings: :func:`rank_diagnoses` (the public entry
point, used by the CLI and the API) and :func:`score_findings` (the vectorised core, used by the
benchmark). The score is documented in :mod:`kg.diagnosis.score`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from kg.diagnosis.errors import DiagnosisInputError
from kg.diagnosis.index import DiagnosisIndex
from kg.diagnosis.match import excluded_vector, explain_excluded, explain_present, present_vector
from kg.diagnosis.report import Candidate, DiagnosisReport, ResolvedFinding
from kg.diagnosis.findings import Extractor, clean, resolve_all

if TYPE_CHECKING:
    from kg.store.base import GraphStore

MAX_TEXT_CHARS = 20_000
"""Free text longer than this is refused: a patient summary is a few hundred words; a longer
input is a whole record, which belongs in ``medkg build`` rather than one synchronous query."""
MAX_ITEMS = 200
"""At most this many findings and as many exclusions; no phenotype profile is longer."""
MAX_ITEM_CHARS = 300
"""Longest finding name or CURIE accepted (HPO's longest term name has ~150 characters)."""
MAX_TOP_K = 1000
MAX_AGE = 150
SEXES = {"male": "male", "m": "male", "female": "female", "f": "female", "other": "other", "unknown": "unknown"}

AGE_SEX_NOTE = (
    "age and sex were accepted but not used: the graph's HAS_SYMPTOM edges carry frequency and "
    "weight only, no onset or sex annotations"
)


def score_findings(
    index: DiagnosisIndex, present: Sequence[Sequence[str]], excluded: Sequence[Sequence[str]] = ()
) -> tuple[np.ndarray, np.ndarray]:
    """Scores of every indexed disease (sum of log LRs) and whether it explains at least one
    present finding (exact, implied or specific). Each finding is a group of equivalent ids."""
    total = np.zeros(len(index))
    explains = np.zeros(len(index), dtype=bool)
    for ids in present:
        log_lr, strong = present_vector(index, ids)
        total += log_lr
        explains |= strong
    for ids in excluded:
        total += excluded_vector(index, ids)[0]
    return total, explains


def ranked_positions(index: DiagnosisIndex, scores: np.ndarray, eligible: np.ndarray) -> list[int]:
    """Eligible disease positions, best score first, ties by disease id (positions are id-sorted)."""
    pos = np.flatnonzero(eligible)
    order = np.lexsort((pos, -scores[pos]))
    return [int(p) for p in pos[order]]


def _check_strings(values: Sequence[str], what: str) -> list[str]:
    if isinstance(values, str):
        raise DiagnosisInputError(f"{what} must be a list of CURIEs or names, not one string")
    values = list(values)
    if len(values) > MAX_ITEMS:
        raise DiagnosisInputError(f"too many {what}: {len(values)} (at most {MAX_ITEMS})")
    out = []
    for v in values:
        if not isinstance(v, str):
            raise DiagnosisInputError(f"{what} must be strings, got {type(v).__name__}")
        if len(v) > MAX_ITEM_CHARS:
            raise DiagnosisInputError(f"{what} entry longer than {MAX_ITEM_CHARS} characters")
        v = clean(v)
        if v:
            out.append(v)
    return out


def _check_options(text: str | None, age: int | None, sex: str | None, top_k: int) -> tuple[str | None, str | None]:
    if text is not None:
        if not isinstance(text, str):
            raise DiagnosisInputError(f"text must be a string, got {type(text).__name__}")
        if len(text) > MAX_TEXT_CHARS:
            raise DiagnosisInputError(f"text has {len(text)} characters; at most {MAX_TEXT_CHARS} are accepted")
        text = text.replace("\x00", " ")
    if age is not None and (isinstance(age, bool) or not isinstance(age, int) or not 0 <= age <= MAX_AGE):
        raise DiagnosisInputError(f"age must be an integer number of years in 0..{MAX_AGE}")
    if sex is not None:
        if not isinstance(sex, str) or sex.strip().lower() not in SEXES:
            raise DiagnosisInputError(f"sex must be one of {', '.join(sorted(set(SEXES.values())))}")
        sex = SEXES[sex.strip().lower()]
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= MAX_TOP_K:
        raise DiagnosisInputError(f"top_k must be an integer in 1..{MAX_TOP_K}")
    return text, sex


def _group(f: ResolvedFinding) -> tuple[str, ...]:
    return (f.concept_id, *f.equivalents)


def rank_diagnoses(
    index_or_store: DiagnosisIndex | GraphStore,
    *,
    text: str | None = None,
    findings: Sequence[str] = (),
    excluded: Sequence[str] = (),
    age: int | None = None,
    sex: str | None = None,
    top_k: int = 10,
    extractor: Extractor | None = None,
) -> DiagnosisReport:
    """Rank diseases for a patient: ``findings``/``excluded`` are CURIEs or names, ``text`` free
    text (present mentions become findings, negated ones exclusions). ``extractor`` replaces the
    shipped extraction pipeline for ``text`` (a callable over Documents, e.g.
    ``ExtractionPipeline(...).process``). A store is indexed on every call: pass a
    :class:`DiagnosisIndex` built once to rank many patients.

    Raises :class:`DiagnosisInputError` for unusable input; unresolvable findings are reported
    in ``DiagnosisReport.unresolved``, never dropped.
    """
    text, sex = _check_options(text, age, sex, top_k)
    present_in = _check_strings(findings, "findings")
    excluded_in = _check_strings(excluded, "excluded findings")
    if not present_in and not excluded_in and not (text and text.strip()):
        raise DiagnosisInputError("nothing to rank on: give text, findings or excluded findings")
    index = index_or_store if isinstance(index_or_store, DiagnosisIndex) else DiagnosisIndex.from_store(index_or_store)
    res = resolve_all(index, text=text, findings=present_in, excluded=excluded_in, extractor=extractor)
    notes = list(res.notes)
    if age is not None or sex is not None:
        notes.append(AGE_SEX_NOTE)
    candidates: list[Candidate] = []
    if not res.findings:
        notes.append("no present finding was resolved, so no disease is ranked (exclusions alone only lower scores)")
    else:
        present_groups = [_group(f) for f in res.findings]
        excluded_groups = [_group(f) for f in res.excluded]
        scores, explains = score_findings(index, present_groups, excluded_groups)
        shifted = np.exp(scores - scores.max())
        posterior = shifted / shifted.sum()
        for rank, pos in enumerate(ranked_positions(index, scores, explains)[:top_k], start=1):
            candidates.append(_candidate(index, pos, rank, float(scores[pos]), float(posterior[pos]), res.findings, res.excluded))
    return DiagnosisReport(
        candidates=tuple(candidates), findings=tuple(res.findings), excluded=tuple(res.excluded),
        unresolved=tuple(res.unresolved), age=age, sex=sex, notes=tuple(notes), diseases_ranked=len(index),
    )


def _candidate(
    index: DiagnosisIndex, pos: int, rank: int, score: float, posterior: float,
    present: Sequence[ResolvedFinding], excluded: Sequence[ResolvedFinding],
) -> Candidate:
    matched, unmatched, contradicting = [], [], []
    for f in present:
        match, contra, _, _ = explain_present(index, pos, f.concept_id, _group(f))
        if match is not None:
            matched.append(match)
        else:
            unmatched.append(f.concept_id)
        if contra is not None:
            contradicting.append(contra)
    for f in excluded:
        contra, _ = explain_excluded(index, pos, f.concept_id, _group(f))
        if contra is not None:
            contradicting.append(contra)
    sources = sorted({s for m in matched for s in m.provenance.sources})
    disease = index.diseases[pos]
    return Candidate(
        rank=rank, disease_id=disease, disease_name=index.disease_names.get(disease, disease),
        score=round(score, 6), posterior=round(posterior, 6), matched=tuple(matched), unmatched=tuple(unmatched),
        contradicting=tuple(contradicting), sources=tuple(sources),
        curated=any(m.provenance.curated for m in matched),
        extracted_evidence=sum(m.provenance.evidence_count for m in matched if not m.provenance.curated),
    )
