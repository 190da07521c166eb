"""``medkg extract --engine ray``: the extraction of each shard's documents on a Ray cluster.

Only the model step moves. Reading, sharding, bad-record handling, the manifest, resumption
and shard writing stay in the driver exactly as in the local engine (:mod:`kg.batch.extract`);
this engine receives finished shards and returns their extracted documents, so both engines
write byte-identical shard files and a job started with one may be resumed with the other.

Identity rests on three things:

* the extractor sees the same chunks: every ``batch_docs`` chunk of a shard becomes one Ray Data
  row and one ``ExtractionPipeline.process`` call on an actor, the call the local engine makes;
  chunks needing no model (gold-annotated documents under ``--extract auto``) are passed through
  in the driver, as the local engine's lazy extractor does;
* documents cross Ray as their own JSON (``model_dump_json`` / ``model_validate_json``), which
  round-trips every field exactly, floats included; results are put back in chunk order;
* every actor loads the same model files: each checks the sha256 of its model files (and the
  default KB's fingerprint) against the driver's before extracting anything.

Floating point is the one thing outside the engine's control: torch's CPU kernels sum in an
order that depends on the thread count, so a score can differ in its 7th digit between a local
run with N threads and actors with M != N (measured: 17 of 200 BC5CDR abstracts, by at most
1e-7, no prediction changed; BENCHMARKS.md). Actors use ``cpus_per_worker`` threads; with the
local run's thread count, on the same kind of hardware, the shards are byte-identical.

Actors are a Ray Data ``map_batches`` callable-class pool that loads the models once, in the
constructor. Ray Data cannot keep an actor pool across datasets, so shards are sent in windows
of about ``window_docs`` documents (one dataset, one model load per actor, each), and finished
shards are handed back, in order, while the rest of the window is still running.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from kg.batch.manifest import BatchError
from schema.records import Document, Record

if TYPE_CHECKING:
    from extractors.config import PipelineConfig
    from kg.batch.engine import ExtractedShard, PendingShard

INSTALL_HINT = "pip install 'medkg[ray]'  (or: pip install 'ray[data]>=2.60,<3' 'pyarrow<23')"
"""pyarrow 23+ needs NumPy 2, which scispacy's numpy<2 pin rules out."""


class RayEngineError(BatchError):
    """The Ray engine cannot run: Ray missing, cluster unreachable or too small, a worker failed."""


class RayOptions(Record):
    """Where and how wide the Ray engine runs (not recorded in the manifest: it changes no output)."""

    address: str | None = None
    """Cluster to join (``host:port``, ``ray://host:port`` or ``auto``); ``None`` starts a local
    Ray for this job and stops it afterwards."""
    workers: int | None = Field(default=None, gt=0)
    """Actors, each holding one copy of the models; ``None``: as many as the cluster's CPUs (or
    GPUs, with ``gpus_per_worker``) allow."""
    cpus_per_worker: float = Field(default=1.0, gt=0)
    """CPUs reserved per actor, and its torch threads (rounded down, at least 1). CPU scores are
    bit-identical to the local engine's when this equals the local run's torch thread count."""
    gpus_per_worker: float = Field(default=0.0, ge=0)
    """0: CPU actors. Otherwise each actor gets ``num_gpus`` (a fraction shares a GPU) and
    ``--device auto`` then picks the GPU Ray assigned to it."""
    window_docs: int = Field(default=20_000, gt=0)
    """Documents per Ray dataset (rounded up to whole shards): each window reloads the models once
    per actor, and the driver holds one window's documents in memory."""


# -- the actor ------------------------------------------------------------------------------------
class ExtractActor:
    """One model copy on a Ray worker: built once, then called once per chunk (one Ray Data row)."""

    def __init__(self, *, config_json: str, mode: Literal["auto", "always"], expected: dict[str, Any], threads: int) -> None:
        import torch

        from extractors.config import PipelineConfig
        from extractors.pipeline import ExtractionPipeline
        from kg.batch.engine import resolve_models

        # Set, not left to Ray's OMP_NUM_THREADS: CPU kernels sum in a thread-count-dependent
        # order, so scores are bit-identical only between runs with the same thread count.
        torch.set_num_threads(threads)
        config = resolve_models(PipelineConfig.model_validate_json(config_json))
        mismatch = _fingerprint_mismatch(config, expected)
        if mismatch:
            raise RayEngineError(f"Ray worker on {socket.gethostname()}: {mismatch}; install the same medkg version "
                                 "and models on every worker, or the shards would mix two models' predictions")
        self.pipeline = ExtractionPipeline(config)
        self.mode = mode

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        import numpy as np

        out = [pack(self.pipeline.process(unpack(str(text)), mode=self.mode)) for text in batch["docs"]]
        return {"chunk": batch["chunk"], "docs": np.array(out, dtype=object)}


def pack(docs: Sequence[Document]) -> str:
    """A chunk as one string cell: the documents' JSON, one per line (JSON escapes ``\\n``)."""
    return "\n".join(d.model_dump_json() for d in docs)


def unpack(text: str) -> list[Document]:
    """Inverse of :func:`pack`. ``split("\\n")``, not ``splitlines()``: JSON leaves U+2028, U+0085
    and friends raw inside strings, and ``splitlines`` would cut a document there."""
    return [Document.model_validate_json(line) for line in text.split("\n")]


def _worker_identity(config: "PipelineConfig") -> dict[str, Any]:
    """What must agree between driver and workers: model file digests and the default KB's
    fingerprint (paths may differ from machine to machine)."""
    from kg.batch.engine import model_fingerprints

    out: dict[str, Any] = {role: fp.get("files", fp.get("sha256")) for role, fp in model_fingerprints(config).items()}
    if config.kb == "default" and config.ner_model is not None:
        from extractors.linking.kb_build import default_kb_fingerprint

        out["default_kb"] = default_kb_fingerprint()
    return out


def _fingerprint_mismatch(config: "PipelineConfig", expected: dict[str, Any]) -> str | None:
    mine = _worker_identity(config)
    bad = sorted(k for k in expected.keys() | mine.keys() if expected.get(k) != mine.get(k))
    return f"model files differ from the driver's ({', '.join(bad)})" if bad else None


def _portable(config: "PipelineConfig") -> "PipelineConfig":
    """The driver's config with its shipped model paths put back to ``"default"``, so a worker
    resolves its own installed copy (checked by digest) rather than the driver's path."""
    from extractors.ner.model import DEFAULT_NER_MODEL
    from extractors.relations.model import DEFAULT_RE_MODEL, DEFAULT_SYMPTOM_RE_MODEL

    def same(spec: str | None, default: Any) -> bool:
        return spec is not None and Path(spec).resolve() == Path(default).resolve()

    update = {}
    if same(config.ner_model, DEFAULT_NER_MODEL):
        update["ner_model"] = "default"
    if same(config.re_model, DEFAULT_RE_MODEL):
        update["re_model"] = "default"
    if same(config.re_symptom_model, DEFAULT_SYMPTOM_RE_MODEL) and "re_model" in update:
        update["re_symptom_model"] = "default"  # "default" means it only beside the shipped main model
    return config.model_copy(update=update)


# -- connecting -----------------------------------------------------------------------------------
def _import_ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401  (the [data] extra: pyarrow, pandas)
    except ImportError as exc:
        raise RayEngineError(f"--engine ray needs Ray Data, which is not installed ({exc}). Install it with: {INSTALL_HINT}") from exc
    return ray


def _check_reachable(address: str, *, timeout: float = 5.0) -> None:
    """Fail fast on an address nobody listens on: ``ray.init`` itself retries for minutes."""
    if address in ("auto", "local"):
        return
    hostport = address.split("://", 1)[-1].rstrip("/")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise RayEngineError(f"--ray-address {address!r} is not host:port, ray://host:port or auto")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as exc:
        raise RayEngineError(f"cannot connect to the Ray cluster at {address}: {exc}") from exc


def connect(options: RayOptions) -> bool:
    """Join (or start) Ray; returns whether this call initialised Ray in this process, and so must
    shut it down (which stops a local Ray, or disconnects from a cluster and leaves it running).

    A Ray already initialised in this process (a notebook, a test's cluster) is used as it is.
    """
    ray = _import_ray()
    if options.address is not None:
        _check_reachable(options.address)
    if ray.is_initialized():
        return False
    address = options.address or "local"
    extra: dict[str, Any] = {}
    if address == "local":
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no telemetry from a job we start
        extra["include_dashboard"] = False
    try:
        ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False, **extra)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = "could not start a local Ray" if address == "local" else f"cannot connect to the Ray cluster at {address}"
        raise RayEngineError(f"{where}: {exc}") from exc
    return True


def _workers(ray: Any, options: RayOptions) -> int:
    """Actor count, checked against the cluster so that a pool that can never start is an error
    instead of Ray Data waiting forever for resources."""
    res = ray.cluster_resources()
    cpus, gpus = float(res.get("CPU", 0)), float(res.get("GPU", 0))
    if options.gpus_per_worker > 0 and gpus < options.gpus_per_worker:
        raise RayEngineError(f"--gpus-per-worker {options.gpus_per_worker:g} but the Ray cluster has {gpus:g} GPUs")
    fit = int(cpus // options.cpus_per_worker)
    if options.gpus_per_worker > 0:
        fit = min(fit, int(gpus // options.gpus_per_worker))
    if fit < 1:
        raise RayEngineError(f"no worker fits the Ray cluster ({cpus:g} CPUs, {gpus:g} GPUs) "
                             f"with --cpus-per-worker {options.cpus_per_worker:g} --gpus-per-worker {options.gpus_per_worker:g}")
    if options.workers is not None and options.workers > fit:
        raise RayEngineError(f"--workers {options.workers} needs {options.workers * options.cpus_per_worker:g} CPUs"
                             + (f" and {options.workers * options.gpus_per_worker:g} GPUs" if options.gpus_per_worker else "")
                             + f"; the Ray cluster has {cpus:g} CPUs and {gpus:g} GPUs (room for {fit})")
    return options.workers or fit


@contextmanager
def _quiet_ray_data(ray: Any) -> Iterator[None]:
    """Ray Data's own progress bars and log lines off for our datasets: the job has its own bar,
    and a failure reaches the caller as one :class:`RayEngineError` rather than Ray's internal
    stack traces. The global context and logger level are restored afterwards."""
    ctx = ray.data.DataContext.get_current()
    saved = (ctx.enable_progress_bars, ctx.print_on_execution_start)
    log = logging.getLogger("ray.data")
    level = log.level
    ctx.enable_progress_bars, ctx.print_on_execution_start = False, False
    log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        ctx.enable_progress_bars, ctx.print_on_execution_start = saved
        log.setLevel(level)


# -- the engine -----------------------------------------------------------------------------------
class RayEngine:
    """Extracts windows of shards on Ray; see the module docstring for why the shards match."""

    def __init__(self, options: RayOptions, *, pipeline: "PipelineConfig", mode: Literal["auto", "always"], batch_docs: int) -> None:
        from kg.jobs import LazyExtractor

        self.options = options
        self.window_docs = options.window_docs
        self.batch_docs = batch_docs
        self._needs = LazyExtractor(pipeline, mode=mode).needs  # never loads a model in the driver
        worker_config = _portable(pipeline)
        if options.gpus_per_worker == 0 and worker_config.device == "auto":
            worker_config = worker_config.model_copy(update={"device": "cpu"})  # CPU actors never touch a GPU
        self._actor_kwargs = {
            "config_json": worker_config.model_dump_json(),
            "mode": mode,
            "expected": _worker_identity(pipeline),
            "threads": max(1, int(options.cpus_per_worker)),
        }
        self._ray: Any = None
        self._started = False
        self.workers: int | None = None
        # Checked now, before the job writes anything; Ray itself starts with the first window
        # that needs a model (a resumed or all-gold job may never need one).
        _import_ray()
        if options.address is not None:
            _check_reachable(options.address)

    def _ensure_ray(self) -> Any:
        if self._ray is None:
            self._started = connect(self.options)
            import ray

            self._ray = ray
            self.workers = _workers(ray, self.options)
        return self._ray

    def close(self) -> None:
        if self._started and self._ray is not None:
            self._ray.shutdown()
        self._ray, self._started = None, False

    def run(self, shards: Sequence["PendingShard"], on_chunk: Callable[[int], None]) -> Iterator["ExtractedShard"]:
        """Yield the shards in order, each as soon as it and every shard before it are done;
        ``seconds`` is the wall time since the previous one was handed back."""
        from kg.batch.engine import ExtractedShard

        chunks: list[list[Document]] = []
        owner: list[list[int]] = []
        for shard in shards:
            ids = []
            for start in range(0, len(shard.docs), self.batch_docs):
                ids.append(len(chunks))
                chunks.append(shard.docs[start : start + self.batch_docs])
            owner.append(ids)
        done: dict[int, list[Document]] = {}
        work = {i for i, chunk in enumerate(chunks) if any(self._needs(d) for d in chunk)}
        for i, chunk in enumerate(chunks):
            if i not in work:
                done[i] = list(chunk)
                on_chunk(len(chunk))
        t = time.perf_counter()
        next_shard = 0

        def ready() -> Iterator[ExtractedShard]:
            nonlocal next_shard, t
            while next_shard < len(shards) and all(i in done for i in owner[next_shard]):
                docs = [d for i in owner[next_shard] for d in done.pop(i)]
                now = time.perf_counter()
                yield ExtractedShard(shards[next_shard], docs, now - t)
                t = now
                next_shard += 1

        yield from ready()
        if work:
            for chunk_id, docs in self._extract({i: chunks[i] for i in sorted(work)}, shards):
                done[chunk_id] = docs
                on_chunk(len(docs))
                yield from ready()
        if next_shard != len(shards):
            raise RayEngineError(f"Ray returned {len(done)} of {len(chunks)} chunks of shards {shards[0].index}..{shards[-1].index}")

    def _extract(self, chunks: dict[int, list[Document]], shards: Sequence["PendingShard"]) -> Iterator[tuple[int, list[Document]]]:
        ray = self._ensure_ray()
        rows = [{"chunk": i, "docs": pack(chunk)} for i, chunk in chunks.items()]
        span = f"shards {shards[0].index}..{shards[-1].index}"
        with _quiet_ray_data(ray):
            ds = ray.data.from_items(rows, override_num_blocks=len(rows)).map_batches(
                ExtractActor, batch_size=1, batch_format="numpy",
                compute=ray.data.ActorPoolStrategy(size=min(self.workers or 1, len(rows))),
                num_cpus=self.options.cpus_per_worker, num_gpus=self.options.gpus_per_worker or None,
                fn_constructor_kwargs=self._actor_kwargs,
            )
            try:
                for row in ds.iter_rows():
                    yield int(row["chunk"]), unpack(str(row["docs"]))
            except RayEngineError:
                raise
            except Exception as exc:  # Ray wraps worker errors in its own types; name the shards
                mine = _worker_error(exc)
                if mine is not None:
                    raise mine from exc
                raise RayEngineError(f"extraction failed on Ray while extracting {span}: {_root_message(exc)}") from exc


def _worker_error(exc: BaseException) -> BaseException | None:
    """Our own error raised on a worker (a model mismatch), found inside Ray's wrappers."""
    from kg.errors import MedkgError

    stack, seen = [exc], set()
    while stack:
        e = stack.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, MedkgError):
            return e
        stack += [n for n in (e.__cause__, e.__context__, getattr(e, "cause", None)) if isinstance(n, BaseException)]
    return None


def _root_message(exc: BaseException) -> str:
    """The last line of Ray's message (the remote exception), not the whole remote traceback."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip().strip("^~")]
    return lines[-1] if lines else type(exc).__name__


__all__ = ["INSTALL_HINT", "ExtractActor", "RayEngine", "RayEngineError", "RayOptions", "connect", "pack", "unpack"]
