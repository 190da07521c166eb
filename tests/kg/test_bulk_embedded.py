"""The embedded store's bulk first load (COPY FROM Parquet) stores exactly what the online write
stores, a later load of the same sources is a no-op on it, and it refuses a non-empty store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kg.build import build_batch
from kg.jobs.curated_job import load_curated
from kg.store.ladybug_bulk import BulkLoadError, bulk_write
from kg.store.ladybug_store import LadybugStore
from loaders.curated import read_curated
from tests.helpers import FIXTURES

CURATED = FIXTURES / "curated"
PATHS = {
    "hpo": FIXTURES / "diagnosis", "do": CURATED / "do", "symp": CURATED / "symp", "hsdn": CURATED / "hsdn",
    "pharmacotherapydb": CURATED / "pharmacotherapydb", "pddi": CURATED / "pddi",
    "common": FIXTURES / "common_diseases", "critical": CURATED / "critical",
}


def _dump(store: LadybugStore) -> dict[str, list[str]]:
    """Every node and edge, internal ids dropped, as sorted JSON lines per table."""
    out: dict[str, list[str]] = {}

    def clean(v: object) -> object:
        return {k: x for k, x in v.items() if not k.startswith("_")} if isinstance(v, dict) else v

    for label in store.schema.nodes:
        rows = store.query(f"MATCH (n:{label}) RETURN n")
        out[label] = sorted(json.dumps(clean(r["n"]), sort_keys=True, default=str) for r in rows)
    for rtype in store.schema.edges:
        rows = store.query(f"MATCH (a)-[r:{rtype}]->(b) RETURN a.id AS a, b.id AS b, r")
        out[rtype] = sorted(json.dumps([r["a"], r["b"], clean(r["r"])], sort_keys=True, default=str) for r in rows)
    return out


def test_bulk_and_online_loads_store_the_same_graph(tmp_path: Path) -> None:
    online = LadybugStore(tmp_path / "online.lbug")
    bulk = LadybugStore(tmp_path / "bulk.lbug")
    try:
        names = list(PATHS)
        load_curated(online, names, paths=PATHS, bulk=False, batch_relations=200)  # many small batches
        run = load_curated(bulk, names, paths=PATHS)  # empty embedded store: bulk by default
        assert run.bulk is not None and run.bulk.edges_written > 0
        a, b = _dump(online), _dump(bulk)
        assert {k: len(v) for k, v in a.items()} == {k: len(v) for k, v in b.items()}
        for table in a:
            assert a[table] == b[table], table
        # a second load of the same sources goes online and changes nothing
        again = load_curated(bulk, names, paths=PATHS)
        assert again.bulk is None
        for part in again.sources:
            assert part.write.documents_new == 0 and part.write.documents_replaced == 0
            assert part.write.edges_written == 0 and part.write.evidence_created == 0
        assert _dump(bulk) == b
    finally:
        online.close()
        bulk.close()


def test_bulk_refuses_a_store_that_holds_documents(tmp_path: Path) -> None:
    store = LadybugStore(tmp_path / "g.lbug")
    try:
        docs = list(read_curated("common", FIXTURES / "common_diseases"))
        store.write(build_batch(docs[:1], schema=store.schema))
        with pytest.raises(BulkLoadError, match="already holds documents"):
            bulk_write(store, build_batch(docs, schema=store.schema))
        with pytest.raises(BulkLoadError, match="empty store"):
            load_curated(store, ["common"], paths={"common": FIXTURES / "common_diseases"}, bulk=True)
        assert store.query("MATCH (d:Document) RETURN count(d) AS n") == [{"n": 1}]
    finally:
        store.close()
