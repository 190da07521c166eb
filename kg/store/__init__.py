"""Graph stores behind one interface: :func:`open_store` picks one from a :class:`StoreConfig`."""

from __future__ import annotations

from kg.config import StoreConfig
from kg.errors import StoreUnavailableError
from kg.store.base import GraphStore, WriteSummary


def open_store(config: StoreConfig, *, read_only: bool = False, must_exist: bool = False) -> GraphStore:
    """Open the configured store (embedded LadybugDB unless a Neo4j URI is configured).

    ``must_exist`` refuses to create an embedded store that is not there (commands that only
    read: a mistyped ``--db`` must be an error, not a new empty graph)."""
    if config.kind == "neo4j":
        from kg.store.neo4j_store import Neo4jStore

        assert config.uri is not None  # guaranteed by StoreConfig.resolve
        return Neo4jStore(
            config.uri,
            user=config.user,
            password=config.password.get_secret_value() if config.password else None,
            database=config.database,
            batch_rows=config.batch_rows,
        )
    from kg.store.ladybug_store import LadybugStore

    if (must_exist or read_only) and not config.path.exists():
        raise StoreUnavailableError(f"embedded store {config.path} does not exist; build a graph first (medkg build ...)")
    return LadybugStore(config.path, batch_rows=config.batch_rows, read_only=read_only)


__all__ = ["GraphStore", "WriteSummary", "open_store"]
