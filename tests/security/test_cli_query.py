"""``medkg query`` keeps its promise on both stores: read-only unless ``--write``, never file
access or transaction control, one clear line and an unchanged store on refusal; commands that
only read refuse a store that does not exist instead of creating an empty one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kg.cli import app
from kg.store.base import GraphStore
from tests.conftest import NEO4J_URI
from tests.helpers import REPO
from tests.security.conftest import write_sample

runner = CliRunner()


def _store_args(store: GraphStore) -> list[str]:
    if store.dialect.name == "ladybug":
        path = store.path  # type: ignore[attr-defined]
        store.close()  # the CLI opens it itself
        return ["--db", str(path)]
    return ["--store", "neo4j", "--neo4j-uri", NEO4J_URI]


def _drugs(args: list[str]) -> int:
    result = runner.invoke(app, ["query", "MATCH (d:Drug) RETURN count(d) AS n", "--json", *args])
    assert result.exit_code == 0, result.output
    return int(result.stdout.strip().split(":")[1].rstrip("}"))


@pytest.mark.parametrize("cypher", [
    "COMMIT; MATCH (d:Drug) DETACH DELETE d",
    "COMMIT; CREATE (:Drug {id: 'LOCAL:drug:x', name: 'x'})",
    "MATCH (d:Drug) DETACH DELETE d",
    "BEGIN TRANSACTION",
    "CHECKPOINT",
])
def test_read_only_cannot_be_bypassed(store: GraphStore, cypher: str) -> None:
    counts = write_sample(store)
    args = _store_args(store)
    result = runner.invoke(app, ["query", cypher, *args])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert _drugs(args) == counts["Drug"]


@pytest.mark.parametrize("write", [False, True], ids=["read", "write"])
def test_no_file_access_in_either_mode(store: GraphStore, tmp_path: Path, write: bool) -> None:
    write_sample(store)
    args = _store_args(store) + (["--write"] if write else [])
    victim = tmp_path / "victim.csv"
    for cypher in (f"COPY (RETURN 'x' AS x) TO '{victim}'", "LOAD FROM '/etc/passwd' RETURN *",
                   "LOAD CSV FROM 'file:///etc/passwd' AS l RETURN l", "INSTALL httpfs", "CALL threads=1"):
        result = runner.invoke(app, ["query", cypher, *args])
        assert result.exit_code == 2, (cypher, result.output)
        assert "root:" not in result.output
    assert not victim.exists()


def test_write_mode_still_writes(store: GraphStore) -> None:
    write_sample(store)
    args = _store_args(store)
    result = runner.invoke(app, ["query", "MATCH (d:Drug {id: 'MESH:D009270'}) SET d.name = 'Naloxone' RETURN d.name AS n",
                                 "--write", *args])
    assert result.exit_code == 0 and "Naloxone" in result.output, result.output


def test_deep_nesting_is_an_error_not_a_crash(tmp_path: Path, ladybug_store: GraphStore) -> None:
    write_sample(ladybug_store)
    path = ladybug_store.path  # type: ignore[attr-defined]
    ladybug_store.close()
    proc = subprocess.run([sys.executable, "-m", "kg.cli", "query", "RETURN " + "(" * 3000 + "1" + ")" * 3000, "--db", str(path)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-500:])  # was 139 (segfault)
    assert "nested deeper" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("command", [["stats"], ["query", "MATCH (n) RETURN count(n)"], ["export", "--format", "json", "--out", "x.json"],
                                     ["interactions", "warfarin", "aspirin"], ["rebuild-edges"], ["serve"]])
def test_reading_commands_refuse_a_missing_store(tmp_path: Path, command: list[str]) -> None:
    missing = tmp_path / "nope" / "graph.lbug"
    result = runner.invoke(app, [*command, "--db", str(missing)])
    assert result.exit_code != 0 and "does not exist" in result.output, result.output
    assert "Traceback" not in result.output
    assert not missing.exists() and not missing.parent.exists()


def test_timeout_and_row_cap_options(ladybug_store: GraphStore) -> None:
    write_sample(ladybug_store)
    args = _store_args(ladybug_store)
    result = runner.invoke(app, ["query", "UNWIND range(1, 100000) AS a UNWIND range(1, 100000) AS b "
                                 "WITH a, b WHERE a * b = -1 RETURN count(*)", "--timeout", "1", *args])
    assert result.exit_code != 0 and "time limit" in result.output, result.output
    result = runner.invoke(app, ["query", "UNWIND range(1, 100) AS x RETURN x", "--max-rows", "3", "--json", *args])
    assert result.exit_code == 0 and result.stdout.count("\n") == 3, result.output


def test_cli_errors_say_no_parameter_back(ladybug_store: GraphStore) -> None:
    write_sample(ladybug_store)
    args = _store_args(ladybug_store)
    marker = "JaneDoeHivPositive"
    for extra in (["--param", marker], ["--param", f"p={marker}"], ["--param", f"{marker} x=1"]):
        result = runner.invoke(app, ["query", "RETURN CAST($p AS BOOL) AS x", *extra, *args])
        assert result.exit_code != 0 and marker not in result.output, result.output
