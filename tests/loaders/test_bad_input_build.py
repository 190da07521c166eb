"""Bad input through a whole build (:func:`kg.jobs.build_job.run_build`) and through ``medkg build``:
inputs are checked before a store is opened, an id repeated across input files is a record
error, and a bad file leaves the store as it was, with one line on stderr and no traceback."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kg.jobs import check_inputs, run_build
from kg.store.base import GraphStore
from loaders.errors import (
    InputNotFoundError,
    LoaderWarning,
    MalformedInputError,
    UnreadableInputError,
)
from tests.helpers import FIXTURES, REPO
from tests.loaders.test_bad_input import FIRST, OTHER, SECOND, bundle, condition, nested

GOOD = FIXTURES / "bc5cdr" / "CDR_TrainingSet_excerpt.PubTator.txt"


def test_same_id_in_two_files_of_a_build_is_a_record_error(
    ladybug_store: GraphStore, tmp_path: Path
) -> None:
    first, second = tmp_path / "a.pubtator", tmp_path / "b.pubtator"
    first.write_text(FIRST + OTHER, encoding="utf-8")
    second.write_text(SECOND, encoding="utf-8")
    with pytest.raises(MalformedInputError) as raised:
        run_build([first, second], ladybug_store)
    assert ladybug_store.stats()["Document"] == 0  # fail mode: validated first, nothing written
    shown = str(raised.value)
    assert shown.startswith(f"{second}:line 1 (record PMID:111): duplicate document id PMID:111")
    assert f"first at {first}:line 1" in shown

    report = run_build([first, second], ladybug_store, on_error="skip", batch_docs=1)
    assert report.documents_read == 2 and [e.path for e in report.errors] == [str(second)]
    titles = ladybug_store.query("MATCH (d:Document) RETURN d.id AS id, d.title AS title ORDER BY id")
    assert titles == [{"id": "PMID:111", "title": "First title."}, {"id": "PMID:222", "title": "Other title."}]


def test_identical_document_in_two_files_is_dropped_with_a_warning(
    ladybug_store: GraphStore, tmp_path: Path
) -> None:
    copy = tmp_path / "bc5cdr_copy.pubtator"  # same corpus (from the name), so the same documents
    copy.write_bytes(GOOD.read_bytes())
    with pytest.warns(LoaderWarning) as caught:  # skip mode: one pass (fail mode validates first)
        report = run_build([GOOD, copy], ladybug_store, on_error="skip")
    assert [str(w.message) for w in caught] == [
        f"{copy}:line {line}: duplicate document id PMID:{pmid}: identical to the record first "
        f"at {GOOD}:line {line}; dropped"
        for line, pmid in ((1, 227508), (25, 2234245), (49, 2505783))
    ]
    assert report.documents_read == 3 and report.errors == []
    assert ladybug_store.stats()["Document"] == 3


def test_inputs_are_checked_before_anything_is_written(
    ladybug_store: GraphStore, tmp_path: Path
) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "README.txt").write_text("not data", encoding="utf-8")
    cases = [
        (tmp_path / "missing.txt", InputNotFoundError, "input not found"),
        (tmp_path / "empty", InputNotFoundError, "no data files in input folder"),
    ]
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe.txt")
        cases.append((tmp_path / "pipe.txt", UnreadableInputError, "not a regular file or folder"))
    for path, error, fragment in cases:
        with pytest.raises(error, match=fragment) as raised:
            run_build([GOOD, path], ladybug_store)  # the good first input is not loaded either
        assert str(path) in str(raised.value)
        assert ladybug_store.stats()["Document"] == 0
    assert check_inputs([str(GOOD), FIXTURES / "notes"]) == [GOOD, FIXTURES / "notes"]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_input_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "locked.txt"
    path.write_text("note", encoding="utf-8")
    path.chmod(0)
    with pytest.raises(UnreadableInputError, match="cannot read input .*locked.txt"):
        check_inputs([path])


# -- end to end: `medkg build` in a real process ---------------------------------------------------


def medkg(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kg.cli", *args], cwd=REPO, capture_output=True, text=True, timeout=120
    )


def stats(db: Path) -> dict[str, int]:
    done = medkg("stats", "--json", "--db", str(db))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def bad_inputs(tmp_path: Path) -> dict[str, tuple[list[Path], str, str]]:
    """name -> (inputs, where the error must name (file and record), a fragment of the error)."""
    packed = gzip.compress((FIXTURES / "pubmed" / "pubmed_sample.xml").read_bytes())
    truncated = tmp_path / "pubmed26n0001.xml.gz"
    truncated.write_bytes(packed[: len(packed) // 2])
    deep = tmp_path / "deep.jsonl"
    deep_line = '{"id": "d", "text": "x", "m": ' + nested(100_000) + "}"
    deep.write_text('{"id": "ok", "text": "Fine."}\n' + deep_line + "\n", encoding="utf-8")
    fhir = tmp_path / "bundle.json"
    fhir.write_text(json.dumps(bundle(condition(code={"coding": 5}))), encoding="utf-8")
    dup = tmp_path / "again.pubtator"
    dup.write_text(GOOD.read_text(encoding="utf-8").replace("Naloxone reverses", "Naloxone REVERSES"), encoding="utf-8")
    return {
        "truncated-gzip": ([truncated], str(truncated), "gzip data ends early: the file is truncated"),
        "deep-jsonl": ([deep], f"{deep}:line 2", "nested far deeper than the 64 levels"),
        "fhir-wrong-type": (
            [fhir], f"{fhir}:entry 3 (record Condition/bad)", "code.coding must be an array, got a number"
        ),
        "duplicate-across-files": ([GOOD, dup], f"{dup}:line 1 (record PMID:227508)", f"first at {GOOD}:line 1"),
        "missing-input": ([GOOD, tmp_path / "nothere.txt"], str(tmp_path / "nothere.txt"), "input not found"),
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    db = tmp_path_factory.mktemp("cli") / "graph.lbug"
    done = medkg("build", str(GOOD), "--extract", "none", "-q", "--db", str(db))
    assert done.returncode == 0, done.stderr
    return db, stats(db)


CASES = ["truncated-gzip", "deep-jsonl", "fhir-wrong-type", "duplicate-across-files", "missing-input"]


@pytest.mark.parametrize("case", CASES)
def test_medkg_build_bad_input_one_line_exit_2_store_unchanged(
    built: tuple[Path, dict[str, int]], tmp_path: Path, case: str
) -> None:
    db, before = built
    inputs, names, fragment = bad_inputs(tmp_path)[case]
    done = medkg("build", *map(str, inputs), "--extract", "none", "-q", "--on-error", "fail", "--db", str(db))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    (line,) = [ln for ln in done.stderr.splitlines() if ln.strip()]
    assert line.startswith("error: ") and names in line and fragment in line, line
    assert stats(db) == before


def test_medkg_build_with_missing_input_creates_no_store(tmp_path: Path) -> None:
    db = tmp_path / "new" / "graph.lbug"
    done = medkg("build", str(tmp_path / "typo.pubtator"), "--extract", "none", "-q", "--db", str(db))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip() == f"error: input not found: {tmp_path / 'typo.pubtator'}"
    assert not db.exists() and not db.parent.exists()


def test_medkg_build_skip_mode_writes_the_good_records(tmp_path: Path) -> None:
    db = tmp_path / "graph.lbug"
    inputs, _, _ = bad_inputs(tmp_path)["fhir-wrong-type"]
    done = medkg("build", *map(str, inputs), "--extract", "none", "-q", "--on-error", "skip", "--db", str(db))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "1 bad records skipped" in done.stdout
    (line,) = [ln for ln in done.stderr.splitlines() if ln.strip()]
    assert line.startswith(f"skipped: {inputs[0]}:entry 3 (record Condition/bad)")
    counts = stats(db)
    assert counts["Patient"] == 1 and counts["HAS_CONDITION"] == 1  # the good Condition is stored
