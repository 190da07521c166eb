"""Security suite fixtures: a small real graph on each store, the API over it with tight limits,
and a real ``medkg serve`` process for what only a server shows (concurrency, disconnects, SIGTERM)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from kg.api import ApiSettings
from kg.build import build_batch
from kg.config import QueryLimits
from kg.store.base import GraphStore
from loaders import read_documents
from tests.helpers import FIXTURES, REPO, api_app, free_port

KEY = "security-key-0123456789abcdef"
HEADERS = {"X-API-Key": KEY}
LIMITS = QueryLimits(timeout_s=2, memory_mb=700, max_rows=50, max_response_bytes=50_000, workers=2, queue_timeout_s=10)
"""Tight limits so each probe hits them quickly; ``max_response_bytes`` below one 60 KB value."""


def write_sample(store: GraphStore) -> dict[str, int]:
    """The BC5CDR excerpt (drugs, diseases, adverse-effect edges with evidence); returns counts."""
    store.write(build_batch(read_documents(FIXTURES / "bc5cdr" / "CDR_TrainingSet_excerpt.PubTator.txt"), schema=store.schema))
    return store.stats()


@pytest.fixture
def sample(store: GraphStore) -> tuple[GraphStore, dict[str, int]]:
    return store, write_sample(store)


@pytest.fixture
def api(sample: tuple[GraphStore, dict[str, int]]) -> Iterator[TestClient]:
    store, _ = sample
    settings = ApiSettings(api_keys=(KEY,), query=LIMITS)  # type: ignore[arg-type]
    with TestClient(api_app(settings, store), raise_server_exceptions=False) as client:
        yield client


def post_query(client: TestClient | httpx.Client, cypher: str, **params: object) -> httpx.Response:
    return client.post("/v1/query", headers=HEADERS, json={"cypher": cypher, "params": params})


class Server:
    """``medkg serve`` in its own process (the real uvicorn), on a free loopback port."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log
        self._log = log.open("wb")
        cmd = [sys.executable, "-m", "kg.cli", "serve", "--port", str(self.port), *args]
        self.proc = subprocess.Popen(cmd, cwd=REPO, env={**os.environ, **env, "MEDKG_API_KEYS": KEY},
                                     stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited ({self.proc.returncode}):\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError("server did not start")

    def client(self, timeout: float = 30) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=timeout)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[object]:
    started: list[Server] = []

    def start(args: list[str], **env: str) -> Server:
        server = Server(args, env, tmp_path / f"server-{len(started)}.log")
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
