"""``medkg extract``: inputs -> extraction directory of sharded, checksummed Document files.

Sharding is a pure function of the input stream: shard *i* holds the good documents
``[i * shard_docs, (i + 1) * shard_docs)`` in input order, and a bad record belongs to the shard
that was being filled when the loader reported it. A resumed run therefore re-reads the inputs
(cheap: parsing, no model), drops the documents of shards the manifest lists as finished
without extracting them, and redoes the first unfinished shard from its start. Since the
documents of a shard, the chunks the extractor sees inside it and the gzip bytes are all fixed,
an interrupted-then-resumed job writes byte-identical shards to an uninterrupted one (given a
deterministic extractor; the shipped CPU pipeline is).

Extraction errors (a model crash, out of memory) are not skipped: they stop the job, which then
resumes at the failing shard. Bad *input* records are skipped (``on_error="skip"``, the default,
so one malformed record does not stop a million-document job) and written to the shard's errors
file, counted in the manifest and the summary; ``on_error="fail"`` validates every input first
and writes nothing if any record is bad.

Where the model runs is an *engine*: :class:`LocalEngine` (this process) or
:class:`kg.batch.ray_engine.RayEngine` (a Ray cluster). Engines receive finished shards and return
them extracted, chunked the same way and in order; everything above stays here, so both engines
write the same files and the engine is not part of the manifest.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from tqdm import tqdm

from kg.batch.engine import Engine, LocalEngine, PendingShard, model_fingerprints, resolve_models
from kg.batch.manifest import (
    MANIFEST,
    ExtractionDirError,
    ExtractOptions,
    InputFile,
    Manifest,
    ManifestMismatchError,
    ShardEntry,
    atomic_write,
    errors_bytes,
    errors_name,
    fingerprint,
    is_job_file,
    read_manifest,
    shard_bytes,
    shard_name,
    test_pause,
    write_json,
)
from schema.records import Document, Extractor
from loaders import SeenIds, read_documents
from loaders.errors import RecordError

if TYPE_CHECKING:
    from extractors.config import PipelineConfig
    from kg.batch.ray_engine import RayOptions


@dataclass
class ExtractReport:
    """Run summary. Totals cover the whole directory; ``*_this_run`` what this call did."""

    out_dir: str
    shards: int = 0
    shards_written: int = 0
    shards_reused: int = 0
    documents: int = 0
    mentions: int = 0
    relations: int = 0
    error_count: int = 0
    errors: list[RecordError] = field(default_factory=list)
    """Bad records found by this call (those of reused shards are in their errors files)."""
    documents_this_run: int = 0
    seconds: float = 0.0
    complete: bool = False

    @property
    def docs_per_second(self) -> float:
        return self.documents_this_run / self.seconds if self.seconds else 0.0


def expand_inputs(inputs: Sequence[str | Path]) -> list[Path]:
    """Files in the order :func:`loaders.read_documents` reads them (directories walked the same way)."""
    from loaders import _files  # the loaders' own walk, so the fingerprinted files are the read ones

    out: list[Path] = []
    for raw in inputs:
        p = Path(raw)
        if not p.exists():
            raise FileNotFoundError(f"input not found: {p}")
        out += list(_files(p)) if p.is_dir() else [p]
    if not out:
        raise FileNotFoundError(f"no data files in {', '.join(map(str, inputs))}")
    return out


def _stream(files: Sequence[Path], *, format: str | None, on_error: Callable[[RecordError], None] | None) -> Iterator[Document]:
    """One id registry across all files, as :func:`kg.jobs.build_job.run_build` does, so the shards hold
    exactly the documents a direct build would write (a repeated id is an error, or dropped with
    a warning when identical; see :mod:`loaders._seen`)."""
    seen = SeenIds()
    for f in files:
        yield from read_documents(f, format=format, on_error=on_error, seen=seen)


def _open_job(out_dir: Path, inputs: Sequence[InputFile], options: ExtractOptions, *, restart: bool) -> Manifest:
    """The manifest to continue from: a fresh one, or the existing one if it matches this run."""
    out_dir.mkdir(parents=True, exist_ok=True)
    old = read_manifest(out_dir)
    if restart and old is None and any(not (p.is_file() and is_job_file(p.name)) for p in out_dir.iterdir()):
        # nothing says this is an extraction and something in it is not a job file: the user's
        raise ExtractionDirError(f"{out_dir} is not empty and has no {MANIFEST}; --restart only clears an extraction "
                                 "directory; give an empty or new --out directory")
    if restart:
        for p in sorted(out_dir.iterdir(), key=lambda p: p.name == MANIFEST):  # the manifest last: a restart
            if p.is_file() and is_job_file(p.name):                          # cut short can be run again
                p.unlink()
        old = None
    elif old is not None:
        problems = old.mismatches(inputs, options)
        if problems:
            raise ManifestMismatchError(
                f"{out_dir / MANIFEST} was made from other inputs/options: " + "; ".join(problems)
                + ". Use the same inputs and options to resume, another --out, or --restart to discard it."
            )
    elif any(out_dir.iterdir()):
        raise ExtractionDirError(f"{out_dir} is not empty and has no {MANIFEST}; give an empty or new --out directory")
    for p in out_dir.glob("*.tmp"):
        if is_job_file(p.name):
            p.unlink()  # a write cut short by a kill; the finished file (if any) is still there
    manifest = old or Manifest(inputs=tuple(inputs), options=options)
    if old is None:
        write_json(out_dir / MANIFEST, manifest)
    return manifest


def _count(files: Sequence[Path], *, format: str | None, strict: bool, progress: bool) -> int:
    """Documents in the inputs; with ``strict`` raises the first bad record (``on_error="fail"``
    validates everything before any shard is written, like :func:`kg.jobs.build_job.run_build`)."""
    sink = None if strict else (lambda _e: None)
    n = 0
    for _ in tqdm(_stream(files, format=format, on_error=sink), desc="counting", unit="doc", disable=not progress):
        n += 1
    return n


def _extractor(extract: str, pipeline: "PipelineConfig | None") -> Extractor | None:
    if extract == "none":
        return None
    from kg.jobs import LazyExtractor

    return LazyExtractor(pipeline, mode=extract)  # type: ignore[arg-type]


def _engine(engine: str, extract: str, pipeline: "PipelineConfig | None", *, batch_docs: int, ray: "RayOptions | None") -> Engine:
    """``--extract none`` has no model step to distribute, so it never starts Ray."""
    if engine == "ray" and extract != "none" and pipeline is not None:
        from kg.batch.ray_engine import RayEngine, RayOptions

        return RayEngine(ray or RayOptions(), pipeline=pipeline, mode=extract, batch_docs=batch_docs)  # type: ignore[arg-type]
    return LocalEngine(_extractor(extract, pipeline), batch_docs=batch_docs)


def run_extract(
    inputs: Sequence[str | Path],
    out_dir: str | Path,
    *,
    pipeline: "PipelineConfig | None" = None,
    extract: Literal["auto", "always", "none"] = "auto",
    shard_docs: int = 1000,
    batch_docs: int = 64,
    format: str | None = None,
    on_error: Literal["fail", "skip"] = "skip",
    restart: bool = False,
    progress: bool = False,
    engine: Literal["local", "ray"] = "local",
    ray: "RayOptions | None" = None,
) -> ExtractReport:
    """Extract ``inputs`` into sharded files under ``out_dir``; resumable (see module docstring).

    ``batch_docs`` is how many documents the extractor gets per call inside a shard (progress is
    reported per call); 64 abstracts is ~1-2k sentences, enough to keep the model's own
    batches full without holding a whole 1000-document shard's activations at once.

    ``engine="ray"`` runs those calls on a Ray cluster (``ray`` says which and how wide, see
    :class:`kg.batch.ray_engine.RayOptions`); everything else, and the files written, stay the
    same, so the engine is not part of the manifest and a job may be resumed with the other one.
    """
    if shard_docs <= 0 or batch_docs <= 0:
        raise ValueError(f"shard_docs and batch_docs must be positive, got {shard_docs} and {batch_docs}")
    if extract not in ("auto", "always", "none"):
        raise ValueError(f"extract must be auto, always or none, not {extract!r}")
    if engine not in ("local", "ray"):
        raise ValueError(f"engine must be local or ray, not {engine!r}")
    if extract != "none" and pipeline is None:
        from extractors.config import PipelineConfig

        pipeline = PipelineConfig()
    if pipeline is not None:
        pipeline = resolve_models(pipeline)
    out = Path(out_dir)
    t0 = time.perf_counter()
    files = expand_inputs(inputs)
    options = ExtractOptions(
        shard_docs=shard_docs, format=format, on_error=on_error, extract=extract,
        pipeline=pipeline.model_dump() if pipeline is not None and extract != "none" else None,
        models=model_fingerprints(pipeline) if pipeline is not None and extract != "none" else {},
    )
    fps = [fingerprint(f) for f in files]
    eng = _engine(engine, extract, pipeline, batch_docs=batch_docs, ray=ray)  # a Ray that cannot run fails here
    # Strict mode validates before anything is written; otherwise the inputs are only counted
    # (for the ETA) when a progress bar will show it and there is work left.
    total = _count(files, format=format, strict=True, progress=progress) if on_error == "fail" else None
    manifest = _open_job(out, fps, options, restart=restart)
    if total is None and progress and not manifest.complete:
        total = _count(files, format=format, strict=False, progress=progress)
    report = ExtractReport(out_dir=str(out), shards_reused=len(manifest.shards))
    if not manifest.complete:
        manifest = _fill(files, out, manifest, report, engine=eng, total=total, progress=progress)
    report.shards = len(manifest.shards)
    report.documents = manifest.documents
    report.mentions = sum(s.mentions for s in manifest.shards)
    report.relations = sum(s.relations for s in manifest.shards)
    report.error_count = sum(s.errors for s in manifest.shards)
    report.complete = manifest.complete
    report.seconds = time.perf_counter() - t0
    return report


def _fill(
    files: Sequence[Path], out: Path, manifest: Manifest, report: ExtractReport, *,
    engine: Engine, total: int | None, progress: bool,
) -> Manifest:
    """Stream the inputs, skipping finished shards, writing the others; returns the final manifest."""
    size = manifest.options.shard_docs
    done = len(manifest.shards)
    seen = 0
    queued = done  # index of the shard being filled
    buffer: list[Document] = []
    buffer_errors: list[RecordError] = []
    pending: list[PendingShard] = []

    def sink(err: RecordError) -> None:
        if max(0, (seen - 1) // size) >= done:  # errors of finished shards are already on disk
            buffer_errors.append(err)

    bar = tqdm(total=total, initial=manifest.documents, desc="extracting", unit="doc", disable=not progress)

    def flush() -> None:
        nonlocal manifest
        for shard, docs, seconds in engine.run(pending, bar.update):
            entry = _write_shard(out, shard.index, docs, shard.errors, seconds=seconds)
            test_pause()
            manifest = manifest.model_copy(update={"shards": (*manifest.shards, entry)})
            write_json(out / MANIFEST, manifest)
            report.shards_written += 1
            report.documents_this_run += entry.docs
            report.errors += shard.errors
        pending.clear()

    def finish() -> None:
        nonlocal queued
        pending.append(PendingShard(queued, list(buffer), list(buffer_errors)))
        queued += 1
        buffer.clear()
        buffer_errors.clear()
        if sum(len(p.docs) for p in pending) >= engine.window_docs:
            flush()

    try:
        on_error = sink if manifest.options.on_error == "skip" else None
        for doc in _stream(files, format=manifest.options.format, on_error=on_error):
            index = seen // size
            seen += 1
            if index < done:
                continue
            if buffer and index != queued:
                finish()
            buffer.append(doc)
        if buffer or buffer_errors:
            finish()
        flush()
    finally:
        bar.close()
        engine.close()
    manifest = manifest.model_copy(update={"complete": True})
    write_json(out / MANIFEST, manifest)
    return manifest


def _write_shard(out: Path, index: int, docs: Sequence[Document], errors: Sequence[RecordError], *, seconds: float) -> ShardEntry:
    data = shard_bytes(docs)
    atomic_write(out / shard_name(index), data)
    err_file = None
    if errors:
        err_file = errors_name(index)
        atomic_write(out / err_file, errors_bytes(errors))
    return ShardEntry(
        index=index, file=shard_name(index), docs=len(docs),
        mentions=sum(len(d.mentions) for d in docs), relations=sum(len(d.relations) for d in docs),
        errors=len(errors), errors_file=err_file, sha256=hashlib.sha256(data).hexdigest(), seconds=round(seconds, 3),
    )


def format_extract_summary(report: ExtractReport) -> str:
    state = "complete" if report.complete else "INCOMPLETE"
    return (
        f"extraction {state}: {report.documents} documents in {report.shards} shards "
        f"({report.shards_written} written now, {report.shards_reused} reused from an earlier run), "
        f"{report.mentions} mentions, {report.relations} relations, {report.error_count} bad records; "
        f"{report.documents_this_run} documents in {report.seconds:.1f}s ({report.docs_per_second:.1f} docs/s) -> {report.out_dir}"
    )


__all__ = ["ExtractReport", "expand_inputs", "format_extract_summary", "model_fingerprints", "run_extract"]
