"""First loads into an empty Neo4j database: big ``UNWIND ... CREATE`` batches, no read-back,
two transactions at a time.

The online write (:meth:`GraphStore.write`) is built for updates: per batch it reads stored
hashes, merges nodes, re-reads the evidence of every touched edge and verifies each ``MERGE``.
Into an *empty* database none of that is needed: the whole load is built as one batch
(:func:`kg.store.bulk_rows.table_rows`, the same rows the online path would end with) and
written with ``CREATE`` only, :data:`ROWS_PER_TX` rows per transaction:

1. concept and document nodes (new nodes never conflict, so all chunks run concurrently);
2. each evidence node created *together with* its ``HAS_EVIDENCE`` and ``SUPPORTED_BY`` links
   (its document and head concept found through the ``id`` uniqueness constraints; the evidence
   node is never looked up again, so its own constraint and indexes are dropped for the load and
   rebuilt once at the end, which is faster than maintaining them row by row), scheduled together
   with every other relationship table.

Relationship rows are split "mix and batch" style: start and end ids hashed into buckets per
label, one cell per (start bucket, end bucket); :data:`WORKERS` transactions run at a time and a
cell starts only when no running cell shares a (label, bucket) with it, so two concurrent
transactions never create relationships on the same node (Neo4j can still report a rare
deadlock on a shared relationship record; the driver retries that transaction). Each statement
returns how many rows it wrote; a row whose endpoint is missing fails the load.

If anything fails, the database is emptied again (and its constraints and indexes restored), so
a failed (or interrupted) bulk load leaves an empty store. A process killed mid-load cannot clean
up: its documents then lack their content hash (written last), so the next load rewrites them
rather than skipping them as complete, and the evidence constraint stays dropped until the next
connection re-applies the schema (:meth:`Neo4jStore.ensure_schema`). ``tests/kg/test_bulk_neo4j.py`` checks the result against
the online path on a real Neo4j.
"""

from __future__ import annotations

import re
import time
import zlib
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
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

ROWS_PER_TX = 10_000
"""Rows per write transaction (Neo4j recommends 10k-50k): with two concurrent transactions 10k
wrote the full curated load in 33 s where 20k took 36 s (same warm server, heap 4 GiB); smaller
transactions also make the rare deadlock retry cheaper."""

WORKERS = 2
"""Concurrent write transactions. One Cypher write runs on one server thread; two kept both cores
of the benchmark machine busy (three were slower: more lock waits, same two cores)."""

BUCKETS_PER_WORKER = 2
"""Start and end ids are hashed into ``BUCKETS_PER_WORKER * workers`` buckets per label: enough
cells that a free worker nearly always finds one touching no node in use."""

LINKS = ("HAS_EVIDENCE", "SUPPORTED_BY")
"""Link tables written with the evidence nodes themselves (step 2)."""

Rows = list[dict[str, Any]]

HASH = "content_hash"
"""The Document property a later load compares to skip unchanged documents: written last."""


def bulk_write(store: Neo4jStore, batch: GraphBatch, *, rows_per_tx: int = ROWS_PER_TX, workers: int = WORKERS,
               timings: dict[str, float] | None = None) -> WriteSummary:
    """Load ``batch`` (all documents of a first load) into the empty database of ``store``.
    ``timings`` (if given) receives the seconds of each step: nodes, relationships (evidence
    included), indexes (rebuilding the evidence constraint and index)."""
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
            writer.links(tables)
            writer.document_hashes(tables)
            timings["relationships"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            store.ensure_schema()
            with store._session(write=True) as session:
                session.run("CALL db.awaitIndexes(3600)").consume()
            timings["indexes"] = time.perf_counter() - t0
        except BaseException as exc:  # interrupts too: never leave a half-written graph behind
            _empty(store, exc)
            if not isinstance(exc, Exception):
                raise
            what = str(exc) if isinstance(exc, BulkLoadError) else f"bulk load failed ({type(exc).__name__})"
            raise BulkLoadError(f"{what}; the database was left empty") from exc
    return summary


def _empty(store: Neo4jStore, cause: BaseException) -> None:
    """Delete everything the failed load wrote and restore the schema; if even that fails (the
    server went away), say that the database may hold a partial load (its documents then carry
    no content hash, so the next load rewrites them)."""
    try:
        with store._session(write=True) as session:
            session.run(cypher.DELETE_ALL_RELATIONSHIPS_IN_BATCHES).consume()
            session.run(cypher.DELETE_ALL_IN_BATCHES).consume()
        store.ensure_schema()
    except Exception as exc:
        raise BulkLoadError(f"bulk load failed ({type(cause).__name__}) and emptying the database failed too "
                            f"({type(exc).__name__}): it may hold a partial load, which the next load rewrites") from cause


def _evidence_schema(store: Neo4jStore) -> list[tuple[str, str]]:
    """(``CONSTRAINT``/``INDEX``, name) of the schema objects on ``Evidence``: no step of the load
    looks an evidence node up, so they are dropped for it and rebuilt at the end."""
    out = []
    for stmt in neo4j_ddl(store.schema):
        m = re.match(r"CREATE (CONSTRAINT|INDEX) (\w+) IF NOT EXISTS FOR \(n:Evidence\)", stmt)
        if m:
            out.append((m.group(1), m.group(2)))
    return out


def _plain(row: dict[str, Any], drop: str = "") -> dict[str, Any]:
    """``row`` without its null values (``SET n = row`` stores nothing for them anyway) and ``drop``."""
    return {k: v for k, v in row.items() if v is not None and k != drop}


Chunk = tuple[str, str, Rows]
"""(query, what it writes, rows): one transaction."""


class _Cell:
    """Rows of one step whose endpoints fall in one (label, bucket) pair each: ``resources``.
    Two cells that share no resource touch no common node and may run at the same time."""

    def __init__(self, resources: frozenset[tuple[str, int]], chunks: list[Chunk]) -> None:
        self.resources, self.chunks = resources, chunks
        self.size = sum(len(c[2]) for c in chunks)


class _Writer:
    """Runs the chunks of each step on ``workers`` sessions and checks every row was written."""

    def __init__(self, store: Neo4jStore, pool: ThreadPoolExecutor, workers: int, rows_per_tx: int) -> None:
        self.store, self.pool, self.workers, self.rows_per_tx = store, pool, workers, rows_per_tx
        self.buckets = BUCKETS_PER_WORKER * workers if workers > 1 else 1

    def nodes(self, tables: dict[Any, Rows]) -> None:
        """New nodes never conflict: every chunk is a cell of its own. Documents are written without
        their content hash (see :meth:`document_hashes`)."""
        cells = []
        for (kind, name, _, _), rows in tables.items():
            if kind == "node" and name != "Evidence":
                query = f"UNWIND $rows AS row CREATE (n:{name}) SET n = row RETURN count(*) AS n"
                cells += [_Cell(frozenset(), [(query, name, [_plain(r, drop=HASH) for r in rows[i:i + self.rows_per_tx]])])
                          for i in range(0, len(rows), self.rows_per_tx)]
        self._schedule(cells)

    def document_hashes(self, tables: dict[Any, Rows]) -> None:
        """The last write: each document's content hash. A load killed before it (no cleanup can
        run then) leaves documents without a hash, which every later load sees as changed and
        rewrites, instead of skipping them as complete."""
        rows = [{KEY: r[KEY], HASH: r[HASH]} for r in tables.get(("node", "Document", None, None), [])]
        query = f"UNWIND $rows AS row MATCH (d:Document {{{KEY}: row.{KEY}}}) SET d.{HASH} = row.{HASH} RETURN count(*) AS n"
        self._schedule([_Cell(frozenset(), [(query, "Document hashes", rows[i:i + self.rows_per_tx])])
                        for i in range(0, len(rows), self.rows_per_tx)])

    def links(self, tables: dict[Any, Rows]) -> None:
        """Evidence nodes with their two links, and every other relationship table, scheduled together."""
        cells: list[_Cell] = []
        by_head: dict[str, Rows] = {}
        for r in tables.get(("node", "Evidence", None, None), []):
            by_head.setdefault(r["head_label"], []).append(r)
        for head, part in sorted(by_head.items()):
            query = (f"UNWIND $rows AS row MATCH (d:Document {{{KEY}: row.doc_id}}) MATCH (h:{head} {{{KEY}: row.head}}) "
                     "CREATE (d)-[:HAS_EVIDENCE]->(e:Evidence)<-[:SUPPORTED_BY]-(h) SET e = row RETURN count(*) AS n")
            cells += self._cells(query, f"Evidence of {head}", [_plain(r) for r in part],
                                 "Document", lambda r: r["doc_id"], head, lambda r: r["head"])
        for (kind, name, src, dst), rows in tables.items():
            if kind != "rel" or name in LINKS:
                continue
            query = (f"UNWIND $rows AS row MATCH (a:{src} {{{KEY}: row.f}}) MATCH (b:{dst} {{{KEY}: row.t}}) "
                     f"CREATE (a)-[r:{name}]->(b) SET r = row.p RETURN count(*) AS n")
            payload = [{"f": r["from"], "t": r["to"],
                        "p": {k: v for k, v in r.items() if k not in ("from", "to") and v is not None}} for r in rows]
            cells += self._cells(query, f"{name} ({src}->{dst})", payload, src, lambda r: r["f"], dst, lambda r: r["t"])
        self._schedule(cells)

    def _cells(self, query: str, what: str, rows: Rows, src_label: str, src: Callable[[dict[str, Any]], str],
               dst_label: str, dst: Callable[[dict[str, Any]], str]) -> list[_Cell]:
        """``rows`` split by (start bucket, end bucket), each cell in transactions of ``rows_per_tx``."""
        k = self.buckets
        grid: dict[tuple[int, int], Rows] = {}
        for r in rows:
            grid.setdefault((_bucket(src(r), k), _bucket(dst(r), k)), []).append(r)
        return [_Cell(frozenset({(src_label, i), (dst_label, j)}),
                      [(query, what, part[n:n + self.rows_per_tx]) for n in range(0, len(part), self.rows_per_tx)])
                for (i, j), part in grid.items()]

    def _schedule(self, cells: list[_Cell]) -> None:
        """Run the cells, largest first, at most ``workers`` at a time, never two that share a
        resource; a worker that finishes gets the next cell that fits at once (no rounds)."""
        pending = sorted(cells, key=lambda c: -c.size)
        running: dict[Future[None], _Cell] = {}
        busy: set[tuple[str, int]] = set()
        try:
            while pending or running:
                for cell in list(pending):
                    if len(running) >= self.workers:
                        break
                    if busy.isdisjoint(cell.resources):
                        pending.remove(cell)
                        busy |= cell.resources
                        running[self.pool.submit(self._job, cell.chunks)] = cell
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for f in done:
                    busy -= running.pop(f).resources
                    f.result()
        except BaseException:
            wait(running)  # what runs finishes before the caller empties the database
            raise

    def _job(self, chunks: list[Chunk]) -> None:
        with self.store._session(write=True) as session:
            for query, what, rows in chunks:
                written = session.execute_write(_write_chunk, query, rows)
                if written != len(rows):
                    raise BulkLoadError(f"{what}: {len(rows) - written} of {len(rows)} rows found no endpoint node")


def _write_chunk(tx: neo4j.ManagedTransaction, query: str, rows: Rows) -> int:
    return int(tx.run(query, rows=rows).single(strict=True)["n"])


def _bucket(key: str, k: int) -> int:
    return zlib.crc32(key.encode()) % k if k > 1 else 0
