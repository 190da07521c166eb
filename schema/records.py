"""Typed records passed across every stage boundary.

loaders -> :class:`Document` -> extractors -> :class:`Mention` / :class:`Relation`
-> kg.build -> :class:`GraphBatch` (:class:`Node`, :class:`Edge`, :class:`EvidenceRecord`) -> store.

All records are frozen and reject unknown fields, so a typo in a loader or extractor fails at
construction instead of silently dropping data further down the line. Every record type of the
project (reports of the interaction check and diagnosis included) derives from :class:`Record`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Record(BaseModel):
    """Base of every record: frozen, and unknown fields are an error."""

    model_config = ConfigDict(frozen=True, extra="forbid")


_Record = Record


class EntityType(StrEnum):
    """Concept node labels that mentions can be typed with."""

    DRUG = "Drug"
    DISEASE = "Disease"
    SYMPTOM = "Symptom"


class Assertion(StrEnum):
    """Assertion status of a mention (ConText categories).

    Only ``present`` mentions become patient findings/conditions; the others are kept as
    document mentions so nothing is lost, but never asserted about the patient.
    """

    PRESENT = "present"
    NEGATED = "negated"
    POSSIBLE = "possible"
    HYPOTHETICAL = "hypothetical"
    HISTORICAL = "historical"
    FAMILY = "family"


class Mention(_Record):
    """One typed, optionally linked, entity mention in a document.

    ``start``/``end`` are character offsets into ``Document.text``; both are ``None`` for facts
    that come from structured records (e.g. a FHIR Condition) rather than from text.
    """

    label: EntityType
    text: str
    start: int | None = None
    end: int | None = None
    concept_id: str | None = Field(default=None, description="CURIE, e.g. MESH:D014859; None if unlinked")
    concept_name: str | None = None
    score: float = 1.0
    assertion: Assertion = Assertion.PRESENT
    source: str = Field(description="who produced it: 'gold:bc5cdr', 'fhir', a model name...")

    @model_validator(mode="after")
    def _check_span(self) -> "Mention":
        if (self.start is None) != (self.end is None):
            raise ValueError("start and end must both be set or both be None")
        if self.start is not None and self.end is not None and not 0 <= self.start <= self.end:
            raise ValueError(f"bad span {self.start}..{self.end}")
        return self


class Relation(_Record):
    """A typed relation between two concepts, as stated by one document (or curated record).

    ``evidence_text`` is the supporting sentence when known; ``properties`` carries
    type-specific attributes declared in the schema (e.g. ``severity``, ``interaction_type``).
    """

    type: str
    head_id: str
    head_label: str
    tail_id: str
    tail_label: str
    score: float = 1.0
    source: str
    curated: bool = False
    model: str | None = None
    evidence_text: str | None = None
    evidence_start: int | None = None
    evidence_end: int | None = None
    properties: dict[str, Any] = Field(default_factory=dict)


class ConceptProperties(_Record):
    """Properties a source states about a concept itself rather than about a relation, e.g. a
    disease's xrefs or its prevalence (the diagnosis prior). Names must be declared for the
    label in the schema; ``kg.build`` checks them."""

    label: EntityType
    concept_id: str
    properties: dict[str, Any] = Field(default_factory=dict)


class Document(_Record):
    """One input unit: an abstract, a clinical note, or one patient's FHIR bundle.

    ``mentions``/``relations`` hold annotations that arrive with the input (gold corpora,
    structured records); extractors add predicted ones downstream. ``patient_id`` is the
    pseudonym given by the source; the graph stores nothing else that identifies a patient.
    """

    id: str
    source_format: str
    text: str = ""
    title: str | None = None
    kind: str = Field(default="literature", description="'literature' | 'clinical_note' | 'record'")
    patient_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    mentions: tuple[Mention, ...] = ()
    relations: tuple[Relation, ...] = ()
    concepts: tuple[ConceptProperties, ...] = ()
    """Concept-level properties stated by this document (curated sources); see :class:`ConceptProperties`."""

    @model_validator(mode="after")
    def _check(self) -> "Document":
        if not self.id:
            raise ValueError("document id must not be empty")
        n = len(self.text)
        for m in self.mentions:
            if m.end is not None and m.end > n:
                raise ValueError(f"mention {m.text!r} span {m.start}..{m.end} exceeds text length {n}")
        return self


class Node(_Record):
    """A node ready to store: one per (label, id)."""

    label: str
    id: str
    properties: dict[str, Any] = Field(default_factory=dict)


class Edge(_Record):
    """A relation edge ready to store: one per (type, head, tail), aggregated over evidence."""

    type: str
    head_label: str
    head_id: str
    tail_label: str
    tail_id: str
    properties: dict[str, Any] = Field(default_factory=dict)


class EvidenceRecord(_Record):
    """The support one document gives one relation (one per (document, type, head, tail))."""

    id: str
    doc_id: str
    rel_type: str
    head_label: str
    head_id: str
    tail_label: str
    tail_id: str
    score: float
    source: str
    curated: bool
    model: str | None = None
    text: str | None = None
    start: int | None = None
    end: int | None = None
    properties: dict[str, Any] = Field(default_factory=dict)


class DocumentRecord(_Record):
    """A stored document: id, provenance and a content hash used to skip unchanged re-loads."""

    id: str
    source_format: str
    kind: str
    title: str | None
    content_hash: str
    patient_id: str | None = None


class MentionEdge(_Record):
    """Document -[:MENTIONS]-> concept, with how often and how confidently it was mentioned."""

    doc_id: str
    label: str
    concept_id: str
    count: int
    best_score: float
    assertions: tuple[str, ...]


class GraphBatch(_Record):
    """Everything a set of documents contributes to the graph, deduplicated in Python.

    ``documents`` are written with their ``content_hash``; a store replaces the previous
    contribution (mentions and evidence) of any document whose hash changed.
    """

    documents: tuple[DocumentRecord, ...] = ()
    nodes: tuple[Node, ...] = ()
    mentions: tuple[MentionEdge, ...] = ()
    evidence: tuple[EvidenceRecord, ...] = ()
    edges: tuple[Edge, ...] = Field(
        default=(),
        description="edges aggregated over this batch's evidence only; a store re-aggregates "
        "over all stored evidence for the affected (type, head, tail) keys",
    )


Extractor = Callable[[Sequence[Document]], list[Document]]
"""Turns a chunk of documents into the same documents with predicted mentions/relations added
(the extraction pipeline, or anything with its shape: a test double, a remote service)."""


def local_id(label: str, text: str) -> str:
    """Stable ID for an unlinked mention: the same surface form gets the same node everywhere."""
    norm = re.sub(r"[^a-z0-9]+", "-", " ".join(text.lower().split())).strip("-")[:64] or "x"
    return f"LOCAL:{label.lower()}:{norm}"
