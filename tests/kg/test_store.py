"""The same behaviour on both stores: counts match gold, re-runs are idempotent, changed
documents replace their evidence, bad input leaves the store unchanged, queries are safe."""

from __future__ import annotations

from pathlib import Path

import pytest

from extractors.linking.canonical import default_canonical_ids
from kg.build import BuildOptions, build_batch
from kg.errors import QueryError
from kg.jobs import run_build
from schema.records import Document, Relation
from kg.store.base import GraphStore
from loaders import read_documents
from loaders.errors import MalformedInputError
from tests.helpers import FIXTURES, shared_data

PUBTATOR = FIXTURES / "bc5cdr" / "CDR_TrainingSet_excerpt.PubTator.txt"


def gold_counts(path: Path) -> tuple[set[tuple[str, str]], set[tuple[str, str]], int]:
    """Independent reading of a BC5CDR PubTator file: (label, id) concepts, CID pairs, #docs.

    Deliberately re-implemented here with plain string handling so the test does not trust
    the loader it is checking. Ids are those the graph keeps under the canonical concept rule
    (a MeSH chemical that DrugBank holds is stored under its DrugBank id).
    """
    rule = default_canonical_ids()
    concepts: set[tuple[str, str]] = set()
    cids: set[tuple[str, str]] = set()
    pmids: set[str] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        cols = line.split("\t")
        if "|t|" in line[:20]:
            pmids.add(line.split("|")[0])
        elif len(cols) >= 6 and cols[4] in ("Chemical", "Disease"):
            label = "Drug" if cols[4] == "Chemical" else "Disease"
            for cid in cols[5].replace(";", "|").split("|"):
                if cid == "-1":
                    words = "-".join("".join(c if c.isalnum() else " " for c in cols[3].lower()).split())
                    concepts.add((label, f"LOCAL:{label.lower()}:{words[:64]}"))
                else:
                    concepts.add((label, rule.resolve(label, f"MESH:{cid}")))
        elif len(cols) == 4 and cols[1] == "CID":
            cids.add((rule.resolve("Drug", f"MESH:{cols[2]}"), rule.resolve("Disease", f"MESH:{cols[3]}")))
    return concepts, cids, len(pmids)


def assert_matches_gold(store: GraphStore, path: Path) -> None:
    concepts, cids, ndocs = gold_counts(path)
    stats = store.stats()
    assert stats["Drug"] == len({c for c in concepts if c[0] == "Drug"})
    assert stats["Disease"] == len({c for c in concepts if c[0] == "Disease"})
    assert stats["Document"] == ndocs
    assert stats["CAUSES_ADVERSE_EFFECT"] == len(cids)
    stored = {(row["head"], row["tail"]) for _, _, row in store.iter_edges("CAUSES_ADVERSE_EFFECT")}
    assert stored == cids


def test_build_matches_gold_and_is_idempotent(store: GraphStore) -> None:
    first = run_build([PUBTATOR], store)
    assert_matches_gold(store, PUBTATOR)
    before = store.stats()
    edges_before = sorted(str(e) for e in store.iter_edges("CAUSES_ADVERSE_EFFECT"))
    second = run_build([PUBTATOR], store)
    assert store.stats() == before
    assert sorted(str(e) for e in store.iter_edges("CAUSES_ADVERSE_EFFECT")) == edges_before
    assert first.write.documents_new == first.documents_read > 0
    assert second.write.documents_unchanged == second.documents_read
    assert second.write.nodes_created == second.write.evidence_created == 0


def test_cid_edges_carry_evidence(store: GraphStore) -> None:
    run_build([PUBTATOR], store)
    rows = store.query(
        "MATCH (c:Drug)-[r:CAUSES_ADVERSE_EFFECT]->(d:Disease) "
        "MATCH (c)-[:SUPPORTED_BY]->(e:Evidence) WHERE e.tail = d.id AND e.rel_type = $t "
        "RETURN c.id AS chem, d.id AS dis, r.evidence_count AS n, r.sources AS sources, e.doc_id AS doc, e.text AS text",
        {"t": "CAUSES_ADVERSE_EFFECT"},
    )
    _, cids, _ = gold_counts(PUBTATOR)
    assert {(r["chem"], r["dis"]) for r in rows} == cids
    assert all(r["n"] >= 1 and r["sources"] == ["gold:bc5cdr"] and r["doc"].startswith("PMID:") for r in rows)
    assert any(r["text"] for r in rows)


def _rel(doc_id: str, tail: str) -> Document:
    return Document(
        id=doc_id, source_format="test",
        relations=(Relation(type="TREATS", head_id="DRUGBANK:DB00945", head_label="Drug", tail_id=tail,
                            tail_label="Disease", source="test", evidence_text="Aspirin treats it."),),
    )


def test_changed_document_replaces_its_evidence(store: GraphStore) -> None:
    store.write(build_batch([_rel("d1", "MESH:D010146"), _rel("d2", "MESH:D010146")]))
    edge = lambda: {(r["tail"], r["evidence_count"]) for _, _, r in store.iter_edges("TREATS")}  # noqa: E731
    assert edge() == {("MESH:D010146", 2)}
    summary = store.write(build_batch([_rel("d1", "MESH:D006261")]))  # d1 now says something else
    assert summary.documents_replaced == 1
    assert edge() == {("MESH:D010146", 1), ("MESH:D006261", 1)}
    assert store.stats()["Evidence"] == 2
    store.write(build_batch([_rel("d2", "MESH:D006261")]))  # last support for the first edge goes
    assert edge() == {("MESH:D006261", 2)}
    assert store.stats()["Document"] == 2


def test_patient_pseudonym_and_evidence_text_switch(store: GraphStore) -> None:
    from schema.records import EntityType, Mention

    doc = Document(id="note:1", source_format="jsonl", kind="clinical_note", patient_id="pt-42",
                   text="Takes warfarin daily.",
                   mentions=(Mention(label=EntityType.DRUG, text="warfarin", start=6, end=14,
                                     concept_id="DRUGBANK:DB00682", source="m"),))
    store.write(build_batch([doc], options=BuildOptions(evidence_text=False)))
    rows = store.query("MATCH (p:Patient {id: $pid})-[:TAKES]->(d:Drug) RETURN d.id AS drug", {"pid": "pt-42"})
    assert rows == [{"drug": "DRUGBANK:DB00682"}]
    texts = store.query("MATCH (e:Evidence) RETURN e.text AS text")
    assert texts == [{"text": None}]


def test_malformed_input_leaves_store_unchanged(store: GraphStore, tmp_path: Path) -> None:
    run_build([PUBTATOR], store)
    before = store.stats()
    good = PUBTATOR.read_text(encoding="utf-8")
    bad = tmp_path / "bad.pubtator"
    # a new, valid first document followed by one whose mention offsets run past its text
    bad.write_text(
        "999001|t|Aspirin and bleeding.\n999001|a|Aspirin caused bleeding.\n"
        "999001\t0\t7\tAspirin\tChemical\tD001241\n\n"
        "999002|t|Short.\n999002|a|Text.\n999002\t0\t500\tnothing\tChemical\tD000001\n\n",
        encoding="utf-8",
    )
    with pytest.raises(MalformedInputError, match="bad.pubtator"):
        run_build([bad], store)
    assert store.stats() == before
    report = run_build([bad], store, on_error="skip")
    assert len(report.errors) == 1 and "999002" in str(report.errors[0])
    assert store.stats()["Document"] == before["Document"] + 1
    assert good  # fixture untouched


def test_query_many_answers_like_separate_queries(store: GraphStore) -> None:
    """Neo4j runs these as one statement (kg.cypher.combine_reads), the embedded store one by
    one: rows, null columns, list properties and empty answers must not differ."""
    from kg import cypher

    store.write(build_batch(read_documents(PUBTATOR)))
    ids = sorted(r["id"] for r in store.query("MATCH (d:Drug) RETURN d.id AS id"))[:6] + ["DRUGBANK:DB99999"]
    queries = [
        (cypher.INTERACTION_DRUG_NODES, {"ids": ids}),
        ("MATCH (d:Disease)<-[r:CAUSES_ADVERSE_EFFECT]-(x:Drug) WHERE x.id IN $ids RETURN x.id AS drug, d.id AS disease, "
         "r.sources AS sources, r.best_score AS score", {"ids": ids}),
        ("MATCH (d:Drug) WHERE d.id IN $absent RETURN d.id AS id", {"absent": ["nothing:here"]}),
    ]
    alone = [store.query(text, params) for text, params in queries]
    assert alone[0] and alone[1] and not alone[2]
    assert any(r["class_id"] is None for r in alone[0]) and all(isinstance(r["sources"], list) for r in alone[1])

    def canon(rows: list[dict]) -> list[str]:
        return sorted(repr(sorted(r.items())) for r in rows)

    assert [canon(rows) for rows in store.query_many(queries)] == [canon(rows) for rows in alone]
    # clashing parameter names (same name, other value) and uncombinable shapes still answer right
    clash = [(queries[0][0], {"ids": ids[:2]}), (queries[0][0], {"ids": ids[2:]}),
             ("MATCH (d:Drug) RETURN count(d) AS n", {})]
    assert [canon(rows) for rows in store.query_many(clash)] == [canon(store.query(t, p)) for t, p in clash]


def test_combine_reads_only_takes_plain_lookups() -> None:
    from kg.cypher import combine_reads

    text = combine_reads(["MATCH (d:Drug) WHERE d.id IN $ids RETURN d.id AS id, d.name AS name",
                          "MATCH (a)-[r:X]->(b) RETURN r.w AS w"])
    assert text is not None and text.count("CALL {") == 2 and text.endswith("RETURN r0, r1")
    assert "collect({id: d.id, name: d.name}) AS r0" in text
    for shape in ["MATCH (d) RETURN count(d) AS n", "MATCH (d) RETURN d.id AS id ORDER BY id",
                  "MATCH (d) RETURN d.id AS id LIMIT 3", "MATCH (d) RETURN DISTINCT d.id AS id",
                  "MATCH (d) RETURN d", "MATCH (d) SET d.x = 1 RETURN d.id AS id",
                  "MATCH (d) RETURN d.id AS id UNION MATCH (e) RETURN e.id AS id"]:
        assert combine_reads(["MATCH (d) RETURN d.id AS id", shape]) is None, shape


def test_read_only_query_refuses_writes(store: GraphStore) -> None:
    with pytest.raises(QueryError):
        store.query("CREATE (n:Drug {id: 'x'})")
    assert store.stats()["Drug"] == 0
    store.query("CREATE (n:Drug {id: $id})", {"id": "x"}, write=True)
    assert store.stats()["Drug"] == 1


def test_store_opened_read_only_refuses_writes_on_its_fast_read_path(tmp_path: Path) -> None:
    from kg.errors import StoreError
    from kg.store.ladybug_store import LadybugStore

    with LadybugStore(tmp_path / "g.lbug") as st:
        run_build([PUBTATOR], st)
        before = st.stats()
    with LadybugStore(tmp_path / "g.lbug", read_only=True) as ro:
        with pytest.raises(QueryError):
            ro.query("MATCH (n:Drug) DETACH DELETE n")
        with pytest.raises(StoreError):
            ro.query("CREATE (n:Drug {id: $id})", {"id": "x"}, write=True)
        assert ro.stats() == before
        assert ro.query("MATCH (d:Drug) RETURN count(d) AS n")[0]["n"] == before["Drug"]


def test_hostile_parameters_are_just_values(store: GraphStore) -> None:
    run_build([PUBTATOR], store)
    hostile = "x'}) MATCH (n) DETACH DELETE n //"
    assert store.query("MATCH (d:Drug) WHERE d.name = $name RETURN d.id AS id", {"name": hostile}) == []
    assert store.stats()["Drug"] > 0


@pytest.mark.slow
def test_full_bc5cdr_train_matches_gold(store: GraphStore) -> None:
    path = shared_data("corpora", "bc5cdr", "pubtator", "CDR_TrainingSet.PubTator.txt")
    run_build([path], store)
    assert_matches_gold(store, path)
    before = store.stats()
    run_build([path], store)
    assert store.stats() == before


def test_loader_and_store_agree_on_documents(store: GraphStore) -> None:
    docs = list(read_documents(PUBTATOR))
    store.write(build_batch(docs))
    assert store.stats()["Document"] == len(docs)


BIOC_BROKEN = (
    '<?xml version="1.0" encoding="UTF-8"?><collection><source>t</source><date></date><key></key>'
    "<document><id>900001</id><passage><offset>0</offset><text>Aspirin.</text>"
    '<annotation id="0"><infon key="type">Chemical</infon><infon key="MESH">D001241</infon>'
    '<location offset="0" length="7"/><text>Aspirin</text></annotation></passage></document>'
    "<document><id>900002</id><passage><offset>0</offset><text>Broken"
)


@pytest.mark.parametrize(
    ("name", "content", "fmt"),
    [
        ("broken.BioC.xml", BIOC_BROKEN, "bioc"),
        ("bundle.json", '{"resourceType": "Bundle", "entry": [', "fhir"),
        ("patient.json", '{"resourceType": "Patient", "id": "p1"}', "fhir"),
    ],
)
def test_malformed_bioc_and_fhir_leave_store_unchanged(
    store: GraphStore, tmp_path: Path, name: str, content: str, fmt: str
) -> None:
    run_build([PUBTATOR], store)
    before = store.stats()
    bad = tmp_path / name
    bad.write_text(content, encoding="utf-8")
    for mode in ("fail", "skip"):
        with pytest.raises(MalformedInputError, match=name.replace(".", r"\.")):
            run_build([bad], store, format=fmt, on_error=mode)  # type: ignore[arg-type]
        assert store.stats() == before


def test_rebuild_edges_restores_an_edge_lost_from_its_evidence(store: GraphStore) -> None:
    """A store whose edge went missing while its evidence stayed (the LadybugDB partial-MERGE
    drop this guards against) is repaired by rebuild_edges, with the same provenance."""
    from schema.records import Document, EntityType, Mention, Relation

    doc = Document(
        id="curated:1", source_format="test", kind="curated",
        mentions=(Mention(label=EntityType.DRUG, text="Warfarin", concept_id="DRUGBANK:DB00682", source="test"),
                  Mention(label=EntityType.DRUG, text="Aspirin", concept_id="DRUGBANK:DB00945", source="test")),
        relations=(Relation(type="INTERACTS_WITH", head_id="DRUGBANK:DB00682", head_label="Drug", tail_id="DRUGBANK:DB00945",
                            tail_label="Drug", source="test", curated=True, properties={"severity": "Major"}),),
    )
    store.write(build_batch([doc]))
    before = store.iter_edges("INTERACTS_WITH")
    assert len(before) == 1
    store.query("MATCH (:Drug)-[r:INTERACTS_WITH]->(:Drug) DELETE r", write=True)
    assert store.iter_edges("INTERACTS_WITH") == []
    summary = store.rebuild_edges(["INTERACTS_WITH"])
    assert summary.edges_written == 1
    assert store.iter_edges("INTERACTS_WITH") == before
    assert store.rebuild_edges().edges_written == 1  # idempotent, all types
