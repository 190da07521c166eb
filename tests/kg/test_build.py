"""Aggregation from Documents to a GraphBatch (pure, no store)."""

from __future__ import annotations

from kg.build import BuildOptions, aggregate_edges, build_batch, content_hash
from schema.records import local_id
from schema.records import Assertion, Document, EntityType, Mention, Relation

TEXT = "Naloxone reverses clonidine. Clonidine induced hypotension in rats."


def _doc(**kw: object) -> Document:
    base = dict(
        id="PMID:1",
        source_format="pubtator",
        text=TEXT,
        mentions=(
            Mention(label=EntityType.DRUG, text="Naloxone", start=0, end=8, concept_id="MESH:D009270", source="gold:t"),
            Mention(label=EntityType.DRUG, text="clonidine", start=18, end=27, concept_id="MESH:D003000", source="gold:t"),
            Mention(label=EntityType.DRUG, text="Clonidine", start=29, end=38, concept_id="MESH:D003000", source="gold:t"),
            Mention(label=EntityType.DISEASE, text="hypotension", start=47, end=58, concept_id="MESH:D007022", source="gold:t"),
        ),
        relations=(
            Relation(type="CAUSES_ADVERSE_EFFECT", head_id="MESH:D003000", head_label="Drug", tail_id="MESH:D007022",
                     tail_label="Disease", source="gold:t", evidence_text="Clonidine induced hypotension in rats."),
        ),
    )
    base.update(kw)
    return Document(**base)  # type: ignore[arg-type]


def test_one_node_per_concept_with_synonyms() -> None:
    batch = build_batch([_doc()], options=BuildOptions(canonical_ids=False))  # ids as given (the rule: test_canonical.py)
    nodes = {(n.label, n.id): n for n in batch.nodes}
    assert set(nodes) == {("Drug", "MESH:D009270"), ("Drug", "MESH:D003000"), ("Disease", "MESH:D007022")}
    clon = nodes[("Drug", "MESH:D003000")]
    assert clon.properties["synonyms"] == ["clonidine"]  # case-insensitive dedup
    mention = next(m for m in batch.mentions if m.concept_id == "MESH:D003000")
    assert mention.count == 2


def test_same_document_twice_gives_one_evidence() -> None:
    batch = build_batch([_doc(), _doc()])
    assert len(batch.evidence) == 1
    assert batch.edges[0].properties["evidence_count"] == 1
    assert batch.evidence[0].text == "Clonidine induced hypotension in rats."


def test_evidence_counts_documents_and_curated_value_wins() -> None:
    rel = lambda src, cur, sev: Relation(  # noqa: E731
        type="INTERACTS_WITH", head_id="DRUGBANK:DB00682", head_label="Drug", tail_id="DRUGBANK:DB00945",
        tail_label="Drug", source=src, curated=cur, properties={"severity": sev}, score=0.7 if not cur else 1.0,
    )
    docs = [
        Document(id="a", source_format="x", relations=(rel("model", False, "Minor"),)),
        Document(id="b", source_format="x", relations=(rel("model", False, "Minor"),)),
        Document(id="c", source_format="x", relations=(rel("DDInter", True, "Major"),)),
    ]
    (edge,) = build_batch(docs).edges
    assert edge.properties["evidence_count"] == 3
    assert edge.properties["severity"] == "Major"
    assert edge.properties["curated"] is True
    assert edge.properties["sources"] == ["DDInter", "model"]


def test_symmetric_relation_is_canonicalised() -> None:
    r1 = Relation(type="INTERACTS_WITH", head_id="B", head_label="Drug", tail_id="A", tail_label="Drug", source="s")
    r2 = Relation(type="INTERACTS_WITH", head_id="A", head_label="Drug", tail_id="B", tail_label="Drug", source="s")
    batch = build_batch([Document(id="d1", source_format="x", relations=(r1,)), Document(id="d2", source_format="x", relations=(r2,))])
    assert [(e.head_id, e.tail_id) for e in batch.edges] == [("A", "B")]
    assert batch.edges[0].properties["evidence_count"] == 2


def test_patient_facts_only_from_present_mentions() -> None:
    text = "Fever since Monday. Denies cough. Mother had breast cancer."
    doc = Document(
        id="note:1", source_format="text", kind="clinical_note", patient_id="pt-7", text=text,
        mentions=(
            Mention(label=EntityType.SYMPTOM, text="Fever", start=0, end=5, concept_id="HP:0001945", source="m"),
            Mention(label=EntityType.SYMPTOM, text="cough", start=27, end=32, concept_id="HP:0012735", source="m",
                    assertion=Assertion.NEGATED),
            Mention(label=EntityType.DISEASE, text="breast cancer", start=45, end=58, concept_id="MESH:D001943",
                    source="m", assertion=Assertion.FAMILY),
        ),
    )
    batch = build_batch([doc])
    facts = {(e.type, e.tail_id) for e in batch.edges}
    assert facts == {("HAS_FINDING", "HP:0001945")}
    assert batch.evidence[0].text == "Fever since Monday."
    assert {n.label for n in batch.nodes} == {"Symptom", "Disease", "Patient"}


def test_evidence_text_can_be_switched_off() -> None:
    batch = build_batch([_doc()], options=BuildOptions(evidence_text=False))
    assert batch.evidence[0].text is None and batch.evidence[0].start is None
    assert content_hash(_doc(), BuildOptions(evidence_text=False)) != content_hash(_doc(), BuildOptions())


def test_unlinked_mentions_get_stable_local_ids() -> None:
    assert local_id("Disease", "Renal  Failure") == local_id("Disease", "renal failure") == "LOCAL:disease:renal-failure"
    doc = Document(id="x", source_format="t", text="renal failure",
                   mentions=(Mention(label=EntityType.DISEASE, text="renal failure", start=0, end=13, source="s"),))
    assert build_batch([doc]).nodes[0].id == "LOCAL:disease:renal-failure"


def test_aggregate_edges_of_nothing_is_empty() -> None:
    assert aggregate_edges([]) == []
