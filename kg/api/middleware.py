"""ASGI middleware and the key check: access log, body limit, API keys."""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import Depends, HTTPException
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from kg.api.settings import ApiSettings

log = logging.getLogger("medkg.api")


class AccessLog:
    """ASGI middleware: one line per request (method, path, status, milliseconds) on the
    ``medkg.api`` logger; never bodies, query strings or headers (they hold keys and note text)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def capture(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            path = "".join(ch if ch.isprintable() else "?" for ch in str(scope.get("path", "")))[:120]
            log.info("%s %s %d %.1fms", scope.get("method", "?"), path, status, 1000 * (time.perf_counter() - started))


class BodyLimit:
    """ASGI middleware: 413 for bodies over ``max_bytes``, by ``Content-Length`` or by the bytes
    actually received (chunked uploads have no length header)."""

    def __init__(self, app: Any, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict[str, Any], receive: Callable[[], Awaitable[dict[str, Any]]], send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await error_response(413, f"request body over {self.max_bytes} bytes")(scope, receive, send)
            return
        seen = 0

        async def limited() -> dict[str, Any]:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    # raised inside body parsing: FastAPI passes HTTPException through as the response
                    raise HTTPException(status_code=413, detail=f"request body over {self.max_bytes} bytes")
            return message

        await self.app(scope, limited, send)


def error_response(status: int, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"detail": message})


def auth_dependency(settings: ApiSettings) -> Callable[..., None]:
    keys: Sequence[bytes] = tuple(k.get_secret_value().encode() for k in settings.api_keys)
    header = APIKeyHeader(name="X-API-Key", auto_error=False)
    bearer = HTTPBearer(auto_error=False)

    def check(
        api_key: str | None = Depends(header),
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    ) -> None:
        if not keys:
            return  # allow_no_auth, checked at startup
        given = api_key or (credentials.credentials if credentials else None)
        if given is None:
            raise HTTPException(status_code=401, detail="missing API key (X-API-Key header)", headers={"WWW-Authenticate": "Bearer"})
        supplied = given.encode()
        ok = False
        for key in keys:  # every key compared, in constant time each
            ok |= hmac.compare_digest(supplied, key)
        if not ok:
            raise HTTPException(status_code=401, detail="invalid API key", headers={"WWW-Authenticate": "Bearer"})

    return check
