"""The ``medkg load-curated`` job: stream curated sources into a store through the normal build path.

The readers in :mod:`loaders.curated` never touch a store; this job does: it chunks each source's
documents, turns every chunk into a :class:`~schema.records.GraphBatch` with
:func:`kg.build.build_batch` and writes it with :meth:`GraphStore.write` -- the same path as
``medkg build``, so curated facts get content-hash idempotency (re-loading an unchanged source
writes nothing) and evidence aggregation beside extracted facts.
"""

from __future__ import annotations

import gc
import os
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from tqdm import tqdm

from kg import cypher
from kg.build import BuildOptions, build_batch, content_hash
from kg.jobs.canonical import canonical_setup
from schema.records import Document
from kg.store.base import GraphStore, WriteSummary
from loaders.curated import check_licence, read_curated, source
from loaders.curated._common import LoadReport, curated_document
from loaders.curated.ddinter import DrugIndex, build_drug_index
from loaders.errors import RecordError

BATCH_RELATIONS = 20_000
"""Relations per write transaction. The store re-aggregates every touched edge inside the
transaction, so the batch is sized by relations, not documents (one HPO hierarchy bucket holds
~600 relations, one DDInter bucket ~800, one disease ~20); 20k rows is within the 10k-50k
rows per statement Neo4j recommends and keeps Ladybug transactions well under a second."""
BATCH_DOCS = 500


@dataclass
class SourceRun:
    """One source's part of a run: what was read and what the store changed."""

    name: str
    read: LoadReport
    write: WriteSummary = field(default_factory=WriteSummary)
    seconds: float = 0.0


@dataclass
class CuratedRun:
    """Summary of a ``load-curated`` run, one :class:`SourceRun` per source."""

    sources: list[SourceRun] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)
    bulk: WriteSummary | None = None
    """What the bulk ``COPY`` wrote, when the run used it (per-source parts then hold reading only)."""
    bulk_seconds: float = 0.0
    bulk_build_seconds: float = 0.0
    bulk_timings: dict[str, float] = field(default_factory=dict)
    """The bulk writer's own split where it reports one (embedded: ``parquet``, ``copy`` seconds)."""
    """Of ``bulk_seconds``: building the one batch (merging nodes, aggregating edges); the rest is Parquet + COPY."""

    @property
    def documents(self) -> int:
        return sum(s.read.documents for s in self.sources)

    @property
    def relations(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for s in self.sources:
            total.update(s.read.relations)
        return total

    @property
    def unmapped(self) -> dict[str, str]:
        return {k: v for s in self.sources for k, v in s.read.unmapped.items()}

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.sources) + self.bulk_seconds

    def write_unmapped(self, path: str | os.PathLike[str]) -> Path:
        """Tab-separated ``id<TAB>name<TAB>source`` of every name no vocabulary mapping was found for."""
        out = Path(path)
        lines = ["id\tname\tsource"] + [
            f"{k}\t{v}\t{s.name}" for s in self.sources for k, v in sorted(s.read.unmapped.items())
        ]
        out.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return out


def _chunks(docs: Iterable[Document], *, max_relations: int, max_docs: int) -> Iterator[list[Document]]:
    chunk: list[Document] = []
    n = 0
    for doc in docs:
        chunk.append(doc)
        n += len(doc.relations) + len(doc.mentions)
        if n >= max_relations or len(chunk) >= max_docs:
            yield chunk
            chunk, n = [], 0
    if chunk:
        yield chunk


@lru_cache(maxsize=1)
def default_drug_index() -> DrugIndex:
    """DDInter's names -> DrugBank ids, over the drug vocabulary the linker uses
    (``drug-named-entity-recognition``'s dictionary, DrugBank ids only); built once per process (~2 s)."""
    from extractors.linking.sources import drug_entries

    return build_drug_index((e.concept_id, e.name, e.aliases) for e in drug_entries())


def _default_options(name: str) -> dict[str, Any]:
    """What a source's reader needs that only this floor can provide (vocabulary indexes)."""
    return {"drug_index": default_drug_index()} if name in ("ddinter", "pddi", "pddi-drugbank") else {}


def check_sources(names: Iterable[str], *, accept_noncommercial: bool) -> None:
    """Raise for an unknown source name or an opt-in source whose licence was not accepted."""
    for name in names:
        source(name)
        check_licence(name, accept_noncommercial=accept_noncommercial)


def load_curated(
    store: GraphStore,
    names: Sequence[str],
    *,
    paths: Mapping[str, str | os.PathLike[str]] | None = None,
    accept_noncommercial: bool = False,
    on_error: Literal["fail", "skip"] = "fail",
    reader_options: Mapping[str, Mapping[str, Any]] | None = None,
    batch_relations: int = BATCH_RELATIONS,
    batch_docs: int = BATCH_DOCS,
    progress: bool = False,
    bulk: bool | None = None,
) -> CuratedRun:
    """Load curated sources ``names`` (keys of ``CURATED_SOURCES``) into ``store``.

    All names and licences are checked before anything is written, so a typo or a missing
    ``accept_noncommercial`` never leaves a half-loaded run. ``paths`` overrides a source's
    default location; ``reader_options`` passes keyword options to a source's reader (e.g.
    ``{"ddinter": {"drug_index": ...}}``). ``on_error="fail"`` raises on the first malformed row (documents written
    before it stay; re-running after fixing the file is idempotent); ``"skip"`` skips bad rows and
    lists them in :attr:`CuratedRun.errors`.

    ``bulk``: a first load into an empty store reads every source first, then writes everything
    at once (embedded: ``COPY`` from Parquet, :mod:`kg.store.ladybug_bulk`; Neo4j: batched
    ``CREATE``, :mod:`kg.store.neo4j_bulk`). ``None`` (default) does so whenever the store holds
    no document; ``False`` always writes online in batches; ``True`` fails on a non-empty store.
    """
    paths = dict(paths or {})
    check_sources([*names, *paths], accept_noncommercial=accept_noncommercial)
    run = CuratedRun()
    sink = run.errors.append if on_error == "skip" else None
    if bulk is None or bulk:
        from kg.store.bulk_rows import BulkLoadError, is_empty
        from kg.store.ladybug_store import LadybugStore
        from kg.store.neo4j_store import Neo4jStore

        usable = (isinstance(store, Neo4jStore) or (isinstance(store, LadybugStore) and not store.read_only)) \
            and is_empty(store)
        if bulk and not usable:
            raise BulkLoadError("a bulk load needs an empty store opened for writing")
        if usable:
            return _load_bulk(store, names, paths, accept_noncommercial, sink, reader_options, progress, run)
    for name in dict.fromkeys(names):
        part = _start_source(run, name)
        t0 = time.perf_counter()
        docs = _read_source(name, part, paths, accept_noncommercial, sink, reader_options)
        produced: set[str] = set()
        with tqdm(desc=f"loading {name}", unit="doc", disable=not progress) as bar:
            for chunk in _chunks(docs, max_relations=batch_relations, max_docs=batch_docs):
                produced.update(d.id for d in chunk)
                changed = _changed(store, chunk)
                part.write.documents_unchanged += len(chunk) - len(changed)
                if changed:
                    part.write.add(store.write(_build(changed, store)))
                bar.update(len(chunk))
        given = paths.get(name)
        if given is None or Path(given).is_dir():  # a whole release, not one file of it
            part.write.add(_retire_stale(store, name, produced, part.read))
        part.seconds = time.perf_counter() - t0
    return run



def _start_source(run: CuratedRun, name: str) -> SourceRun:
    part = SourceRun(name, LoadReport(name))
    run.sources.append(part)
    return part


def _read_source(
    name: str, part: SourceRun, paths: Mapping[str, str | os.PathLike[str]], accept_noncommercial: bool,
    sink: Any, reader_options: Mapping[str, Mapping[str, Any]] | None,
) -> Iterator[Document]:
    """The documents of source ``name`` with its default and given reader options, counted into ``part``."""
    options = {**_default_options(name), **dict((reader_options or {}).get(name, {}))}
    return read_curated(name, paths.get(name), accept_noncommercial=accept_noncommercial,
                        on_error=sink, report_to=part.read, **options)


def _changed(store: GraphStore, chunk: list[Document]) -> list[Document]:
    """The documents of ``chunk`` whose stored content hash differs (or that are not stored):
    an unchanged document would be skipped by the write anyway, so it is not built into a batch
    at all (a re-run of a whole release then costs reading, hashing and one lookup per chunk)."""
    hashes = {d.id: content_hash(d, _setup()[0]) for d in chunk}
    stored = {r["id"]: r["hash"] for r in store.query(cypher.FETCH_DOCUMENT_HASHES, {"ids": list(hashes)})}
    return [d for d in chunk if stored.get(d.id) != hashes[d.id]]


@lru_cache(maxsize=1)
def _setup() -> tuple[BuildOptions, Any]:
    """The options curated documents are written with (the defaults, with the canonical table's
    fingerprint) and the table (:func:`kg.jobs.canonical.canonical_setup`)."""
    return canonical_setup(BuildOptions())


def _build(docs: list[Document], store: GraphStore) -> Any:
    options, table = _setup()
    return build_batch(docs, options=options, schema=store.schema, canonical=table)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off: a bulk load allocates millions of long-lived objects
    (documents, records, rows, none of them in reference cycles), and each full collection walks
    all of them again. Measured on the full curated load: reading 16 -> 9 s, building the batch
    21 -> 9 s, building the rows 14 -> 6 s, same peak memory (BENCHMARKS.md, "curated")."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _load_bulk(
    store: GraphStore, names: Sequence[str], paths: Mapping[str, str | os.PathLike[str]], accept_noncommercial: bool,
    sink: Any, reader_options: Mapping[str, Mapping[str, Any]] | None, progress: bool, run: CuratedRun,
) -> CuratedRun:
    """Read every source, then write them all at once (first load only): ``COPY`` into the
    embedded store, batched ``CREATE`` into Neo4j."""
    with _gc_paused():
        return _read_and_write_bulk(store, names, paths, accept_noncommercial, sink, reader_options, progress, run)


def _read_and_write_bulk(
    store: GraphStore, names: Sequence[str], paths: Mapping[str, str | os.PathLike[str]], accept_noncommercial: bool,
    sink: Any, reader_options: Mapping[str, Mapping[str, Any]] | None, progress: bool, run: CuratedRun,
) -> CuratedRun:
    from kg.store.ladybug_store import LadybugStore

    if isinstance(store, LadybugStore):
        from kg.store.ladybug_bulk import bulk_write
    else:
        from kg.store.neo4j_bulk import bulk_write  # type: ignore[assignment]

    docs: list[Document] = []
    for name in dict.fromkeys(names):
        part = _start_source(run, name)
        t0 = time.perf_counter()
        before = len(docs)
        with tqdm(desc=f"reading {name}", unit="doc", disable=not progress) as bar:
            for doc in _read_source(name, part, paths, accept_noncommercial, sink, reader_options):
                docs.append(doc)
                bar.update(1)
        part.write.documents_new = len(docs) - before
        part.seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    if progress:
        print(f"bulk load: building and copying {len(docs):,} documents", flush=True)
    batch = _build(docs, store)
    run.bulk_build_seconds = time.perf_counter() - t0
    run.bulk = bulk_write(store, batch, timings=run.bulk_timings)  # type: ignore[arg-type]
    run.bulk_seconds = time.perf_counter() - t0
    return run


WITHDRAWN = "(withdrawn: not in the latest load of its source)"
"""Title of a curated document emptied by :func:`_retire_stale` (kept so a re-run is a no-op)."""


def _retire_stale(store: GraphStore, name: str, produced: set[str], rep: LoadReport) -> WriteSummary:
    """Empty the stored documents of source ``name`` that this complete read (the default location
    or a folder, never a single file of a release) no longer produced.

    A source's documents group its records (by id bucket, by disease...); a new release or a new
    reader version can group them differently, and the old documents would otherwise keep their
    evidence next to the new ones: duplicated support, and records the source withdrew still
    stated. Each stale document is rewritten empty through the normal write path, which removes
    its evidence and re-aggregates (or deletes) the edges it supported."""
    stored = [r["id"] for r in store.query(cypher.DOCUMENTS_OF_SOURCE, {"source": name}) if r["title"] != WITHDRAWN]
    stale = sorted(set(stored) - produced)
    if not stale:
        return WriteSummary()
    rep.notes.append(f"{len(stale)} documents from an earlier load that this release no longer has were emptied")
    return store.write(_build([curated_document(doc_id, source=name, title=WITHDRAWN) for doc_id in stale], store))


def parse_paths(items: Iterable[str]) -> dict[str, Path]:
    """``["hpo=/data/hpo", ...]`` -> ``{"hpo": Path("/data/hpo")}``; names are checked against the registry."""
    out: dict[str, Path] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not value:
            raise ValueError(f"--path must look like SOURCE=PATH, got {item!r}")
        source(name.strip())
        out[name.strip()] = Path(value)
    return out


def format_run(run: CuratedRun) -> str:
    """Run summary for the CLI: per source what was read and written, then the totals."""
    lines = []
    for s in run.sources:
        w = s.write
        lines.append(
            f"{s.read.summary()}\n  written in {s.seconds:.1f}s: {w.documents_new} new, {w.documents_replaced} replaced, "
            f"{w.documents_unchanged} unchanged documents; {w.nodes_created} nodes created, "
            f"{w.evidence_created} evidence, {w.edges_written} edges written, {w.edges_deleted} deleted"
        )
    if run.bulk is not None:
        b = run.bulk
        lines.append(f"bulk load (empty store) in {run.bulk_seconds:.1f}s (batch built in "
                     f"{run.bulk_build_seconds:.1f}s, writing {run.bulk_seconds - run.bulk_build_seconds:.1f}s): "
                     f"{b.documents_new:,} documents, {b.nodes_created:,} nodes, {b.evidence_created:,} evidence, "
                     f"{b.edges_written:,} edges")
    rels = ", ".join(f"{t} {n:,}" for t, n in sorted(run.relations.items())) or "none"
    lines.append(f"total: {run.documents:,} documents in {run.seconds:.1f}s; relations: {rels}; "
                 f"unmapped drug names: {len(run.unmapped):,}")
    if run.errors:
        lines.append(f"{len(run.errors)} malformed rows skipped")
    return "\n".join(lines)


__all__ = ["BATCH_RELATIONS", "CuratedRun", "SourceRun", "check_sources", "default_drug_index", "format_run", "load_curated", "parse_paths"]
