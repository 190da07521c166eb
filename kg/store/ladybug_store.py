"""Embedded default store: LadybugDB (the maintained Kuzu fork), on disk, no server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import ladybug

from kg import cypher
from kg.config import QueryLimits
from kg.errors import QueryError, QueryLimitError, StoreError, StoreUnavailableError
from kg.query_guard import engine_error_text
from kg.store.base import GraphStore, on_cancel
from kg.store.user_query import PreparedQuery, QueryResult, collect
from schema.compile import ladybug_ddl, ladybug_migrations
from schema.model import Schema


def _plain(value: Any) -> Any:
    """Ladybug returns nodes/rels as dicts with internal ``_id``/``_label`` keys: drop internals."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _rows(result: Any) -> Iterator[list[Any]]:
    while result.has_next():
        yield result.get_next()


def engine_error(message: str, limits: QueryLimits, prepared: PreparedQuery | None = None) -> QueryError:
    """The error a caller sees for an engine failure: limits named, else a fixed description of
    the error's kind (:func:`~kg.query_guard.engine_error_text`), placed in ``prepared``'s text."""
    if "Interrupted" in message:
        return QueryLimitError(f"query stopped at the time limit ({limits.timeout_s:g} s)")
    if "Buffer manager exception" in message or "Unable to allocate memory" in message:
        return QueryLimitError("query needs more memory than the engine may use")
    where = {"checked": prepared.checked, "ran": prepared.engine_text()} if prepared is not None else {}
    return QueryError(f"embedded store rejected the query: {engine_error_text(message, **where)}")


class _LadybugTx:
    def __init__(self, conn: ladybug.Connection) -> None:
        self._conn = conn

    def run(self, query: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        try:
            result = self._conn.execute(query, params or {})
        except RuntimeError as exc:
            raise QueryError(f"embedded store rejected query: {engine_error_text(str(exc))}") from exc
        results = result if isinstance(result, list) else [result]
        rows: list[dict[str, Any]] = []
        for res in results:
            cols = res.get_column_names()
            while res.has_next():
                rows.append({c: _plain(v) for c, v in zip(cols, res.get_next(), strict=True)})
        return rows


class LadybugStore(GraphStore):
    """LadybugDB at ``path`` (created on first use, schema applied automatically)."""

    dialect = cypher.LADYBUG

    def __init__(
        self,
        path: str | Path,
        *,
        schema: Schema | None = None,
        batch_rows: int = 10_000,
        read_only: bool = False,
        buffer_pool_mb: int = 0,
    ) -> None:
        super().__init__(schema=schema, batch_rows=batch_rows)
        self.path = Path(path)
        if read_only and not self.path.exists():
            raise StoreUnavailableError(f"embedded store {self.path} does not exist; build a graph first (medkg build ...)")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = ladybug.Database(str(self.path), read_only=read_only, buffer_pool_size=buffer_pool_mb * 2**20)
            self._conn = ladybug.Connection(self._db)
        except RuntimeError as exc:
            raise StoreUnavailableError(f"cannot open embedded store {self.path}: {exc}") from exc
        self.read_only = read_only
        if not read_only:
            self.ensure_schema()

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[_LadybugTx]:
        """A transaction; read-only ones make the engine itself refuse any write clause."""
        if write and self.read_only:
            raise StoreError(f"embedded store {self.path} was opened read-only")
        self._conn.execute("BEGIN TRANSACTION" if write else "BEGIN TRANSACTION READ ONLY")
        try:
            yield _LadybugTx(self._conn)
        except BaseException:
            try:
                self._conn.execute("ROLLBACK")
            except RuntimeError:
                pass  # the engine already rolled back (it does on a failed statement); keep the real error
            raise
        self._conn.execute("COMMIT")

    def query(self, cypher_text: str, params: dict[str, Any] | None = None, *, write: bool = False) -> list[dict[str, Any]]:
        if self.read_only and not write:
            # The database itself refuses writes, so the explicit read-only transaction adds
            # nothing but two round trips (~1 ms per query, a large share of an interaction check).
            return _LadybugTx(self._conn).run(cypher_text, params)
        with self.transaction(write=write) as tx:
            return tx.run(cypher_text, params)

    def run_prepared(self, prepared: PreparedQuery, *, cancel: threading.Event | None = None) -> QueryResult:
        """Run a checked user query on this connection: the engine's own timeout interrupts it
        (``Connection.set_query_timeout``), as does ``cancel`` (``Connection.interrupt``); rows
        are read one at a time up to the caps."""
        limits = prepared.limits
        self._conn.set_query_timeout(int(limits.timeout_s * 1000))
        try:
            with on_cancel(cancel, self._conn.interrupt):
                if prepared.write:
                    with self.transaction(write=True):
                        return self._collect(prepared)
                return self._collect(prepared)
        except RuntimeError as exc:
            if cancel is not None and cancel.is_set():
                raise QueryLimitError("query cancelled") from None
            raise engine_error(str(exc), limits, prepared) from None
        finally:
            self._conn.set_query_timeout(0)

    def _collect(self, prepared: PreparedQuery) -> QueryResult:
        result = self._conn.execute(prepared.engine_text(), prepared.params)
        if isinstance(result, list):  # several statements: the guard lets only one through
            raise QueryError("one statement per query")
        try:
            names = result.get_column_names()
            if prepared.columns is not None and len(prepared.columns) == len(names):
                names = list(prepared.columns)  # named as Neo4j names them
            return collect(names, _rows(result), prepared.limits)
        finally:
            result.close()

    def ensure_schema(self) -> None:
        for stmt in ladybug_ddl(self.schema):
            self._conn.execute(stmt)
        if not self.read_only:
            for stmt in ladybug_migrations(self.schema):
                self._conn.execute(stmt)

    def clear(self) -> None:
        with self.transaction() as tx:
            for label in self.schema.nodes:
                tx.run(cypher.delete_all_nodes(label))

    def close(self) -> None:
        """Close the connection and the database; idempotent."""
        if getattr(self, "_closed", False):
            return
        self._closed = True
        self._conn.close()
        self._db.close()
