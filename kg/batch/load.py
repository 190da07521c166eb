"""``medkg load``: an extraction directory -> the graph store, resumable.

Shards are written in manifest order, each in chunks of ``batch_docs`` documents (one store
transaction per chunk, exactly the batches :func:`kg.jobs.build_job.run_build` would make from the same
document stream when ``shard_docs`` is a multiple of ``batch_docs``). After a shard's last chunk
is committed, ``load-<store>.json`` beside the manifest records ``shards_done``.

Why resume is exact even though the store commit and the state file cannot be written
atomically together: a kill between them leaves at most one shard committed but not recorded,
and the resumed run writes that shard again from its first chunk. :meth:`GraphStore.write` skips
every document whose stored ``content_hash`` equals the new one and touches no node, evidence or
edge for it, so re-writing an already committed chunk changes nothing; the chunks after it are
then written against the same store state, in the same order and with the same boundaries, as in
an uninterrupted run (batch boundaries matter: a new node takes its name from the batch that
creates it). A kill inside a chunk is rolled back by the store's transaction.

The state file is keyed by the store's identity (embedded path or Neo4j URI + database), the
manifest's shard checksums and the build options. Because it lives outside the store it can go
stale (the store was deleted or cleared after a load): before trusting ``shards_done = k`` the
loader checks that the documents of shard ``k-1`` are in the store with their content hashes,
and starts from shard 0 when they are not (still correct, just slower).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from kg import cypher
from kg.batch.manifest import ExtractionDirError, Manifest, read_manifest, read_shard, test_pause, write_json
from kg.build import BuildOptions, build_batch
from kg.jobs.canonical import canonical_setup
from kg.store.base import GraphStore, WriteSummary


@dataclass
class LoadReport:
    """Run summary of one ``load`` call."""

    out_dir: str
    store: str
    shards: int = 0
    shards_loaded: int = 0
    shards_skipped: int = 0
    """Shards a previous run had already committed (not read again)."""
    documents: int = 0
    """Documents written (or found unchanged) by this call."""
    mentions: int = 0
    relations: int = 0
    extraction_errors: int = 0
    """Bad input records the extraction skipped (listed in its errors-*.jsonl files)."""
    state_stale: bool = False
    write: WriteSummary = field(default_factory=WriteSummary)
    seconds: float = 0.0

    @property
    def docs_per_second(self) -> float:
        return self.documents / self.seconds if self.seconds else 0.0


def store_identity(store: GraphStore) -> str:
    """A stable name for where ``store`` keeps its data."""
    uri = getattr(store, "uri", None)
    if uri is not None:
        return f"neo4j:{uri}/{getattr(store, 'database', None) or 'default'}"
    path = getattr(store, "path", None)
    if path is not None:
        return f"ladybug:{Path(path).resolve()}"
    return f"{type(store).__name__}:{id(store)}"


def _state_key(manifest: Manifest, identity: str, options: BuildOptions) -> dict[str, Any]:
    shards = [[s.file, s.sha256] for s in manifest.shards]
    digest = hashlib.sha256(json.dumps(shards).encode()).hexdigest()
    return {"store": identity, "shards_sha256": digest, "options": options.model_dump()}


def state_path(out_dir: Path, identity: str) -> Path:
    return out_dir / f"load-{hashlib.sha1(identity.encode()).hexdigest()[:12]}.json"


def _resume_point(out_dir: Path, manifest: Manifest, store: GraphStore, key: dict[str, Any], options: BuildOptions) -> tuple[int, bool]:
    """(first shard to write, whether a state file existed but could not be trusted)."""
    path = state_path(out_dir, key["store"])
    if not path.exists():
        return 0, False
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return 0, True
    done = state.get("shards_done") if isinstance(state, dict) else None
    # anything but the state this module writes (a list, a string, a damaged count) is not trusted
    if type(done) is not int or state.get("key") != key or not 0 < done <= len(manifest.shards):
        return 0, True
    last = build_batch(read_shard(out_dir, manifest.shards[done - 1]), options=options, schema=store.schema)
    want = {d.id: d.content_hash for d in last.documents}
    with store.transaction(write=False) as tx:
        have = {r["id"]: r["hash"] for r in tx.run(cypher.FETCH_DOCUMENT_HASHES, {"ids": sorted(want)})}
    return (done, False) if have == want else (0, True)


def loadable_manifest(out_dir: str | Path, *, allow_partial: bool = False) -> Manifest:
    """The manifest of an extraction directory that can be loaded, or the error saying why not
    (checked before a store is opened, so a wrong directory creates no store)."""
    out = Path(out_dir)
    manifest = read_manifest(out) if out.is_dir() else None
    if manifest is None:
        raise FileNotFoundError(f"{out} has no manifest.json: not an extraction directory (make one with `medkg extract`)")
    if not manifest.complete and not allow_partial:
        raise ExtractionDirError(
            f"extraction in {out} is unfinished ({len(manifest.shards)} shards so far); "
            "re-run the same `medkg extract` command to finish it, or load what is there with --partial"
        )
    return manifest


def run_load(
    out_dir: str | Path,
    store: GraphStore,
    *,
    options: BuildOptions | None = None,
    batch_docs: int = 500,
    allow_partial: bool = False,
    progress: bool = False,
) -> LoadReport:
    """Write the shards of an extraction directory into ``store``; resumable (see module docstring).

    An unfinished extraction is refused unless ``allow_partial``: loading it is safe (a later
    load continues with the shards added since), but usually a sign the extract job was killed.
    """
    if batch_docs <= 0:
        raise ValueError(f"batch_docs must be positive, got {batch_docs}")
    out = Path(out_dir)
    t0 = time.perf_counter()
    manifest = loadable_manifest(out, allow_partial=allow_partial)
    options, canonical = canonical_setup(options)
    identity = store_identity(store)
    key = _state_key(manifest, identity, options)
    start, stale = _resume_point(out, manifest, store, key, options)
    report = LoadReport(out_dir=str(out), store=identity, shards=len(manifest.shards), shards_skipped=start, state_stale=stale)
    report.extraction_errors = sum(s.errors for s in manifest.shards)
    todo = manifest.shards[start:]
    bar = tqdm(total=sum(s.docs for s in todo), desc="loading", unit="doc", disable=not progress)
    try:
        for entry in todo:
            docs = read_shard(out, entry)
            for i in range(0, len(docs), batch_docs):
                chunk = docs[i : i + batch_docs]
                report.write.add(store.write(build_batch(chunk, options=options, schema=store.schema, canonical=canonical)))
                bar.update(len(chunk))
            test_pause()
            write_json(state_path(out, identity), {"key": key, "shards_done": entry.index + 1})
            report.shards_loaded += 1
            report.documents += entry.docs
            report.mentions += entry.mentions
            report.relations += entry.relations
    finally:
        bar.close()
    report.seconds = time.perf_counter() - t0
    return report


def format_load_summary(report: LoadReport) -> str:
    w = report.write
    resumed = f", resumed after {report.shards_skipped} shards already loaded" if report.shards_skipped else ""
    stale = " (load state did not match the store: loaded from the start)" if report.state_stale else ""
    return (
        f"loaded {report.shards_loaded} of {report.shards} shards{resumed}{stale}: {report.documents} documents, "
        f"{report.mentions} mentions, {report.relations} relations in {report.seconds:.1f}s "
        f"({report.docs_per_second:.1f} docs/s); {w.documents_new} new, {w.documents_replaced} replaced, "
        f"{w.documents_unchanged} unchanged documents; {w.nodes_created} nodes created, {w.evidence_created} evidence, "
        f"{w.edges_written} edges written; {report.extraction_errors} bad input records were skipped at extraction "
        f"(see errors-*.jsonl) -> {report.store}"
    )


__all__ = ["LoadReport", "format_load_summary", "run_load", "state_path", "store_identity"]
