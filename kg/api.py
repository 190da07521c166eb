"""REST API: interaction check, diagnosis ranking and read-only Cypher (FastAPI).

    MEDKG_API_KEYS=key1,key2 medkg serve --host 127.0.0.1 --port 8000
    curl -H "X-API-Key: key1" -d '{"drugs": ["warfarin", "aspirin"]}' http://127.0.0.1:8000/v1/interactions/check

Security choices, each on by default:

* **API keys** from ``MEDKG_API_KEYS`` (comma separated), sent as ``X-API-Key`` or
  ``Authorization: Bearer``; compared with :func:`hmac.compare_digest` against every configured key
  (no early exit), so response time does not reveal how much of a key was right. The app refuses
  to start without keys unless ``allow_no_auth`` is set explicitly (local experiments only).
* **Request size limit** (``MEDKG_API_MAX_BODY``, default 256 KiB): checked on ``Content-Length``
  and on the bytes actually received, so a chunked upload cannot get around it. Field limits
  (list lengths, string lengths) are in the request models, so a 4xx names the bad field.
* **Read-only Cypher**: ``/v1/query`` runs in a read transaction that the engine itself enforces
  (Neo4j READ access mode, LadybugDB ``READ ONLY`` transaction), with user parameters passed as
  parameters, never formatted into the text; at most ``max_rows`` rows are returned.
* **No note text in logs**: the access log records method, path, status and time only, never a
  body; errors are logged by type.
* **CORS off** unless ``MEDKG_API_CORS_ORIGINS`` lists origins.

The embedded store is opened read-only (other processes may keep reading it) and used from one
thread at a time (its connection is not thread-safe); Neo4j sessions are per request.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from schema.records import Record
from pydantic import BaseModel, Field, SecretStr, field_validator

from kg.config import QueryLimits, StoreConfig
from kg.errors import ConfigError, MedkgError, QueryBusyError, StoreUnavailableError
from kg.store import GraphStore, open_store

log = logging.getLogger("medkg.api")

API_VERSION = "1"
MAX_DRUGS = 100
"""A medication list longer than this is almost certainly a mistake (or abuse); polypharmacy
lists in practice hold 5-20 drugs."""
MAX_NAME = 200
MAX_TEXT = 20_000
"""Free-text findings: a long clinical note is ~10k characters; more belongs in a batch job."""
MAX_FINDINGS = 200


class ApiSettings(Record):
    """API configuration, built once (from the environment by :meth:`from_env`)."""

    api_keys: tuple[SecretStr, ...] = ()
    allow_no_auth: bool = False
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    cors_origins: tuple[str, ...] = ()
    query: QueryLimits = QueryLimits()
    """Limits of ``/v1/query`` (time, memory, rows, response size, workers): ``MEDKG_QUERY_*``."""
    warm: bool = False
    """Build the drug resolver and the diagnosis index in a background thread at start-up, so the
    first requests do not pay for them (seconds to a minute on a curated graph); ``/v1/health``
    reports ``ready`` once done. Requests arriving earlier wait for the build, as without warming."""

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, *, warm_default: bool = False, **overrides: Any) -> ApiSettings:
        """Settings from ``MEDKG_API_*`` variables; ``overrides`` (command-line flags) win over
        the environment, which wins over ``warm_default`` (on for ``medkg serve``)."""
        env = dict(os.environ) if env is None else env
        keys = tuple(SecretStr(k.strip()) for k in env.get("MEDKG_API_KEYS", "").split(",") if k.strip())
        origins = tuple(o.strip() for o in env.get("MEDKG_API_CORS_ORIGINS", "").split(",") if o.strip())
        values: dict[str, Any] = {"api_keys": keys, "cors_origins": origins, "warm": warm_default,
                                  "query": QueryLimits.from_env(env)}
        if env.get("MEDKG_API_MAX_BODY"):
            try:
                values["max_body_bytes"] = int(env["MEDKG_API_MAX_BODY"])
            except ValueError:
                raise ConfigError("MEDKG_API_MAX_BODY must be a number of bytes") from None
        if env.get("MEDKG_API_WARM"):
            values["warm"] = env["MEDKG_API_WARM"].strip().lower() in ("1", "true", "yes", "on")
        values.update(overrides)
        return cls(**values)

    def check(self) -> None:
        """Refuse an unauthenticated API unless that was asked for explicitly."""
        if not self.api_keys and not self.allow_no_auth:
            raise ConfigError("no API keys configured: set MEDKG_API_KEYS=key1,key2 (or --no-auth for local experiments)")
        short = [i for i, k in enumerate(self.api_keys) if len(k.get_secret_value()) < 16]
        if short:
            raise ConfigError(f"API keys must be at least 16 characters (key number(s) {', '.join(str(i + 1) for i in short)} are shorter)")


# -- request models -------------------------------------------------------------------------------


_Request = Record


class InteractionRequest(_Request):
    """Either a medication list (names, brands or CURIEs) or a patient pseudonym."""

    drugs: list[str] = Field(default_factory=list, max_length=MAX_DRUGS, description="drug names, brands or CURIEs")
    patient_id: str | None = Field(default=None, min_length=1, max_length=MAX_NAME)
    include_evidence: bool = True
    max_evidence: int = Field(default=3, ge=0, le=20)

    @field_validator("drugs")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        for i, name in enumerate(value):
            if not name.strip() or len(name) > MAX_NAME:
                raise ValueError(f"drugs[{i}] must be 1-{MAX_NAME} characters")
        return value


class DiagnosisRequest(_Request):
    """Free text and/or coded findings; negated findings become exclusions."""

    text: str | None = Field(default=None, max_length=MAX_TEXT, description="free-text findings (never logged)")
    findings: list[str] = Field(default_factory=list, max_length=MAX_FINDINGS, description="HP:/SYMP:/MESH: CURIEs or names")
    excluded: list[str] = Field(default_factory=list, max_length=MAX_FINDINGS, description="findings known to be absent")
    age: int | None = Field(default=None, ge=0, le=130)
    sex: Literal["female", "male", "other", "unknown"] | None = None
    top_k: int = Field(default=10, ge=1, le=100)

    @field_validator("findings", "excluded")
    @classmethod
    def _codes(cls, value: list[str]) -> list[str]:
        for i, item in enumerate(value):
            if not item.strip() or len(item) > MAX_NAME:
                raise ValueError(f"item {i} must be 1-{MAX_NAME} characters")
        return value


class QueryRequest(_Request):
    cypher: str = Field(min_length=1, max_length=100_000, description="one read-only Cypher statement")
    params: dict[str, Any] = Field(default_factory=dict, description="query parameters ($name in the text)")


class QueryResponse(BaseModel):
    columns: list[str]
    rows: list[dict[str, Any]]
    truncated: bool
    """True when a cap stopped the reading; ``truncated_by`` says which (``rows`` or ``bytes``)."""
    truncated_by: Literal["rows", "bytes"] | None = None


class Health(BaseModel):
    status: Literal["ok"]
    store: str
    version: str
    ready: bool
    """Warm-up finished (see ``ApiSettings.warm``): the drug resolver is built and the diagnosis
    index is built or known to be empty (diagnosis then answers 404 per request). Requests work
    either way; before this they wait for the part they need."""
    diagnosis: Literal["pending", "ready", "empty", "failed"] = "pending"


# -- the service: store + cached indexes ------------------------------------------------------------


class Service:
    """Holds the store, the user-query runner and the lazily built resolver / diagnosis index,
    serialising store access where the backend needs it (the embedded connection is not
    thread-safe). User Cypher never takes that lock: on the embedded store it runs in isolated
    worker processes (:class:`kg.store.sandbox.QuerySandbox`), on Neo4j in its own session."""

    def __init__(self, store: GraphStore, *, limits: QueryLimits) -> None:
        self.store = store
        self.limits = limits
        embedded = store.dialect.name == "ladybug"
        self._lock = threading.Lock() if embedded else None
        self.sandbox: Any = None
        if embedded:
            from kg.store.sandbox import QuerySandbox

            self.sandbox = QuerySandbox(store.path, limits=limits)  # type: ignore[attr-defined]
        # one lock per cached part: a request for the resolver never waits for the index build
        self._resolver_lock = threading.Lock()
        self._index_lock = threading.Lock()
        self._resolver: Any = None
        self._index: Any = None
        self.diagnosis_state: Literal["pending", "ready", "empty", "failed"] = "pending"

    def locked(self) -> Any:
        from contextlib import nullcontext

        return self._lock or nullcontext()

    def resolver(self) -> Any:
        from kg.interactions import DrugResolver

        with self._resolver_lock:
            if self._resolver is None:
                self._resolver = DrugResolver()
            return self._resolver

    def index(self) -> Any:
        """The diagnosis index; :class:`EmptyIndexError` (404 per request) on a graph without
        HAS_SYMPTOM annotations. The empty state is remembered: the API's embedded store is
        read-only, and on Neo4j a restart picks up newly loaded knowledge."""
        from kg.diagnosis import DiagnosisIndex, EmptyIndexError

        with self._index_lock:
            if self._index is None:
                if self.diagnosis_state == "empty":
                    raise EmptyIndexError("no Disease -[:HAS_SYMPTOM]-> Symptom annotations to rank on; load curated sources first")
                try:
                    with self.locked():
                        self._index = DiagnosisIndex.from_store(self.store)
                except EmptyIndexError:
                    self.diagnosis_state = "empty"
                    raise
                except Exception:
                    self.diagnosis_state = "failed"
                    raise
                self.diagnosis_state = "ready"
            return self._index

    @property
    def ready(self) -> bool:
        return self._resolver is not None and self.diagnosis_state in ("ready", "empty")

    def run_query(self, cypher_text: str, params: dict[str, Any], cancel: threading.Event) -> Any:
        if self.sandbox is not None:
            return self.sandbox.run(cypher_text, params, cancel=cancel)
        return self.store.run_user_query(cypher_text, params, limits=self.limits, cancel=cancel)

    def close(self) -> None:
        if self.sandbox is not None:
            self.sandbox.close()

    def warm(self) -> threading.Thread:
        """Build the resolver and the diagnosis index in a daemon thread, and run one small
        interaction check (errors are logged; the request that needs a part retries its build
        and reports the error)."""

        def build() -> None:
            from kg.diagnosis import EmptyIndexError
            from kg.interactions import check_interactions

            started = time.perf_counter()
            try:
                resolver = self.resolver().warm()
                with self.locked():  # plans the check's statement (Neo4j caches it), fills the pool
                    check_interactions(self.store, ["aspirin", "warfarin"], resolver=resolver)
                try:
                    self.index()
                except EmptyIndexError:
                    log.info("diagnosis index empty (no HAS_SYMPTOM annotations): diagnosis answers 404")
            except Exception as exc:  # noqa: BLE001 -- surfaced again by the first request that needs it
                log.warning("warm-up failed after %.1fs: %s", time.perf_counter() - started, type(exc).__name__)
                return
            log.info("warm-up done in %.1fs", time.perf_counter() - started)

        thread = threading.Thread(target=build, name="medkg-api-warm", daemon=True)
        thread.start()
        return thread


# -- app factory -----------------------------------------------------------------------------------


def create_app(
    settings: ApiSettings | None = None,
    *,
    store: GraphStore | None = None,
    store_config: StoreConfig | None = None,
) -> FastAPI:
    """Build the app. Pass ``store`` (tests, embedding) or a ``store_config`` to open at startup."""
    settings = settings or ApiSettings.from_env()
    settings.check()
    owned = store is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        st = store
        if st is None:
            cfg = store_config or StoreConfig.resolve()
            st = open_store(cfg, read_only=cfg.kind == "ladybug", must_exist=True)
        elif st.dialect.name == "ladybug" and not getattr(st, "read_only", False):
            raise ConfigError("the API needs the embedded store opened read-only (pass store_config, or open it with read_only=True)")
        service = Service(st, limits=settings.query)
        app.state.service = service
        if settings.warm:
            app.state.warm_thread = service.warm()
        try:
            yield
        finally:
            service.close()
            if owned:
                st.close()

    app = FastAPI(
        title="medkg API",
        version=API_VERSION,
        description="Drug-drug interaction check, diagnosis ranking and read-only Cypher over the medkg knowledge graph.",
        lifespan=lifespan,
    )
    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["GET", "POST"],
                           allow_headers=["X-API-Key", "Authorization", "Content-Type"])

    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(AccessLog)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's default body echoes the rejected input (a whole clinical note): keep only
        # where the problem is and what it is
        detail = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", ""))[:200], "type": e.get("type", "")}
                  for e in exc.errors()[:20]]
        return JSONResponse(status_code=422, content={"detail": detail})

    @app.exception_handler(MedkgError)
    async def medkg_error(_request: Request, exc: MedkgError) -> JSONResponse:
        if isinstance(exc, StoreUnavailableError):
            log.error("store unavailable: %s", type(exc).__name__)
            return _error(503, "graph store unavailable")
        if isinstance(exc, QueryBusyError):
            return JSONResponse(status_code=503, content={"detail": str(exc)}, headers={"Retry-After": "1"})
        if isinstance(exc, LookupError):  # unknown patient, nothing to rank against
            return _error(404, str(exc))
        return _error(400, str(exc))

    auth = _auth_dependency(settings)

    @app.get("/v1/health", response_model=Health, tags=["meta"])
    async def health(request: Request) -> Health:
        """Liveness (no key needed): the store kind only, nothing about its content. Runs on the
        event loop, so it answers while every worker thread is busy."""
        service: Service = request.app.state.service
        return Health(status="ok", store=service.store.dialect.name, version=API_VERSION, ready=service.ready,
                      diagnosis=service.diagnosis_state)

    @app.post("/v1/interactions/check", dependencies=[Depends(auth)], tags=["interactions"])
    def interactions_check(body: InteractionRequest, request: Request) -> Any:
        """Flag interacting pairs among the given drugs (or a patient's TAKES list), sorted by severity."""
        if bool(body.drugs) == bool(body.patient_id):
            raise HTTPException(status_code=422, detail=[{"loc": ["body", "drugs"], "msg": "give either drugs or patient_id (exactly one)"}])
        from kg.interactions import check_interactions

        service: Service = request.app.state.service
        resolver = service.resolver()
        with service.locked():
            report = check_interactions(
                service.store, body.drugs, patient_id=body.patient_id, resolver=resolver,
                include_evidence=body.include_evidence, max_evidence=body.max_evidence,
            )
        return report.model_dump(mode="json")

    @app.post("/v1/diagnosis/rank", dependencies=[Depends(auth)], tags=["diagnosis"])
    def diagnosis_rank(body: DiagnosisRequest, request: Request) -> Any:
        """Rank candidate diseases for the findings, each with matched, unmatched and contradicting findings."""
        if not (body.text and body.text.strip()) and not body.findings:
            raise HTTPException(status_code=422, detail=[{"loc": ["body", "findings"], "msg": "give text or findings"}])
        from kg.diagnosis import rank_diagnoses

        service: Service = request.app.state.service
        report = rank_diagnoses(
            service.index(), text=body.text, findings=body.findings, excluded=body.excluded,
            age=body.age, sex=body.sex, top_k=body.top_k,
        )
        return report.model_dump(mode="json")

    @app.post("/v1/query", response_model=QueryResponse, dependencies=[Depends(auth)], tags=["cypher"])
    async def query(body: QueryRequest, request: Request) -> QueryResponse:
        """Run one read-only Cypher statement with parameters, within the query limits.

        Refused before it runs (400): writes, file access (LOAD/COPY/EXPORT/IMPORT), extensions,
        settings, transaction control, several statements, procedures outside a small schema
        allow-list, over-long or over-nested text. Stopped while it runs (400): past the time or
        memory limit. Rows are capped while read (``truncated``). A client that disconnects
        cancels its query."""
        service: Service = request.app.state.service
        cancel = threading.Event()
        job = asyncio.ensure_future(run_in_threadpool(service.run_query, body.cypher, body.params, cancel))
        while True:
            done, _ = await asyncio.wait({job}, timeout=0.25)
            if done:
                break
            if await request.is_disconnected():
                cancel.set()
        result = job.result()
        return QueryResponse(columns=result.columns, rows=result.rows, truncated=result.truncated,
                             truncated_by=result.truncated_by)

    return app


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
            await _error(413, f"request body over {self.max_bytes} bytes")(scope, receive, send)
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


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"detail": message})


def _auth_dependency(settings: ApiSettings) -> Callable[..., None]:
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
