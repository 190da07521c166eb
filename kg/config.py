"""Store configuration: a typed object built once at the edge (CLI, API, env) and passed down."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, SecretStr

from kg.errors import ConfigError

DEFAULT_DB_PATH = Path("medkg-data") / "graph.lbug"
"""Embedded store location when neither ``--db`` nor ``MEDKG_DB_PATH`` is given."""


class StoreConfig(BaseModel):
    """Which store to use and how to reach it.

    ``kind`` defaults to Neo4j when a URI is configured and to the embedded LadybugDB otherwise,
    so a fresh machine with no server works out of the box.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

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
