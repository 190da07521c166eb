"""Aggregate Documents (with their Mentions and Relations) into a deduplicated GraphBatch.

Pure functions, no store access: the same aggregation runs for a batch in memory and, in the
store writer, over all stored evidence of the edges a batch touches (:func:`aggregate_edges`).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from schema.model import Schema, SchemaError, load_schema
from schema.records import (
    Assertion,
    ConceptProperties,
    Document,
    DocumentRecord,
    Edge,
    EntityType,
    EvidenceRecord,
    GraphBatch,
    Mention,
    MentionEdge,
    Node,
    Record,
    Relation,
    local_id,
)
from schema.sentences import sentence_index, sentence_spans

MAX_SYNONYMS = 32
"""Synonym lists are capped: they feed display and linking, and a hub concept mentioned in
thousands of documents would otherwise grow one property without bound."""

PATIENT_EDGE = {
    EntityType.DISEASE: "HAS_CONDITION",
    EntityType.DRUG: "TAKES",
    EntityType.SYMPTOM: "HAS_FINDING",
}


class BuildOptions(Record):
    """Options that change what a document contributes (so they are part of its hash)."""

    evidence_text: bool = True
    """Store evidence sentences. Switch off for clinical records whose text must not leave them."""

    canonical_ids: bool = True
    """Apply the canonical concept rule (:mod:`extractors.linking.canonical`) when a table is given
    to :func:`build_batch`: a concept named by another vocabulary's id (``MESH:D001241``) is written
    under its canonical id (``DRUGBANK:DB00945``), the other ids kept in its ``xrefs``. The jobs
    (:mod:`kg.jobs.canonical`) pass the default table."""

    canonical_version: str = ""
    """Fingerprint of the table in use (part of every document's content hash, so a KB upgrade
    that moves an id re-writes the documents); set by :func:`kg.jobs.canonical.canonical_setup`."""


class Canonical(Protocol):
    """What :func:`build_batch` needs of a canonical-id table (:class:`extractors.linking.canonical.CanonicalIds`)."""

    def resolve(self, label: str, concept_id: str) -> str: ...

    def xrefs(self, label: str, concept_id: str) -> tuple[str, ...]: ...


def canonical_document(doc: Document, canonical: Canonical, folded: dict[tuple[str, str], set[str]]) -> Document:
    """``doc`` with every concept id replaced by its canonical id; the ids replaced are added to
    ``folded[(label, canonical id)]``. Relations whose two ends become one concept are dropped."""

    def fix(label: str, cid: str) -> str:
        new = canonical.resolve(label, cid)
        if new != cid:
            folded[(label, new)].add(cid)
        return new

    mentions = tuple(
        m.model_copy(update={"concept_id": fix(m.label.value, m.concept_id)}) if m.concept_id else m for m in doc.mentions
    )
    relations = []
    for r in doc.relations:
        head = r.head_id if r.head_label == "Patient" else fix(r.head_label, r.head_id)
        tail = r.tail_id if r.tail_label == "Patient" else fix(r.tail_label, r.tail_id)
        if head == tail and r.head_label == r.tail_label:
            continue
        relations.append(r if (head, tail) == (r.head_id, r.tail_id) else r.model_copy(update={"head_id": head, "tail_id": tail}))
    concepts = tuple(c.model_copy(update={"concept_id": fix(c.label.value, c.concept_id)}) for c in doc.concepts)
    return doc.model_copy(update={"mentions": mentions, "relations": tuple(relations), "concepts": concepts})


def mention_concept_id(m: Mention) -> str:
    return m.concept_id or local_id(m.label.value, m.text)


def content_hash(doc: Document, options: BuildOptions) -> str:
    # documents without concept properties hash as before the field existed, so stores built
    # earlier do not reload every document once
    payload = doc.model_dump_json(exclude={"concepts"} if not doc.concepts else None) + options.model_dump_json()
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


_LIST_PROPERTIES = {"synonyms", "sources", "xrefs"}
_OWN_PROPERTIES = {"name", "synonyms", "sources"}


def _merge_concept_properties(schema: Schema, doc_id: str, c: ConceptProperties, into: dict[str, Any]) -> None:
    """Fold one document's statement about a concept into what the batch holds for it: list
    properties are unioned, scalars are last-stated-wins. Undeclared names are an error."""
    declared = schema.node(c.label.value).properties
    for name, value in c.properties.items():
        if name not in declared or name in _OWN_PROPERTIES:
            raise SchemaError(
                f"document {doc_id!r} states property {name!r} of {c.label.value} {c.concept_id!r}, "
                f"which the schema does not declare as a concept property"
            )
        if name in _LIST_PROPERTIES:
            if value:
                into[name] = merge_ids(into.get(name) or [], list(value))
        else:
            into[name] = value  # None states "no value": it clears what an earlier load stored


def evidence_id(doc_id: str, rel_type: str, head: str, tail: str) -> str:
    digest = hashlib.sha1(f"{doc_id}\x1f{rel_type}\x1f{head}\x1f{tail}".encode()).hexdigest()
    return f"ev:{digest[:24]}"


def _patient_relations(doc: Document) -> list[Relation]:
    """Present, affirmed mentions in a patient's document become patient facts."""
    if doc.patient_id is None:
        return []
    out = []
    spans = sentence_spans(doc.text) if doc.text else []
    for m in doc.mentions:
        if m.assertion is not Assertion.PRESENT:
            continue
        ev_text = ev_start = ev_end = None
        idx = sentence_index(spans, m.start) if m.start is not None else None
        if idx is not None:
            ev_start, ev_end = spans[idx]
            ev_text = doc.text[ev_start:ev_end]
        out.append(
            Relation(
                type=PATIENT_EDGE[m.label],
                head_id=doc.patient_id,
                head_label="Patient",
                tail_id=mention_concept_id(m),
                tail_label=m.label.value,
                score=m.score,
                source=m.source,
                evidence_text=ev_text,
                evidence_start=ev_start,
                evidence_end=ev_end,
            )
        )
    return out


def _first_seen_name(texts: Counter[str]) -> str:
    """Most frequent surface form; ties broken by first occurrence (Counter keeps insertion order)."""
    return max(texts.items(), key=lambda kv: kv[1])[0]


def build_batch(
    documents: Iterable[Document], *, options: BuildOptions | None = None, schema: Schema | None = None,
    canonical: Canonical | None = None,
) -> GraphBatch:
    """Aggregate documents into one node per (label, id) and one evidence per (doc, relation).

    Relations of symmetric types are canonicalised (head id < tail id) so an interaction is
    stored once whichever way round a source states it. With ``canonical`` (a table; the jobs pass
    the default linking KB's) and ``options.canonical_ids`` every concept id first goes through the
    canonical concept rule, and each node's ``xrefs`` lists its other ids. The graph core does not
    load the table itself: it sits on the extractors' floor.
    """
    options = options or BuildOptions()
    schema = schema or load_schema()
    folded: dict[tuple[str, str], set[str]] = defaultdict(set)
    # one document per id, the last one given: a later revision of a document (PubMed update
    # files re-issue revised citations) replaces the earlier one instead of merging into it
    documents = list({doc.id: doc for doc in documents}.values())
    docs: dict[str, DocumentRecord] = {}
    names: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    preferred: dict[tuple[str, str], str] = {}
    sources: dict[tuple[str, str], set[str]] = defaultdict(set)
    patients: dict[str, dict[str, Any]] = {}
    mention_acc: dict[tuple[str, str, str], list[Mention]] = defaultdict(list)
    evidence: dict[str, EvidenceRecord] = {}
    stated: dict[tuple[str, str], dict[str, Any]] = defaultdict(dict)

    for doc in documents:
        docs[doc.id] = DocumentRecord(
            id=doc.id,
            source_format=doc.source_format,
            kind=doc.kind,
            title=doc.title,
            content_hash=content_hash(doc, options),
            patient_id=doc.patient_id,
        )
        if options.canonical_ids and canonical is not None:
            doc = canonical_document(doc, canonical, folded)
        if doc.patient_id is not None:
            patients.setdefault(doc.patient_id, {})
            for key in ("sex", "birth_year"):
                if doc.metadata.get(key) is not None:
                    patients[doc.patient_id][key] = doc.metadata[key]
        for m in doc.mentions:
            key = (m.label.value, mention_concept_id(m))
            names[key][m.text] += 1
            if m.concept_name and key not in preferred:
                preferred[key] = m.concept_name
            sources[key].add(m.source)
            mention_acc[(doc.id, *key)].append(m)
        for c in doc.concepts:
            _merge_concept_properties(schema, doc.id, c, stated[(c.label.value, c.concept_id)])
            names[(c.label.value, c.concept_id)]  # the concept's node exists even without a mention
            sources[(c.label.value, c.concept_id)].add(doc.source_format)
        for rel in (*doc.relations, *_patient_relations(doc)):
            schema.check_endpoint(rel.type, rel.head_label, rel.tail_label)
            head, tail = (rel.head_id, rel.head_label), (rel.tail_id, rel.tail_label)
            if schema.edge(rel.type).symmetric and tail[0] < head[0]:
                head, tail = tail, head
            for cid, label in (head, tail):
                if label != "Patient":
                    names[(label, cid)]  # make sure the endpoint node exists
                    sources[(label, cid)].add(rel.source)
            eid = evidence_id(doc.id, rel.type, head[0], tail[0])
            old = evidence.get(eid)
            if old is not None and old.score >= rel.score:
                if old.score == rel.score and rel.properties:
                    # two statements of one document on one edge (e.g. two MeSH terms the canonical rule
                    # folds into one concept): keep the strongest value of each numeric property
                    evidence[eid] = old.model_copy(update={"properties": _strongest(old.properties, rel.properties)})
                continue
            evidence[eid] = EvidenceRecord(
                id=eid,
                doc_id=doc.id,
                rel_type=rel.type,
                head_label=head[1],
                head_id=head[0],
                tail_label=tail[1],
                tail_id=tail[0],
                score=rel.score,
                source=rel.source,
                curated=rel.curated,
                model=rel.model,
                text=rel.evidence_text if options.evidence_text else None,
                start=rel.evidence_start if options.evidence_text else None,
                end=rel.evidence_end if options.evidence_text else None,
                properties=dict(rel.properties),
            )

    def xrefs(label: str, cid: str) -> dict[str, Any]:
        if not options.canonical_ids or canonical is None or "xrefs" not in schema.node(label).properties:
            return {}
        known = [*canonical.xrefs(label, cid), *sorted(folded.get((label, cid), ()))]
        if not known:
            return {}
        return {"xrefs": merge_ids(stated.get((label, cid), {}).get("xrefs") or [], known)}

    nodes = [
        Node(
            label=label,
            id=cid,
            properties={
                "name": preferred.get((label, cid)) or (_first_seen_name(texts) if texts else None),
                "synonyms": merge_synonyms([], texts),
                "sources": sorted(sources[(label, cid)]),
                **stated.get((label, cid), {}),
                **xrefs(label, cid),
            },
        )
        for (label, cid), texts in names.items()
    ]
    nodes += [Node(label="Patient", id=pid, properties=props) for pid, props in patients.items()]
    mentions = [
        MentionEdge(
            doc_id=doc_id,
            label=label,
            concept_id=cid,
            count=len(ms),
            best_score=max(m.score for m in ms),
            assertions=tuple(sorted({m.assertion.value for m in ms})),
        )
        for (doc_id, label, cid), ms in mention_acc.items()
    ]
    ev = tuple(evidence.values())
    return GraphBatch(
        documents=tuple(docs.values()),
        nodes=tuple(nodes),
        mentions=tuple(mentions),
        evidence=ev,
        edges=tuple(aggregate_edges(ev, schema=schema)),
    )


def _strongest(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """``a`` with each numeric property raised to ``b``'s value where that is larger."""
    out = dict(a)
    for k, v in b.items():
        old = out.get(k)
        if k not in out:
            out[k] = v
        elif isinstance(v, (int, float)) and isinstance(old, (int, float)) and not isinstance(v, bool) and v > old:
            out[k] = v
    return out


def merge_synonyms(existing: Sequence[str] | None, new: Iterable[str]) -> list[str]:
    """Union of surface forms, case-insensitively deduplicated, sorted, capped at MAX_SYNONYMS."""
    seen: dict[str, str] = {}
    for s in [*(existing or []), *new]:
        seen.setdefault(s.casefold(), s)
    return sorted(seen.values(), key=str.casefold)[:MAX_SYNONYMS]


MAX_XREFS = 512
"""Cap of an ``xrefs`` list (the Disease Ontology's largest xref set has ~200 ids)."""


def merge_ids(existing: Sequence[str] | None, new: Iterable[str]) -> list[str]:
    """Union of ids (exact strings), sorted, capped at MAX_XREFS."""
    return sorted({*(existing or []), *new})[:MAX_XREFS]


_SCALARS = (str, int, float, bool)


def _pick(values: list[tuple[bool, str, Any]], order: Sequence[str] = ()) -> Any:
    """Curated values win; among them the earliest in ``order`` (the property's declared
    vocabulary, e.g. the most severe severity), then by source name. Otherwise the most common
    extracted value."""
    present = [v for _, _, v in values if v is not None]
    if not present:
        return None
    first = present[0]
    if type(first) in _SCALARS and all(type(v) is type(first) and v == first for v in present):
        return first  # one value (the usual case): whichever rule applies picks it
    rank = {v: i for i, v in enumerate(order)}
    curated = sorted((rank.get(v, len(rank)) if isinstance(v, str) else len(rank), src, json.dumps(v, sort_keys=True), v)
                     for cur, src, v in values if cur and v is not None)
    if curated:
        return curated[0][3]
    counts = Counter(json.dumps(v, sort_keys=True) for cur, _, v in values if v is not None)
    if not counts:
        return None
    best = min(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0]
    return json.loads(best)


def aggregate_edges(evidence: Iterable[EvidenceRecord], *, schema: Schema | None = None) -> list[Edge]:
    """One edge per (type, head, tail) with provenance aggregated over its evidence.

    ``evidence_count`` counts evidence records (one per document or curated record), so
    re-loading a document never inflates it.
    """
    schema = schema or load_schema()
    groups: dict[tuple[str, str, str, str, str], list[EvidenceRecord]] = defaultdict(list)
    for e in evidence:
        groups[(e.rel_type, e.head_label, e.head_id, e.tail_label, e.tail_id)].append(e)
    edges = []
    declared = {name: list(schema.edge(name).properties.items()) for name in {k[0] for k in groups}}
    for (rtype, hl, hid, tl, tid), evs in groups.items():
        if len(evs) == 1:  # most edges: the aggregate of one record is that record (same values _pick gives)
            (e,) = evs
            props = {"sources": [e.source], "curated": e.curated, "evidence_count": 1, "best_score": e.score,
                     "models": [e.model] if e.model else []}
            for name, _ in declared[rtype]:
                props[name] = e.properties.get(name)
            edges.append(Edge.model_construct(type=rtype, head_label=hl, head_id=hid, tail_label=tl, tail_id=tid,
                                              properties=props))
            continue
        props = {
            "sources": sorted({e.source for e in evs}),
            "curated": any(e.curated for e in evs),
            "evidence_count": len(evs),
            "best_score": max(e.score for e in evs),
            "models": sorted({e.model for e in evs if e.model}),
        }
        for name, prop in declared[rtype]:
            props[name] = _pick([(e.curated, e.source, e.properties.get(name)) for e in evs], prop.values)
        edges.append(Edge(type=rtype, head_label=hl, head_id=hid, tail_label=tl, tail_id=tid, properties=props))
    return edges
