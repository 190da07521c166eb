"""Neo4j, the system of record, over Bolt with the official driver."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import neo4j
from neo4j.exceptions import AuthError, ClientError, DriverError, Neo4jError, ServiceUnavailable

from kg import cypher
from kg.errors import QueryError, QueryLimitError, StoreError, StoreUnavailableError
from kg.query_guard import engine_error_text
from kg.store.base import GraphStore, on_cancel
from kg.store.user_query import PreparedQuery, QueryResult, collect
from schema.compile import neo4j_ddl
from schema.model import Schema

_READ_ATTEMPTS = 3
"""Tries of a read statement on retryable errors (as the driver's managed transactions do)."""


class _Neo4jTx:
    def __init__(self, tx: neo4j.Transaction | neo4j.Session) -> None:
        self._tx = tx

    def run(self, query: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        try:
            return [r.data() for r in self._tx.run(query, params or {})]
        except ClientError as exc:
            raise QueryError(f"Neo4j rejected query: {engine_error_text(exc.message or '', exc.code)} [{exc.code}]") from exc


class Neo4jStore(GraphStore):
    """Neo4j at ``uri`` (``bolt://`` or ``neo4j://``); schema applied on connect."""

    dialect = cypher.NEO4J

    def __init__(
        self,
        uri: str,
        *,
        user: str = "neo4j",
        password: str | None = None,
        database: str | None = None,
        schema: Schema | None = None,
        batch_rows: int = 10_000,
    ) -> None:
        super().__init__(schema=schema, batch_rows=batch_rows)
        self.uri = uri
        self.database = database
        auth = (user, password) if password else None
        try:
            # Server notifications (e.g. "label does not exist yet" on an empty graph) are
            # expected for schema-driven queries; they would only flood the user's log.
            self._driver = neo4j.GraphDatabase.driver(uri, auth=auth, notifications_min_severity="OFF")
            self._driver.verify_connectivity()
        except (ServiceUnavailable, AuthError, ValueError, OSError) as exc:
            raise StoreUnavailableError(f"cannot reach Neo4j at {uri}: {exc}") from exc
        self.ensure_schema()

    def _session(self, *, write: bool = True) -> neo4j.Session:
        mode = neo4j.WRITE_ACCESS if write else neo4j.READ_ACCESS
        return self._driver.session(database=self.database, default_access_mode=mode)

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[_Neo4jTx]:
        with self._session(write=write) as session, session.begin_transaction() as tx:
            yield _Neo4jTx(tx)
            tx.commit()

    def query(self, cypher_text: str, params: dict[str, Any] | None = None, *, write: bool = False) -> list[dict[str, Any]]:
        try:
            if write:
                with self._session(write=True) as session:
                    return session.execute_write(lambda tx: [r.data() for r in tx.run(cypher_text, params or {})])
            return self._read_autocommit(cypher_text, params or {})
        except ClientError as exc:
            raise QueryError(f"Neo4j rejected query: {engine_error_text(exc.message or '', exc.code)} [{exc.code}]") from exc
        except Neo4jError as exc:
            raise StoreError(f"Neo4j query failed: {exc}") from exc
        except ServiceUnavailable as exc:
            raise StoreUnavailableError(f"Neo4j at {self.uri} went away: {exc}") from exc

    def _read_autocommit(self, cypher_text: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """A read as an auto-commit statement in a READ_ACCESS session (the server refuses writes
        there, tests/kg/test_store.py): one round trip less than a managed transaction (~1 ms per
        query here). Retried like a managed transaction would be, on errors the driver marks
        retryable (leader switch, transient lock/memory errors), a bounded number of times."""
        for attempt in range(_READ_ATTEMPTS):
            try:
                with self._session(write=False) as session:
                    # Record.data() turns nodes/relationships into property dicts (JSON-able)
                    return [r.data() for r in session.run(cypher_text, params)]
            except (Neo4jError, DriverError) as exc:
                if attempt + 1 == _READ_ATTEMPTS or not exc.is_retryable():
                    raise
                time.sleep(0.05 * 2**attempt)
        raise AssertionError("unreachable")

    def query_many(self, queries: Sequence[tuple[str, dict[str, Any]]]) -> list[list[dict[str, Any]]]:
        """Independent small read lookups in one statement (:func:`kg.cypher.combine_reads`): one
        round trip for all of them. Queries that cannot be combined, or whose parameters clash,
        run concurrently in their own sessions instead (the driver's pool is thread-safe)."""
        if len(queries) < 2:
            return [self.query(text, params) for text, params in queries]
        merged: dict[str, Any] = {}
        clash = False
        for _, params in queries:
            for key, value in params.items():
                clash = clash or (key in merged and merged[key] != value)
                merged[key] = value
        combined = None if clash else cypher.combine_reads([text for text, _ in queries])
        if combined is not None:
            (row,) = self.query(combined, merged)
            return [row[f"r{i}"] for i in range(len(queries))]
        with ThreadPoolExecutor(max_workers=len(queries)) as pool:
            return list(pool.map(lambda q: self.query(q[0], q[1]), queries))

    def run_autocommit(self, cypher_text: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run one statement in an auto-commit transaction: needed by ``CALL {...} IN TRANSACTIONS``
        (bulk fix-ups after ``neo4j-admin import``), which managed transactions refuse."""
        try:
            with self._session() as session:
                return [r.data() for r in session.run(cypher_text, params or {})]
        except ClientError as exc:
            raise QueryError(f"Neo4j rejected query: {engine_error_text(exc.message or '', exc.code)} [{exc.code}]") from exc
        except Neo4jError as exc:
            raise StoreError(f"Neo4j query failed: {exc}") from exc

    def run_prepared(self, prepared: PreparedQuery, *, cancel: threading.Event | None = None) -> QueryResult:
        """Run a checked user query as one auto-commit statement in a session of the matching
        access mode (the server refuses writes in a READ session), with the server-side
        transaction timeout, streaming records (the driver pulls them in batches) up to the caps;
        closing the session discards the rest on the server. ``cancel`` terminates the
        transaction on the server (found by a random tag in its metadata)."""
        limits = prepared.limits
        tag = secrets.token_hex(12)
        query = neo4j.Query(prepared.engine_text(), timeout=limits.timeout_s or None,  # type: ignore[arg-type]
                            metadata={"medkg_query": tag})
        try:
            with on_cancel(cancel, lambda: self._terminate(tag)), self._session(write=prepared.write) as session:
                result = session.run(query, prepared.params)
                keys = list(result.keys())
                return collect(keys, (tuple(_plain(v) for v in r.values()) for r in result), limits)
        except Neo4jError as exc:
            code = exc.code or ""
            if cancel is not None and cancel.is_set():
                raise QueryLimitError("query cancelled") from None
            if "TransactionTimedOut" in code or "Terminated" in code:
                raise QueryLimitError(f"query stopped at the time limit ({limits.timeout_s:g} s)") from None
            if "MemoryPoolOutOfMemory" in code or "OutOfMemory" in code:
                raise QueryLimitError("query needs more memory than the server allows") from None
            raise QueryError(f"Neo4j rejected the query: {engine_error_text(exc.message or '', code, checked=prepared.checked, ran=query.text)}") from None
        except ServiceUnavailable as exc:
            raise StoreUnavailableError(f"Neo4j at {self.uri} went away") from exc

    def _terminate(self, tag: str) -> None:
        """Terminate the running transaction tagged ``tag`` (Neo4j 5 transaction commands)."""
        try:
            with self._session() as session:
                ids = [r["id"] for r in session.run(cypher.FIND_TAGGED_TRANSACTIONS, tag=tag)]
                if ids:
                    session.run(cypher.TERMINATE_TRANSACTIONS, ids=ids).consume()
        except (Neo4jError, DriverError):  # it may have finished meanwhile; the timeout still applies
            pass

    def ensure_schema(self) -> None:
        with self._session() as session:
            for stmt in neo4j_ddl(self.schema):
                session.run(stmt).consume()

    def clear(self) -> None:
        with self._session() as session:
            session.run(cypher.DELETE_ALL_RELATIONSHIPS_IN_BATCHES).consume()
            session.run(cypher.DELETE_ALL_IN_BATCHES).consume()

    def close(self) -> None:
        self._driver.close()


def _plain(value: Any) -> Any:
    """A driver value as the embedded store gives it: a node or relationship as its property
    map (``Record.data()`` would turn a relationship into a (start, type, end) triple), lists and
    maps converted inside."""
    from neo4j.graph import Node, Relationship

    if isinstance(value, Node | Relationship):
        return dict(value.items())
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
