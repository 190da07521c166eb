"""The store interface and the write algorithm both stores share.

A store only has to run parameterised Cypher inside a transaction (:class:`Tx`); everything
else (idempotent upserts, replacing a changed document's contribution, re-aggregating the
edges it touches) is written once here on top of :mod:`kg.cypher`.
"""

from __future__ import annotations

import json
import logging
import threading
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from kg import cypher
from kg.build import aggregate_edges, merge_ids, merge_synonyms
from schema.records import EvidenceRecord, GraphBatch, Node
from kg.config import QueryLimits
from kg.errors import StoreError
from kg.store.user_query import PreparedQuery, QueryResult, prepare
from schema.model import KEY, Schema, load_schema

log = logging.getLogger(__name__)


class Tx(Protocol):
    def run(self, query: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]: ...


@dataclass
class WriteSummary:
    """What one :meth:`GraphStore.write` changed."""

    documents_new: int = 0
    documents_replaced: int = 0
    documents_unchanged: int = 0
    nodes_created: int = 0
    nodes_updated: int = 0
    evidence_created: int = 0
    evidence_deleted: int = 0
    mentions_created: int = 0
    edges_written: int = 0
    edges_deleted: int = 0

    def add(self, other: "WriteSummary") -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@contextmanager
def on_cancel(cancel: threading.Event | None, action: Callable[[], None]) -> Iterator[None]:
    """Call ``action`` (from a watcher thread) if ``cancel`` is set while the block runs."""
    if cancel is None:
        yield
        return
    finished = threading.Event()

    def watch() -> None:
        while not finished.is_set():
            if cancel.wait(0.1):
                if not finished.is_set():
                    action()
                return

    watcher = threading.Thread(target=watch, name="medkg-query-cancel", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        finished.set()


def _states_properties(node: Node) -> bool:
    return any(k not in ("name", "synonyms", "sources") for k in node.properties)


def _chunks(rows: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


@dataclass
class _Plan:
    """The part of a batch that actually needs writing, after comparing with the store."""

    fresh_docs: set[str] = field(default_factory=set)
    replaced_docs: set[str] = field(default_factory=set)
    stale_keys: set[tuple[str, str, str, str, str]] = field(default_factory=set)


class GraphStore(ABC):
    """A graph store: Neo4j (system of record) or embedded LadybugDB (default)."""

    dialect: cypher.Dialect

    def __init__(self, *, schema: Schema | None = None, batch_rows: int = 10_000) -> None:
        self.schema = schema or load_schema()
        self.batch_rows = batch_rows

    # -- what a backend provides -------------------------------------------------------------
    @abstractmethod
    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Tx]:
        """A transaction: committed on normal exit, rolled back on an exception."""

    @abstractmethod
    def query(self, cypher_text: str, params: dict[str, Any] | None = None, *, write: bool = False) -> list[dict[str, Any]]:
        """Run user Cypher; read-only unless ``write``. Returns rows as plain dicts."""

    def query_many(self, queries: Sequence[tuple[str, dict[str, Any]]]) -> list[list[dict[str, Any]]]:
        """Independent read queries, rows per query in order. Run one after the other here; a
        server store runs them concurrently (latency of the slowest, not of the sum)."""
        return [self.query(text, params) for text, params in queries]

    def run_user_query(
        self,
        text: str,
        params: dict[str, Any] | None = None,
        *,
        limits: QueryLimits,
        write: bool = False,
        cancel: threading.Event | None = None,
    ) -> QueryResult:
        """Run Cypher a user wrote: checked by :mod:`kg.query_guard` first (read-only unless
        ``write``; never file access, settings or transaction control), then run within
        ``limits`` (time, rows, response size). Raises :class:`~kg.errors.QueryRefusedError`,
        :class:`~kg.errors.QueryLimitError` or :class:`~kg.errors.QueryError`. Setting ``cancel``
        (another thread: the API when its client disconnects) stops the query in the engine."""
        prepared = prepare(text, params, dialect=self.dialect.name, limits=limits, write=write)  # type: ignore[arg-type]
        return self.run_prepared(prepared, cancel=cancel)

    @abstractmethod
    def run_prepared(self, prepared: PreparedQuery, *, cancel: threading.Event | None = None) -> QueryResult:
        """Run a query :func:`kg.store.user_query.prepare` accepted, within its limits."""

    @abstractmethod
    def ensure_schema(self) -> None:
        """Create constraints/indexes (Neo4j) or tables (Ladybug); idempotent."""

    @abstractmethod
    def clear(self) -> None:
        """Delete every node and edge (tests, rebuilds)."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> "GraphStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reads ---------------------------------------------------------------------------------
    def stats(self) -> dict[str, int]:
        """Count per node label and per edge type, for every label/type in the schema."""
        out: dict[str, int] = {}
        with self.transaction(write=False) as tx:
            for label in self.schema.nodes:
                out[label] = int(tx.run(cypher.count_nodes(label))[0]["count"])
            for type_ in self.schema.edges:
                out[type_] = int(tx.run(cypher.count_edges(type_))[0]["count"])
        return out

    def iter_nodes(self, label: str) -> list[dict[str, Any]]:
        with self.transaction(write=False) as tx:
            return tx.run(cypher.all_nodes(self.schema, label))

    def iter_edges(self, type_: str) -> list[tuple[str, str, dict[str, Any]]]:
        """(head label, tail label, row) for every stored edge of ``type_``."""
        edge = self.schema.edge(type_)
        with self.transaction(write=False) as tx:
            return [
                (head, tail, row)
                for head, tail in edge.endpoints
                for row in tx.run(cypher.all_edges(self.schema, type_, head, tail))
            ]

    # -- the write algorithm -------------------------------------------------------------------
    def write(self, batch: GraphBatch) -> WriteSummary:
        """Write a batch atomically and idempotently.

        1. Documents whose stored ``content_hash`` equals the new one are skipped entirely.
        2. Documents whose hash changed lose their previous mentions and evidence first.
        3. Nodes are created if missing, else their synonyms/sources are unioned.
        4. Evidence, mention and wiring edges are created for new/changed documents.
        5. Every relation edge whose evidence changed is re-aggregated from *all* its stored
           evidence (so counts stay exact across documents) or deleted if none is left.
        """
        summary = WriteSummary()
        with self.transaction() as tx:
            plan = self._plan(tx, batch, summary)
            live = plan.fresh_docs | plan.replaced_docs
            evidence = [e for e in batch.evidence if e.doc_id in live]
            mentions = [m for m in batch.mentions if m.doc_id in live]
            needed = {(m.label, m.concept_id) for m in mentions}
            needed |= {(e.head_label, e.head_id) for e in evidence} | {(e.tail_label, e.tail_id) for e in evidence}
            needed |= {("Patient", d.patient_id) for d in batch.documents if d.id in live and d.patient_id}
            # concepts whose properties a document states (xrefs, prevalence...) even when no
            # mention or evidence touches them; unchanged ones cost a read, not a write
            needed |= {(n.label, n.id) for n in batch.nodes if n.label != "Patient" and _states_properties(n)}
            nodes = [n for n in batch.nodes if (n.label, n.id) in needed]
            self._upsert_nodes(tx, nodes, summary)
            self._write_documents(tx, [d for d in batch.documents if d.id in live], plan, summary)
            self._write_evidence(tx, evidence, summary)
            self._write_mentions(tx, mentions, summary)
            keys = plan.stale_keys | {(e.rel_type, e.head_label, e.head_id, e.tail_label, e.tail_id) for e in evidence}
            self._refresh_edges(tx, keys, summary, written=evidence)
        return summary

    def _run_rows(self, tx: Tx, query: str, rows: Sequence[Any], **extra: Any) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for chunk in _chunks(rows, self.batch_rows):
            out += tx.run(query, {"rows": list(chunk), **extra})
        return out

    def _run_ids(self, tx: Tx, query: str, ids: Sequence[str]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for chunk in _chunks(ids, self.batch_rows):
            out += tx.run(query, {"ids": list(chunk)})
        return out

    def _plan(self, tx: Tx, batch: GraphBatch, summary: WriteSummary) -> _Plan:
        plan = _Plan()
        ids = [d.id for d in batch.documents]
        stored = {r["id"]: r["hash"] for r in self._run_ids(tx, cypher.FETCH_DOCUMENT_HASHES, ids)}
        for d in batch.documents:
            if d.id not in stored:
                plan.fresh_docs.add(d.id)
            elif stored[d.id] != d.content_hash:
                plan.replaced_docs.add(d.id)
        summary.documents_new = len(plan.fresh_docs)
        summary.documents_replaced = len(plan.replaced_docs)
        summary.documents_unchanged = len(batch.documents) - len(plan.fresh_docs) - len(plan.replaced_docs)
        if plan.replaced_docs:
            replaced = sorted(plan.replaced_docs)
            old = self._run_ids(tx, cypher.FETCH_DOCUMENT_EVIDENCE_KEYS, replaced)
            plan.stale_keys = {(r["type"], r["head_label"], r["head"], r["tail_label"], r["tail"]) for r in old}
            summary.evidence_deleted = len(old)
            self._run_ids(tx, cypher.DELETE_DOCUMENT_EVIDENCE, replaced)
            for label in ("Drug", "Disease", "Symptom"):
                self._run_ids(tx, cypher.delete_document_mentions(label), replaced)
        return plan

    def _upsert_nodes(self, tx: Tx, nodes: Sequence[Node], summary: WriteSummary) -> None:
        by_label: dict[str, list[Node]] = defaultdict(list)
        for n in nodes:
            by_label[n.label].append(n)
        for label, group in by_label.items():
            props = list(self.schema.node(label).properties)
            existing = {r[KEY]: r for r in self._run_ids(tx, cypher.fetch_nodes(self.schema, label), [n.id for n in group])}
            create, update = [], []
            for n in group:
                row = {KEY: n.id, **{p: n.properties.get(p) for p in props}}
                old = existing.get(n.id)
                if old is None:
                    create.append(row)
                    continue
                merged = dict(old)
                for p in props:
                    if p in ("synonyms", "sources"):
                        merged[p] = merge_synonyms(old.get(p), row.get(p) or [])
                    elif p == "xrefs":
                        if row.get(p):
                            merged[p] = merge_ids(old.get(p), row[p])
                    elif n.label != "Patient" and p != "name" and p in n.properties:
                        # a concept property a document states (prevalence, typical sex...) is
                        # what its latest load says, an explicit null included (a row changed
                        # from 'female' to 'any' clears typical_sex)
                        merged[p] = row[p]
                    elif old.get(p) is None and row.get(p) is not None:
                        merged[p] = row[p]
                if merged != old:
                    update.append(merged)
            self._run_rows(tx, cypher.create_nodes(self.schema, label, self.dialect), create)
            self._run_rows(tx, cypher.update_nodes(self.schema, label, self.dialect), update)
            summary.nodes_created += len(create)
            summary.nodes_updated += len(update)

    def _write_documents(self, tx: Tx, docs: Sequence[Any], plan: _Plan, summary: WriteSummary) -> None:
        rows = [d.model_dump() for d in docs]
        self._run_rows(tx, cypher.create_nodes(self.schema, "Document", self.dialect), [r for r in rows if r[KEY] in plan.fresh_docs])
        self._run_rows(tx, cypher.update_nodes(self.schema, "Document", self.dialect), [r for r in rows if r[KEY] in plan.replaced_docs])

    def _write_evidence(self, tx: Tx, evidence: Sequence[EvidenceRecord], summary: WriteSummary) -> None:
        rows = [
            {
                "id": e.id, "doc_id": e.doc_id, "rel_type": e.rel_type, "head_label": e.head_label,
                "head": e.head_id, "tail_label": e.tail_label, "tail": e.tail_id, "text": e.text,
                "span_start": e.start, "span_end": e.end, "score": e.score, "source": e.source,
                "curated": e.curated, "model": e.model,
                "properties_json": json.dumps(e.properties, sort_keys=True) if e.properties else None,
            }
            for e in evidence
        ]
        self._run_rows(tx, cypher.create_nodes(self.schema, "Evidence", self.dialect), rows)
        self._run_rows(tx, cypher.CREATE_HAS_EVIDENCE, rows)
        by_head: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in rows:
            by_head[r["head_label"]].append(r)
        for head_label, group in by_head.items():
            self._run_rows(tx, cypher.create_supported_by(head_label), group)
        summary.evidence_created += len(rows)

    def _write_mentions(self, tx: Tx, mentions: Sequence[Any], summary: WriteSummary) -> None:
        by_label: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for m in mentions:
            by_label[m.label].append(m.model_dump(mode="json"))
        for label, rows in by_label.items():
            self._run_rows(tx, cypher.create_mentions(label, self.dialect), rows)
        summary.mentions_created += len(mentions)

    def _refresh_edges(
        self,
        tx: Tx,
        keys: set[tuple[str, str, str, str, str]],
        summary: WriteSummary,
        *,
        written: Sequence[EvidenceRecord] = (),
    ) -> None:
        """Re-aggregate the edges of ``keys`` from their stored evidence, then verify them.

        ``written`` (the evidence this transaction just created) is unioned with what the store
        returns, so an edge never depends on reading back uncommitted rows. After the batched
        ``MERGE`` every key is checked; keys still missing an edge are replayed one row at a
        time, and if any is still missing the write fails (and rolls back) rather than losing
        edges silently. This guards against LadybugDB's state-dependent partial drops in batched
        ``UNWIND ... MERGE`` (seen here on the full HPO + DDInter load: 2,909 of ~430k edges
        missing while their evidence was stored; same defect as CodeGraphContext#1710).
        """
        grouped: dict[tuple[str, str, str], list[dict[str, str]]] = defaultdict(list)
        for rtype, hl, hid, tl, tid in keys:
            grouped[(rtype, hl, tl)].append({"head": hid, "tail": tid})
        fresh: dict[tuple[str, str, str], list[EvidenceRecord]] = defaultdict(list)
        for e in written:
            fresh[(e.rel_type, e.head_label, e.tail_label)].append(e)
        for (rtype, hl, tl), rows in sorted(grouped.items()):
            found = {
                r["id"]: _evidence_from_row(r)
                for r in self._run_rows(tx, cypher.fetch_evidence_for_keys(hl), rows, rel_type=rtype)
                if r["tail_label"] == tl
            }
            for e in fresh.get((rtype, hl, tl), ()):
                found.setdefault(e.id, e)
            edges = aggregate_edges(found.values(), schema=self.schema)
            present = {(e.head_id, e.tail_id) for e in edges}
            edge_rows = [{"head": e.head_id, "tail": e.tail_id, **e.properties} for e in edges]
            gone = [r for r in rows if (r["head"], r["tail"]) not in present]
            merge = cypher.merge_edges(self.schema, rtype, hl, tl, self.dialect)
            self._run_rows(tx, merge, edge_rows)
            self._run_rows(tx, cypher.delete_edges(rtype, hl, tl), gone)
            self._verify_edges(tx, merge, rtype, hl, tl, edge_rows)
            summary.edges_written += len(edge_rows)
            summary.edges_deleted += len(gone)

    def rebuild_edges(self, types: Sequence[str] | None = None, *, chunk_keys: int = 20_000) -> WriteSummary:
        """Re-aggregate (and verify) every relation edge from the stored evidence.

        Repairs a store whose edges drifted from its evidence (e.g. one written before write
        verification existed); idempotent, one transaction per ``chunk_keys`` edge keys.
        """
        summary = WriteSummary()
        wanted = list(types) if types else self.schema.relation_types()
        for rtype in wanted:
            self.schema.edge(rtype)  # unknown type -> SchemaError naming it
            with self.transaction(write=False) as tx:
                keys = sorted(
                    (rtype, r["head_label"], r["head"], r["tail_label"], r["tail"])
                    for r in tx.run(cypher.EVIDENCE_KEYS_OF_TYPE, {"rel_type": rtype})
                )
            for i in range(0, len(keys), chunk_keys):
                with self.transaction() as tx:
                    self._refresh_edges(tx, set(keys[i : i + chunk_keys]), summary)
        return summary

    def _verify_edges(self, tx: Tx, merge: str, rtype: str, hl: str, tl: str, edge_rows: list[dict[str, Any]]) -> None:
        check = cypher.existing_edges(rtype, hl, tl)
        keys = [{"head": r["head"], "tail": r["tail"]} for r in edge_rows]
        have = {(r["head"], r["tail"]) for r in self._run_rows(tx, check, keys)}
        missing = [r for r in edge_rows if (r["head"], r["tail"]) not in have]
        if not missing:
            return
        log.warning("%s: %d of %d %s edges not written by the batched MERGE; replaying them one by one",
                    type(self).__name__, len(missing), len(edge_rows), rtype)
        for row in missing:
            tx.run(merge, {"rows": [row]})
        have = {(r["head"], r["tail"]) for r in self._run_rows(tx, check, [{"head": r["head"], "tail": r["tail"]} for r in missing])}
        still = [(r["head"], r["tail"]) for r in missing if (r["head"], r["tail"]) not in have]
        if still:
            raise StoreError(
                f"{len(still)} {rtype} edges could not be written (e.g. {still[0][0]} -> {still[0][1]}); "
                "the batch was rolled back, nothing was stored"
            )


def _evidence_from_row(r: dict[str, Any]) -> EvidenceRecord:
    return EvidenceRecord(
        id=r["id"], doc_id=r["doc_id"], rel_type=r["rel_type"], head_label=r["head_label"],
        head_id=r["head"], tail_label=r["tail_label"], tail_id=r["tail"], score=r["score"],
        source=r["source"], curated=bool(r["curated"]), model=r["model"], text=r["text"],
        start=r["span_start"], end=r["span_end"],
        properties=json.loads(r["properties_json"]) if r["properties_json"] else {},
    )
