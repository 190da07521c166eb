"""Paths and helpers shared by tests (importable, unlike conftest)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()


def shared_data(*parts: str) -> Path:
    """A path in ../shared/data, skipping the test with a reason when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not available: {path}")
    return path


def api_app(settings: Any, store: Any) -> Any:
    """The API app over a test store as ``medkg serve`` would open it: an embedded store is
    closed here and reopened read-only by the app (its query workers need that); a Neo4j store
    is used as it is."""
    from kg.api import create_app
    from kg.config import StoreConfig

    if store.dialect.name == "ladybug":
        path = store.path
        store.close()
        return create_app(settings, store_config=StoreConfig(kind="ladybug", path=path))
    return create_app(settings, store=store)


# -- a second, throwaway Neo4j from the same Maven jars (bulk-import tests) ---------------------
NEO4J_LOCAL = REPO / "scripts" / "neo4j-local"
DEFAULT_RUNTIME = REPO / "scripts" / "neo4j-local-runtime"


def require_java_and_maven() -> None:
    """Skip without Java/Maven, unless ``MEDKG_REQUIRE_NEO4J=1`` (CI), where that is a failure."""
    import os
    import shutil

    missing = [tool for tool in ("java", "javac", "mvn") if shutil.which(tool) is None]
    if not missing:
        return
    if os.environ.get("MEDKG_REQUIRE_NEO4J") == "1":
        pytest.fail(f"MEDKG_REQUIRE_NEO4J=1 but {', '.join(missing)} not found (needed by scripts/neo4j-local)")
    pytest.skip(f"{', '.join(missing)} not found: scripts/neo4j-local needs Java 17 + Maven")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalNeo4j:
    """``scripts/neo4j-local`` with its own runtime dir, so it never touches the Neo4j on 7687 or CI's.

    The resolved classpath and compiled launcher are copied from the default runtime dir when
    present (``.ci/run`` has just made them), which saves a Maven run per test session.
    """

    def __init__(self, runtime: Path, env: dict[str, str] | None = None) -> None:
        import os
        import shutil

        self.runtime = runtime
        runtime.mkdir(parents=True, exist_ok=True)
        if (DEFAULT_RUNTIME / "classpath.txt").is_file() and not (runtime / "classpath.txt").exists():
            shutil.copy2(DEFAULT_RUNTIME / "classpath.txt", runtime / "classpath.txt")  # keeps mtime: still "newer than pom"
            if (DEFAULT_RUNTIME / "classes").is_dir():
                shutil.copytree(DEFAULT_RUNTIME / "classes", runtime / "classes", copy_function=shutil.copy2)
        # Small by default (tests): a tiny graph needs little, and CI's own Neo4j runs beside it.
        self.env = {**os.environ, "NEO4J_LOCAL_HEAP": "512m", "NEO4J_LOCAL_PAGECACHE": "64",
                    "NEO4J_LOCAL_IMPORT_MEMORY": "256m", "NEO4J_LOCAL_TIMEOUT": "300",
                    **(env or {}), "NEO4J_LOCAL_RUNTIME": str(runtime)}
        self.uri: str | None = None

    def _run(self, *args: str, timeout: float = 1800) -> str:
        import subprocess

        proc = subprocess.run([str(NEO4J_LOCAL), *args], env=self.env, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise AssertionError(f"scripts/neo4j-local {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
        return proc.stdout

    def import_csv(self, csv_dir: Path, data_dir: Path) -> str:
        """Run the importer; returns its console output (``IMPORT DONE in ...`` and counts)."""
        return self._run("import", "--csv", str(csv_dir), "--data", str(data_dir))

    def start(self, data_dir: Path) -> str:
        self.uri = self._run("start", "--port", str(free_port()), "--data", str(data_dir)).strip().splitlines()[-1]
        return self.uri

    def stop(self) -> None:
        self._run("stop", timeout=120)
