"""Neo4j's bulk first load (batched CREATE, no read-back) stores exactly what the online write
stores, on a real Neo4j; a later load of the same sources is a no-op on it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from kg.build import build_batch
from kg.jobs.canonical import canonical_setup
from kg.jobs.curated_job import load_curated
from kg.store.base import GraphStore
from kg.store.bulk_rows import BulkLoadError
from kg.store.bulk_rows import table_rows
from kg.store.neo4j_bulk import _Writer, bulk_write
from loaders.curated import read_curated
from tests.conftest import _neo4j_store
from tests.kg.test_bulk_embedded import PATHS


def _dump(store: GraphStore) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for label in store.schema.nodes:
        rows = store.query(f"MATCH (n:{label}) RETURN properties(n) AS n")
        out[label] = sorted(json.dumps(r["n"], sort_keys=True, default=str) for r in rows)
    for rtype in store.schema.edges:
        rows = store.query(f"MATCH (a)-[r:{rtype}]->(b) RETURN a.id AS a, b.id AS b, properties(r) AS r")
        out[rtype] = sorted(json.dumps([r["a"], r["b"], r["r"]], sort_keys=True, default=str) for r in rows)
    return out


@pytest.fixture
def neo4j() -> Iterator[GraphStore]:
    """An empty Neo4j database (:func:`_neo4j_store` clears it), emptied again afterwards."""
    store = _neo4j_store()
    try:
        yield store
    finally:
        store.clear()
        store.close()


def _schema_objects(store: GraphStore) -> set[str]:
    return {r["name"] for r in store.query("SHOW INDEXES YIELD name, type WHERE type = 'RANGE' RETURN name")}


def _docs() -> list:
    return [d for name, path in PATHS.items() for d in read_curated(name, path)]


@pytest.mark.neo4j
def test_small_transactions_on_several_workers_store_the_same_graph(neo4j: GraphStore) -> None:
    """Many chunks per cell and three workers (cells really run concurrently)."""
    store = neo4j
    store.write(build_batch(_docs(), schema=store.schema))
    online = _dump(store)
    store.clear()
    timings: dict[str, float] = {}
    bulk_write(store, build_batch(_docs(), schema=store.schema), rows_per_tx=7, workers=3, timings=timings)
    assert _dump(store) == online
    assert set(timings) == {"nodes", "relationships", "indexes"}


@pytest.mark.neo4j
def test_a_failed_bulk_load_leaves_an_empty_database_with_its_schema(neo4j: GraphStore) -> None:
    store = neo4j
    before = _schema_objects(store)
    batch = build_batch(_docs(), schema=store.schema)
    bad = batch.evidence[-1].model_copy(update={"head_id": "MISSING:0"})  # its head node is in no table
    batch = batch.model_copy(update={"evidence": (*batch.evidence[:-1], bad)})
    with pytest.raises(BulkLoadError, match=r"1 of \d+ rows found no endpoint node; the database was left empty"):
        bulk_write(store, batch, rows_per_tx=50)
    assert store.query("MATCH (n) RETURN count(n) AS n") == [{"n": 0}]
    assert _schema_objects(store) == before


@pytest.mark.neo4j
def test_a_load_killed_before_its_last_step_is_rewritten_by_the_next_load(neo4j: GraphStore) -> None:
    """No cleanup runs when the process is killed: what it wrote must not pass for a complete load."""
    store = neo4j
    names = list(PATHS)
    load_curated(store, names, paths=PATHS)
    complete = _dump(store)
    store.clear()
    options, table = canonical_setup()  # what load_curated writes with
    tables = table_rows(store.schema, build_batch(_docs(), options=options, schema=store.schema, canonical=table))
    with ThreadPoolExecutor(max_workers=2) as pool:
        writer = _Writer(store, pool, 2, 50)
        writer.nodes(tables)
        writer.links({k: v for k, v in tables.items() if k[1] != "HAS_SYMPTOM"})  # killed before the rest
    assert store.query("MATCH (d:Document) WHERE d.content_hash IS NOT NULL RETURN count(d) AS n") == [{"n": 0}]
    store.ensure_schema()
    again = load_curated(store, names, paths=PATHS)
    assert again.bulk is None  # not empty: the online path, which sees every document as changed
    assert _dump(store) == complete


@pytest.mark.neo4j
def test_bulk_and_online_loads_store_the_same_graph_on_neo4j(neo4j: GraphStore) -> None:
    store = neo4j
    names = list(PATHS)
    schema_before = _schema_objects(store)
    assert "evidence_id" in schema_before
    load_curated(store, names, paths=PATHS, bulk=False, batch_relations=200)
    online = _dump(store)
    store.clear()
    run = load_curated(store, names, paths=PATHS)  # empty database: bulk by default
    assert run.bulk is not None and run.bulk.edges_written > 0
    bulk = _dump(store)
    assert {k: len(v) for k, v in online.items()} == {k: len(v) for k, v in bulk.items()}
    for table in online:
        assert online[table] == bulk[table], table
    assert _schema_objects(store) == schema_before  # the evidence constraint dropped for the load is back
    again = load_curated(store, names, paths=PATHS)
    assert again.bulk is None
    assert all(p.write.documents_new == 0 and p.write.edges_written == 0 for p in again.sources)
    assert _dump(store) == bulk
