"""Interaction check: a medication list (names, CURIEs) or a patient's TAKES edges in, the
interacting pairs out, with severity, type, sources, evidence and confidence.

    from kg.interactions import DrugResolver, check_interactions
    report = check_interactions(store, ["warfarin", "aspirin", "omeprazole"], resolver=DrugResolver())

What the report holds, and the rules behind each field:

* ``resolved`` / ``unresolved``: every input comes back, resolved (see :mod:`kg.interactions.drug_names`)
  or with the reason it was not and suggestions; nothing is dropped silently.
* ``duplicates``: inputs that resolve to the same concept ("Coumadin" + "warfarin"), checked
  once and reported. Two inputs are the same concept when their id sets (CURIE plus KB
  equivalents) overlap.
* ``interactions`` (alerts) and ``also_documented``: one :class:`Interaction` per pair of checked
  drugs with a stored INTERACTS_WITH edge (under any of their ids), in one of three **tiers**:
  ``interrupt`` (Contraindicated or Major, or on the ONC high-priority list: should interrupt
  the prescriber), ``warn`` (Moderate), ``info`` (Minor, Unknown, or only on the ONC
  non-interruptive list). ``interactions`` holds the interrupt then warn tiers;
  ``also_documented`` the info tier (kept, not dropped: alert fatigue is why real systems get
  switched off, but the pair is still documented). **Severity** on the scale
  :func:`schema.model.severity_scale`: the most severe level any curated source states for
  the pair (several sources or several edges, e.g. under DrugBank and MeSH ids: under-warning
  is the costly error); ``said`` lists what each source (each list of a multi-list source) said,
  so disagreement is visible. With no curated source: :data:`MODEL_SEVERITY`, basis ``model``.
  **Confidence**: 1.0 when curated, else the edge's ``best_score`` (``evidence_count`` is
  reported next to it rather than folded in: copies of one sentence are not independent).
  **Evidence**: curated records first, and at least one extracted sentence (marked
  ``curated=false``) when the pair also has literature evidence. ``why`` says in one line
  which sources, lists, mechanism and evidence the alert rests on.
* Combination products (``Bactrim``) are checked as each of their ingredients (``DrugRef.product``
  names the product); ingredients of one *labelled* product are not reported against each other,
  drugs typed together in one field are. Records, grading rules and the text rendering live in
  :mod:`kg.interactions.report`.
* ``class_alerts`` (all ``inferred=True``): ``same_class`` when two checked drugs share a drug
  class (MeSH tree classes of :func:`kg.interactions.drug_names.drug_classes`, or a curated IS_A parent in
  the graph): a therapeutic duplication hint. ``class_interaction`` when a checked pair has
  no edge of its own but a class sibling of one of them has a *curated* interaction with the
  other: severity copied from the sibling's edge, confidence ``CLASS_CONFIDENCE`` times it.

Sorted by tier, severity (Contraindicated > Major > Moderate > Minor > Unknown), confidence, names.
Names the linker cannot resolve are looked up as exact Drug node names in the graph (curated
sources keep drugs the vocabulary lacks, e.g. unmapped DDInter drugs as ``DDINTER:...``).
The graph is read with a fixed number of queries (at most five: patient, names, nodes, pairs
with evidence, class siblings), independent of the list length; see the ``INTERACTION_*`` queries
in :mod:`kg.cypher`. Names are looked up as graph node names too (resolved or not), so a drug
keyed under another id by some source is still reached by its name.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from kg import cypher
from kg.interactions.drug_names import (
    DrugResolver,
    ResolvedDrug,
    ResolvedProduct,
    UnresolvedDrug,
    drug_classes,
    parse_curie,
)
from kg.errors import MedkgError
from kg.interactions.report import (
    _RANK,
    _TIER_RANK,
    INTERRUPT_LEVELS,
    INTERRUPT_LISTS,
    LIST_NAMES,
    MODEL_SEVERITY,
    SEVERITY_ORDER,
    TIERS,
    ClassAlert,
    DrugRef,
    Duplicate,
    EvidenceItem,
    Interaction,
    InteractionReport,
    Severity,
    SourceStatement,
    Tier,
    _sort_key,
    _why,
    format_report,
    model_severity,
    most_severe,
    normalize_severity,
    report_json,
    statements,
    tier_of,
)
from kg.store.base import GraphStore

__all__ = [  # the report's records and rules are re-exported: callers import them from here too
    "CLASS_CONFIDENCE", "INTERRUPT_LEVELS", "INTERRUPT_LISTS", "LIST_NAMES", "MAX_DRUGS", "MAX_EVIDENCE",
    "MODEL_SEVERITY", "SEVERITY_ORDER", "TIERS", "ClassAlert", "DrugRef", "Duplicate", "EvidenceItem", "Interaction",
    "InteractionError", "InteractionInputError", "InteractionReport", "Severity", "SourceStatement", "Tier",
    "UnknownPatientError", "check_interactions", "format_report", "model_severity", "most_severe",
    "normalize_severity", "report_json", "statements", "tier_of",
]


CLASS_CONFIDENCE = 0.5
"""Confidence factor for a class-level (inferred) interaction: a sibling's curated interaction
is a hint, not a statement about this drug, so it ranks below any stated interaction of the
same severity (curated 1.0, a typical extracted one 0.6-0.99)."""

MAX_DRUGS = 100
"""Most inputs one check accepts: pairs grow quadratically and a longer "list" is a dump."""

MAX_EVIDENCE = 100
MAX_PATIENT_ID_CHARS = 200


class InteractionError(MedkgError):
    """Root of interaction-check errors."""


class InteractionInputError(InteractionError, ValueError):
    """The request itself is unusable (no drugs, too many, bad option); names the input."""


class UnknownPatientError(InteractionInputError, LookupError):
    """No Patient node has the given pseudonym."""



# -- the check --------------------------------------------------------------------------------


class _Drug:
    """A unique checked drug while the report is built."""

    def __init__(self, resolved: ResolvedDrug) -> None:
        self.resolved = resolved
        self.ids = set(resolved.equivalent_ids) | {resolved.curie}
        self.ref = DrugRef(id=resolved.curie, name=resolved.name, input=resolved.input, product=resolved.product,
                           route=resolved.route)
        self.origins = {(resolved.labelled_product, resolved.input)}
        """(from a labelled combination product?, input) of every input that named this drug."""


def _same_product(a: _Drug, b: _Drug) -> bool:
    """True when both drugs come only from the same labelled combination product(s): the product
    is meant to be taken as one, so its ingredients are not an interaction to report. Drugs typed
    together in one field without being a labelled product ("warfarin and aspirin") are checked."""
    return a.origins == b.origins and all(from_product for from_product, _ in a.origins)


def check_interactions(
    store: GraphStore,
    drugs: Sequence[str] = (),
    *,
    patient_id: str | None = None,
    resolver: DrugResolver | None = None,
    include_evidence: bool = True,
    max_evidence: int = 3,
) -> InteractionReport:
    """Check a medication list (and/or a patient's TAKES drugs) for interactions.

    ``drugs``: names, brands, misspellings or Drug CURIEs. ``patient_id``: a Patient pseudonym;
    its TAKES drugs are checked together with ``drugs`` (so ``drugs`` can be a drug to be
    added). ``include_evidence=False`` skips the evidence rows (faster; counts stay).
    Raises :class:`UnknownPatientError` / :class:`InteractionInputError` for unusable requests.
    """
    if isinstance(drugs, str):
        raise InteractionInputError("drugs must be a list of names or CURIEs, not one string")
    drugs = list(drugs)
    if len(drugs) > MAX_DRUGS:
        raise InteractionInputError(f"{len(drugs)} drugs given; at most {MAX_DRUGS} per check")
    if not 0 <= max_evidence <= MAX_EVIDENCE:
        raise InteractionInputError(f"max_evidence must be between 0 and {MAX_EVIDENCE}, got {max_evidence}")
    if patient_id is None and not drugs:
        raise InteractionInputError("nothing to check: give at least one drug name/CURIE or a patient id")
    resolver = resolver or DrugResolver()

    results: list[ResolvedDrug | ResolvedProduct | UnresolvedDrug] = []
    if patient_id is not None:
        results += _patient_drugs(store, patient_id, resolver)
    results += resolver.resolve(drugs) if drugs else []
    results = _graph_names(store, results)
    products = [r for r in results if isinstance(r, ResolvedProduct)]
    resolved = [d for r in results for d in (r.ingredients if isinstance(r, ResolvedProduct) else (r,))
                if isinstance(d, ResolvedDrug)]
    unresolved = [u for r in results for u in (r.unresolved if isinstance(r, ResolvedProduct) else (r,))
                  if isinstance(u, UnresolvedDrug)]
    if len(resolved) > MAX_DRUGS:
        raise InteractionInputError(f"the inputs name {len(resolved)} drugs; at most {MAX_DRUGS} per check")

    unique, duplicates = _dedupe(resolved)
    owner = {i: k for k, d in enumerate(unique) for i in d.ids}
    ids = sorted(owner)
    sibling_of = _siblings(unique)
    # the three lookups are independent (ids absent from the graph simply match nothing), so
    # they go out together: a server store runs them concurrently
    queries: list[tuple[str, dict[str, Any]]] = [(cypher.INTERACTION_DRUG_NODES, {"ids": ids})] if ids else []
    if len(unique) > 1:
        pairs = cypher.INTERACTION_PAIRS_WITH_EVIDENCE if include_evidence and max_evidence else cypher.INTERACTION_PAIRS
        queries.append((pairs, {"ids": ids}))
        if sibling_of:
            queries.append((cypher.INTERACTION_CLASS_SIBLINGS, {"siblings": sorted(sibling_of), "ids": ids}))
    answers = store.query_many(queries) + [[], [], []]
    nodes: dict[str, dict[str, Any]] = {}
    graph_classes: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    for r in answers[0]:
        nodes[r["id"]] = r
        if r["class_id"] is not None:
            graph_classes[r["id"]].append((r["class_id"], r["class_name"]))
    for d in unique:
        if d.ref.name is None:
            name = next((nodes[i]["name"] for i in sorted(d.ids) if i in nodes and nodes[i]["name"]), None)
            d.ref = d.ref.model_copy(update={"name": name})
    found = _interactions(answers[1], unique, owner, max_evidence if include_evidence else 0)
    found = {pair: x for pair, x in found.items() if not _same_product(unique[pair[0]], unique[pair[1]])}
    ranked = sorted(found.values(), key=lambda x: (_TIER_RANK[x.tier], *_sort_key(x.severity, x.confidence, x.drug_a, x.drug_b)))
    alerts = _class_alerts(answers[2], unique, owner, set(found), graph_classes, sibling_of)
    return InteractionReport(
        patient_id=patient_id,
        resolved=tuple(resolved),
        products=tuple(products),
        unresolved=tuple(unresolved),
        duplicates=tuple(duplicates),
        interactions=tuple(x for x in ranked if x.tier != "info"),
        also_documented=tuple(x for x in ranked if x.tier == "info"),
        class_alerts=tuple(alerts),
        not_in_graph=tuple(d.ref.id for d in unique if not d.ids & set(nodes)),
    )


def _patient_drugs(store: GraphStore, patient_id: str, resolver: DrugResolver) -> list[ResolvedDrug | UnresolvedDrug]:
    """The patient's TAKES drugs, each with the DrugBank ids its name links to (a FHIR record
    codes medications in RxNorm, curated interactions use DrugBank ids)."""
    if not isinstance(patient_id, str) or not patient_id.strip():
        raise InteractionInputError(f"patient id must be a non-empty string, got {type(patient_id).__name__}")
    if len(patient_id) > MAX_PATIENT_ID_CHARS:
        raise InteractionInputError(f"patient id is {len(patient_id)} characters long; at most {MAX_PATIENT_ID_CHARS}")
    rows = store.query(cypher.INTERACTION_PATIENT_DRUGS, {"patient_id": patient_id})
    if not rows:
        raise UnknownPatientError("unknown patient id: no Patient node has this pseudonym")
    takes = sorted({(r["id"], r["name"]) for r in rows if r["id"] is not None})
    # ingredients of each drug not coded in DrugBank/DDInter ("A 5 MG / B 10 MG Oral Tablet"), linked in one batch
    parts: list[tuple[int, str]] = []
    for k, (curie, name) in enumerate(takes):
        parsed = parse_curie(curie)
        if name and (parsed is None or parsed[0] not in ("DRUGBANK", "DDINTER")):
            parts += [(k, p) for p in name.split(" / ") if p.strip()]
    linked: dict[int, list[ResolvedDrug]] = defaultdict(list)
    for (k, _), r in zip(parts, resolver.resolve([p for _, p in parts]) if parts else [], strict=True):
        if isinstance(r, ResolvedDrug):
            linked[k].append(r)
        elif isinstance(r, ResolvedProduct):
            linked[k] += r.ingredients
    out: list[ResolvedDrug | UnresolvedDrug] = []
    for k, (curie, name) in enumerate(takes):
        if name and " / " in name and len(linked[k]) > 1:
            # a coded combination (RxNorm "A 5 MG / B 10 MG"): each ingredient is a drug of the
            # list, so two products sharing an ingredient are not merged into one
            out += [d.model_copy(update={"input": name, "product": name, "labelled_product": True, "method": "patient"})
                    for d in linked[k]]
            continue
        equivalents = resolver.equivalents(curie) if parse_curie(curie) is not None else (curie,)
        extra = [i for d in linked[k] for i in d.equivalent_ids]
        out.append(ResolvedDrug(input=name or curie, curie=curie, name=name, score=1.0, method="patient",
                                equivalent_ids=tuple(dict.fromkeys([*equivalents, *extra]))))
    return out


def _graph_names(store: GraphStore, results: list[ResolvedDrug | ResolvedProduct | UnresolvedDrug]
                 ) -> list[ResolvedDrug | ResolvedProduct | UnresolvedDrug]:
    """Drug nodes named exactly (case-insensitively) like an input or its resolved name.

    * A name the linker could not resolve becomes that node (curated sources keep drugs the
      vocabulary lacks: unmapped DDInter drugs, ``DDINTER:...``).
    * A resolved name also reaches the nodes named like it, whatever their id: a source may key
      the same drug under another id of the vocabulary (the public lists' "Levomethadyl Acetate"
      is DB01227, the dictionary's alias points to DB19094), and the same name is the same drug.
    One query for the whole list."""
    def keys_of(r: ResolvedDrug | UnresolvedDrug) -> set[str]:
        if isinstance(r, UnresolvedDrug):
            return {r.input.strip().lower()} if r.name_like else set()
        if r.method in ("curie", "patient"):
            return set()
        return {k for k in (r.input.strip().lower(), (r.name or "").lower()) if k}

    drugs = [d for r in results for d in (r.ingredients if isinstance(r, ResolvedProduct) else (r,))]
    keys = sorted({k for d in drugs for k in keys_of(d)})  # type: ignore[arg-type]
    if not keys:
        return results
    found: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for row in sorted(store.query(cypher.INTERACTION_DRUGS_BY_NAME, {"names": keys}), key=lambda r: r["id"]):
        found[row["name_key"]].append((row["id"], row["name"]))

    def widen(d: ResolvedDrug) -> ResolvedDrug:
        extra = [i for k in sorted(keys_of(d)) for i, _ in found.get(k, ())]
        new = tuple(dict.fromkeys([*d.equivalent_ids, *extra]))
        return d if new == d.equivalent_ids else d.model_copy(update={"equivalent_ids": new})

    out: list[ResolvedDrug | ResolvedProduct | UnresolvedDrug] = []
    for r in results:
        if isinstance(r, UnresolvedDrug):
            hits = found.get(r.input.strip().lower()) if r.name_like else None
            out.append(r if not hits else ResolvedDrug(input=r.input, curie=hits[0][0], name=hits[0][1], score=1.0,
                                                       method="graph_name", equivalent_ids=tuple(i for i, _ in hits)))
        elif isinstance(r, ResolvedProduct):
            out.append(r.model_copy(update={"ingredients": tuple(widen(d) for d in r.ingredients)}))
        else:
            out.append(widen(r))
    return out


def _dedupe(resolved: Sequence[ResolvedDrug]) -> tuple[list[_Drug], list[Duplicate]]:
    unique: list[_Drug] = []
    dup_inputs: dict[int, list[str]] = defaultdict(list)
    for r in resolved:
        ids = set(r.equivalent_ids) | {r.curie}
        k = next((k for k, d in enumerate(unique) if d.ids & ids), None)
        if k is None:
            unique.append(_Drug(r))
        else:
            unique[k].ids |= ids
            unique[k].origins.add((r.labelled_product, r.input))
            if r.input != unique[k].ref.input:
                dup_inputs[k].append(r.input)
    duplicates = [
        Duplicate(curie=unique[k].ref.id, name=unique[k].ref.name, inputs=(unique[k].ref.input, *inputs))
        for k, inputs in sorted(dup_inputs.items())
    ]
    return unique, duplicates


def _interactions(rows: list[dict[str, Any]], unique: list[_Drug], owner: dict[str, int],
                  max_evidence: int) -> dict[tuple[int, int], Interaction]:
    """One interaction per pair of checked drugs (indexes into ``unique``, smaller first)."""
    edges: dict[tuple[int, int], dict[tuple[str, str], dict[str, Any]]] = defaultdict(dict)
    evidence: dict[tuple[int, int], dict[tuple[str, str, str], EvidenceItem]] = defaultdict(dict)
    said: dict[tuple[int, int], dict[tuple[str, str | None], SourceStatement]] = defaultdict(dict)
    curated_records: dict[tuple[int, int], set[tuple[str, str, str]]] = defaultdict(set)
    for r in rows:
        i, j = owner.get(r["head"]), owner.get(r["tail"])
        if i is None or j is None or i == j:
            continue
        pair = (min(i, j), max(i, j))
        edges[pair][(r["head"], r["tail"])] = r
        if r.get("ev_doc_id") is None:
            continue
        if r.get("ev_curated"):
            curated_records[pair].add((r["head"], r["tail"], r["ev_doc_id"]))
            for st in statements(r["ev_source"] or "", _props(r.get("ev_props"))):
                old = said[pair].get((st.source, st.list))
                if old is None or _RANK[st.severity] < _RANK[old.severity]:
                    said[pair][(st.source, st.list)] = st
        if "ev_text" in r:
            item = EvidenceItem(doc_id=r["ev_doc_id"], source=r["ev_source"] or "", text=r["ev_text"] or None,
                                score=float(r["ev_score"] or 0.0), curated=bool(r["ev_curated"]))
            evidence[pair][(r["head"], r["tail"], r["ev_doc_id"])] = item
    out: dict[tuple[int, int], Interaction] = {}
    for (i, j), group in edges.items():
        stored = list(group.values())
        curated = [e for e in stored if e["curated"]]
        stated = sorted(said[(i, j)].values(), key=lambda x: (_RANK[x.severity], x.source, x.list or ""))
        total = sum(int(e["evidence_count"] or 0) for e in stored)
        extracted = max(0, total - len(curated_records[(i, j)]))
        if curated:
            levels = [x.severity for x in stated] or [normalize_severity(e["severity"]) or "Unknown" for e in curated]
            severity, basis, confidence = most_severe(levels), "curated", 1.0
            if severity == "Unknown" and extracted:
                # an ungraded curated listing must not demote what the text says: the extracted
                # level applies (a curated "Unknown" alone stays "also documented")
                severity, basis = model_severity(None), "model"
        else:
            types = [e["interaction_type"] for e in stored if e["interaction_type"]]
            severity, basis = model_severity(types[0] if types else None), "model"
            confidence = max(float(e["best_score"] or 0.0) for e in stored)
        best_first = sorted(stored, key=lambda e: (not e["curated"], -float(e["best_score"] or 0.0)))
        x = Interaction(
            drug_a=unique[i].ref,
            drug_b=unique[j].ref,
            tier=tier_of(severity, stated),  # type: ignore[arg-type]
            severity=severity,  # type: ignore[arg-type]
            severity_basis=basis,  # type: ignore[arg-type]
            interaction_type=next((e["interaction_type"] for e in best_first if e["interaction_type"]), None),
            mechanism=next((e["mechanism"] for e in best_first if e["mechanism"]), None),
            sources=tuple(sorted({s for e in stored for s in (e["sources"] or [])})),
            curated=bool(curated),
            confidence=round(confidence, 4),
            evidence_count=total,
            extracted_evidence_count=extracted,
            evidence=_pick_evidence(list(evidence[(i, j)].values()), max_evidence),
            said=tuple(stated),
            graph_ids=tuple(sorted(group)),
        )
        out[(i, j)] = x.model_copy(update={"why": _why(x)})
    return out


def _props(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    try:
        value = json.loads(raw) if raw else {}
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _pick_evidence(items: list[EvidenceItem], limit: int) -> tuple[EvidenceItem, ...]:
    """Curated records first, best extracted sentences next; when both kinds exist and the
    limit allows two, at least one of each, so a curated pair with literature evidence shows both."""
    if limit <= 0:
        return ()
    curated = sorted((e for e in items if e.curated), key=lambda e: (e.source, e.doc_id))
    extracted = sorted((e for e in items if not e.curated), key=lambda e: (-e.score, e.doc_id))
    if curated and extracted and limit >= 2:
        keep = min(len(curated), limit - 1)
        return tuple(curated[:keep] + extracted[:limit - keep])
    return tuple((curated + extracted)[:limit])


def _siblings(unique: list[_Drug]) -> dict[str, set[tuple[int, str]]]:
    """Vocabulary class members of each checked drug (not itself): sibling id -> {(drug index,
    class key)}. A checked sibling counts too; its own pair is reported directly."""
    classes = drug_classes()
    sibling_of: dict[str, set[tuple[int, str]]] = defaultdict(set)
    if len(unique) < 2:
        return sibling_of
    for k, d in enumerate(unique):
        for x in d.ids:
            for key in classes.classes(x):
                for s in classes.members(key):
                    if s not in d.ids:
                        sibling_of[s].add((k, key))
    return sibling_of


def _class_alerts(rows: list[dict[str, Any]], unique: list[_Drug], owner: dict[str, int], linked: set[tuple[int, int]],
                  graph_classes: dict[str, list[tuple[str, str | None]]],
                  sibling_of: dict[str, set[tuple[int, str]]]) -> list[ClassAlert]:
    """``same_class`` alerts, and ``class_interaction`` alerts from ``rows``
    (:data:`kg.cypher.INTERACTION_CLASS_SIBLINGS`) for pairs with no interaction of their own."""
    if len(unique) < 2:
        return []
    classes = drug_classes()
    same: list[ClassAlert] = []
    for i in range(len(unique)):
        for j in range(i + 1, len(unique)):
            a, b = unique[i], unique[j]
            if _same_product(a, b):
                continue
            shared = [f"MESH_TREE:{k}" for k in classes.shared(a.ids, b.ids)]
            ga = {c for x in a.ids for c, _ in graph_classes.get(x, ())}
            shared += sorted(ga & {c for x in b.ids for c, _ in graph_classes.get(x, ())})
            if shared:
                same.append(ClassAlert(
                    kind="same_class", drug_a=a.ref, drug_b=b.ref, class_id=shared[0],
                    note=f"same drug class ({', '.join(shared[:3])}): check for therapeutic duplication",
                ))
    # class-level interactions: siblings (vocabulary class members) of one drug with a curated
    # interaction with the other, for pairs that have no interaction of their own
    inferred: dict[tuple[int, int], ClassAlert] = {}
    if sibling_of:
        for r in rows:
            j = owner.get(r["target"])
            for i, key in sorted(sibling_of.get(r["sibling"], ())):
                if j is None or i == j or owner.get(r["sibling"]) == j or (min(i, j), max(i, j)) in linked \
                        or _same_product(unique[i], unique[j]):
                    continue
                severity = normalize_severity(r["severity"]) or "Unknown"
                confidence = round(CLASS_CONFIDENCE * float(r["best_score"] or 1.0), 4)
                via = DrugRef(id=r["sibling"], name=r["sibling_name"] or classes.names.get(r["sibling"]), input=r["sibling"])
                alert = ClassAlert(
                    kind="class_interaction", drug_a=unique[i].ref, drug_b=unique[j].ref, class_id=f"MESH_TREE:{key}",
                    via=via, severity=severity, confidence=confidence,
                    note=(f"inferred: {via.name or via.id}, in the same class as {unique[i].ref.name or unique[i].ref.id}, "
                          f"has a curated {severity} interaction with {unique[j].ref.name or unique[j].ref.id} "
                          f"({', '.join(r['sources'] or [])})"),
                )
                key2 = (min(i, j), max(i, j))
                old = inferred.get(key2)
                if old is None or _sort_key(alert.severity, alert.confidence, alert.drug_a, alert.via or alert.drug_a) < \
                        _sort_key(old.severity, old.confidence, old.drug_a, old.via or old.drug_a):
                    inferred[key2] = alert
    ordered = sorted(inferred.values(), key=lambda x: _sort_key(x.severity, x.confidence, x.drug_a, x.drug_b))
    return ordered + sorted(same, key=lambda x: (x.drug_a.name or x.drug_a.id, x.drug_b.name or x.drug_b.id))
