"""Store configuration: a typed object built once at the edge (CLI, API, env) and passed down."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError

from kg.errors import ConfigError
from schema.records import Record

DEFAULT_DB_PATH = Path("medkg-data") / "graph.lbug"
"""Embedded store location when neither ``--db`` nor ``MEDKG_DB_PATH`` is given."""


class StoreConfig(Record):
    """Which store to use and how to reach it.

    ``kind`` defaults to Neo4j when a URI is configured and to the embedded LadybugDB otherwise,
    so a fresh machine with no server works out of the box.
    """

    kind: Literal["ladybug", "neo4j"]
    path: Path = DEFAULT_DB_PATH
    uri: str | None = None
    user: str = "neo4j"
    password: SecretStr | None = None
    database: str | None = None
    batch_rows: int = 10_000
    """Rows per ``UNWIND`` statement: 10k-50k is the range Neo4j recommends for batched writes."""

    @classmethod
    def resolve(
        cls,
        *,
        kind: str | None = None,
        path: str | Path | None = None,
        uri: str | None = None,
        user: str | None = None,
        password: str | None = None,
        database: str | None = None,
        env: dict[str, str] | None = None,
    ) -> "StoreConfig":
        """Explicit arguments win over ``MEDKG_*`` environment variables, which win over defaults."""
        env = dict(os.environ) if env is None else env
        uri = uri or env.get("MEDKG_NEO4J_URI") or None
        kind = kind or env.get("MEDKG_STORE") or ("neo4j" if uri else "ladybug")
        if kind not in ("ladybug", "neo4j"):
            raise ConfigError(f"unknown store kind {kind!r}; choose 'ladybug' (embedded) or 'neo4j'")
        if kind == "neo4j" and not uri:
            raise ConfigError("store 'neo4j' needs a Bolt URI: pass --neo4j-uri or set MEDKG_NEO4J_URI")
        pw = password if password is not None else env.get("MEDKG_NEO4J_PASSWORD")
        return cls(
            kind=kind,  # type: ignore[arg-type]
            path=Path(path or env.get("MEDKG_DB_PATH") or DEFAULT_DB_PATH),
            uri=uri,
            user=user or env.get("MEDKG_NEO4J_USER") or "neo4j",
            password=SecretStr(pw) if pw else None,
            database=database or env.get("MEDKG_NEO4J_DATABASE") or None,
        )


class QueryLimits(Record):
    """Bounds on one user Cypher query (``POST /v1/query``, ``medkg query``), built once at the edge.

    The API's defaults assume a caller with a valid key may be hostile: a query gets 10 s of
    engine time (interactive Cypher over this graph answers in milliseconds; a 10 s query is a
    mistake or an attack), 1 GiB of worker memory (the curated graph's working set is ~300 MB),
    1,000 rows and 5 MiB of JSON. ``0`` means "no limit" for ``timeout_s``, ``max_rows``,
    ``max_response_bytes`` and ``memory_mb`` (the CLI's defaults: a local user owns the machine).
    """

    max_chars: int = Field(default=10_000, ge=1)
    max_depth: int = Field(default=40, ge=1, le=200)
    max_tokens: int = Field(default=20_000, ge=1)
    timeout_s: float = Field(default=10.0, ge=0)
    max_rows: int = Field(default=1000, ge=0)
    max_response_bytes: int = Field(default=5 * 1024 * 1024, ge=0)
    memory_mb: int = Field(default=1024, ge=0)
    workers: int = Field(default=2, ge=1, le=64)
    """User queries that can run at once: on the embedded store its isolated worker processes, on
    Neo4j the API's query slots (:meth:`kg.api.service.Service.query_slot`)."""
    queue_timeout_s: float = Field(default=5.0, ge=0)
    """How long a query waits for a free worker before the API answers 503."""

    @classmethod
    def cli(cls) -> "QueryLimits":
        """The CLI's limits: static checks as everywhere, no time/row/size/memory caps."""
        return cls(max_chars=1_000_000, timeout_s=0, max_rows=0, max_response_bytes=0, memory_mb=0)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "QueryLimits":
        """``MEDKG_QUERY_TIMEOUT_S``, ``MEDKG_QUERY_MAX_ROWS``, ``MEDKG_QUERY_MAX_BYTES``,
        ``MEDKG_QUERY_MEMORY_MB``, ``MEDKG_QUERY_WORKERS``, ``MEDKG_QUERY_MAX_CHARS`` over the defaults."""
        env = dict(os.environ) if env is None else env
        names = {
            "MEDKG_QUERY_TIMEOUT_S": "timeout_s", "MEDKG_QUERY_MAX_ROWS": "max_rows",
            "MEDKG_QUERY_MAX_BYTES": "max_response_bytes", "MEDKG_QUERY_MEMORY_MB": "memory_mb",
            "MEDKG_QUERY_WORKERS": "workers", "MEDKG_QUERY_MAX_CHARS": "max_chars",
        }
        values: dict[str, str] = {field: env[var] for var, field in names.items() if env.get(var, "").strip()}
        try:
            return cls(**values)  # type: ignore[arg-type]
        except ValidationError as exc:
            bad = ", ".join(next(v for v, f in names.items() if f == e["loc"][0]) for e in exc.errors())
            raise ConfigError(f"invalid query limit in {bad}: give a non-negative number") from None
