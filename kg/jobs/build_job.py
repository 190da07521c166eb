"""Batch jobs: stream inputs through the loaders (and extractors), build batches, write them."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from tqdm import tqdm

from kg.build import BuildOptions, build_batch
from kg.jobs.canonical import canonical_setup
from schema.records import Document, Extractor
from kg.store.base import GraphStore, WriteSummary
from loaders import SeenIds, _files, ddi2013, detect_format, read_documents
from loaders.curated import LicenceNotAcceptedError
from loaders.errors import (
    InputNotFoundError,
    MalformedInputError,
    RecordError,
    UnreadableInputError,
    printable,
)

if TYPE_CHECKING:
    from extractors.config import PipelineConfig
    from extractors.pipeline import ExtractionPipeline



@dataclass
class BuildReport:
    """Run summary of a build job."""

    inputs: list[str]
    documents_read: int = 0
    errors: list[RecordError] = field(default_factory=list)
    write: WriteSummary = field(default_factory=WriteSummary)
    seconds: float = 0.0

    @property
    def docs_per_second(self) -> float:
        return self.documents_read / self.seconds if self.seconds else 0.0


class LazyExtractor:
    """Builds the extraction pipeline only when a chunk holds a document that needs it, so a
    build from gold-annotated corpora or structured records never loads a model."""

    def __init__(self, config: "PipelineConfig", *, mode: Literal["auto", "always"] = "auto") -> None:
        self.config = config
        self.mode = mode
        self._pipeline: "ExtractionPipeline | None" = None

    def needs(self, doc: Document) -> bool:
        return bool(doc.text.strip()) and (self.mode == "always" or not (doc.mentions or doc.relations))

    def __call__(self, docs: Sequence[Document]) -> list[Document]:
        if not any(self.needs(d) for d in docs):
            return list(docs)
        if self._pipeline is None:
            from extractors.pipeline import ExtractionPipeline

            self._pipeline = ExtractionPipeline(self.config)
        return self._pipeline.process(docs, mode=self.mode)


def check_inputs(inputs: Sequence[str | Path], *, accept_noncommercial: bool | None = None) -> list[Path]:
    """The inputs as paths, each checked to exist and be readable: call before opening a store.

    ``accept_noncommercial=False`` also refuses inputs under a non-commercial licence (DDI-2013
    XML files) with :class:`~loaders.curated.LicenceNotAcceptedError`; ``None`` skips that check.

    Raises :class:`~loaders.errors.InputNotFoundError` for a missing path or a folder without
    data files, and :class:`~loaders.errors.UnreadableInputError` for one that cannot be opened
    or listed, or is neither a regular file nor a folder (a fifo would block the build). Checking
    all of them first means a typo in the last input fails the job before anything is created
    or written, instead of after an empty store was made or half the inputs were loaded.
    """
    paths = [Path(p) for p in inputs]
    for path in paths:
        shown = printable(str(path))
        if not path.exists():
            raise InputNotFoundError(f"input not found: {shown}")
        try:
            if path.is_dir():
                if next(_files(path, quiet=True), None) is None:
                    raise InputNotFoundError(f"no data files in input folder {shown}")
            elif path.is_file():
                with open(path, "rb"):
                    pass
            else:
                raise UnreadableInputError(f"input is not a regular file or folder: {shown}")
        except (InputNotFoundError, UnreadableInputError):
            raise
        except OSError as exc:
            raise UnreadableInputError(
                f"cannot read input {shown}: {exc.strerror or exc}"
            ) from None
    if accept_noncommercial is False:
        for path in paths:
            for file in (_files(path, quiet=True) if path.is_dir() else [path]):
                if file.name.lower().endswith((".xml", ".xml.gz")) and detect_format(file) == "ddi2013":
                    raise LicenceNotAcceptedError(
                        f"{printable(str(file))}: DDI-2013 corpus file ({ddi2013.LICENCE}); "
                        "pass --accept-noncommercial to load it")
    return paths


def _documents(
    inputs: Sequence[Path], *, format: str | None, on_error: Callable[[RecordError], None] | None
) -> Iterator[Document]:
    """Documents of all inputs, with one :class:`SeenIds` across them: an id read from an
    earlier input file is refused (or, if identical, dropped with a warning), never merged
    into or silently replacing the earlier document (see :mod:`loaders._seen`)."""
    seen = SeenIds()
    for path in inputs:
        yield from read_documents(path, format=format, on_error=on_error, seen=seen)


def _batched(items: Iterable[Document], size: int) -> Iterator[list[Document]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def validate_inputs(inputs: Sequence[Path], *, format: str | None = None, progress: bool = False) -> int:
    """Parse every input without writing; raises the first :class:`MalformedInputError`.

    Used by ``on_error="fail"`` so that a bad record anywhere leaves the store untouched:
    parsing costs little next to extraction and writing, and atomicity over a whole job is what
    a user re-running a failed job expects.
    """
    n = 0
    for _ in tqdm(_documents(inputs, format=format, on_error=None), desc="validating", unit="doc", disable=not progress):
        n += 1
    return n


def run_build(
    inputs: Sequence[str | Path],
    store: GraphStore,
    *,
    options: BuildOptions | None = None,
    format: str | None = None,
    on_error: Literal["fail", "skip"] = "fail",
    batch_docs: int = 500,
    extractor: Extractor | None = None,
    progress: bool = False,
    accept_noncommercial: bool = False,
) -> BuildReport:
    """Load ``inputs`` into ``store``; idempotent, so re-running a job changes nothing.

    Inputs under a non-commercial licence (DDI-2013 XML) are refused unless
    ``accept_noncommercial`` (:func:`check_inputs`).

    ``on_error="fail"`` validates all inputs first and writes nothing if any record is bad;
    ``"skip"`` writes the good records and reports the bad ones in :attr:`BuildReport.errors`.
    Fatal errors (a file that cannot be parsed past some point) always raise. Inputs are
    checked with :func:`check_inputs` first; a document id repeated across the inputs is a
    record error like any other (see :func:`_documents`).
    """
    paths = check_inputs(inputs, accept_noncommercial=accept_noncommercial)
    options, canonical = canonical_setup(options)
    report = BuildReport(inputs=[str(p) for p in paths])
    t0 = time.perf_counter()
    total = validate_inputs(paths, format=format, progress=progress) if on_error == "fail" else None
    sink = report.errors.append if on_error == "skip" else None
    bar = tqdm(total=total, desc="building", unit="doc", disable=not progress)
    try:
        for chunk in _batched(_documents(paths, format=format, on_error=sink), batch_docs):
            if extractor is not None:
                chunk = extractor(chunk)
            report.write.add(store.write(build_batch(chunk, options=options, schema=store.schema, canonical=canonical)))
            report.documents_read += len(chunk)
            bar.update(len(chunk))
    finally:
        bar.close()
    report.seconds = time.perf_counter() - t0
    return report


__all__ = ["BuildReport", "MalformedInputError", "check_inputs", "run_build", "validate_inputs"]
