"""The interaction report: its records (what a check returns), the severity scale and tiers, the
rules that grade a pair from what its sources said, and the plain-text rendering.

The check itself (graph queries, resolution, pairing) is :mod:`kg.interactions.check`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal

from kg.interactions.drug_names import ResolvedDrug, ResolvedProduct, UnresolvedDrug
from loaders.curated import public_pddi
from schema.model import severity_scale
from schema.records import Record


Severity = Literal["Contraindicated", "Major", "Moderate", "Minor", "Unknown"]
SEVERITY_ORDER: tuple[Severity, ...] = severity_scale()  # type: ignore[assignment]
_RANK = {s: i for i, s in enumerate(SEVERITY_ORDER)}

Tier = Literal["interrupt", "warn", "info"]
TIERS: tuple[Tier, ...] = ("interrupt", "warn", "info")
_TIER_RANK = {t: i for i, t in enumerate(TIERS)}
INTERRUPT_LEVELS = frozenset({"Contraindicated", "Major"})
INTERRUPT_LISTS = frozenset({"ONC-HighPriority"})
"""Source lists whose every pair should interrupt (Phansalkar et al. 2012), whatever other
sources grade it."""
LIST_NAMES = {name: shown for name, (shown, _) in public_pddi.LISTS.items()}
"""How each list of the public DDI lists is named in explanations (the loader's own names)."""

MODEL_SEVERITY: Severity = "Moderate"
"""Severity given to an interaction that only extracted (model or annotated-corpus) sources
state. DDI-2013 types (mechanism, effect, advise, int) carry no severity, so this is the level
DDInter most often gives to DDI-2013 Train pairs that it also lists, for every type: advise 58 %
Moderate (40 % Major), mechanism 51 % (34 % Major), effect 61 % (27 % Major), int 52 % (46 %
Major); Minor is at most 12 %. Numbers: ``benchmarks/bench_interactions.py --calibrate``.
"Moderate" (not "Unknown") keeps an extracted interaction visible above curated Minor ones."""

class DrugRef(Record):
    """A checked drug: its CURIE, display name, and the input it came from (for an ingredient of a
    combination product, ``input`` is the product as written and ``product`` is set)."""

    id: str
    name: str | None
    input: str
    product: str | None = None
    route: str | None = None


class SourceStatement(Record):
    """What one curated source (one list of a multi-list source) says about a pair."""

    source: str
    list: str | None = None
    severity: Severity


class EvidenceItem(Record):
    """One supporting record: a curated entry or a sentence of a document."""

    doc_id: str
    source: str
    text: str | None
    score: float
    curated: bool


class Interaction(Record):
    drug_a: DrugRef
    drug_b: DrugRef
    tier: Tier
    severity: Severity
    severity_basis: Literal["curated", "model"]
    interaction_type: str | None
    mechanism: str | None
    sources: tuple[str, ...]
    curated: bool
    confidence: float
    evidence_count: int
    extracted_evidence_count: int = 0
    """Evidence records from extraction (literature, labels, notes), as opposed to curated ones."""
    evidence: tuple[EvidenceItem, ...]
    said: tuple[SourceStatement, ...] = ()
    why: str = ""
    graph_ids: tuple[tuple[str, str], ...]
    """The stored edges (head id, tail id) this pair was found under."""


class Duplicate(Record):
    """Inputs naming the same concept; only the first is checked."""

    curie: str
    name: str | None
    inputs: tuple[str, ...]


class ClassAlert(Record):
    kind: Literal["same_class", "class_interaction"]
    drug_a: DrugRef
    drug_b: DrugRef
    class_id: str
    """``MESH_TREE:<tree number>`` or the graph id of a curated IS_A parent."""
    via: DrugRef | None = None
    """For ``class_interaction``: the sibling whose curated interaction is transferred."""
    severity: Severity | None = None
    confidence: float | None = None
    inferred: bool = True
    note: str


class InteractionReport(Record):
    patient_id: str | None
    resolved: tuple[ResolvedDrug, ...]
    """Every checked drug; a combination product's ingredients each appear with ``product`` set."""
    products: tuple[ResolvedProduct, ...] = ()
    unresolved: tuple[UnresolvedDrug, ...]
    duplicates: tuple[Duplicate, ...]
    interactions: tuple[Interaction, ...]
    """Alerts: the ``interrupt`` tier, then ``warn``; ranked."""
    also_documented: tuple[Interaction, ...] = ()
    """The ``info`` tier: minor, unknown-severity and non-interruptive pairs, ranked."""
    class_alerts: tuple[ClassAlert, ...]
    not_in_graph: tuple[str, ...]
    """CURIEs of checked drugs with no Drug node: nothing can be known about them."""


# -- pure rules -----------------------------------------------------------------------------


def normalize_severity(value: Any) -> Severity | None:
    """A stored severity as one of :data:`SEVERITY_ORDER` (case-insensitive), None if absent."""
    if value is None or value == "":
        return None
    text = str(value).strip().capitalize()
    return text if text in _RANK else "Unknown"  # type: ignore[return-value]


def model_severity(interaction_type: str | None) -> Severity:
    """Severity of an extracted-only interaction (see :data:`MODEL_SEVERITY`); the type does
    not change it because every DDI-2013 type has the same modal curated level."""
    return MODEL_SEVERITY


def most_severe(levels: Sequence[Severity]) -> Severity:
    return min(levels, key=_RANK.__getitem__)


def _sort_key(severity: Severity | None, confidence: float | None, a: DrugRef, b: DrugRef) -> tuple[Any, ...]:
    return (_RANK.get(severity or "Unknown", len(_RANK)), -(confidence or 0.0), a.name or a.id, b.name or b.id)


def tier_of(severity: Severity, said: Sequence[SourceStatement] = ()) -> Tier:
    """``interrupt`` for Contraindicated/Major or a pair on an interrupting list
    (:data:`INTERRUPT_LISTS`), ``warn`` for Moderate, ``info`` for Minor and Unknown."""
    if severity in INTERRUPT_LEVELS or any(x.list in INTERRUPT_LISTS for x in said):
        return "interrupt"
    return "warn" if severity == "Moderate" else "info"


def statements(source: str, props: dict[str, Any]) -> list[SourceStatement]:
    """What one curated evidence record says: one statement per list for a multi-list source
    (``lists`` property, e.g. ``pddi``), else one with its ``severity``."""
    lists = props.get("lists")
    if isinstance(lists, dict) and lists:
        return [SourceStatement(source=source, list=str(k), severity=normalize_severity(v) or "Unknown")
                for k, v in lists.items()]
    return [SourceStatement(source=source, severity=normalize_severity(props.get("severity")) or "Unknown")]


def _why(x: "Interaction") -> str:
    """One line: the level and what it rests on (sources, lists, mechanism, extracted evidence)."""
    parts = []
    for st in x.said:
        label = LIST_NAMES.get(st.list or "", st.list) if st.list else st.source
        parts.append(f"{label}: {st.severity}" if st.list is None or st.list not in INTERRUPT_LISTS else label)
    if not x.curated:
        parts.append(f"no curated source; extracted from text (level {x.severity} by rule, "
                     f"best score {x.confidence:.2f})")
    if x.mechanism:
        parts.append(f"mechanism: {x.mechanism}")
    if x.interaction_type:
        parts.append(f"type: {x.interaction_type}")
    if x.curated and x.extracted_evidence_count:
        parts.append(f"{x.extracted_evidence_count} extracted sentence(s)")
    routes = sorted({r for r in (x.drug_a.route, x.drug_b.route) if r and r != "oral"})
    if routes:
        parts.append(f"route: {', '.join(routes)} (systemic exposure may be lower; check the product label)")
    return f"{x.severity} ({x.tier}): " + "; ".join(parts)


def report_json(report: InteractionReport) -> str:
    """The report as indented JSON (CLI ``--json``; the API serialises the model itself)."""
    return json.dumps(report.model_dump(mode="json"), indent=2)


def _drug_label(d: DrugRef) -> str:
    name = d.name or d.id
    return f"{d.product} ({name})" if d.product else name


def format_report(report: InteractionReport) -> str:
    """A readable plain-text report (the CLI's default output): alerts that should interrupt,
    then moderate ones, then the "also documented" section, class alerts, duplicates, and
    every input that could not be resolved."""
    lines: list[str] = []
    if report.patient_id is not None:
        lines.append(f"patient {report.patient_id}: {len(report.resolved)} drugs")
    checked = ", ".join(f"{r.input} -> {r.curie}" + (f" ({r.name})" if r.name and r.name != r.input else "")
                        + (f" [{r.method} {r.score:.2f}]" if r.method == "fuzzy" else "")
                        + (f" [{r.route}]" if r.route else "") for r in report.resolved)
    lines.append(f"checked: {checked or '(none)'}")
    sections = (
        ("SHOULD INTERRUPT (contraindicated / major)", [x for x in report.interactions if x.tier == "interrupt"]),
        ("MODERATE", [x for x in report.interactions if x.tier == "warn"]),
        ("ALSO DOCUMENTED (minor, unknown severity, non-interruptive)", list(report.also_documented)),
    )
    if not report.interactions and not report.also_documented:
        lines += ["", "no interactions found among the checked drugs"]
    for title, items in sections:
        if not items:
            continue
        lines += ["", f"{title}: {len(items)}"]
        for x in items:
            lines.append(f"  {x.severity:15s} {_drug_label(x.drug_a)} + {_drug_label(x.drug_b)}"
                         f"  [{x.severity_basis}, conf {x.confidence:.2f}, {x.evidence_count} evidence]")
            lines.append(f"      why: {x.why}")
            for e in x.evidence:
                text = f": {e.text[:100]}" if e.text else ""
                kind = "curated" if e.curated else f"extracted {e.score:.2f}"
                lines.append(f"      - {e.doc_id} ({e.source}, {kind}){text}")
    if report.class_alerts:
        lines += ["", "class alerts (inferred):"]
        for a in report.class_alerts:
            sev = f"{a.severity} " if a.severity else ""
            lines.append(f"  {sev}{_drug_label(a.drug_a)} + {_drug_label(a.drug_b)}: {a.note}")
    if report.products:
        lines += ["", "combination products (each ingredient checked):"]
        lines += [f"  {p.input}: {' + '.join(i.name or i.curie for i in p.ingredients)}" for p in report.products]
    if report.duplicates:
        lines += ["", "duplicates (checked once):"]
        lines += [f"  {d.name or d.curie} ({d.curie}): {', '.join(map(repr, d.inputs))}" for d in report.duplicates]
    if report.not_in_graph:
        lines += ["", f"not in the graph (nothing known): {', '.join(report.not_in_graph)}"]
    if report.unresolved:
        lines += ["", "unresolved:"]
        for u in report.unresolved:
            hint = f"; did you mean {', '.join(f'{s.name} ({s.curie})' for s in u.suggestions)}?" if u.suggestions else ""
            lines.append(f"  {u.input[:60]!r}: {u.reason}{hint}")
    return "\n".join(lines)
