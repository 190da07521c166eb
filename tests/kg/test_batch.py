"""Resumable ``extract`` / ``load`` batch jobs, including real SIGKILLs of the CLI mid-job."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from kg.batch import (
    CorruptShardError,
    ExtractionDirError,
    ManifestMismatchError,
    read_manifest,
    run_extract,
    run_load,
)
from kg.batch.manifest import SLOW_SHARD_ENV
from kg.batch.load import state_path, store_identity
from kg.cli import app
from kg.jobs import run_build
from kg.store.base import GraphStore
from kg.store.ladybug_store import LadybugStore
from loaders.errors import LoaderWarning, MalformedInputError
from tests.helpers import FIXTURES, REPO

SAMPLE = REPO / "kg" / "samples" / "bc5cdr_train_10.pubtator"  # 10 gold abstracts
EXCERPT = FIXTURES / "bc5cdr" / "CDR_TrainingSet_excerpt.PubTator.txt"  # 3 gold abstracts
BAD_RECORD = "77|t|Secret title.\n77|a|Secret note text.\n77\t0\t99\tSecret\tChemical\tD1\n\n"
"""A PubTator record whose mention runs past its text: the loader reports it as a bad record."""


def graph(store: GraphStore) -> dict[str, Any]:
    """Everything stored: counts, every node with its properties, every edge with its properties."""
    canon = lambda rows: sorted(json.dumps(r, sort_keys=True, default=str) for r in rows)  # noqa: E731
    return {
        "stats": store.stats(),
        "nodes": {label: canon(store.iter_nodes(label)) for label in store.schema.nodes},
        "edges": {t: canon([{"h": h, "t": tl, **row} for h, tl, row in store.iter_edges(t)]) for t in store.schema.edges},
    }


def shard_files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.glob("shard-*.jsonl.gz"))}


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "kg.cli", *args], cwd=REPO, env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def wait_for(cond: Callable[[], bool], *, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the job to get there")
        time.sleep(0.02)


def test_extract_then_load_equals_direct_build(store: GraphStore, tmp_path: Path) -> None:
    # The excerpt repeats two of the sample's abstracts, identically: both jobs drop the repeats
    # with a warning (never merging them into the first copy), leaving 11 distinct documents.
    with pytest.warns(LoaderWarning, match="identical to the record first at"):
        report = run_extract([SAMPLE, EXCERPT], tmp_path / "x", extract="none", shard_docs=4)
    assert (report.documents, report.shards, report.complete, report.error_count) == (11, 3, True, 0)
    assert report.mentions > 100 and report.relations > 10

    with pytest.warns(LoaderWarning, match="identical to the record first at"):
        run_build([SAMPLE, EXCERPT], store, batch_docs=4)
    direct = graph(store)
    store.clear()
    loaded = run_load(tmp_path / "x", store)
    assert loaded.documents == 11 and (loaded.write.documents_new, loaded.write.documents_unchanged) == (11, 0)
    assert graph(store) == direct
    assert direct["stats"]["Document"] == 11 and direct["stats"]["CAUSES_ADVERSE_EFFECT"] > 0

    again = run_load(tmp_path / "x", store)  # finished: nothing to do, nothing changes
    assert (again.shards_loaded, again.shards_skipped) == (0, 3)
    assert graph(store) == direct


def test_killed_extract_resumes_to_identical_shards(tmp_path: Path) -> None:
    out = tmp_path / "killed"
    args = ["extract", str(SAMPLE), "--out", str(out), "--shard-docs", "2", "--extract", "none", "-q"]
    # The test hook pauses after each shard file is renamed into place but before the manifest
    # lists it: the kill lands with shard 1 on disk and unrecorded, shard 0 recorded.
    proc = cli(*args, env={SLOW_SHARD_ENV: "2"})
    wait_for(lambda: (out / "shard-00001.jsonl.gz").exists())
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    manifest = read_manifest(out)
    assert manifest is not None and not manifest.complete and len(manifest.shards) == 1

    done = cli(*args)
    output, _ = done.communicate(timeout=60)
    assert done.returncode == 0, output
    assert "5 shards (4 written now, 1 reused" in output

    reference = run_extract([SAMPLE], tmp_path / "reference", extract="none", shard_docs=2)
    assert reference.shards == 5
    assert shard_files(out) == shard_files(tmp_path / "reference")
    resumed = read_manifest(out)
    assert resumed is not None and resumed.complete
    assert [s.model_dump(exclude={"seconds"}) for s in resumed.shards] == [
        s.model_dump(exclude={"seconds"}) for s in read_manifest(tmp_path / "reference").shards  # type: ignore[union-attr]
    ]
    assert not list(out.glob("*.tmp"))


def test_killed_load_resumes_to_identical_graph(tmp_path: Path) -> None:
    out = tmp_path / "x"
    run_extract([SAMPLE], out, extract="none", shard_docs=2)
    reference = LadybugStore(tmp_path / "reference.lbug")
    run_load(out, reference)
    want = graph(reference)
    reference.close()

    db = tmp_path / "killed.lbug"
    state = state_path(out, f"ladybug:{db.resolve()}")
    done_shards = lambda: json.loads(state.read_text())["shards_done"] if state.exists() else 0  # noqa: E731
    # The hook pauses after a shard is committed but before the load state records it: killing
    # 1.5 s into shard 1's pause leaves it committed and unrecorded, the case resume must get right.
    proc = cli("load", str(out), "--db", str(db), "-q", env={SLOW_SHARD_ENV: "3"})
    wait_for(lambda: done_shards() >= 1)
    time.sleep(1.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert done_shards() == 1
    with LadybugStore(db) as st:
        assert st.stats()["Document"] == 4  # shards 0 and 1 committed

    done = cli("load", str(out), "--db", str(db), "-q")
    output, _ = done.communicate(timeout=60)
    assert done.returncode == 0, output
    assert "loaded 4 of 5 shards, resumed after 1 shards" in output
    assert "2 unchanged documents" in output  # the committed-but-unrecorded shard, rewritten as a no-op
    with LadybugStore(db) as st:
        assert graph(st) == want  # same nodes, edges, and evidence (no duplicates)


def test_stale_load_state_is_not_trusted(tmp_path: Path) -> None:
    out = tmp_path / "x"
    run_extract([EXCERPT], out, extract="none", shard_docs=2)
    with LadybugStore(tmp_path / "g.lbug") as st:
        run_load(out, st)
        want = graph(st)
        st.clear()  # the state file now claims shards the store no longer has
        report = run_load(out, st)
        assert report.state_stale and report.shards_loaded == 2
        assert graph(st) == want
        assert state_path(out, store_identity(st)).exists()


def test_other_inputs_or_options_are_refused_unless_restart(tmp_path: Path) -> None:
    src = tmp_path / "in.pubtator"
    shutil.copy(EXCERPT, src)
    out = tmp_path / "x"
    run_extract([src], out, extract="none", shard_docs=2)
    with pytest.raises(ManifestMismatchError, match="option shard_docs: manifest 2, given 1"):
        run_extract([src], out, extract="none", shard_docs=1)
    src.write_text(src.read_text() + "\n" + SAMPLE.read_text().split("\n\n")[1] + "\n\n")  # not in EXCERPT
    with pytest.raises(ManifestMismatchError, match="in.pubtator changed"):
        run_extract([src], out, extract="none", shard_docs=2)
    code = CliRunner().invoke(app, ["extract", str(src), "--out", str(out), "--shard-docs", "2", "--extract", "none", "-q"])
    assert code.exit_code == 2 and "--restart" in code.output
    report = run_extract([src], out, extract="none", shard_docs=2, restart=True)
    assert report.documents == 4 and report.shards_reused == 0
    (tmp_path / "notes.txt").write_text("someone else's file")
    with pytest.raises(ExtractionDirError, match="not empty"):
        run_extract([src], tmp_path, extract="none")


def test_bad_record_is_reported_not_lost(tmp_path: Path) -> None:
    src = tmp_path / "mixed.pubtator"
    first, *rest = EXCERPT.read_text().strip().split("\n\n")
    src.write_text(first + "\n\n" + BAD_RECORD + "\n\n".join(rest) + "\n")
    out = tmp_path / "x"
    report = run_extract([src], out, extract="none", shard_docs=1)
    assert (report.documents, report.error_count, report.shards) == (3, 1, 3)
    bad_line = first.count("\n") + 1 + 1 + 3  # first block, blank separator, then the bad record's 3rd line
    assert [(e.record_id, e.position) for e in report.errors] == [("PMID:77", f"line {bad_line}")]
    errors_file = out / "errors-00000.jsonl"  # met while shard 0 (the first document) was filling
    (row,) = [json.loads(line) for line in errors_file.read_text().splitlines()]
    assert row["record_id"] == "PMID:77" and row["path"].endswith("mixed.pubtator") and "past the end" in row["message"]
    assert "Secret" not in errors_file.read_text()
    manifest = read_manifest(out)
    assert manifest is not None and [s.errors for s in manifest.shards] == [1, 0, 0]

    again = run_extract([src], out, extract="none", shard_docs=1)  # resumed: still counted, not re-reported
    assert (again.error_count, again.errors) == (1, [])
    with LadybugStore(tmp_path / "g.lbug") as st:
        loaded = run_load(out, st)
        assert loaded.extraction_errors == 1 and st.stats()["Document"] == 3

    with pytest.raises(MalformedInputError, match="PMID:77"):
        run_extract([src], tmp_path / "strict", extract="none", on_error="fail")
    assert not (tmp_path / "strict").exists()  # validated first: nothing written


def test_corrupt_shard_and_unfinished_extraction_are_refused(tmp_path: Path) -> None:
    out = tmp_path / "x"
    run_extract([EXCERPT], out, extract="none", shard_docs=2)
    shard = out / "shard-00001.jsonl.gz"
    shard.write_bytes(gzip.compress(gzip.decompress(shard.read_bytes()).replace(b"Naloxone", b"Nalaxone")))
    with LadybugStore(tmp_path / "g.lbug") as st:
        with pytest.raises(CorruptShardError, match="shard-00001"):
            run_load(out, st)
        manifest = read_manifest(out)
        assert manifest is not None
        (out / "manifest.json").write_text(manifest.model_copy(update={"complete": False}).model_dump_json())
        with pytest.raises(ExtractionDirError, match="unfinished"):
            run_load(out, st)


def test_real_pipeline_extract_and_load(tmp_path: Path) -> None:
    """The shipped NER + RE models on two short raw abstracts (~20 s, mostly model loading)."""
    src = tmp_path / "raw.pubtator"
    src.write_text(
        "1|t|Cisplatin nephrotoxicity.\n1|a|Cisplatin induced acute renal failure in a patient treated for lung cancer.\n\n"
        "2|t|Headache after nitroglycerin.\n2|a|Nitroglycerin caused severe headache and hypotension in two patients.\n\n"
    )
    out = tmp_path / "x"
    report = run_extract([src], out, shard_docs=1)
    assert (report.documents, report.shards, report.error_count) == (2, 2, 0)
    manifest = read_manifest(out)
    assert manifest is not None and set(manifest.options.models) >= {"ner", "re"}
    assert "adapter_model.safetensors" in manifest.options.models["ner"]["files"]
    docs = [json.loads(line) for line in gzip.decompress((out / "shard-00000.jsonl.gz").read_bytes()).splitlines()]
    texts = {m["text"].lower() for m in docs[0]["mentions"]}
    assert "cisplatin" in texts and report.mentions >= 4
    assert run_extract([src], out, shard_docs=1).shards_written == 0  # resumed without loading a model
    with LadybugStore(tmp_path / "g.lbug") as st:
        run_load(out, st)
        assert st.stats()["Document"] == 2 and st.stats()["Drug"] >= 2


def test_a_default_kb_change_is_recorded_and_named_when_a_resume_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default KB is rebuilt when its sources or merging change; a job resumed across such a
    change would mix two KBs' links, so its fingerprint is part of the manifest's model record,
    and a refusal names the key that differs rather than dumping the whole record."""
    from extractors.config import PipelineConfig
    from extractors.linking import kb_build
    from kg.batch.engine import model_fingerprints
    from kg.batch.manifest import ExtractOptions, Manifest

    before = model_fingerprints(PipelineConfig())
    assert before["kb"] == {"default": kb_build.default_kb_fingerprint()}
    monkeypatch.setattr(kb_build, "_CODE_REVISION", kb_build._CODE_REVISION + 1)
    after = model_fingerprints(PipelineConfig())
    assert after["kb"] != before["kb"] and after["ner"] == before["ner"]
    old = Manifest.model_construct(inputs=[], options=ExtractOptions(shard_docs=10, models=before), shards=[])
    problems = old.mismatches([], ExtractOptions(shard_docs=10, models=after))
    assert len(problems) == 1 and problems[0].startswith("option models.kb:"), problems


def test_hostile_job_directories_and_files(tmp_path: Path) -> None:
    """A planted ``.tmp`` symlink is not written through; ``--restart`` deletes nothing in a
    directory that is not an extraction; a damaged shard line or load state is one line naming
    the file (never note text); a wrong directory or path creates no store."""
    import hashlib

    out = tmp_path / "x"
    run_extract([EXCERPT], out, extract="none", shard_docs=2)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    with LadybugStore(tmp_path / "g.lbug") as st:
        planted = state_path(out, store_identity(st)).with_name(state_path(out, store_identity(st)).name + ".tmp")
        planted.symlink_to(victim)
        run_load(out, st)
    assert victim.read_text() == "precious"

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    for name in ("mine.txt", "shard-notes.jsonl", "load-settings.json", "errors-2023.jsonl", "draft.tmp"):
        (foreign / name).write_text("mine")
    with pytest.raises(ExtractionDirError, match="not empty"):
        run_extract([EXCERPT], foreign, extract="none", restart=True)
    assert len(list(foreign.iterdir())) == 5
    # a restart cut short (the manifest already gone, job files left) can be run again
    cut = tmp_path / "cut"
    shutil.copytree(out, cut)
    (cut / "manifest.json").unlink()
    (cut / ".shard-00001.jsonl.gz.0a1b2c3d.tmp").write_text("half")
    assert run_extract([EXCERPT], cut, extract="none", shard_docs=2, restart=True).documents == 3
    assert sorted(p.name for p in cut.iterdir()) == sorted(p.name for p in out.iterdir() if not p.name.startswith("load-"))

    # a shard whose line is not a document, its checksum fixed to match: fields named, no text
    damaged = tmp_path / "damaged"
    shutil.copytree(out, damaged)
    shard = damaged / "shard-00001.jsonl.gz"
    lines = gzip.decompress(shard.read_bytes()).splitlines()
    doc = json.loads(lines[0])
    doc["kind"] = 7
    data = gzip.compress(b"\n".join([json.dumps(doc).encode(), *lines[1:]]) + b"\n")
    shard.write_bytes(data)
    manifest = read_manifest(damaged)
    assert manifest is not None
    shards = [s.model_copy(update={"sha256": hashlib.sha256(data).hexdigest()}) if s.index == 1 else s for s in manifest.shards]
    (damaged / "manifest.json").write_text(manifest.model_copy(update={"shards": tuple(shards)}).model_dump_json())
    with LadybugStore(tmp_path / "g2.lbug") as st:
        with pytest.raises(CorruptShardError, match=r"shard-00001.jsonl.gz: line 1: record does not fit the document model: kind") as exc:
            run_load(damaged, st)
        assert doc["text"][:20] not in str(exc.value) and "\n" not in str(exc.value)
        # a load state that is not this module's is not trusted: loaded from the start
        state_path(out, store_identity(st)).write_text("[]")
        report = run_load(out, st)
        assert report.state_stale and report.shards_loaded == 2

    runner = CliRunner()
    missing_db = tmp_path / "never" / "g.lbug"
    r = runner.invoke(app, ["load", str(tmp_path / "nonexistent"), "--db", str(missing_db), "-q"])
    assert r.exit_code == 2 and "no manifest.json" in r.output and not missing_db.parent.exists()
    r = runner.invoke(app, ["load-curated", "critical", "--path", f"critical={tmp_path / 'nope.tsv'}", "--db", str(missing_db)])
    assert r.exit_code == 2 and "nope.tsv" in r.output and not missing_db.parent.exists()
    # the file system's refusals are one line naming the path
    (tmp_path / "afile").write_text("x")
    r = runner.invoke(app, ["extract", str(EXCERPT), "--out", str(tmp_path / "afile"), "--extract", "none", "-q"])
    assert r.exit_code == 2 and "afile" in r.output and isinstance(r.exception, SystemExit), r.output
    with LadybugStore(tmp_path / "g3.lbug") as st:
        run_load(out, st)
    r = runner.invoke(app, ["export", "--db", str(tmp_path / "g3.lbug"), "--format", "json", "--out", str(tmp_path)])
    assert r.exit_code == 2 and "Is a directory" in r.output and isinstance(r.exception, SystemExit), r.output
