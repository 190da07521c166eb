"""The canonical concept rule: gold, extracted and curated mentions of one drug are one node on
both stores, found by name or by any of its ids, with all the evidence."""

from __future__ import annotations

import pytest

from extractors.linking.canonical import CanonicalIds, default_canonical_ids
from extractors.linking.kb import KBEntry
from kg.build import BuildOptions, build_batch
from kg.store.base import GraphStore
from schema.records import Document, EntityType, Mention, Relation

KB = [
    KBEntry(concept_id="DRUGBANK:DB00945", label=EntityType.DRUG, name="Aspirin", source="drugbank", xrefs=("MESH:D001241",)),
    KBEntry(concept_id="DRUGBANK:DB00682", label=EntityType.DRUG, name="Warfarin", source="drugbank", xrefs=("MESH:D014859",)),
    # one MeSH descriptor claimed by two DrugBank entries: ambiguous, left alone
    KBEntry(concept_id="DRUGBANK:DB11344", label=EntityType.DRUG, name="A salt", source="drugbank", xrefs=("MESH:D008610",)),
    KBEntry(concept_id="DRUGBANK:DB14123", label=EntityType.DRUG, name="B salt", source="drugbank", xrefs=("MESH:D008610",)),
    KBEntry(concept_id="DOID:9351", label=EntityType.DISEASE, name="diabetes mellitus", source="do",
            xrefs=("MESH:D003920", "OMIM:222100", "UMLS:C0011849")),
    KBEntry(concept_id="OMIM:222100", label=EntityType.DISEASE, name="Diabetes mellitus, type 1", source="hpo", xrefs=("DOID:9351",)),
    KBEntry(concept_id="HP:0002013", label=EntityType.SYMPTOM, name="Vomiting", source="hpo", xrefs=("MESH:D014839", "UMLS:C0042963")),
    KBEntry(concept_id="DOID:1", label=EntityType.DISEASE, name="gastrointestinal hemorrhage", source="do", xrefs=("MESH:D006471",)),
    # a broader term an ontology lists: not the same concept, not folded
    KBEntry(concept_id="DOID:178", label=EntityType.DISEASE, name="vascular disease", source="do",
            xrefs=("MESH:D014652", "MESH:D000783")),
    # a MeSH drug class against a compound of nearly the same name
    KBEntry(concept_id="DRUGBANK:DB02757", label=EntityType.DRUG, name="Pyrazole", source="drugbank", xrefs=("MESH:D011720",)),
]


@pytest.fixture(scope="module")
def rule() -> CanonicalIds:
    return CanonicalIds.from_kb(KB)


def test_rule_maps_other_vocabularies_to_the_canonical_id_and_leaves_the_rest(rule: CanonicalIds, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert rule.resolve("Drug", "MESH:D001241") == "DRUGBANK:DB00945"
    assert rule.resolve("Drug", "DRUGBANK:DB00945") == "DRUGBANK:DB00945"
    assert rule.resolve("Drug", "MESH:D008610") == "MESH:D008610"  # two owners: not merged
    assert rule.resolve("Disease", "MESH:D003920") == "DOID:9351"
    assert rule.resolve("Disease", "OMIM:222100") == "OMIM:222100"  # HPO disease records keep their ids
    assert rule.resolve("Symptom", "MESH:D014839") == "HP:0002013"
    assert rule.resolve("Drug", "MESH:D003920") == "MESH:D003920"  # the rule is per label
    assert rule.resolve("Disease", "MESH:D014652") == "DOID:178"  # Vascular Diseases: the same name
    assert rule.resolve("Disease", "MESH:D000783") == "MESH:D000783"  # Aneurysm: a narrower term it lists
    assert rule.resolve("Drug", "MESH:D011720") == "MESH:D011720"  # Pyrazoles (class) is not Pyrazole
    assert rule.xrefs("Drug", "DRUGBANK:DB00945") == ("MESH:D001241",)
    rule.save(tmp_path / "t.json.gz")
    again = CanonicalIds.load(tmp_path / "t.json.gz")
    assert again.resolve("Disease", "MESH:D003920") == "DOID:9351" and len(again) == len(rule)


def test_default_table_follows_the_default_kb() -> None:
    table = default_canonical_ids()
    assert table.resolve("Drug", "MESH:D001241") == "DRUGBANK:DB00945"  # aspirin
    assert table.resolve("Drug", "MESH:D014859") == "DRUGBANK:DB00682"  # warfarin
    assert "MESH:D001241" in table.xrefs("Drug", "DRUGBANK:DB00945")


TEXT = "Aspirin caused gastrointestinal bleeding."


def _docs() -> list[Document]:
    gold = Document(
        id="PMID:1", source_format="pubtator", text=TEXT,
        mentions=(Mention(label=EntityType.DRUG, text="Aspirin", start=0, end=7, concept_id="MESH:D001241", source="gold:bc5cdr"),
                  Mention(label=EntityType.DISEASE, text="gastrointestinal bleeding", start=15, end=40, concept_id="MESH:D006471",
                          source="gold:bc5cdr")),
        relations=(Relation(type="CAUSES_ADVERSE_EFFECT", head_id="MESH:D001241", head_label="Drug", tail_id="MESH:D006471",
                            tail_label="Disease", source="gold:bc5cdr", evidence_text=TEXT),),
    )
    extracted = Document(
        id="PMID:2", source_format="text", text="ASA increased bleeding.",
        mentions=(Mention(label=EntityType.DRUG, text="ASA", start=0, end=3, concept_id="DRUGBANK:DB00945", source="medkg-ner"),),
        relations=(Relation(type="CAUSES_ADVERSE_EFFECT", head_id="DRUGBANK:DB00945", head_label="Drug", tail_id="DOID:1",
                            tail_label="Disease", source="medkg-re:test", score=0.9, evidence_text="ASA increased bleeding."),),
    )
    curated = Document(
        id="curated:test:1", source_format="curated", kind="curated",
        relations=(Relation(type="INTERACTS_WITH", head_id="MESH:D014859", head_label="Drug", tail_id="DRUGBANK:DB00945",
                            tail_label="Drug", source="test-db", curated=True, properties={"severity": "major"}),),
    )
    return [gold, extracted, curated]


def test_jobs_write_under_the_default_table() -> None:
    from kg.jobs.canonical import canonical_setup

    options, table = canonical_setup()
    assert options.canonical_version and table is not None
    gold = _docs()[:1]
    batch = build_batch(gold, options=options, canonical=table)
    assert {n.id for n in batch.nodes if n.label == "Drug"} == {"DRUGBANK:DB00945"}
    off, none = canonical_setup(BuildOptions(canonical_ids=False))
    assert none is None and not off.canonical_version
    assert {n.id for n in build_batch(gold, options=off).nodes if n.label == "Drug"} == {"MESH:D001241"}


def test_build_writes_one_node_per_concept_with_its_other_ids(rule: CanonicalIds) -> None:
    batch = build_batch(_docs(), canonical=rule)
    drugs = {n.id: n for n in batch.nodes if n.label == "Drug"}
    assert set(drugs) == {"DRUGBANK:DB00945", "DRUGBANK:DB00682"}
    assert drugs["DRUGBANK:DB00945"].properties["xrefs"] == ["MESH:D001241"]
    assert {n.id for n in batch.nodes if n.label == "Disease"} == {"DOID:1"}
    adverse = [e for e in batch.evidence if e.rel_type == "CAUSES_ADVERSE_EFFECT"]
    assert {(e.head_id, e.tail_id) for e in adverse} == {("DRUGBANK:DB00945", "DOID:1")}
    assert len(adverse) == 2  # the gold and the extracted statement, one edge
    off = build_batch(_docs(), canonical=rule, options=BuildOptions(canonical_ids=False))
    assert {n.id for n in off.nodes if n.label == "Drug"} == {"MESH:D001241", "DRUGBANK:DB00945", "MESH:D014859"}


def test_both_stores_answer_by_name_or_any_id_with_all_the_evidence(store: GraphStore, rule: CanonicalIds) -> None:
    store.write(build_batch(_docs(), canonical=rule, schema=store.schema))
    for key in ("MESH:D001241", "DRUGBANK:DB00945"):
        rows = store.query(
            "MATCH (d:Drug) WHERE d.id = $id OR $id IN d.xrefs "
            "MATCH (d)-[r:CAUSES_ADVERSE_EFFECT]->(x:Disease) RETURN d.id AS id, x.id AS disease, r.evidence_count AS n",
            {"id": key},
        )
        assert rows == [{"id": "DRUGBANK:DB00945", "disease": "DOID:1", "n": 2}]
    by_name = store.query("MATCH (d:Drug) WHERE toLower(d.name) = 'aspirin' RETURN d.id AS id")
    assert by_name == [{"id": "DRUGBANK:DB00945"}]
    ddi = store.query(
        "MATCH (d:Drug)-[r:INTERACTS_WITH]-(o:Drug) WHERE $id IN d.xrefs RETURN o.id AS other, r.evidence_count AS n",
        {"id": "MESH:D001241"},
    )
    assert ddi == [{"other": "DRUGBANK:DB00682", "n": 1}]


def test_two_statements_folded_onto_one_edge_keep_the_strongest_weight(rule: CanonicalIds) -> None:
    doc = Document(
        id="curated:hsdn:1", source_format="curated", kind="curated",
        relations=tuple(
            Relation(type="HAS_SYMPTOM", head_id="DOID:9351", head_label="Disease", tail_id=sid, tail_label="Symptom",
                     source="hsdn", curated=True, properties={"weight": w})
            for sid, w in (("HP:0002013", 2.5), ("MESH:D014839", 7.0), ("HP:0002013", 1.0))
        ),
    )
    (ev,) = build_batch([doc], canonical=rule).evidence
    assert (ev.tail_id, ev.properties["weight"]) == ("HP:0002013", 7.0)


def test_diagnosis_accepts_a_folded_symptom_id() -> None:
    from kg.diagnosis.findings import _canonical_symptom

    assert _canonical_symptom("MESH:D014839") == "HP:0002013"  # Vomiting
    assert _canonical_symptom("HP:0002013") == "HP:0002013"
