"""Typed, frozen output records of :func:`kg.diagnosis.rank_diagnoses` (what the CLI prints and the API returns)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from schema.records import Record


class MatchKind(StrEnum):
    """How a patient finding relates to a disease annotation (see :mod:`kg.diagnosis.score`)."""

    EXACT = "exact"
    """The disease is annotated with the finding itself."""
    IMPLIED = "implied"
    """The finding is more general than an annotation (the annotation implies it)."""
    SPECIFIC = "specific"
    """The finding is more specific than an annotation."""
    RELATED = "related"
    """The finding and an annotation share an informative common ancestor."""


class ContradictionKind(StrEnum):
    ANNOTATED_ABSENT = "annotated_absent"
    """The patient has a finding the disease is annotated NOT to have (LACKS_SYMPTOM)."""
    EXCLUDED_FREQUENT = "excluded_frequent"
    """The patient explicitly lacks a finding the disease has in >= 80 % of patients."""


class Provenance(Record):
    """Where the annotation behind a match comes from."""

    sources: tuple[str, ...]
    curated: bool
    evidence_count: int


class FindingMatch(Record):
    finding: str = Field(description="the patient's finding (CURIE)")
    finding_name: str
    kind: MatchKind
    annotation: str = Field(description="the disease's annotated term that matched")
    annotation_name: str
    common_ancestor: str | None = Field(default=None, description="for 'related' matches")
    frequency: float = Field(description="frequency used for the annotation (stated, or the documented default)")
    frequency_known: bool
    log_lr: float
    provenance: Provenance


class Contradiction(Record):
    finding: str
    finding_name: str
    kind: ContradictionKind
    annotation: str
    annotation_name: str
    frequency: float | None = None
    log_lr: float
    provenance: Provenance
    counted: bool = Field(default=True, description="false for an excluded finding of a disease the text names: "
                                                    "listed, not counted against it (a stated diagnosis stands)")


class Prior(Record):
    """How often the disease presents, as the ranking used it (see :mod:`kg.diagnosis.prior`)."""

    per_100k: float = Field(description="cases per 100,000 (the stated figure, or the default for diseases without one)")
    stated: bool = Field(description="false: no source states a figure; the rare-disease default was used")
    basis: str | None = Field(default=None, description="incidence (new cases per year) | prevalence (people living with it)")
    source: str | None = None
    log_prior: float = Field(description="the prior's contribution to the score: weight * log(per_100k / 100,000)")


class Candidate(Record):
    rank: int
    disease_id: str
    disease_name: str
    score: float = Field(description="log_likelihood + log_prior + log_age_sex (natural log)")
    log_likelihood: float = Field(description="sum of per-finding log-likelihood ratios (for a disease the text "
                                              "names: plus the named log LR, and no excluded finding against it)")
    log_age_sex: float = Field(default=0.0, description="age and sex fit (0 when not given or not stated for the disease)")
    prior: Prior
    age_sex: tuple[str, ...] = Field(default=(), description="how the patient's age and sex were used for this disease")
    cant_miss: bool = Field(default=False, description="serious and time-critical (listed separately when it fits)")
    same_as: tuple[str, ...] = Field(default=(), description="ids of the same disease in other vocabularies, ranked as this one candidate")
    posterior: float = Field(description="softmax of scores over all indexed diseases (naive Bayes with the prior)")
    matched: tuple[FindingMatch, ...]
    unmatched: tuple[str, ...] = Field(description="present findings the disease does not explain")
    contradicting: tuple[Contradiction, ...]
    sources: tuple[str, ...] = Field(description="sources of the matched annotations")
    curated: bool = Field(description="at least one matched annotation is curated")
    extracted_evidence: int = Field(description="evidence records behind matched extracted (non-curated) annotations")
    named_in_text: tuple[str, ...] = Field(
        default=(), description="mentions of the text that name this disease itself, present or in the history "
                                "(each adds the ranking's named log LR, by default kg.diagnosis.rank.NAMED_LOG_LR)")


class FindingRole(StrEnum):
    PRESENT = "present"
    EXCLUDED = "excluded"


class ResolvedFinding(Record):
    input: str = Field(description="what was given: a CURIE, a name, or the mention text found in the free text")
    role: FindingRole
    concept_id: str
    name: str
    via: str = Field(description="curie | name | linker | text | vitals (an abnormal reading such as 'BP: 169/74') | labs (a laboratory value outside its reference limit such as 'K 2.8 mmol/L'); with -broader when only part of the name matched: its head, without the words before it or what follows it (\"ankle edema\" -> Edema, \"pitting edema of both ankles\" -> Edema)")
    equivalents: tuple[str, ...] = Field(default=(), description="same-named terms of other vocabularies also matched")


class Unresolved(Record):
    input: str
    role: FindingRole
    reason: str


class DiagnosisReport(Record):
    candidates: tuple[Candidate, ...] = Field(description="likely diagnoses: findings, prior, age and sex together")
    cant_miss: tuple[Candidate, ...] = Field(
        default=(), description="serious, time-critical diseases that explain a finding, ranked without the prevalence prior"
    )
    findings: tuple[ResolvedFinding, ...]
    excluded: tuple[ResolvedFinding, ...]
    unresolved: tuple[Unresolved, ...]
    age: int | None = None
    sex: str | None = None
    notes: tuple[str, ...] = ()
    diseases_ranked: int = Field(description="diseases in the index")


def format_report(report: DiagnosisReport) -> str:
    """Plain-text rendering for the terminal (``medkg diagnose``)."""
    lines = []
    if report.findings:
        lines.append("findings: " + "; ".join(f"{f.name} ({f.concept_id})" for f in report.findings))
    if report.excluded:
        lines.append("excluded: " + "; ".join(f"{f.name} ({f.concept_id})" for f in report.excluded))
    for u in report.unresolved:
        lines.append(f"unresolved {u.role.value}: {u.input!r}: {u.reason}")
    for note in report.notes:
        lines.append(f"note: {note}")
    if not report.candidates:
        lines.append(f"no candidate among {report.diseases_ranked} diseases")
    else:
        lines.append("likely diagnoses:")
    for c in report.candidates:
        _candidate_lines(c, lines)
    if report.cant_miss:
        lines.append("can't miss (serious, time-critical; ranked on the findings alone):")
        for c in report.cant_miss:
            _candidate_lines(c, lines)
    return "\n".join(lines)


def _candidate_lines(c: Candidate, lines: list[str]) -> None:
    flag = "  [can't miss]" if c.cant_miss else ""
    lines.append(f"{c.rank:>3}. {c.disease_name} ({c.disease_id}){flag}  score {c.score:.2f}  posterior {c.posterior:.3f}")
    p = c.prior
    prior = (f"{p.per_100k:g} per 100,000 ({p.basis or 'rate'}; {p.source or 'no source'})" if p.stated
             else f"no stated figure: rare-disease default {p.per_100k:g} per 100,000")
    lines.append(f"       findings {c.log_likelihood:+.2f}, prior {p.log_prior:+.2f} [{prior}]"
                 + (f", age/sex {c.log_age_sex:+.2f}" if c.log_age_sex else ""))
    for note in c.age_sex:
        lines.append(f"       age/sex: {note}")
    if c.named_in_text:
        lines.append(f"       named in the text: {'; '.join(c.named_in_text)}")
    if c.same_as:
        lines.append(f"       same disease as: {', '.join(c.same_as)}")
    for m in c.matched:
        via = "" if m.kind is MatchKind.EXACT else f" ~ {m.annotation_name} ({m.annotation})"
        freq = f"{m.frequency:.0%}" if m.frequency_known else f"{m.frequency:.0%} assumed"
        lines.append(f"       + {m.finding_name} [{m.kind.value}{via}, {freq}, LR {m.log_lr:+.2f}]")
    for x in c.contradicting:
        lines.append(f"       ! {x.finding_name} [{x.kind.value}: {x.annotation_name}, LR {x.log_lr:+.2f}"
                     + ("" if x.counted else ", not counted: the text names the disease") + "]")
    if c.unmatched:
        lines.append(f"       - unexplained: {', '.join(c.unmatched)}")
    src = ", ".join(c.sources) or "-"
    extra = f"; {c.extracted_evidence} extracted evidence" if c.extracted_evidence else ""
    lines.append(f"       sources: {src}{extra}")
