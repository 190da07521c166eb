"""What only a real server process shows: a long query holds nothing the other endpoints need,
a client that goes away cancels its query, a crashing query leaves the server up, SIGTERM ends
the server within seconds, the access log reaches stderr, and readiness on a graph with nothing
to diagnose. ``medkg serve`` (uvicorn) on both stores."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from kg.store.base import GraphStore
from tests.conftest import NEO4J_URI
from tests.security.conftest import HEADERS, KEY, Server, write_sample

LONG = "UNWIND range(1, 100000) AS a UNWIND range(1, 100000) AS b WITH a, b WHERE a * b = -1 RETURN count(*) AS n"
"""Seconds to minutes of engine time in little memory, on either store."""


def _serve(server_factory: Callable[..., Server], store: GraphStore, **env: str) -> Server:
    write_sample(store)
    if store.dialect.name == "ladybug":
        path = store.path  # type: ignore[attr-defined]
        store.close()
        args = ["--db", str(path)]
    else:
        args = ["--store", "neo4j", "--neo4j-uri", NEO4J_URI]
        if os.environ.get("MEDKG_TEST_NEO4J_PASSWORD"):
            env = {**env, "MEDKG_NEO4J_PASSWORD": os.environ["MEDKG_TEST_NEO4J_PASSWORD"]}
    return server_factory(args, **env)


def _query(server: Server, cypher: str, *, timeout: float = 60) -> httpx.Response:
    with server.client(timeout=timeout) as client:
        return client.post("/v1/query", headers=HEADERS, json={"cypher": cypher})


def test_other_endpoints_answer_while_a_long_query_runs(server_factory: Callable[..., Server], store: GraphStore) -> None:
    server = _serve(server_factory, store, MEDKG_QUERY_TIMEOUT_S="6", MEDKG_API_WARM="0")
    results: dict[str, httpx.Response] = {}
    worker = threading.Thread(target=lambda: results.setdefault("long", _query(server, LONG)))
    started = time.monotonic()
    worker.start()
    time.sleep(1.0)
    with server.client(timeout=5) as client:
        assert client.get("/v1/health").status_code == 200
        r = client.post("/v1/query", headers=HEADERS, json={"cypher": "MATCH (d:Drug) RETURN count(d) AS n"})
        assert r.status_code == 200 and r.json()["rows"][0]["n"] > 0
    assert time.monotonic() - started < 5  # answered while the long query was still running
    worker.join(timeout=60)
    assert results["long"].status_code == 400 and "time limit" in results["long"].json()["detail"]


def test_a_client_that_goes_away_cancels_its_query(server_factory: Callable[..., Server], store: GraphStore) -> None:
    # one worker and a long time limit: without cancellation the next query would wait ~60 s
    server = _serve(server_factory, store, MEDKG_QUERY_TIMEOUT_S="60", MEDKG_QUERY_WORKERS="1", MEDKG_API_WARM="0")
    with pytest.raises(httpx.ReadTimeout):
        _query(server, LONG, timeout=1.0)
    started = time.monotonic()
    if store.dialect.name == "neo4j":  # the server-side transaction is terminated
        while time.monotonic() - started < 30:
            running = store.query("SHOW TRANSACTIONS YIELD metaData RETURN metaData")
            if not any((r["metaData"] or {}).get("medkg_query") for r in running):
                break
            time.sleep(0.2)
    r = _query(server, "MATCH (d:Drug) RETURN count(d) AS n", timeout=60)
    assert r.status_code == 200, r.text
    assert time.monotonic() - started < 30


def test_a_query_that_kills_its_worker_does_not_kill_the_server(server_factory: Callable[..., Server], store: GraphStore) -> None:
    server = _serve(server_factory, store, MEDKG_QUERY_TIMEOUT_S="5", MEDKG_QUERY_MEMORY_MB="600", MEDKG_API_WARM="0")
    for _ in range(2):
        r = _query(server, "UNWIND range(1, 5000000000) AS x WITH x WHERE x < 0 RETURN count(*)")
        assert r.status_code == 400 and "limit" in r.json()["detail"], r.text
    assert _query(server, "MATCH (d:Drug) RETURN count(d) AS n").status_code == 200
    assert server.proc.poll() is None


def test_sigterm_stops_the_server_within_seconds_even_mid_query(server_factory: Callable[..., Server], store: GraphStore) -> None:
    server = _serve(server_factory, store, MEDKG_QUERY_TIMEOUT_S="120", MEDKG_API_WARM="0")
    worker = threading.Thread(target=lambda: _query_quietly(server), daemon=True)
    worker.start()
    time.sleep(1.0)
    started = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    server.proc.wait(timeout=30)
    assert time.monotonic() - started < 8


def _query_quietly(server: Server) -> None:
    try:
        _query(server, LONG, timeout=120)
    except httpx.HTTPError:
        pass


def test_access_log_reaches_stderr_without_bodies(server_factory: Callable[..., Server], store: GraphStore) -> None:
    server = _serve(server_factory, store, MEDKG_API_WARM="0")
    secret = "SECRET-NOTE-TEXT"
    with server.client() as client:
        client.post("/v1/query", headers=HEADERS, json={"cypher": "RETURN $t AS t", "params": {"t": secret}})
    server.stop()
    log = server.log()
    assert "POST /v1/query 200" in log
    assert secret not in log and KEY not in log


def test_ready_on_a_graph_without_anything_to_diagnose(server_factory: Callable[..., Server], store: GraphStore,
                                                       tmp_path: Path) -> None:
    server = _serve(server_factory, store)  # warms by default; the sample has no HAS_SYMPTOM edges
    deadline = time.monotonic() + 180
    with server.client() as client:
        while time.monotonic() < deadline:
            health = client.get("/v1/health").json()
            if health["ready"]:
                break
            time.sleep(0.5)
        assert health["ready"] is True and health["diagnosis"] == "empty", health
        r = client.post("/v1/diagnosis/rank", headers=HEADERS, json={"findings": ["HP:0001166"]})
        assert r.status_code == 404 and "HAS_SYMPTOM" in r.text
