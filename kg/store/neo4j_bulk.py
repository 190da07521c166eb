"""First loads into an empty Neo4j database: big ``UNWIND ... CREATE`` batches, no read-back.

The online write (:meth:`GraphStore.write`) is built for updates: per batch it reads stored
hashes, merges nodes, re-reads the evidence of every touched edge and verifies each ``MERGE``.
Into an *empty* database none of that is needed: the whole load is built as one batch
(:func:`kg.store.bulk_rows.table_rows`, the same rows the online path would end with) and
written with ``CREATE`` only, :data:`ROWS_PER_TX` rows per transaction, nodes before the
relationships that ``MATCH`` them through the ``id`` uniqueness constraints. If a statement fails,
the database is emptied again, so a failed bulk load leaves an empty store.
``tests/kg/test_bulk_neo4j.py`` checks the result against the online path on a real Neo4j.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kg import cypher
from kg.store.base import WriteSummary
from kg.store.bulk_rows import BulkLoadError, bulk_summary, is_empty, table_rows
from schema.model import KEY
from schema.records import GraphBatch

if TYPE_CHECKING:
    from kg.store.neo4j_store import Neo4jStore

ROWS_PER_TX = 20_000
"""Rows per write transaction: Neo4j's recommended 10k-50k range; larger batches gained nothing here."""


def bulk_write(store: Neo4jStore, batch: GraphBatch, *, rows_per_tx: int = ROWS_PER_TX,
               timings: dict[str, float] | None = None) -> WriteSummary:
    """Load ``batch`` (all documents of a first load) into the empty database of ``store``."""
    if not is_empty(store):
        raise BulkLoadError("the database already holds documents: a bulk load is for a first load into an empty one")
    schema = store.schema
    tables = table_rows(schema, batch)
    summary = bulk_summary(schema, batch, tables)
    try:
        with store._session(write=True) as session:
            for (kind, name, src, dst), rows in sorted(tables.items(), key=lambda kv: kv[0][0] != "node"):
                if kind == "node":
                    query = f"UNWIND $rows AS row CREATE (n:{name}) SET n = row"
                    payload: list[dict[str, Any]] = rows
                else:
                    query = (f"UNWIND $rows AS row MATCH (a:{src} {{{KEY}: row.f}}) MATCH (b:{dst} {{{KEY}: row.t}}) "
                             f"CREATE (a)-[r:{name}]->(b) SET r = row.p")
                    payload = [{"f": r["from"], "t": r["to"], "p": {k: v for k, v in r.items() if k not in ("from", "to")}}
                               for r in rows]
                for i in range(0, len(payload), rows_per_tx):
                    session.run(query, rows=payload[i:i + rows_per_tx]).consume()
    except Exception as exc:
        with store._session(write=True) as session:
            session.run(cypher.DELETE_ALL_RELATIONSHIPS_IN_BATCHES).consume()
            session.run(cypher.DELETE_ALL_IN_BATCHES).consume()
        raise BulkLoadError(f"bulk load failed ({type(exc).__name__}); the database was left empty") from exc
    return summary
