"""User Cypher, run within limits: the one path ``medkg query`` and ``POST /v1/query`` take.

:func:`prepare` checks the text with :mod:`kg.query_guard` and the parameters here; each store
then runs the checked text and hands its rows to :func:`collect`, which applies the row and
response-size caps *while reading* (a store streams; nothing past the cap is converted or kept)
and turns engine values into JSON values. The API additionally runs embedded-store queries in
isolated worker processes (:mod:`kg.store.sandbox`), so that a query the engine cannot survive
does not take the server down.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from kg.config import QueryLimits
from kg.errors import QueryRefusedError
from kg.query_guard import CheckedQuery, GuardLimits, check_query

MAX_PARAM_DEPTH = 16
"""Nesting of a parameter value: ``{"ids": ["a", "b"]}`` is 2; lists of maps of lists are 4."""


@dataclass(frozen=True)
class QueryResult:
    """Rows of a user query. ``truncated`` says a cap stopped the reading (``truncated_by``)."""

    columns: list[str]
    rows: list[dict[str, Any]]
    truncated: bool = False
    truncated_by: Literal["rows", "bytes"] | None = None


@dataclass(frozen=True)
class PreparedQuery:
    checked: CheckedQuery
    params: dict[str, Any]
    limits: QueryLimits
    write: bool
    extra: dict[str, Any] = field(default_factory=dict)
    translated: str | None = None
    """The embedded store's spelling of the checked text (:mod:`kg.store.cypher_compat`)."""
    columns: tuple[str, ...] | None = None
    """Result column names as Neo4j gives them, where the engine names them differently."""

    def engine_text(self) -> str:
        """The text to run: a read query ending in ``RETURN`` without ``LIMIT`` gets
        ``LIMIT max_rows + 1`` appended, so the engine never materialises rows nobody reads
        (the ``+ 1`` tells a full page from a truncated one)."""
        text = self.translated or self.checked.text
        if not self.write and self.limits.max_rows and self.checked.ends_with_return_without_limit():
            text = f"{text} LIMIT {self.limits.max_rows + 1}"
        return text


def prepare(
    text: str,
    params: Mapping[str, Any] | None,
    *,
    dialect: Literal["neo4j", "ladybug"],
    limits: QueryLimits,
    write: bool = False,
) -> PreparedQuery:
    """Check a user query and its parameters; raises :class:`QueryRefusedError` saying why not."""
    if not isinstance(text, str):
        raise QueryRefusedError("the query must be a string")
    checked = check_query(
        text, dialect=dialect, allow_write=write,
        limits=GuardLimits(max_chars=limits.max_chars, max_tokens=limits.max_tokens, max_depth=limits.max_depth),
    )
    clean = dict(params or {})
    for n, (name, value) in enumerate(clean.items(), start=1):
        if not isinstance(name, str) or not name.isidentifier():
            raise QueryRefusedError("parameter names must be identifiers (letters, digits, _)")
        _check_param(value, f"#{n}", 1)  # by position: a caller's name is not said back
    if dialect == "ladybug":
        from kg.store.cypher_compat import translate

        t = translate(checked.text)
        return PreparedQuery(checked, clean, limits, write, translated=t.text, columns=t.columns)
    return PreparedQuery(checked, clean, limits, write)


def _check_param(value: Any, name: str, depth: int) -> None:
    """``name``: the parameter's position in the order given (``#2``)."""
    if depth > MAX_PARAM_DEPTH:
        raise QueryRefusedError(f"parameter {name} is nested deeper than {MAX_PARAM_DEPTH} levels")
    if value is None or isinstance(value, bool | int | str):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise QueryRefusedError(f"parameter {name} holds a non-finite number")
        return
    if isinstance(value, list | tuple):
        for item in value:
            _check_param(item, name, depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise QueryRefusedError(f"parameter {name} has a non-string map key")
            _check_param(item, name, depth + 1)
        return
    raise QueryRefusedError(f"parameter {name} has an unsupported type {type(value).__name__}")


def jsonable(value: Any) -> Any:
    """A JSON value for an engine value: bytes as base64 text, dates/times as ISO 8601, decimals
    and UUIDs as strings, non-finite floats as ``"NaN"``/``"Infinity"``, nodes as their
    properties (LadybugDB's internal ``_ID``/``_LABEL`` keys dropped), anything else as ``str``."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else ("NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity"))
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Mapping):
        if "_ID" in value:
            # a node or relationship of the embedded store: its set properties, as Neo4j gives them
            return {str(k): jsonable(v) for k, v in value.items() if not str(k).startswith("_") and v is not None}
        return {str(k): jsonable(v) for k, v in value.items() if not str(k).startswith("_")}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        # the embedded engine sums integers as INT128 (a Decimal); Neo4j returns an integer
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    iso = getattr(value, "iso_format", None)  # neo4j.time types
    if callable(iso):
        return iso()
    return str(value)


def collect(columns: Sequence[str], rows: Iterable[Sequence[Any]], limits: QueryLimits) -> QueryResult:
    """Read rows until a cap: at most ``max_rows`` rows and ``max_response_bytes`` of JSON."""
    cols = [str(c) for c in columns]
    out: list[dict[str, Any]] = []
    size = 2
    for values in rows:
        if limits.max_rows and len(out) >= limits.max_rows:
            return QueryResult(cols, out, truncated=True, truncated_by="rows")
        row = {c: jsonable(v) for c, v in zip(cols, values, strict=True)}
        if limits.max_response_bytes:
            size += len(json.dumps(row, ensure_ascii=False).encode()) + 1
            if size > limits.max_response_bytes:
                return QueryResult(cols, out, truncated=True, truncated_by="bytes")
        out.append(row)
    return QueryResult(cols, out)
