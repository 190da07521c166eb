"""Isolated worker processes for user Cypher on the embedded store (the API's ``/v1/query``).

LadybugDB runs in the calling process, so a query the engine cannot survive (a segfault, a
``range`` that allocates gigabytes outside its buffer pool, DESIGN.md) would take the API server
down with it, and a long query would hold the connection every other request needs. Here each
user query runs in one of ``limits.workers`` long-lived worker processes, each holding its own
read-only connection:

* the parent checks the text first (:func:`kg.store.user_query.prepare`), so refused queries
  never reach a worker;
* the worker runs it with the engine's own timeout and the row/size caps
  (:meth:`LadybugStore.run_prepared`), and answers one length-prefixed JSON frame;
* the parent watches the worker while it waits: past ``timeout_s`` + a grace second, over
  ``memory_mb`` of resident memory, or when the caller gives up (``cancel``), the worker is
  killed and replaced; a worker that dies on its own is replaced too, and the caller gets one
  line saying which limit stopped the query;
* the API's other endpoints never wait for a user query (no shared lock).

Run as ``python -m kg.store.sandbox --db PATH`` it is the worker (stdin: requests, a private
copy of stdout: answers; anything the engine prints goes to stderr).
"""

from __future__ import annotations

import json
import logging
import os
import queue
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

from kg.config import QueryLimits
from kg.errors import QueryBusyError, QueryError, QueryLimitError, QueryRefusedError, StoreUnavailableError
from kg.store.user_query import PreparedQuery, QueryResult, prepare

log = logging.getLogger(__name__)

_HEADER = struct.Struct(">I")
_POLL_S = 0.02
"""Watchdog period: memory can grow ~1 GB/s in the engine, so 20 ms overshoots by ~20 MB."""
_GRACE_S = 1.0
"""Past the engine's own timeout, how long the parent waits before killing the worker."""
_START_TIMEOUT_S = 60.0


def _write_frame(out: IO[bytes], payload: dict[str, Any]) -> None:
    data = json.dumps(payload, ensure_ascii=False).encode()
    out.write(_HEADER.pack(len(data)) + data)
    out.flush()


def _read_exact(fd: int, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = os.read(fd, n - got)
        if not chunk:
            raise EOFError("worker closed its pipe")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` in MiB (Linux /proc; 0 where unavailable)."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


class _Worker:
    """One worker process and its pipes."""

    def __init__(self, db: Path, *, buffer_pool_mb: int) -> None:
        cmd = [sys.executable, "-m", "kg.store.sandbox", "--db", str(db), "--buffer-pool-mb", str(buffer_pool_mb)]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                                     start_new_session=True)  # Ctrl-C in a terminal reaches the server only
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdin = self.proc.stdin
        self.fd = self.proc.stdout.fileno()
        self.ready = False

    def wait_ready(self) -> None:
        ready, _, _ = select.select([self.fd], [], [], _START_TIMEOUT_S)
        if not ready:
            self.kill()
            raise StoreUnavailableError("query worker did not start in time")
        reply = self._read()
        if not reply.get("ok"):
            self.kill()
            raise StoreUnavailableError(str(reply.get("message", "query worker failed to open the store")))
        self.ready = True

    def _read(self) -> dict[str, Any]:
        (size,) = _HEADER.unpack(_read_exact(self.fd, _HEADER.size))
        return json.loads(_read_exact(self.fd, size))

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.kill()
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - a zombie the OS will reap
            pass
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass

    def run(self, prepared: PreparedQuery, *, cancel: threading.Event | None) -> dict[str, Any]:
        """Send one query and wait for its answer, enforcing time and memory from outside."""
        limits = prepared.limits
        request = {"text": prepared.checked.text, "params": prepared.params, "limits": limits.model_dump()}
        try:
            _write_frame(self.stdin, request)
        except (BrokenPipeError, OSError):
            self.kill()
            raise QueryLimitError("the query worker was not available; try again") from None
        started = time.monotonic()
        deadline = started + limits.timeout_s + _GRACE_S if limits.timeout_s else None
        while True:
            ready, _, _ = select.select([self.fd], [], [], _POLL_S)
            if ready:
                try:
                    return self._read()
                except (EOFError, ValueError, OSError):
                    break  # died mid-answer
            if not self.alive():
                break
            if deadline is not None and time.monotonic() > deadline:
                self.kill()
                raise QueryLimitError(f"query stopped at the time limit ({limits.timeout_s:g} s)")
            if limits.memory_mb and _rss_mb(self.proc.pid) > limits.memory_mb:
                self.kill()
                raise QueryLimitError(f"query stopped at the memory limit ({limits.memory_mb} MiB)")
            if cancel is not None and cancel.is_set():
                self.kill()
                raise QueryLimitError("query cancelled: the client went away")
        code = self.proc.poll()
        self.kill()
        log.warning("query worker %d died (exit %s); replacing it", self.proc.pid, code)
        raise QueryLimitError("the query engine failed on this query (its isolated worker was restarted)")


class QuerySandbox:
    """A pool of worker processes running user queries against the embedded store at ``db``."""

    def __init__(self, db: str | os.PathLike[str], *, limits: QueryLimits) -> None:
        self.db = Path(db)
        if not self.db.exists():
            raise StoreUnavailableError("the embedded store does not exist; build a graph first")
        self.limits = limits
        # the engine's buffer pool stays well inside the watchdog's limit, so ordinary big
        # queries fail inside the engine with a clear message before the watchdog has to act
        self._buffer_pool_mb = max(64, min(512, limits.memory_mb // 2)) if limits.memory_mb else 512
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._closed = False
        self._lock = threading.Lock()
        self._workers: set[_Worker] = set()
        for _ in range(limits.workers):
            self._idle.put(self._spawn(wait=True))

    def _spawn(self, *, wait: bool) -> _Worker:
        worker = _Worker(self.db, buffer_pool_mb=self._buffer_pool_mb)
        with self._lock:
            self._workers.add(worker)
        if wait:
            worker.wait_ready()
        return worker

    def _replace(self, dead: _Worker) -> None:
        with self._lock:
            self._workers.discard(dead)
        if self._closed:
            return

        def start() -> None:
            try:
                worker = self._spawn(wait=True)
            except Exception as exc:  # noqa: BLE001 -- logged; the pool runs with one worker fewer
                log.error("could not start a query worker: %s", type(exc).__name__)
                return
            if self._closed:
                worker.kill()
            else:
                self._idle.put(worker)

        threading.Thread(target=start, name="medkg-query-worker-start", daemon=True).start()

    def run(
        self, text: str, params: dict[str, Any] | None = None, *, cancel: threading.Event | None = None,
    ) -> QueryResult:
        """Check and run one read-only query; raises the store's query errors."""
        prepared = prepare(text, params, dialect="ladybug", limits=self.limits, write=False)
        if self._closed:
            raise StoreUnavailableError("the query service is shutting down")
        try:
            worker = self._idle.get(timeout=self.limits.queue_timeout_s or None)
        except queue.Empty:
            raise QueryBusyError(f"all {self.limits.workers} query workers are busy; try again shortly") from None
        try:
            reply = worker.run(prepared, cancel=cancel)
        except QueryLimitError:
            self._replace(worker)
            raise
        self._idle.put(worker)
        return _result(reply)

    def close(self) -> None:
        """Kill every worker (running queries end with an error); idempotent."""
        self._closed = True
        with self._lock:
            workers = list(self._workers)
            self._workers.clear()
        for worker in workers:
            worker.kill()

    def __enter__(self) -> QuerySandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _result(reply: dict[str, Any]) -> QueryResult:
    if reply.get("ok"):
        return QueryResult(columns=reply["columns"], rows=reply["rows"], truncated=reply["truncated"],
                           truncated_by=reply["truncated_by"])
    kind, message = reply.get("kind"), str(reply.get("message", "query failed"))
    if kind == "refused":
        raise QueryRefusedError(message)
    if kind == "limit":
        raise QueryLimitError(message)
    raise QueryError(message)


# -- the worker side -----------------------------------------------------------------------------


def _serve(db: str, buffer_pool_mb: int) -> int:
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything the engine prints goes to stderr, never into the answer stream
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when a worker ends
    from kg.store.ladybug_store import LadybugStore

    try:
        store = LadybugStore(db, read_only=True, buffer_pool_mb=buffer_pool_mb)
    except StoreUnavailableError as exc:
        _write_frame(out, {"ok": False, "message": str(exc)})
        return 1
    _write_frame(out, {"ok": True})
    stdin = sys.stdin.buffer
    while True:
        header = stdin.read(_HEADER.size)
        if len(header) < _HEADER.size:
            return 0
        (size,) = _HEADER.unpack(header)
        request = json.loads(stdin.read(size))
        try:
            limits = QueryLimits(**request["limits"])
            result = store.run_user_query(request["text"], request["params"], limits=limits)
            reply: dict[str, Any] = {"ok": True, **asdict(result)}
        except QueryRefusedError as exc:
            reply = {"ok": False, "kind": "refused", "message": str(exc)}
        except QueryLimitError as exc:
            reply = {"ok": False, "kind": "limit", "message": str(exc)}
        except QueryError as exc:
            reply = {"ok": False, "kind": "query", "message": str(exc)}
        except Exception as exc:  # noqa: BLE001 -- an engine value or error we did not foresee
            reply = {"ok": False, "kind": "query", "message": f"query failed ({type(exc).__name__})"}
        _write_frame(out, reply)


if __name__ == "__main__":  # pragma: no cover - exercised through QuerySandbox in the tests
    import argparse

    parser = argparse.ArgumentParser(description="medkg query worker (started by the API; not for direct use)")
    parser.add_argument("--db", required=True)
    parser.add_argument("--buffer-pool-mb", type=int, default=512)
    args = parser.parse_args()
    sys.exit(_serve(args.db, args.buffer_pool_mb))
