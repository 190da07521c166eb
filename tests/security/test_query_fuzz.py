"""Fuzz the query endpoint's path end to end on the embedded store: random compositions of
Cypher fragments (file paths, writes, settings, comments, quotes, brackets) go through the
guard and the isolated workers. Whatever the text, the answer is rows or a query error, no file
appears, the graph is unchanged and the pool keeps answering."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kg.config import QueryLimits
from kg.errors import QueryError
from kg.store.ladybug_store import LadybugStore
from kg.store.sandbox import QuerySandbox
from tests.security.conftest import write_sample


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[QuerySandbox, Path, dict[str, int], Path]]:
    root = tmp_path_factory.mktemp("fuzz")
    db = root / "graph.lbug"
    store = LadybugStore(db)
    counts = write_sample(store)
    store.close()
    watch = root / "watch"
    watch.mkdir()
    limits = QueryLimits(timeout_s=1, memory_mb=500, max_rows=20, max_response_bytes=20_000, workers=1, queue_timeout_s=30)
    with QuerySandbox(db, limits=limits) as sandbox:
        yield sandbox, watch, counts, db


def _fragments(watch: Path) -> st.SearchStrategy[str]:
    target = f"'{watch}/out.csv'"
    return st.sampled_from([
        "MATCH (d:Drug)", "MATCH (n)", "RETURN d", "RETURN count(*)", "RETURN *", "WITH d", "UNWIND range(1, 10) AS x",
        "LOAD FROM", "LOAD CSV FROM", "COPY", "(RETURN 1 AS x)", "TO", target, "FROM", "'/etc/passwd'", "EXPORT DATABASE",
        f"'{watch}/db'", "CHECKPOINT", "BEGIN TRANSACTION", "COMMIT", "ROLLBACK", ";", "CALL", "threads=1",
        "show_tables()", "DETACH DELETE d", "SET d.name = 'x'", "CREATE (:Drug {id: 'z'})", "/*", "*/", "//", "\n",
        "'", '"', "`", "(", ")", "[", "]", "{", "}", ",", ".", ":", "AS", "copy", "load", "x", "$p", "LIMIT 1",
        "INSTALL httpfs", "ATTACH", "WHERE d.name = 'a'", "UNION", "\\",
    ])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_any_text_is_answered_or_refused_and_changes_nothing(world: tuple[QuerySandbox, Path, dict[str, int], Path],
                                                             data: st.DataObject) -> None:
    sandbox, watch, _, _ = world
    parts = data.draw(st.lists(_fragments(watch), min_size=1, max_size=12))
    text = data.draw(st.sampled_from([" ".join(parts), "".join(parts)]))
    try:
        result = sandbox.run(text, {"p": "x"})
        assert len(result.rows) <= 20
    except QueryError:
        pass
    assert list(watch.iterdir()) == []


def test_after_fuzzing_the_graph_is_unchanged(world: tuple[QuerySandbox, Path, dict[str, int], Path]) -> None:
    sandbox, watch, counts, db = world
    assert sandbox.run("MATCH (d:Drug) RETURN count(d) AS n").rows == [{"n": counts["Drug"]}]
    sandbox.close()
    with LadybugStore(db, read_only=True) as store:
        assert store.stats() == counts
    assert list(watch.iterdir()) == []
