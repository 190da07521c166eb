"""Plumbing shared by every loader: error reporting, file opening, size limits.

Each loader turns a bad record into a :class:`~loaders.errors.RecordError` and hands it to
:func:`report`, which either raises it (strict mode, ``on_error=None``) or passes it to the
caller's callback and lets the loader skip the record (skip mode). Keeping that decision in one
place means every format behaves the same way.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable
from pathlib import Path
from typing import IO, cast

from loaders.errors import MalformedInputError, RecordError

OnError = Callable[[RecordError], None] | None
"""Callback type for skip mode; ``None`` means "raise on the first bad record"."""

DEFAULT_MAX_CHARS = 5_000_000
"""Largest note (in characters) the note loaders accept.

A long discharge summary is ~50k characters; 5M characters is roughly a 1,000-page record. A
"note" that large is almost always a concatenated export or a mis-detected binary file, and every
downstream extractor holds the whole text (plus token arrays) in memory, so it is refused with an
error instead of being allowed to exhaust memory half-way through a batch.
"""

_CORPUS_HINTS: tuple[tuple[str, str], ...] = (
    ("bc5cdr", "bc5cdr"),
    ("cdr_", "bc5cdr"),
    ("biored", "biored"),
    ("ncbi-disease", "ncbi-disease"),
    ("ncbi_disease", "ncbi-disease"),
    ("ncbitrainset", "ncbi-disease"),
    ("ncbidevelopset", "ncbi-disease"),
    ("ncbitestset", "ncbi-disease"),
)


class RecordProblem(Exception):
    """Internal signal from a parsing helper: this record is bad, for this reason.

    Helpers raise it without knowing the file; the reader catches it, adds the path, position
    and record id, and passes the resulting :class:`RecordError` to :func:`report`.
    """

    def __init__(self, message: str, position: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


def report(
    path: str | os.PathLike[str],
    position: str,
    message: str,
    record_id: str | None,
    on_error: OnError,
) -> None:
    """Raise a :class:`MalformedInputError` (strict mode) or hand the error to ``on_error``."""
    error = RecordError(os.fspath(path), position, message, record_id)
    if on_error is None:
        raise MalformedInputError(error)
    on_error(error)


def fatal(
    path: str | os.PathLike[str], position: str, message: str, record_id: str | None = None
) -> MalformedInputError:
    """Build the error for a problem that makes the rest of the file unreadable.

    Fatal errors are raised in both modes: skipping is impossible when the parser has lost
    its place (broken XML, invalid JSON).
    """
    return MalformedInputError(
        RecordError(os.fspath(path), position, message, record_id), fatal=True
    )


def open_binary(path: str | os.PathLike[str]) -> IO[bytes]:
    """Open a file for reading bytes, transparently decompressing ``.gz``."""
    if os.fspath(path).lower().endswith(".gz"):
        return cast(IO[bytes], gzip.open(path, "rb"))
    return open(path, "rb")


def guess_corpus(path: str | os.PathLike[str]) -> str | None:
    """Name of the gold corpus a file belongs to, from its path, or ``None`` if unknown.

    The corpus name ends up in ``Mention.source`` (``gold:<corpus>``), so that evaluation and
    provenance can tell BC5CDR annotations from BioRED ones even after the graph merges them.
    """
    lowered = Path(path).as_posix().lower()
    for hint, corpus in _CORPUS_HINTS:
        if hint in lowered:
            return corpus
    return None
