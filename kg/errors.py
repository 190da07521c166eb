"""Errors of the kg package: specific subclasses of the project's one root
(:class:`schema.errors.MedkgError`, re-exported here) that also inherit builtins."""

from __future__ import annotations

from schema.errors import MedkgError

__all__ = ["MedkgError"]


class ConfigError(MedkgError, ValueError):
    """Bad configuration: unknown store kind, missing Neo4j URI, unreadable path..."""


class StoreError(MedkgError):
    """A graph store failed."""


class StoreUnavailableError(StoreError, ConnectionError):
    """The store cannot be reached or opened (Neo4j down, database locked by another process)."""


class QueryError(StoreError, ValueError):
    """A Cypher query was rejected (syntax, unknown label, write in a read-only query...)."""


class ExportError(MedkgError, ValueError):
    """A graph cannot be exported as asked (bad output directory, a value the format cannot hold)."""


class QueryRefusedError(QueryError):
    """User Cypher refused before it ran: not read-only, file access, settings, too long or too deep."""


class QueryLimitError(QueryError):
    """User Cypher stopped by a resource limit: time, memory, or a crash of its isolated worker."""


class QueryBusyError(QueryLimitError):
    """Every isolated query worker is busy: try again shortly (the API answers 503)."""
