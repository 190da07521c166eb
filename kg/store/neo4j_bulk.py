"""First loads into an empty Neo4j database: big ``UNWIND ... CREATE`` batches, no read-back,
two transactions at a time.

The online write (:meth:`GraphStore.write`) is built for updates: per batch it reads stored
hashes, merges nodes, re-reads the evidence of every touched edge and verifies each ``MERGE``.
Into an *empty* database none of that is needed: the whole load is built as one batch
(:func:`kg.store.bulk_rows.table_rows`, the same rows the online path would end with) and
written with ``CREATE`` only, :data:`ROWS_PER_TX` rows per transaction:

1. concept and document nodes (any split of them is conflict-free, so chunks run concurrently);
2. each evidence node created *together with* its ``HAS_EVIDENCE`` and ``SUPPORTED_BY`` links
   (its document and head concept found through the ``id`` uniqueness constraints; the evidence
   node is never looked up again, so its own constraint and indexes are dropped for the load and
   rebuilt once at the end, which is faster than maintaining them row by row);
3. the other relationship tables.

Relationship rows are split "mix and batch" style: start and end ids hashed into
:data:`WORKERS` buckets each, and in round ``r`` worker ``i`` writes cell ``(i, i + r)``, so two
concurrent transactions never create relationships on the same node (Neo4j can still report a
rare deadlock on a shared relationship record; the driver retries that transaction). Each
statement returns how many rows it wrote; a row whose endpoint is missing fails the load.

If anything fails, the database is emptied again (and its constraints and indexes restored), so
a failed bulk load leaves an empty store. A process killed mid-load leaves the evidence
constraint dropped until the next connection, which re-applies the schema
(:meth:`Neo4jStore.ensure_schema`). ``tests/kg/test_bulk_neo4j.py`` checks the result against
the online path on a real Neo4j.
"""

from __future__ import annotations

import re
import time
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any

from kg import cypher
from kg.store.base import WriteSummary
from kg.store.bulk_rows import BulkLoadError, bulk_summary, is_empty, table_rows
from schema.compile import neo4j_ddl
from schema.model import KEY
from schema.records import GraphBatch

if TYPE_CHECKING:
    import neo4j

    from kg.store.neo4j_store import Neo4jStore

ROWS_PER_TX = 20_000
"""Rows per write transaction: Neo4j's recommended 10k-50k range; 10k and 50k were slower here."""

WORKERS = 2
"""Concurrent write transactions. One Cypher write runs on one server thread; two kept both cores
of the benchmark machine busy (three were slower: more lock waits, same two cores)."""

LINKS = ("HAS_EVIDENCE", "SUPPORTED_BY")
"""Link tables written with the evidence nodes themselves (step 2)."""

Rows = list[dict[str, Any]]


def bulk_write(store: Neo4jStore, batch: GraphBatch, *, rows_per_tx: int = ROWS_PER_TX, workers: int = WORKERS,
               timings: dict[str, float] | None = None) -> WriteSummary:
    """Load ``batch`` (all documents of a first load) into the empty database of ``store``.
    ``timings`` (if given) receives the seconds of each step: nodes, evidence, relationships, indexes."""
    if not is_empty(store):
        raise BulkLoadError("the database already holds documents: a bulk load is for a first load into an empty one")
    tables = table_rows(store.schema, batch)
    summary = bulk_summary(store.schema, batch, tables)
    timings = {} if timings is None else timings
    deferred = _evidence_schema(store)
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="neo4j-bulk") as pool:
        writer = _Writer(store, pool, max(1, workers), rows_per_tx)
        try:
            with store._session(write=True) as session:
                for kind, name in deferred:
                    session.run(f"DROP {kind} {name} IF EXISTS").consume()
            t0 = time.perf_counter()
            writer.nodes(tables)
            timings["nodes"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            writer.evidence(tables.get(("node", "Evidence", None, None), []))
            timings["evidence"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            writer.relationships(tables)
            timings["relationships"] = time.perf_counter() - t0
        except Exception as exc:
            with store._session(write=True) as session:
                session.run(cypher.DELETE_ALL_RELATIONSHIPS_IN_BATCHES).consume()
                session.run(cypher.DELETE_ALL_IN_BATCHES).consume()
            store.ensure_schema()
            if isinstance(exc, BulkLoadError):
                raise BulkLoadError(f"{exc}; the database was left empty") from exc
            raise BulkLoadError(f"bulk load failed ({type(exc).__name__}); the database was left empty") from exc
    t0 = time.perf_counter()
    store.ensure_schema()
    with store._session(write=True) as session:
        session.run("CALL db.awaitIndexes(3600)").consume()
    timings["indexes"] = time.perf_counter() - t0
    return summary


def _evidence_schema(store: Neo4jStore) -> list[tuple[str, str]]:
    """(``CONSTRAINT``/``INDEX``, name) of the schema objects on ``Evidence``: no step of the load
    looks an evidence node up, so they are dropped for it and rebuilt at the end."""
    out = []
    for stmt in neo4j_ddl(store.schema):
        m = re.match(r"CREATE (CONSTRAINT|INDEX) (\w+) IF NOT EXISTS FOR \(n:Evidence\)", stmt)
        if m:
            out.append((m.group(1), m.group(2)))
    return out


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` without its null values (``SET n = row`` stores nothing for them anyway)."""
    return {k: v for k, v in row.items() if v is not None}


class _Writer:
    """Runs the chunks of each step on ``workers`` sessions and checks every row was written."""

    def __init__(self, store: Neo4jStore, pool: ThreadPoolExecutor, workers: int, rows_per_tx: int) -> None:
        self.store, self.pool, self.workers, self.rows_per_tx = store, pool, workers, rows_per_tx

    def nodes(self, tables: dict[Any, Rows]) -> None:
        jobs = []
        for (kind, name, _, _), rows in tables.items():
            if kind == "node" and name != "Evidence":
                query = f"UNWIND $rows AS row CREATE (n:{name}) SET n = row RETURN count(*) AS n"
                jobs += [[(query, name, [_plain(r) for r in rows[i:i + self.rows_per_tx]])]
                         for i in range(0, len(rows), self.rows_per_tx)]
        self._run_all(jobs)

    def evidence(self, rows: Rows) -> None:
        by_head: dict[str, Rows] = {}
        for r in rows:
            by_head.setdefault(r["head_label"], []).append(r)
        for head, part in sorted(by_head.items()):
            query = (f"UNWIND $rows AS row MATCH (d:Document {{{KEY}: row.doc_id}}) MATCH (h:{head} {{{KEY}: row.head}}) "
                     "CREATE (d)-[:HAS_EVIDENCE]->(e:Evidence)<-[:SUPPORTED_BY]-(h) SET e = row RETURN count(*) AS n")
            self._rounds(query, f"Evidence of {head}", [_plain(r) for r in part],
                         lambda r: r["doc_id"], lambda r: r["head"])

    def relationships(self, tables: dict[Any, Rows]) -> None:
        for (kind, name, src, dst), rows in tables.items():
            if kind != "rel" or name in LINKS:
                continue
            query = (f"UNWIND $rows AS row MATCH (a:{src} {{{KEY}: row.f}}) MATCH (b:{dst} {{{KEY}: row.t}}) "
                     f"CREATE (a)-[r:{name}]->(b) SET r = row.p RETURN count(*) AS n")
            payload = [{"f": r["from"], "t": r["to"],
                        "p": {k: v for k, v in r.items() if k not in ("from", "to") and v is not None}} for r in rows]
            self._rounds(query, f"{name} ({src}->{dst})", payload, lambda r: r["f"], lambda r: r["t"])

    def _rounds(self, query: str, what: str, rows: Rows, src: Callable[[dict[str, Any]], str],
                dst: Callable[[dict[str, Any]], str]) -> None:
        """Write ``rows`` in ``workers`` rounds of node-disjoint cells (one transaction's worth of
        rows or less goes in one piece)."""
        k = self.workers if len(rows) > self.rows_per_tx else 1
        cells: list[list[Rows]] = [[[] for _ in range(k)] for _ in range(k)]
        for r in rows:
            cells[_bucket(src(r), k)][_bucket(dst(r), k)].append(r)
        for rnd in range(k):
            self._run_all([[(query, what, cell[j:j + self.rows_per_tx]) for j in range(0, len(cell), self.rows_per_tx)]
                           for cell in (cells[i][(i + rnd) % k] for i in range(k)) if cell])

    def _run_all(self, jobs: Sequence[list[tuple[str, str, Rows]]]) -> None:
        """Run each job (a list of chunks written one after the other) on a worker; wait for all."""
        futures: list[Future[None]] = [self.pool.submit(self._job, job) for job in jobs]
        try:
            for f in futures:
                f.result()
        except BaseException:
            for f in futures:  # nothing new starts; what runs finishes before the caller empties the database
                f.cancel()
            wait(futures)
            raise

    def _job(self, chunks: list[tuple[str, str, Rows]]) -> None:
        with self.store._session(write=True) as session:
            for query, what, rows in chunks:
                written = session.execute_write(_write_chunk, query, rows)
                if written != len(rows):
                    raise BulkLoadError(f"{what}: {len(rows) - written} of {len(rows)} rows found no endpoint node")


def _write_chunk(tx: neo4j.ManagedTransaction, query: str, rows: Rows) -> int:
    return int(tx.run(query, rows=rows).single(strict=True)["n"])


def _bucket(key: str, k: int) -> int:
    return zlib.crc32(key.encode()) % k if k > 1 else 0
