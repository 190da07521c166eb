"""The medkg CLI end to end on the embedded store (and Neo4j when reachable)."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import pytest
from rdflib import Graph, Namespace, URIRef
from typer.testing import CliRunner

from kg.cli import app
from tests.helpers import FIXTURES

runner = CliRunner()


def medkg(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


@pytest.fixture
def db(tmp_path: Path) -> list[str]:
    return ["--db", str(tmp_path / "g.lbug")]


def test_build_sample_then_query_stats_and_rerun(db: list[str]) -> None:
    """The sample: 10 annotated abstracts + a FHIR bundle (no model needed) + 3 raw notes that go
    through the shipped extraction pipeline (NER, assertion, linking, RE)."""
    code, out = medkg("build", "--sample", "-q", *db)
    assert code == 0, out
    assert "14 new" in out
    code, out = medkg("stats", "--json", *db)
    stats = json.loads(out)
    assert stats["Document"] == 14 and stats["Patient"] == 4 and stats["CAUSES_ADVERSE_EFFECT"] > 0
    code, out = medkg(
        "query", "MATCH (p:Patient {id: $p})-[r]->(x) WHERE x.name IS NOT NULL RETURN label(r) AS rel, x.id AS id, x.name AS name",
        "--param", "p=pseudo-0001", "--json", *db,
    )
    facts = [json.loads(line) for line in out.splitlines()]
    assert {"rel": "TAKES", "id": "DRUGBANK:DB00682", "name": "Warfarin"} in facts  # linked to DrugBank
    names = " ".join(f["name"].lower() for f in facts)
    assert "chest pain" not in names and "breath" not in names  # "Denies chest pain or shortness of breath"
    assert "breast" not in names  # "Mother had breast cancer": family history, not the patient's
    code, out = medkg("build", "--sample", "-q", *db)
    assert code == 0 and "14 unchanged" in out
    assert json.loads(medkg("stats", "--json", *db)[1]) == stats
    code, out = medkg(
        "query", "MATCH (d:Drug) WHERE d.id = $id OR $id IN d.xrefs "
        "MATCH (d)-[r:CAUSES_ADVERSE_EFFECT]->(x:Disease) RETURN d.id AS drug, x.id AS disease, x.xrefs AS xrefs",
        "--param", "id=MESH:D008012", "--json", *db,
    )
    assert code == 0, out
    rows = [json.loads(line) for line in out.splitlines()]
    # the gold MeSH ids, stored under the canonical rule: lidocaine as DrugBank (heart arrest keeps its MeSH id:
    # DO calls it "cardiac arrest", a name the rule does not equate)
    assert any(r["drug"] == "DRUGBANK:DB00281" and r["disease"] == "MESH:D006323" for r in rows), rows


def test_query_is_read_only_unless_asked(db: list[str]) -> None:
    medkg("build", str(FIXTURES / "bc5cdr" / "CDR_TrainingSet_excerpt.PubTator.txt"), "-q", *db)
    code, out = medkg("query", "MATCH (n:Drug) DETACH DELETE n", *db)
    assert code != 0 and "read-only" in out
    assert json.loads(medkg("stats", "--json", *db)[1])["Drug"] > 0


def test_bad_param_and_bad_input_give_clear_errors(db: list[str], tmp_path: Path) -> None:
    code, out = medkg("query", "RETURN 1", "--param", "no-equals-sign", *db)
    assert code == 2 and "name=value" in out
    bad = tmp_path / "broken.xml"
    bad.write_text("<collection><document><id>1</id><passage>", encoding="utf-8")
    code, out = medkg("build", str(bad), "--format", "bioc", "-q", *db)
    assert code == 2 and "broken.xml" in out
    code, out = medkg("build", str(tmp_path / "missing.txt"), "-q", *db)
    assert code == 2 and "missing.txt" in out


def test_export_formats(db: list[str], tmp_path: Path) -> None:
    medkg("build", str(FIXTURES / "bc5cdr" / "CDR_TrainingSet_excerpt.PubTator.txt"), "-q", *db)
    stats = json.loads(medkg("stats", "--json", *db)[1])
    code, out = medkg("export", "--format", "graphml", "--out", str(tmp_path / "g.graphml"), *db)
    assert code == 0, out
    g = nx.read_graphml(tmp_path / "g.graphml")
    assert g.number_of_nodes() == sum(stats[k] for k in ("Drug", "Disease", "Symptom", "Document", "Evidence", "Patient"))
    code, out = medkg("export", "--format", "json", "--out", str(tmp_path / "g.json"), *db)
    data = json.loads((tmp_path / "g.json").read_text())
    assert len(data["edges"]) == sum(v for k, v in stats.items() if k.isupper())
    code, out = medkg("export", "--format", "turtle", "--out", str(tmp_path / "g.ttl"), *db)
    assert code == 0, out
    rdf = Graph().parse(tmp_path / "g.ttl", format="turtle")
    medkg_ns = Namespace("https://w3id.org/medkg/schema#")
    triples = list(rdf.triples((None, medkg_ns.CAUSES_ADVERSE_EFFECT, None)))
    assert len(triples) == stats["CAUSES_ADVERSE_EFFECT"]
    assert all(str(s).startswith(("http://id.nlm.nih.gov/mesh/", "https://go.drugbank.com/drugs/")) for s, _, _ in triples)
    prov = URIRef("http://www.w3.org/ns/prov#wasDerivedFrom")
    assert len(list(rdf.triples((None, prov, None)))) >= stats["Evidence"] * 2
    code, out = medkg("export", "--format", "xml", "--out", str(tmp_path / "g.xml"), *db)
    assert code == 2 and "turtle" in out


@pytest.mark.parametrize("target", ["neo4j", "ladybug", "owl", "markdown"])
def test_schema_command(target: str) -> None:
    code, out = medkg("schema", "--target", target)
    assert code == 0 and "Drug" in out


def test_neo4j_store_needs_uri(db: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEDKG_NEO4J_URI", raising=False)
    code, out = medkg("stats", "--store", "neo4j")
    assert code == 2 and "MEDKG_NEO4J_URI" in out


def test_export_iris_never_hold_what_turtle_forbids() -> None:
    """An id with a control character, a space or <>"{}|\\^` becomes a hashed IRI, whatever its
    prefix (a NUL in a pseudonym made the Turtle export invalid)."""
    from kg.export import iri

    assert str(iri("DOID:123")) == "http://purl.obolibrary.org/obo/DOID_123"
    for curie in ("pseudo:p\x00x", "HP:00\n1", "note:a b", "MESH:D00<1", "x:\x7f"):
        text = str(iri(curie))
        assert text.startswith("https://w3id.org/medkg/id/") and not any(c <= " " or c in '<>"{}|\\^`\x7f' for c in text), curie
