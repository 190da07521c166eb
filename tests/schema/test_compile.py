"""Golden-file tests for every compiled schema artefact, plus whole-schema validation."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from rdflib import OWL, RDF, RDFS, Graph, Namespace

from schema.compile import GOLDEN_DIR, ladybug_ddl, neo4j_ddl, render_all
from schema.model import SchemaError, load_schema, parse_schema

RAW = yaml.safe_load((Path(__file__).resolve().parents[2] / "schema" / "medkg.yaml").read_text())


@pytest.mark.parametrize("name", ["neo4j.cypher", "ladybug.cypher", "schema.ttl", "SCHEMA.md", "neo4j-import.headers"])
def test_compiled_output_matches_golden(name: str) -> None:
    expected = (GOLDEN_DIR / name).read_text(encoding="utf-8")
    assert render_all(load_schema())[name] == expected, (
        f"{name} changed: review, then run `python -m schema.compile --write-golden`"
    )


def test_required_types_are_declared() -> None:
    s = load_schema()
    assert {"Drug", "Disease", "Symptom", "Document", "Evidence", "Patient"} <= set(s.nodes)
    assert {
        "INTERACTS_WITH", "TREATS", "CAUSES_ADVERSE_EFFECT", "HAS_SYMPTOM", "MENTIONS",
        "SUPPORTED_BY", "HAS_CONDITION", "TAKES", "HAS_FINDING",
    } <= set(s.edges)
    assert s.edge("INTERACTS_WITH").symmetric
    assert ("Drug", "Symptom") in s.edge("CAUSES_ADVERSE_EFFECT").endpoints
    for rel in s.relation_types():
        assert {"sources", "curated", "evidence_count", "best_score", "models"} <= set(s.edge_properties(rel))


def test_every_node_has_unique_constraint_and_table() -> None:
    s = load_schema()
    ddl = neo4j_ddl(s)
    lb = ladybug_ddl(s)
    for label in s.nodes:
        assert any(f"FOR (n:{label}) REQUIRE n.id IS UNIQUE" in d for d in ddl)
        assert any(d.startswith(f"CREATE NODE TABLE IF NOT EXISTS {label}(id STRING PRIMARY KEY") for d in lb)


def test_owl_rendering_is_valid_rdf() -> None:
    g = Graph().parse(data=render_all(load_schema())["schema.ttl"], format="turtle")
    ns = Namespace(load_schema().namespace)
    assert (ns.Drug, RDF.type, OWL.Class) in g
    assert (ns.INTERACTS_WITH, RDF.type, OWL.SymmetricProperty) in g
    assert (ns.TREATS, RDFS.domain, ns.Drug) in g
    assert (ns.TREATS, RDFS.range, ns.Disease) in g


def _mutated(path: list[str], value: object) -> dict:
    data = copy.deepcopy(RAW)
    cur = data
    for key in path[:-1]:
        cur = cur[key]
    cur[path[-1]] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (["edges", "TREATS", "endpoints"], [["Drug", "Illness"]], "unknown node 'Illness'"),
        (["nodes", "Drug", "properties", "end"], {"type": "int"}, "bad or reserved property name"),
        (["nodes", "Drug", "properties", "na-me"], {"type": "string"}, "bad or reserved property name"),
        (["edges", "INTERACTS_WITH", "endpoints"], [["Drug", "Disease"]], "symmetric edge"),
        (["edges", "TREATS", "properties"], {"sources": {"type": "string"}}, "redeclares provenance"),
    ],
)
def test_invalid_schema_is_rejected(path: list[str], value: object, message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        parse_schema(_mutated(path, value))


def test_unknown_label_lookup_names_the_choices() -> None:
    with pytest.raises(SchemaError, match="known: .*Drug"):
        load_schema().node("Gene")
