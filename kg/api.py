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

import hmac
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from kg.config import StoreConfig
from kg.errors import ConfigError, MedkgError, QueryError, StoreUnavailableError
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


class ApiSettings(BaseModel):
    """API configuration, built once (from the environment by :meth:`from_env`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_keys: tuple[SecretStr, ...] = ()
    allow_no_auth: bool = False
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    cors_origins: tuple[str, ...] = ()
    max_rows: int = Field(default=1000, ge=1, le=100_000)
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
        values: dict[str, Any] = {"api_keys": keys, "cors_origins": origins, "warm": warm_default}
        if env.get("MEDKG_API_MAX_BODY"):
            values["max_body_bytes"] = int(env["MEDKG_API_MAX_BODY"])
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


class _Request(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


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
    cypher: str = Field(min_length=1, max_length=10_000)
    params: dict[str, Any] = Field(default_factory=dict)


class QueryResponse(BaseModel):
    rows: list[dict[str, Any]]
    truncated: bool


class Health(BaseModel):
    status: Literal["ok"]
    store: str
    version: str
    ready: bool
    """Resolver and diagnosis index built (see ``ApiSettings.warm``); requests work either way."""


# -- the service: store + cached indexes ------------------------------------------------------------


class Service:
    """Holds the store and the lazily built resolver / diagnosis index, serialising store access
    where the backend needs it."""

    def __init__(self, store: GraphStore, *, serialize: bool) -> None:
        self.store = store
        self._lock = threading.Lock() if serialize else None
        # one lock per cached part: a request for the resolver never waits for the index build
        self._resolver_lock = threading.Lock()
        self._index_lock = threading.Lock()
        self._resolver: Any = None
        self._index: Any = None

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
        from kg.diagnosis import DiagnosisIndex

        with self._index_lock:
            if self._index is None:
                with self.locked():
                    self._index = DiagnosisIndex.from_store(self.store)
            return self._index

    @property
    def ready(self) -> bool:
        return self._resolver is not None and self._index is not None

    def warm(self) -> threading.Thread:
        """Build the resolver and the diagnosis index in a daemon thread, and run one small
        interaction check (errors are logged; the request that needs a part retries its build
        and reports the error)."""

        def build() -> None:
            started = time.perf_counter()
            try:
                from kg.interactions import check_interactions

                resolver = self.resolver().warm()
                with self.locked():  # plans the check's statement (Neo4j caches it), fills the pool
                    check_interactions(self.store, ["aspirin", "warfarin"], resolver=resolver)
                self.index()
            except Exception as exc:  # noqa: BLE001 -- surfaced again by the first request that needs it
                log.warning("warm-up failed after %.1fs: %s: %s", time.perf_counter() - started, type(exc).__name__, exc)
                return
            log.info("warm-up done in %.1fs: resolver and diagnosis index ready", time.perf_counter() - started)

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
            st = open_store(cfg, read_only=cfg.kind == "ladybug")
        app.state.service = Service(st, serialize=st.dialect.name == "ladybug")
        if settings.warm:
            app.state.warm_thread = app.state.service.warm()
        try:
            yield
        finally:
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

    @app.middleware("http")
    async def access_log(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        # method, path, status, time: never bodies, query strings or headers (they can hold keys or text)
        log.info("%s %s %d %.1fms", request.method, request.url.path, response.status_code, 1000 * (time.perf_counter() - started))
        return response

    @app.exception_handler(MedkgError)
    async def medkg_error(_request: Request, exc: MedkgError) -> JSONResponse:
        if isinstance(exc, StoreUnavailableError):
            log.error("store unavailable: %s", type(exc).__name__)
            return _error(503, "graph store unavailable")
        if isinstance(exc, LookupError):  # unknown patient, nothing to rank against
            return _error(404, str(exc))
        return _error(400, str(exc))

    auth = _auth_dependency(settings)

    @app.get("/v1/health", response_model=Health, tags=["meta"])
    def health(request: Request) -> Health:
        """Liveness (no key needed): the store kind only, nothing about its content."""
        service: Service = request.app.state.service
        return Health(status="ok", store=service.store.dialect.name, version=API_VERSION, ready=service.ready)

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
    def query(body: QueryRequest, request: Request) -> QueryResponse:
        """Run read-only Cypher with parameters; write clauses are refused by the engine (400)."""
        service: Service = request.app.state.service
        try:
            with service.locked():
                rows = service.store.query(body.cypher, body.params, write=False)
        except QueryError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from exc
        return QueryResponse(rows=rows[: settings.max_rows], truncated=len(rows) > settings.max_rows)

    return app


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
