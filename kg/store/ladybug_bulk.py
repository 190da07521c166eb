"""First loads into an empty embedded store through the engine's bulk ``COPY FROM`` (Parquet).

The online write (:meth:`GraphStore.write`) checks content hashes, merges nodes, re-reads stored
evidence to re-aggregate every touched edge and verifies each batched ``MERGE``: right for
updates, slow for a first load of hundreds of thousands of edges (the full curated load took
~32 minutes that way). Into an *empty* store none of that is needed: the whole load is built as
one :class:`~schema.records.GraphBatch` (so nodes, evidence and aggregated edges are exactly what
the online path would store after all its batches), written as one Parquet file per node table and
per (relationship type, endpoint pair), and loaded with ``COPY``.

:func:`bulk_write` refuses a store that holds any document (a later load goes through the online
path, which keeps idempotency and provenance re-aggregation), and loads everything in one
transaction-like step: if a ``COPY`` fails, the tables it already filled are emptied again, so a
failed bulk load leaves an empty store. ``tests/kg/test_bulk_embedded.py`` checks that a bulk load
and an online load of the same documents give identical graphs.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kg import cypher
from kg.store.base import WriteSummary
from kg.store.bulk_rows import BulkLoadError, bulk_summary, is_empty, table_rows
from schema.model import KEY, PropType, Schema
from schema.records import GraphBatch

if TYPE_CHECKING:
    import pyarrow as pa

    from kg.store.ladybug_store import LadybugStore


def _arrow_type(ptype: PropType) -> pa.DataType:
    import pyarrow as pa

    return {
        PropType.STRING: pa.string(), PropType.INT: pa.int64(), PropType.FLOAT: pa.float64(),
        PropType.BOOL: pa.bool_(), PropType.STRING_LIST: pa.list_(pa.string()),
    }[ptype]


def bulk_write(store: LadybugStore, batch: GraphBatch, *, workdir: str | Path | None = None,
               timings: dict[str, float] | None = None) -> WriteSummary:
    """Load ``batch`` (all documents of a first load) into the empty ``store`` with ``COPY``.
    ``timings``, when given, receives the seconds spent writing Parquet and in ``COPY``."""
    if store.read_only:
        raise BulkLoadError("the store is open read-only")
    if not is_empty(store):
        raise BulkLoadError("the store already holds documents: a bulk load is for a first load into an empty store")
    schema = store.schema
    tables = table_rows(schema, batch)
    summary = bulk_summary(schema, batch, tables)
    with tempfile.TemporaryDirectory(dir=workdir, prefix="medkg-bulk-") as tmp:
        try:
            # node tables first, then relationships (their endpoints must exist)
            for (kind, name, src, dst), rows in sorted(tables.items(), key=lambda kv: kv[0][0] != "node"):
                if not rows:
                    continue
                path = Path(tmp) / f"{kind}-{name}-{src or ''}-{dst or ''}.parquet"
                t0 = time.perf_counter()
                _write_parquet(path, rows, _columns(schema, kind, name))
                t1 = time.perf_counter()
                options = f" (from='{src}', to='{dst}')" if kind == "rel" and len(schema.edge(name).endpoints) > 1 else ""
                store._conn.execute(f"COPY {name} FROM '{path}'{options}")
                if timings is not None:
                    timings["parquet"] = timings.get("parquet", 0.0) + t1 - t0
                    timings["copy"] = timings.get("copy", 0.0) + time.perf_counter() - t1
        except Exception as exc:
            _empty(store, schema)
            raise BulkLoadError(f"bulk load failed ({type(exc).__name__}); the store was left empty: "
                                f"{str(exc).splitlines()[0][:200] if str(exc) else ''}") from None
    return summary


def _empty(store: LadybugStore, schema: Schema) -> None:
    for label in schema.nodes:
        try:
            store._conn.execute(cypher.delete_all_nodes(label))
        except RuntimeError:
            pass


def _columns(schema: Schema, kind: str, name: str) -> list[tuple[str, PropType]]:
    if kind == "node":
        return [(KEY, PropType.STRING), *((p, prop.type) for p, prop in schema.node(name).properties.items())]
    props = schema.edge_properties(name) if schema.edge(name).kind == "relation" else schema.edge(name).properties
    return [("from", PropType.STRING), ("to", PropType.STRING), *((p, prop.type) for p, prop in props.items())]


def _write_parquet(path: Path, rows: Sequence[dict[str, Any]], columns: list[tuple[str, PropType]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays = [pa.array([r.get(c) for r in rows], type=_arrow_type(t)) for c, t in columns]
    pq.write_table(pa.Table.from_arrays(arrays, names=[c for c, _ in columns]), path)
