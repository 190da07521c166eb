"""Neo4j's bulk first load (batched CREATE, no read-back) stores exactly what the online write
stores, on a real Neo4j; a later load of the same sources is a no-op on it."""

from __future__ import annotations

import json

import pytest

from kg.jobs.curated_job import load_curated
from kg.store.base import GraphStore
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


@pytest.mark.neo4j
def test_bulk_and_online_loads_store_the_same_graph_on_neo4j() -> None:
    store = _neo4j_store()
    try:
        names = list(PATHS)
        store.clear()
        load_curated(store, names, paths=PATHS, bulk=False, batch_relations=200)
        online = _dump(store)
        store.clear()
        run = load_curated(store, names, paths=PATHS)  # empty database: bulk by default
        assert run.bulk is not None and run.bulk.edges_written > 0
        bulk = _dump(store)
        assert {k: len(v) for k, v in online.items()} == {k: len(v) for k, v in bulk.items()}
        for table in online:
            assert online[table] == bulk[table], table
        again = load_curated(store, names, paths=PATHS)
        assert again.bulk is None
        assert all(p.write.documents_new == 0 and p.write.edges_written == 0 for p in again.sources)
        assert _dump(store) == bulk
    finally:
        store.clear()
        store.close()
