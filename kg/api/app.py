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
import functools
import logging
import threading
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from kg.api.middleware import AccessLog, BodyLimit, auth_dependency, error_response
from kg.api.models import DiagnosisRequest, Health, InteractionRequest, QueryRequest, QueryResponse
from kg.api.service import Service
from kg.api.settings import API_VERSION, ApiSettings
from kg.config import StoreConfig
from kg.diagnosis.errors import DiagnosisBusyError
from kg.errors import ConfigError, MedkgError, QueryBusyError, StoreUnavailableError
from kg.store import GraphStore, open_store

log = logging.getLogger("medkg.api")


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
        service = Service(st, limits=settings.query, diagnosis_workers=settings.diagnosis_workers)
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

    @functools.cache
    def declared_names() -> frozenset[str]:
        """Field names the API's request models declare, and the request parts (from the OpenAPI schema)."""
        names = {"body", "query", "path", "header", "cookie"}
        schema = app.openapi()
        for component in schema.get("components", {}).get("schemas", {}).values():
            names.update(component.get("properties", {}))
        for path in schema.get("paths", {}).values():
            for op in path.values():
                names.update(p.get("name", "") for p in op.get("parameters", ()) if isinstance(p, dict))
        return frozenset(names)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's default body echoes the rejected input (a whole clinical note): keep only
        # where the problem is and what it is
        # and where: a location part that is not a declared field name (an unknown key, a key of a
        # free-form map) is the caller's text, so it is shown as "..."
        detail = [{"loc": [part if isinstance(part, int) or part in declared_names() else "..." for part in e.get("loc", ())],
                   "msg": str(e.get("msg", ""))[:200], "type": e.get("type", "")}
                  for e in exc.errors()[:20]]
        return JSONResponse(status_code=422, content={"detail": detail})

    @app.exception_handler(MedkgError)
    async def medkgerror_response(_request: Request, exc: MedkgError) -> JSONResponse:
        if isinstance(exc, StoreUnavailableError):
            log.error("store unavailable: %s", type(exc).__name__)
            return error_response(503, "graph store unavailable")
        if isinstance(exc, (QueryBusyError, DiagnosisBusyError)):
            return JSONResponse(status_code=503, content={"detail": str(exc)}, headers={"Retry-After": "1"})
        if isinstance(exc, LookupError):  # unknown patient, nothing to rank against
            return error_response(404, str(exc))
        return error_response(400, str(exc))

    auth = auth_dependency(settings)

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
        """Rank candidate diseases for the findings, each with matched, unmatched and contradicting findings.

        Bounded: ``MEDKG_API_DIAGNOSIS_TIMEOUT_S`` (default 10 s) of wall-clock time per call
        (then 400), ``MEDKG_API_DIAGNOSIS_WORKERS`` (default 2) calls at once (then 503 with
        ``Retry-After`` after waiting for a slot)."""
        if not (body.text and body.text.strip()) and not body.findings:
            raise HTTPException(status_code=422, detail=[{"loc": ["body", "findings"], "msg": "give text or findings"}])
        from kg.diagnosis import rank_diagnoses

        service: Service = request.app.state.service
        index = service.index()
        with service.diagnosis_slot():
            report = rank_diagnoses(
                index, text=body.text, findings=body.findings, excluded=body.excluded,
                age=body.age, sex=body.sex, top_k=body.top_k, timeout_s=settings.diagnosis_timeout_s or None,
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
