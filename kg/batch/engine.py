"""Where shards are extracted: the shard types, the :class:`Engine` protocol and the local engine.

:mod:`kg.batch.extract` reads inputs into shards and writes what engines return;
:class:`LocalEngine` (this process) and :class:`kg.batch.ray_engine.RayEngine` (a Ray cluster)
both implement :class:`Engine` and import only this module, never each other, so adding an
engine touches neither the other engines nor the job. Also here: what identifies the models an
engine runs (:func:`resolve_models`, :func:`model_fingerprints`), which every engine must agree on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from kg.batch.manifest import sha256_file
from schema.records import Document, Extractor
from loaders.errors import RecordError

if TYPE_CHECKING:
    from extractors.config import PipelineConfig


@dataclass
class PendingShard:
    """A shard read from the inputs and waiting for extraction: its documents and bad records."""

    index: int
    docs: list[Document]
    errors: list[RecordError]


class ExtractedShard(NamedTuple):
    """A shard back from an engine: the same documents, with predictions, in the same order."""

    shard: PendingShard
    docs: list[Document]
    seconds: float
    """Extraction wall time attributed to this shard (the manifest's ``seconds``)."""


class LocalEngine:
    """Runs the extractor in this process, one shard at a time, ``batch_docs`` documents per call."""

    window_docs = 0
    """Shards are handed over one by one (each is written before the next is extracted)."""

    def __init__(self, extractor: Extractor | None, *, batch_docs: int) -> None:
        self.extractor = extractor
        self.batch_docs = batch_docs

    def run(self, shards: Sequence[PendingShard], on_chunk: Callable[[int], None]) -> Iterator[ExtractedShard]:
        for shard in shards:
            t = time.perf_counter()
            docs: list[Document] = []
            for start in range(0, len(shard.docs), self.batch_docs):
                chunk = shard.docs[start : start + self.batch_docs]
                docs += self.extractor(chunk) if self.extractor is not None else chunk
                on_chunk(len(chunk))
            yield ExtractedShard(shard, docs, time.perf_counter() - t)

    def close(self) -> None:
        pass


class Engine(Protocol):
    """Where a shard's documents are extracted. Engines get whole shards in input order and must
    return them in that order, each split into the same ``batch_docs`` chunks, so that every
    engine writes the same shard files (see :mod:`kg.batch.ray_engine`)."""

    window_docs: int
    """Queue shards until they hold this many documents, then hand them over together."""

    def run(self, shards: Sequence[PendingShard], on_chunk: Callable[[int], None]) -> Iterator[ExtractedShard]:
        """Yield every shard, extracted, in order; ``on_chunk(n)`` after each ``n``-document chunk."""
        ...

    def close(self) -> None: ...


def resolve_models(config: "PipelineConfig") -> "PipelineConfig":
    """``"default"`` model specs replaced by the shipped directories, so the manifest names real
    paths (and the pipeline gets a path even where it would not resolve ``"default"`` itself),
    and the inference precision decided here, once, so a resumed job or a Ray worker on another
    CPU does not mix fp32 and bf16 shards (it is part of the manifest's pipeline settings)."""
    from extractors.ner.model import DEFAULT_NER_MODEL
    from extractors.errors import ModelNotFoundError
    from extractors.pipeline import symptom_model_dir
    from extractors.relations.model import DEFAULT_RE_MODEL
    from extractors.transformer import pick_inference_device

    update: dict[str, Any] = {}
    if config.bf16 is None and config.ner_model is not None:
        try:
            update["bf16"] = pick_inference_device(config.device).bf16
        except ModelNotFoundError:  # "cuda" asked of a driver without a GPU: the workers' GPUs decide
            pass
    if config.ner_model == "default":
        update["ner_model"] = str(DEFAULT_NER_MODEL)
    if config.re_model == "default":
        update["re_model"] = str(DEFAULT_RE_MODEL)
    if config.re_symptom_model is not None:  # "default" -> the shipped path, or None beside a model of one's own
        update["re_symptom_model"] = symptom_model_dir(config)
    return config.model_copy(update=update)


def model_fingerprints(config: "PipelineConfig") -> dict[str, dict[str, Any]]:
    """Resolved model directories with a digest of their files, so a resume with other weights
    is refused instead of mixing two models' predictions in one graph."""
    from extractors.transformer import read_model_meta

    config = resolve_models(config)
    out: dict[str, dict[str, Any]] = {}
    ner, re_ = config.ner_model, (config.re_model if config.ner_model is not None else None)
    re_symptom = config.re_symptom_model if re_ is not None else None
    for role, spec in (("ner", ner), ("re", re_), ("re_symptom", re_symptom)):
        if spec is None:
            continue
        path = Path(spec).resolve()
        files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else []
        meta = read_model_meta(path) if (path / "medkg.json").exists() else {}
        out[role] = {
            "path": str(path),
            "files": {p.name: sha256_file(p) for p in files},
            "base": meta.get("base"),
            "versions": meta.get("versions"),
        }
    if config.kb not in (None, "default"):
        kb = Path(str(config.kb)).resolve()
        out["kb"] = {"path": str(kb), "sha256": sha256_file(kb) if kb.is_file() else None}
    elif config.kb == "default" and ner is not None:
        from extractors.linking.kb_build import default_kb_fingerprint

        # the default KB is rebuilt when its sources or merging change: a resume must not mix two
        out["kb"] = {"default": default_kb_fingerprint()}
    return out


