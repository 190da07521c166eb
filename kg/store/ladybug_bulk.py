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

import json
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kg import cypher
from kg.build import aggregate_edges
from kg.errors import StoreError
from kg.store.base import WriteSummary
from schema.model import KEY, PropType, Schema
from schema.records import GraphBatch

if TYPE_CHECKING:
    import pyarrow as pa

    from kg.store.ladybug_store import LadybugStore


class BulkLoadError(StoreError):
    """The bulk path cannot be used (the store is not empty) or a ``COPY`` failed."""


def _arrow_type(ptype: PropType) -> pa.DataType:
    import pyarrow as pa

    return {
        PropType.STRING: pa.string(), PropType.INT: pa.int64(), PropType.FLOAT: pa.float64(),
        PropType.BOOL: pa.bool_(), PropType.STRING_LIST: pa.list_(pa.string()),
    }[ptype]


def is_empty(store: LadybugStore) -> bool:
    return not store.query("MATCH (d:Document) RETURN count(d) AS n")[0]["n"]


def bulk_write(store: LadybugStore, batch: GraphBatch, *, workdir: str | Path | None = None) -> WriteSummary:
    """Load ``batch`` (all documents of a first load) into the empty ``store`` with ``COPY``."""
    if store.read_only:
        raise BulkLoadError("the store is open read-only")
    if not is_empty(store):
        raise BulkLoadError("the store already holds documents: a bulk load is for a first load into an empty store")
    schema = store.schema
    tables = _tables(schema, batch)
    summary = WriteSummary(documents_new=len(batch.documents), nodes_created=len(batch.nodes),
                           evidence_created=len(batch.evidence), mentions_created=len(batch.mentions))
    summary.edges_written = sum(len(rows) for (kind, name, _, _), rows in tables.items()
                                if kind == "rel" and schema.edge(name).kind == "relation")
    with tempfile.TemporaryDirectory(dir=workdir, prefix="medkg-bulk-") as tmp:
        try:
            # node tables first, then relationships (their endpoints must exist)
            for (kind, name, src, dst), rows in sorted(tables.items(), key=lambda kv: kv[0][0] != "node"):
                if not rows:
                    continue
                path = Path(tmp) / f"{kind}-{name}-{src or ''}-{dst or ''}.parquet"
                _write_parquet(path, rows, _columns(schema, kind, name))
                options = f" (from='{src}', to='{dst}')" if kind == "rel" and len(schema.edge(name).endpoints) > 1 else ""
                store._conn.execute(f"COPY {name} FROM '{path}'{options}")
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


def _tables(schema: Schema, batch: GraphBatch) -> dict[tuple[str, str, str | None, str | None], list[dict[str, Any]]]:
    """Rows per node table and per (relationship type, from label, to label), as the online
    write stores them."""
    tables: dict[tuple[str, str, str | None, str | None], list[dict[str, Any]]] = defaultdict(list)
    for n in batch.nodes:
        props = schema.node(n.label).properties
        tables[("node", n.label, None, None)].append({KEY: n.id, **{p: n.properties.get(p) for p in props}})
    for d in batch.documents:
        tables[("node", "Document", None, None)].append(d.model_dump())
    for e in batch.evidence:
        tables[("node", "Evidence", None, None)].append({
            "id": e.id, "doc_id": e.doc_id, "rel_type": e.rel_type, "head_label": e.head_label,
            "head": e.head_id, "tail_label": e.tail_label, "tail": e.tail_id, "text": e.text,
            "span_start": e.start, "span_end": e.end, "score": e.score, "source": e.source,
            "curated": e.curated, "model": e.model,
            "properties_json": json.dumps(e.properties, sort_keys=True) if e.properties else None,
        })
        tables[("rel", "HAS_EVIDENCE", "Document", "Evidence")].append({"from": e.doc_id, "to": e.id})
        tables[("rel", "SUPPORTED_BY", e.head_label, "Evidence")].append({"from": e.head_id, "to": e.id})
    for m in batch.mentions:
        tables[("rel", "MENTIONS", "Document", m.label)].append({
            "from": m.doc_id, "to": m.concept_id, "mention_count": m.count, "best_score": m.best_score,
            "assertions": list(m.assertions),
        })
    for edge in aggregate_edges(batch.evidence, schema=schema):
        tables[("rel", edge.type, edge.head_label, edge.tail_label)].append(
            {"from": edge.head_id, "to": edge.tail_id, **edge.properties})
    return tables
