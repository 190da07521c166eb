"""Shared fixtures: the same tests run against the embedded store and a real Neo4j.

Neo4j tests use ``MEDKG_TEST_NEO4J_URI`` (default ``bolt://127.0.0.1:7687``, as started by
``scripts/neo4j-local start``). They skip when nothing answers there, unless
``MEDKG_REQUIRE_NEO4J=1`` (set by ``.ci/run``), in which case an unreachable Neo4j fails the run.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from kg.errors import StoreUnavailableError
from kg.store.base import GraphStore
from kg.store.ladybug_store import LadybugStore

NEO4J_URI = os.environ.get("MEDKG_TEST_NEO4J_URI", "bolt://127.0.0.1:7687")

# caches the code under test writes (the diagnosis index) go to a per-run folder, never the user's
os.environ["MEDKG_CACHE_DIR"] = tempfile.mkdtemp(prefix="medkg-test-cache-")
# fp32 inference on every CPU: tests pin exact fp32 outputs (golden files, save/load round trips);
# the bf16 CPU path (default where the CPU computes bf16 natively) has its own tests in test_batching.py
os.environ["MEDKG_CPU_BF16"] = "0"


def _neo4j_store() -> GraphStore:
    from kg.store.neo4j_store import Neo4jStore

    try:
        store = Neo4jStore(NEO4J_URI, password=os.environ.get("MEDKG_TEST_NEO4J_PASSWORD"))
    except StoreUnavailableError as exc:
        if os.environ.get("MEDKG_REQUIRE_NEO4J") == "1":
            pytest.fail(f"MEDKG_REQUIRE_NEO4J=1 but Neo4j is unreachable: {exc}")
        pytest.skip(f"no Neo4j reachable at {NEO4J_URI} (start one with scripts/neo4j-local start)")
    store.clear()
    return store


@pytest.fixture(params=["ladybug", pytest.param("neo4j", marks=pytest.mark.neo4j, id="neo4j-store")])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GraphStore]:
    """An empty store of each kind."""
    st: GraphStore = LadybugStore(tmp_path / "graph.lbug") if request.param == "ladybug" else _neo4j_store()
    try:
        yield st
    finally:
        st.close()


@pytest.fixture
def ladybug_store(tmp_path: Path) -> Iterator[GraphStore]:
    st = LadybugStore(tmp_path / "graph.lbug")
    try:
        yield st
    finally:
        st.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say how many Neo4j-backed tests ran, so a CI log shows they were not all skipped."""
    counts = {}
    for outcome in ("passed", "failed", "skipped", "error"):
        counts[outcome] = sum(
            1 for r in terminalreporter.stats.get(outcome, [])
            if "neo4j-store" in getattr(r, "nodeid", "") or "neo4j" in getattr(r, "keywords", {})  # neo4j-marked too
        )
    terminalreporter.write_line(
        f"Neo4j-backed tests ({NEO4J_URI}): {counts['passed']} passed, {counts['failed'] + counts['error']} failed, "
        f"{counts['skipped']} skipped"
    )
