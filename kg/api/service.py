"""The API's state: the store, the user-query runner and the lazily built resolver / diagnosis index."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

from kg.config import QueryLimits
from kg.store import GraphStore

log = logging.getLogger("medkg.api")


class Service:
    """Holds the store, the user-query runner and the lazily built resolver / diagnosis index,
    serialising store access where the backend needs it (the embedded connection is not
    thread-safe). User Cypher never takes that lock: on the embedded store it runs in isolated
    worker processes (:class:`kg.store.sandbox.QuerySandbox`), on Neo4j in its own session."""

    def __init__(self, store: GraphStore, *, limits: QueryLimits, diagnosis_workers: int = 2) -> None:
        self.store = store
        self.limits = limits
        # CPU-bound rankings that may run at once; the rest wait limits.queue_timeout_s, then 503
        self._diagnosis_slots = threading.BoundedSemaphore(diagnosis_workers)
        self.diagnosis_workers = diagnosis_workers
        embedded = store.dialect.name == "ladybug"
        self._lock = threading.Lock() if embedded else None
        # Neo4j user queries at once (the embedded store bounds them by its worker processes): Neo4j
        # checks its timeout between rows, so one expression over a huge list holds a request
        # thread past the limit; a bound keeps a few such queries from taking every thread
        self._query_slots = None if embedded else threading.BoundedSemaphore(limits.workers)
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

    @contextmanager
    def diagnosis_slot(self) -> Iterator[None]:
        """Hold one of the diagnosis slots; :class:`DiagnosisBusyError` when none frees up within
        the query queue's wait."""
        from kg.diagnosis import DiagnosisBusyError

        with _slot(self._diagnosis_slots, self.limits.queue_timeout_s,
                   DiagnosisBusyError(f"all {self.diagnosis_workers} diagnosis slots are busy; try again shortly")):
            yield

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
        from kg.diagnosis import EmptyIndexError
        from kg.diagnosis.cache import cached_index

        with self._index_lock:
            if self._index is None:
                if self.diagnosis_state == "empty":
                    raise EmptyIndexError("no Disease -[:HAS_SYMPTOM]-> Symptom annotations to rank on; load curated sources first")
                try:
                    with self.locked():
                        self._index = cached_index(self.store)[0]
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
        with self.query_slot():
            return self.store.run_user_query(cypher_text, params, limits=self.limits, cancel=cancel)

    @contextmanager
    def query_slot(self) -> Iterator[None]:
        """Hold one of the ``limits.workers`` Neo4j query slots; :class:`QueryBusyError` when none
        frees up within the queue's wait (nothing to hold on the embedded store)."""
        from kg.errors import QueryBusyError

        if self._query_slots is None:
            yield
            return
        with _slot(self._query_slots, self.limits.queue_timeout_s,
                   QueryBusyError(f"all {self.limits.workers} query slots are busy; try again shortly")):
            yield

    def close(self) -> None:
        if self.sandbox is not None:
            self.sandbox.close()

    def warm(self) -> threading.Thread:
        """Build the resolver and the diagnosis index in a daemon thread, run one small
        interaction check and load the free-text findings models (errors are logged; the request that needs a part retries its build
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
                else:
                    from kg.diagnosis.findings import default_extractor, default_linker

                    default_linker()  # finding names and free text: the first ranking does not load them
                    default_extractor()
            except Exception as exc:  # noqa: BLE001 -- surfaced again by the first request that needs it
                log.warning("warm-up failed after %.1fs: %s", time.perf_counter() - started, type(exc).__name__)
                return
            log.info("warm-up done in %.1fs", time.perf_counter() - started)

        thread = threading.Thread(target=build, name="medkg-api-warm", daemon=True)
        thread.start()
        return thread


@contextmanager
def _slot(slots: threading.BoundedSemaphore, wait_s: float, busy: Exception) -> Iterator[None]:
    """Hold one of ``slots``, waiting at most ``wait_s``; raise ``busy`` when none frees up."""
    if not slots.acquire(timeout=wait_s):
        raise busy
    try:
        yield
    finally:
        slots.release()
