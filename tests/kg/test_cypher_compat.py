"""One Cypher for both stores: the same Neo4j-style queries, run as a user runs them
(``GraphStore.run_user_query``) on the embedded store and on Neo4j holding the same graph, must
give identical column names and rows. The graph: the curated fixtures (HPO excerpt, Disease
Ontology excerpt, public DDI lists excerpt, common-disease profiles) through the normal write path.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from kg.build import build_batch
from kg.config import QueryLimits
from kg.errors import QueryRefusedError
from kg.store.base import GraphStore
from kg.store.cypher_compat import return_columns, translate
from kg.store.ladybug_store import LadybugStore
from loaders import pubtator
from loaders.curated import common_diseases, disease_ontology, hpo, public_pddi
from tests.conftest import _neo4j_store
from tests.helpers import FIXTURES

LIMITS = QueryLimits(max_rows=1000)

QUERIES: list[tuple[str, dict]] = [
    # the README's queries
    ("MATCH (d:Drug {id: $id})-[r]->(x) RETURN type(r) AS rel, x.name AS target ORDER BY rel, target",
     {"id": "MESH:D008750"}),
    ("MATCH (c:Drug {id: $drug})-[r:CAUSES_ADVERSE_EFFECT]->(d:Disease) "
     "MATCH (c)-[:SUPPORTED_BY]->(e:Evidence) WHERE e.rel_type = 'CAUSES_ADVERSE_EFFECT' AND e.tail = d.id "
     "RETURN d.name, r.evidence_count, e.doc_id, e.text", {"drug": "MESH:D008750"}),
    # counts and aggregations
    ("MATCH (d:Disease) RETURN count(d)", {}),
    ("MATCH (d:Disease) RETURN count(*) AS n", {}),
    ("MATCH (s:Symptom) RETURN count(DISTINCT s.id) AS symptoms", {}),
    ("MATCH (d:Disease)-[r:HAS_SYMPTOM]->(s:Symptom) RETURN count(r) AS edges, count(DISTINCT d) AS diseases", {}),
    ("MATCH (d:Disease)-[r:HAS_SYMPTOM]->(:Symptom) RETURN d.id, count(r) AS n ORDER BY n DESC, d.id LIMIT 5", {}),
    ("MATCH (d:Disease)-[r:HAS_SYMPTOM]->(:Symptom) WITH d, count(r) AS n WHERE n >= 3 RETURN d.id ORDER BY d.id", {}),
    ("MATCH (:Disease)-[r:HAS_SYMPTOM]->(:Symptom) RETURN min(r.frequency), max(r.frequency)", {}),
    ("MATCH (:Disease)-[r:HAS_SYMPTOM]->(:Symptom) WHERE r.frequency IS NOT NULL RETURN round(avg(r.frequency), 3) AS mean", {}),
    ("UNWIND [1, 2, 3] AS x RETURN sum(x) AS total", {}),
    ("MATCH (d:Drug) RETURN count(d) AS drugs", {}),
    ("MATCH (a:Drug)-[r:INTERACTS_WITH]-(b:Drug) RETURN r.severity AS severity, count(*) AS n ORDER BY severity", {}),
    ("MATCH (a:Drug)-[r:INTERACTS_WITH]->(b:Drug) RETURN count(r)", {}),
    # lookups, parameters, strings
    ("MATCH (d:Disease {id: $id}) RETURN d.name", {"id": "OMIM:154700"}),
    ("MATCH (d:Disease) WHERE d.id = $id RETURN d.name AS name, d.sources AS sources", {"id": "DOID:14323"}),
    ("MATCH (d:Disease) WHERE d.id IN $ids RETURN d.id ORDER BY d.id", {"ids": ["OMIM:154700", "DOID:2394", "NOPE"]}),
    ("MATCH (d:Disease) WHERE toLower(d.name) CONTAINS $q RETURN d.id ORDER BY d.id", {"q": "marfan"}),
    ("MATCH (d:Disease) WHERE d.name STARTS WITH 'Marfan' RETURN d.id ORDER BY d.id", {}),
    ("MATCH (d:Disease) WHERE d.name ENDS WITH 'syndrome' RETURN d.id ORDER BY d.id LIMIT 3", {}),
    ("MATCH (d:Disease) WHERE d.name =~ '(?i)marfan.*' RETURN d.id ORDER BY d.id", {}),
    ("MATCH (d:Disease {id: 'DOID:14323'}) RETURN toLower(d.name), toUpper(d.name)", {}),
    ("MATCH (d:Disease {id: 'DOID:14323'}) RETURN coalesce(d.typical_sex, 'any') AS sex", {}),
    ("MATCH (d:Disease {id: 'DOID:14323'}) RETURN size(d.name) AS chars", {}),
    ("MATCH (d:Disease {id: 'DOID:14323'}) RETURN substring(d.name, 0, 6) AS start", {}),
    ("MATCH (d:Disease {id: 'DOID:14323'}) RETURN split(d.name, ' ') AS words", {}),
    ("MATCH (d:Disease {id: 'DOID:14323'}) RETURN d.name + ' (' + d.id + ')' AS label", {}),
    ("MATCH (d:Disease {id: 'DOID:2394'}) RETURN toString(d.prevalence_per_100k) AS s, toInteger(d.onset_age_min) AS a", {}),
    ("RETURN toFloat('2.5') AS f, toInteger('42') AS i", {}),
    ("MATCH (d:Disease {id: 'DOID:2394'}) RETURN d.prevalence_per_100k * 2 AS doubled", {}),
    # ordering and pagination
    ("MATCH (d:Disease) RETURN d.id ORDER BY d.id LIMIT 3", {}),
    ("MATCH (d:Disease) RETURN d.id ORDER BY d.id SKIP 2 LIMIT 3", {}),
    ("MATCH (d:Disease) RETURN d.id AS id ORDER BY id DESC LIMIT 4", {}),
    ("MATCH (d:Disease) RETURN DISTINCT d.typical_sex AS sex ORDER BY sex", {}),
    ("MATCH (s:Symptom) RETURN s.id ORDER BY s.id SKIP $skip LIMIT $limit", {"skip": 3, "limit": 4}),
    # neighbourhoods and paths
    ("MATCH (d:Disease {id: 'OMIM:154700'})-[:HAS_SYMPTOM]->(s:Symptom) RETURN s.id ORDER BY s.id", {}),
    ("MATCH (d:Disease {id: 'OMIM:154700'})-[r:HAS_SYMPTOM]->(s:Symptom) RETURN s.name, r.frequency ORDER BY r.frequency DESC, s.name LIMIT 5", {}),
    ("MATCH (d:Disease)-[:LACKS_SYMPTOM]->(s:Symptom) RETURN d.id, s.id ORDER BY d.id, s.id", {}),
    ("MATCH (s:Symptom {id: 'HP:0001166'})<-[:HAS_SYMPTOM]-(d:Disease) RETURN d.id ORDER BY d.id", {}),
    ("MATCH (a:Disease)-[:HAS_SYMPTOM]->(s:Symptom)<-[:HAS_SYMPTOM]-(b:Disease) WHERE a.id < b.id "
     "RETURN a.id, b.id, count(s) AS shared ORDER BY shared DESC, a.id, b.id LIMIT 5", {}),
    ("MATCH (c:Symptom)-[:IS_A]->(p:Symptom) RETURN count(*) AS links", {}),
    ("MATCH (c:Symptom {id: 'HP:0002616'})-[:IS_A*1..3]->(p:Symptom) RETURN DISTINCT p.id ORDER BY p.id", {}),
    ("MATCH (d:Disease)-[:IS_A]->(p:Disease) RETURN d.id, p.id ORDER BY d.id, p.id LIMIT 5", {}),
    ("MATCH (d:Disease {id: 'OMIM:154700'})-[r]->(s:Symptom) RETURN type(r) AS t, count(*) AS n ORDER BY t", {}),
    ("MATCH (a:Drug)-[r:INTERACTS_WITH]-(b:Drug) WHERE a.id < b.id RETURN a.id, b.id, r.severity ORDER BY a.id, b.id LIMIT 5", {}),
    ("MATCH (d:Drug)-[:INTERACTS_WITH]-(o:Drug) WITH d, count(o) AS partners RETURN d.id, partners ORDER BY partners DESC, d.id LIMIT 3", {}),
    ("OPTIONAL MATCH (d:Disease {id: 'NOPE'})-[:HAS_SYMPTOM]->(s) RETURN d.id, s.id", {}),
    ("MATCH (d:Disease) WHERE NOT (d)-[:HAS_SYMPTOM]->(:Symptom) RETURN count(d) AS bare", {}),
    ("MATCH (d:Disease) WHERE exists { MATCH (d)-[:LACKS_SYMPTOM]->(:Symptom) } RETURN d.id ORDER BY d.id", {}),
    ("MATCH p = shortestPath((a:Symptom {id: 'HP:0002616'})-[:IS_A*..6]->(b:Symptom {id: 'HP:0004942'})) RETURN length(p) AS hops", {}),
    # evidence lookups
    ("MATCH (d:Disease {id: 'OMIM:154700'})-[:HAS_SYMPTOM]->(s:Symptom {id: 'HP:0001166'}) "
     "MATCH (e:Evidence) WHERE e.head = d.id AND e.tail = s.id RETURN e.source, e.curated", {}),
    ("MATCH (e:Evidence) RETURN e.source AS source, count(*) AS n ORDER BY source", {}),
    ("MATCH (doc:Document) RETURN doc.source_format AS source, count(*) AS documents ORDER BY source", {}),
    ("MATCH (a:Drug)-[r:INTERACTS_WITH]-(b:Drug) WHERE a.id < b.id RETURN r.sources, r.curated, r.evidence_count ORDER BY a.id, b.id LIMIT 3", {}),
    # lists, maps, CASE, functions the embedded engine spells differently
    ("MATCH (d:Disease {id: 'DOID:14323'}) RETURN [x IN d.xrefs WHERE x STARTS WITH 'OMIM'] AS omim", {}),
    ("MATCH (d:Disease {id: 'DOID:14323'}) RETURN [x IN d.xrefs | toLower(x)] AS lowered", {}),
    ("MATCH (d:Disease {id: 'DOID:14323'}) RETURN [x IN d.xrefs WHERE x STARTS WITH 'M' | substring(x, 0, 4)] AS prefixes", {}),
    ("MATCH (d:Disease {id: 'DOID:14323'}) RETURN d {.id, .name} AS disease", {}),
    ("MATCH (d:Disease {id: 'DOID:2394'}) RETURN d {.id, sex: d.typical_sex, .onset_age_min} AS profile", {}),
    ("MATCH (d:Disease) RETURN d.id, CASE WHEN d.cant_miss THEN 'urgent' ELSE 'routine' END AS triage ORDER BY d.id LIMIT 4", {}),
    ("MATCH (d:Disease {id: 'OMIM:154700'}) RETURN labels(d) AS labels", {}),
    ("MATCH (d:Disease {id: 'DOID:14323'}) RETURN head(d.xrefs) AS first, last(d.xrefs) AS final", {}),
    ("MATCH (d:Disease {id: 'DOID:14323'}) RETURN substring(d.name, 3) AS rest, substring(d.name, 40) AS beyond, "
     "last(last([[1, 2], [3, 4]])) AS four", {}),
    ("MATCH (d:Disease) WITH d ORDER BY d.id LIMIT 3 RETURN d.id AS id", {}),
    ("MATCH (d:Disease)-[r:HAS_SYMPTOM]->(:Symptom) WITH d, count(r) AS n ORDER BY n DESC, d.id LIMIT 3 RETURN d.id, n", {}),
    ("MATCH (d:Disease {id: 'OMIM:154700'})-[:HAS_SYMPTOM]->(s:Symptom) RETURN size(collect(s.id)) AS n", {}),
    ("MATCH (d:Disease {id: 'DOID:2394'}) RETURN d.name AS profile", {}),
    ("UNWIND ['b', 'a', 'c'] AS x RETURN x ORDER BY x", {}),
    ("MATCH (d:Disease {id: 'DOID:2394'}) RETURN d", {}),
    ("MATCH (:Disease {id: 'OMIM:154700'})-[r:HAS_SYMPTOM]->(s:Symptom {id: 'HP:0001166'}) RETURN r, s", {}),
    ("RETURN range(1, 5) AS r, abs(-3) AS a, 7 % 3 AS m", {}),
    ("MATCH (d:Disease) WHERE d.prevalence_per_100k IS NOT NULL RETURN d.id, d.prevalence_per_100k ORDER BY d.prevalence_per_100k DESC", {}),
    ("MATCH (d:Disease) WHERE d.id STARTS WITH 'DOID:' AND d.xrefs IS NOT NULL RETURN count(d) AS with_xrefs", {}),
    ("MATCH (d:Disease) RETURN d.id AS id ORDER BY id LIMIT 2 UNION MATCH (s:Symptom) RETURN s.id AS id ORDER BY id LIMIT 2", {}),
]


def _graph_documents() -> list:
    return [*hpo.read(FIXTURES / "diagnosis"), *common_diseases.read(FIXTURES / "common_diseases"),
            *disease_ontology.read(FIXTURES / "curated" / "do"), *public_pddi.read_public(FIXTURES / "curated" / "pddi"),
            *pubtator.read(FIXTURES / "bc5cdr" / "CDR_TrainingSet_excerpt.PubTator.txt")]


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[GraphStore, GraphStore]]:
    docs = _graph_documents()
    embedded = LadybugStore(tmp_path_factory.mktemp("compat") / "graph.lbug")
    server = _neo4j_store()
    try:
        for store in (embedded, server):
            store.write(build_batch(docs, schema=store.schema))
        yield embedded, server
    finally:
        embedded.close()
        server.close()


def _rows(store: GraphStore, text: str, params: dict) -> tuple[list[str], list[str]]:
    result = store.run_user_query(text, params, limits=LIMITS)
    rows = [json.dumps(r, sort_keys=True) for r in result.rows]
    return list(result.columns), rows


@pytest.mark.neo4j
@pytest.mark.parametrize(("text", "params"), QUERIES, ids=[f"q{i:02d}" for i in range(len(QUERIES))])
def test_same_columns_and_rows_on_both_stores(stores: tuple[GraphStore, GraphStore], text: str, params: dict) -> None:
    embedded, server = stores
    cols_e, rows_e = _rows(embedded, text, params)
    cols_n, rows_n = _rows(server, text, params)
    assert cols_e == cols_n
    if "ORDER BY" not in text or "UNION" in text:  # a UNION's branches may come in either order
        rows_e, rows_n = sorted(rows_e), sorted(rows_n)
    assert rows_e == rows_n
    assert rows_n or "NOPE" in text or "bare" in text  # the suite queries real data


def test_suite_is_large_enough() -> None:
    assert len(QUERIES) >= 60
    readme = (FIXTURES.parents[1] / "README.md").read_text(encoding="utf-8")
    assert "RETURN d.name, r.evidence_count, e.doc_id, e.text" in readme and "RETURN type(r) AS rel, x.name AS target" in readme


@pytest.mark.parametrize(("text", "message"), [
    ("MATCH (d:Disease) RETURN elementId(d)", "n.id"),
    ("MATCH (d:Disease) RETURN id(d)", "n.id"),
    ("MATCH (a)-[r]->(b) RETURN startNode(r)", "pattern"),
    ("MATCH (d:Disease) RETURN d {.*}", "properties(n)"),
    ("CALL db.schema.visualization()", "db.labels"),
    # LadybugDB ignores ORDER BY in a WITH before an aggregation: refused rather than answered wrongly
    ("MATCH (d:Disease) WITH d ORDER BY d.id LIMIT 3 RETURN collect(d.id) AS ids", "final RETURN"),
    ("MATCH (s:Symptom) WITH s ORDER BY s.id RETURN size(collect(s.id)) AS n", "final RETURN"),
])
def test_unsupported_constructs_are_refused_with_what_to_write(text: str, message: str) -> None:
    with pytest.raises(QueryRefusedError, match="") as exc:
        translate(text)
    assert message in str(exc.value)


def test_translation_grows_linearly_with_nesting() -> None:
    """Each rewrite writes its arguments once: last(last(...)) 30 deep was gigabytes when the
    argument was written twice per level."""
    for fn in ("last({})", "substring({}, 1)", "head({})", "toString({})", "labels({})"):
        text = "RETURN " + "".join(fn.split("{}")[0] for _ in range(30)) + "[1]" + "".join(fn.split("{}")[1] for _ in range(30))
        engine = translate(text).text
        assert len(engine) < 200 * 30, (fn, len(engine))


def test_column_names_follow_neo4j() -> None:
    assert return_columns("MATCH (d) RETURN count(d), coalesce(d.name, 'x') AS n, toLower(d.name)") == (
        "count(d)", "n", "toLower(d.name)")
    assert return_columns("MATCH (d) RETURN *") is None
    assert return_columns("MATCH (d) RETURN DISTINCT d.id ORDER BY d.id LIMIT 3") == ("d.id",)
    assert return_columns("MATCH (d) WITH d RETURN [x IN d.xrefs | x] AS xs, d {.id}") == ("xs", "d {.id}")


def test_db_labels_lists_the_node_labels(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = LadybugStore(tmp_path / "g.lbug")
    try:
        result = store.run_user_query("CALL db.labels() YIELD label RETURN label ORDER BY label", {}, limits=LIMITS)
        assert result.columns == ["label"] or list(result.columns) == ["label"]
        assert {r["label"] for r in result.rows} >= {"Disease", "Drug", "Symptom"}
        rels = store.run_user_query("CALL db.relationshipTypes()", {}, limits=LIMITS)
        assert list(rels.columns) == ["relationshipType"] and {"HAS_SYMPTOM", "IS_A"} <= {r["relationshipType"] for r in rels.rows}
    finally:
        store.close()
