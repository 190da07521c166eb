"""What a first (bulk) load writes, as plain rows per table: shared by the embedded store's
``COPY`` path (:mod:`kg.store.ladybug_bulk`) and Neo4j's batched ``CREATE`` path
(:mod:`kg.store.neo4j_bulk`). The rows are exactly what the online write
(:meth:`kg.store.base.GraphStore.write`) stores for the same batch."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from kg.build import aggregate_edges
from kg.errors import StoreError
from kg.store.base import GraphStore, WriteSummary
from schema.model import KEY, Schema
from schema.records import GraphBatch

TableKey = tuple[str, str, "str | None", "str | None"]
"""("node", label, None, None) or ("rel", type, from label, to label)."""


class BulkLoadError(StoreError):
    """The bulk path cannot be used (the store is not empty) or a bulk write failed."""


def is_empty(store: GraphStore) -> bool:
    """No document stored yet: the only state a bulk first load starts from."""
    return not store.query("MATCH (d:Document) RETURN count(d) AS n")[0]["n"]


def table_rows(schema: Schema, batch: GraphBatch) -> dict[TableKey, list[dict[str, Any]]]:
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


def bulk_summary(schema: Schema, batch: GraphBatch, tables: dict[TableKey, list[dict[str, Any]]]) -> WriteSummary:
    """What a bulk write of ``batch`` (as ``tables``) creates, counted as the online write counts it."""
    summary = WriteSummary(documents_new=len(batch.documents), nodes_created=len(batch.nodes),
                           evidence_created=len(batch.evidence), mentions_created=len(batch.mentions))
    summary.edges_written = sum(len(rows) for (kind, name, _, _), rows in tables.items()
                                if kind == "rel" and schema.edge(name).kind == "relation")
    return summary
