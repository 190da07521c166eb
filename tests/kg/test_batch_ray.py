"""``medkg extract --engine ray``: the same shards (byte for byte) and graph as the local engine.

One small local Ray cluster (2 CPUs) serves the whole module; the shipped NER + RE models run for
real, in the test process for the local engine and in two Ray actors for the Ray engine. Each
model load costs ~15 s on 2 cores, so the module has exactly one of each.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from extractors.config import PipelineConfig
from kg.batch import RayEngineError, RayOptions, read_manifest, run_extract, run_load
from kg.batch.ray_engine import pack, unpack
from kg.cli import app
from schema.records import Document, EntityType, Mention
from kg.store.ladybug_store import LadybugStore
from tests.helpers import FIXTURES, REPO
from tests.kg.test_batch import BAD_RECORD, EXCERPT, graph

RAW = [FIXTURES / "pubmed" / "pubmed_sample.xml", FIXTURES / "notes" / "notes.jsonl", FIXTURES / "notes" / "discharge_note.txt"]
"""Five raw documents (2 PubMed abstracts, 3 notes): the models run on all of them."""
SHARD_DOCS, BATCH_DOCS = 2, 1
TINY_KB = FIXTURES / "kb" / "tiny_kb.jsonl"
PIPELINE = PipelineConfig(kb=str(TINY_KB))
"""The shipped NER and RE models; the 20-entry KB instead of the default one keeps every model
load (one in this process, one per Ray actor) ~10 s shorter."""


def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, state) of every process, from /proc."""
    out = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                stat = (proc / "stat").read_text()
            except OSError:
                continue
            state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]  # after "pid (comm) "
            out[int(proc.name)] = (int(ppid), state)
    return out


def _descendants(root: int) -> set[int]:
    procs, found, todo = _processes(), set(), [root]
    while todo:
        parent = todo.pop()
        kids = [pid for pid, (ppid, _) in procs.items() if ppid == parent and pid not in found]
        found.update(kids)
        todo += kids
    return found


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[str]:
    """A 2-CPU local Ray for the module; its address, for the CLI to join. On teardown, checks
    that shutting it down left none of its processes (GCS, raylet, workers, actors) running."""
    import ray

    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ours = _descendants(os.getpid())
        ray.shutdown()
    deadline = time.monotonic() + 30
    while (left := {p for p, (_, state) in _processes().items() if p in ours and state != "Z"}) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not left, f"Ray processes left running: {sorted(left)}"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Raw documents, gold-annotated ones (passed through without a model under --extract auto)
    and a bad record (so the errors files are compared too)."""
    mixed = tmp_path_factory.mktemp("in") / "gold_with_bad.pubtator"
    first, *rest = EXCERPT.read_text().strip().split("\n\n")
    mixed.write_text(first + "\n\n" + BAD_RECORD + "\n\n".join(rest) + "\n")
    return [*RAW, mixed]


@pytest.fixture(scope="module")
def local_run(inputs: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch

    out = tmp_path_factory.mktemp("local") / "x"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the 1-CPU actors run: scores are bit-identical only at equal thread counts
    try:
        report = run_extract(inputs, out, pipeline=PIPELINE, shard_docs=SHARD_DOCS, batch_docs=BATCH_DOCS)
    finally:
        torch.set_num_threads(threads)
    assert (report.documents, report.shards, report.error_count) == (8, 4, 1)
    assert report.mentions > 40 and report.relations > 0  # the gold abstracts' plus the models' predictions
    return out


def job_files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.glob("*-*.jsonl*"))}  # shards and errors files


def manifest_without_timings(out: Path) -> dict[str, Any]:
    manifest = read_manifest(out)
    assert manifest is not None
    data = manifest.model_dump()
    for shard in data["shards"]:
        shard.pop("seconds")
    return data


def test_ray_engine_writes_the_local_engines_shards_and_graph(ray_cluster: str, local_run: Path, inputs: list[Path], tmp_path: Path) -> None:
    """``medkg extract --engine ray`` from a fresh process joining the module's cluster with two
    actors: the same shard and errors files as the local engine, and the same graph once loaded."""
    out = tmp_path / "ray"
    proc = subprocess.run(
        [sys.executable, "-m", "kg.cli", "extract", *map(str, inputs), "--out", str(out), "--shard-docs", str(SHARD_DOCS),
         "--batch-docs", str(BATCH_DOCS), "--kb", str(TINY_KB), "--engine", "ray", "--ray-address", ray_cluster, "--workers", "2", "-q"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "extraction complete: 8 documents in 4 shards (4 written now" in proc.stdout and "1 bad records" in proc.stdout
    assert "skipped: " in proc.stderr and "PMID:77" in proc.stderr
    want = job_files(local_run)
    assert {n for n in want if n.startswith("errors-")} == {"errors-00002.jsonl"}
    assert job_files(out) == want
    assert manifest_without_timings(out) == manifest_without_timings(local_run)
    notes = [json.loads(line) for line in gzip.decompress(want["shard-00001.jsonl.gz"]).splitlines()]
    assert any(m["source"] == "medkg" for d in notes for m in d["mentions"])  # predicted, not gold

    graphs = []
    for run in (local_run, out):
        with LadybugStore(tmp_path / f"{run.parent.name}.lbug") as st:
            run_load(run, st)
            graphs.append(graph(st))
    assert graphs[0]["stats"]["Document"] == 8 and sum(len(e) for e in graphs[0]["edges"].values()) > 0
    assert graphs[0] == graphs[1]


def test_job_started_locally_is_resumed_with_ray(ray_cluster: str, local_run: Path, inputs: list[Path], tmp_path: Path) -> None:
    """What a kill after shard 2 leaves, resumed with the other engine: the engine is not part of
    the manifest, so the run is accepted and ends with the local engine's files. (The shard left
    holds gold documents only, which need no model: the test above covers Ray-extracted shards.)"""
    out = tmp_path / "x"
    shutil.copytree(local_run, out)
    manifest = read_manifest(out)
    assert manifest is not None
    (out / manifest.shards[3].file).unlink()
    (out / "manifest.json").write_text(manifest.model_copy(update={"shards": manifest.shards[:3], "complete": False}).model_dump_json())

    report = run_extract(inputs, out, pipeline=PIPELINE, shard_docs=SHARD_DOCS, batch_docs=BATCH_DOCS, engine="ray",
                         ray=RayOptions(workers=2))
    assert (report.shards_reused, report.shards_written, report.complete) == (3, 1, True)
    assert job_files(out) == job_files(local_run)
    assert manifest_without_timings(out) == manifest_without_timings(local_run)


def test_documents_cross_ray_as_exact_json() -> None:
    """The chunk encoding round-trips every field, floats and line-separator characters included
    (JSON leaves U+2028 and U+0085 raw, so splitting on them would cut a document)."""
    text = "Line one\u2028line two\x85three\nfour\r\nfive"
    docs = [
        Document(id="a", source_format="text", text=text, mentions=(
            Mention(label=EntityType("Drug"), text="Line", start=0, end=4, score=0.1 + 0.2, source="medkg"),)),
        Document(id="b", source_format="text", text="plain", metadata={"k": [1.5e-300, "\u2029"]}),
    ]
    back = unpack(pack(docs))
    assert back == docs and [d.model_dump_json() for d in back] == [d.model_dump_json() for d in docs]
    assert len(pack(docs).splitlines()) > len(docs)  # what splitlines() would have done


def test_unreachable_address_is_named_before_anything_is_written(tmp_path: Path) -> None:
    port = closed_port()
    res = CliRunner().invoke(app, ["extract", str(RAW[1]), "--out", str(tmp_path / "x"), "--engine", "ray",
                                   "--ray-address", f"127.0.0.1:{port}", "-q"])
    assert res.exit_code == 1
    assert f"cannot connect to the Ray cluster at 127.0.0.1:{port}" in res.output
    assert not (tmp_path / "x").exists()
    with pytest.raises(RayEngineError, match="not host:port"):
        run_extract([RAW[1]], tmp_path / "y", engine="ray", ray=RayOptions(address="nonsense"))


def test_missing_ray_says_how_to_install(tmp_path: Path) -> None:
    """In a fresh process where ``import ray`` fails as it does without Ray installed (so the
    module's own Ray keeps running undisturbed)."""
    code = "import sys; sys.modules['ray'] = None; from kg.cli import app; app(sys.argv[1:])"
    proc = subprocess.run([sys.executable, "-c", code, "extract", str(RAW[1]), "--out", str(tmp_path / "x"), "--engine", "ray", "-q"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "needs Ray Data, which is not installed" in proc.stderr and "pip install 'medkg[ray]'" in proc.stderr
    assert not (tmp_path / "x").exists()


def test_cli_does_not_import_ray_unless_asked() -> None:
    code = "import sys, kg.cli, kg.batch; sys.exit('ray' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO, timeout=120).returncode == 0


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
