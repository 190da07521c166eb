"""Graph stores behind one interface: :func:`open_store` picks one from a :class:`StoreConfig`."""

from __future__ import annotations

from kg.config import StoreConfig
from kg.store.base import GraphStore, WriteSummary


def open_store(config: StoreConfig, *, read_only: bool = False) -> GraphStore:
    """Open the configured store (embedded LadybugDB unless a Neo4j URI is configured)."""
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

    return LadybugStore(config.path, batch_rows=config.batch_rows, read_only=read_only)


__all__ = ["GraphStore", "WriteSummary", "open_store"]
