"""The REST API (FastAPI): interaction check, diagnosis ranking, read-only Cypher.

:mod:`~kg.api.app` builds the app (routes, error handling), :mod:`~kg.api.settings` its
configuration, :mod:`~kg.api.models` the request/response bodies, :mod:`~kg.api.service` the
state behind the routes, :mod:`~kg.api.middleware` the access log, body limit and key check.
Its guarantees are in docs/SECURITY.md.
"""

from kg.api.app import create_app
from kg.api.settings import API_VERSION, ApiSettings

__all__ = ["API_VERSION", "ApiSettings", "create_app"]
