"""Plumbing shared by every loader: error reporting, file opening, size limits.

Each loader turns a bad record into a :class:`~loaders.errors.RecordError` and hands it to
:func:`report`, which either raises it (strict mode, ``on_error=None``) or passes it to the
caller's callback and lets the loader skip the record (skip mode). Keeping that decision in one
place means every format behaves the same way.
"""

from __future__ import annotations

import gzip
import os
import warnings
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import IO

from pydantic import ValidationError

from loaders.errors import LoaderWarning, MalformedInputError, RecordError, printable

OnError = Callable[[RecordError], None] | None
"""Callback type for skip mode; ``None`` means "raise on the first bad record"."""

DEFAULT_MAX_CHARS = 5_000_000
"""Largest note (in characters) the note loaders accept.

A long discharge summary is ~50k characters; 5M characters is roughly a 1,000-page record. A
"note" that large is almost always a concatenated export or a mis-detected binary file, and every
downstream extractor holds the whole text (plus token arrays) in memory, so it is refused with an
error instead of being allowed to exhaust memory half-way through a batch.
"""

UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")

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


def warn(path: str | os.PathLike[str], position: str | None, message: str) -> None:
    """Issue a :class:`~loaders.errors.LoaderWarning` naming the file (and position)."""
    where = printable(os.fspath(path)) + (f":{position}" if position else "")
    warnings.warn(LoaderWarning(f"{where}: {message}"), stacklevel=3)


class _GzipInput:
    """A ``.gz`` file read as bytes, whose decoding errors are fatal errors naming the file.

    ``gzip`` reports a truncated stream as :class:`EOFError` (which the CLI framework turns into
    a bare "Aborted.") and corrupt data as ``BadGzipFile``/``zlib.error`` with no file name and a
    long traceback; here each becomes one :class:`MalformedInputError` with the file and the
    uncompressed offset reached, and ``fatal=True``: a deflate stream cannot be resynchronised,
    so nothing after the damage is readable.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = path
        self._gzip = gzip.GzipFile(filename=os.fspath(path), mode="rb")
        self._offset = 0

    def read(self, size: int = -1) -> bytes:
        try:
            data = self._gzip.read(size)
        except EOFError:
            raise self._fatal("gzip data ends early: the file is truncated") from None
        except gzip.BadGzipFile as exc:
            if not str(exc).startswith("Not a gzipped file"):
                raise self._fatal(f"corrupt gzip data ({exc})") from None
            if self._offset == 0:
                raise self._fatal("not a gzip file (no gzip header) despite its .gz name") from None
            raise self._fatal("corrupt gzip data: bytes after a gzip member are not gzip") from None
        except zlib.error as exc:
            raise self._fatal(f"corrupt gzip data ({exc})") from None
        self._offset += len(data)
        return data

    def _fatal(self, message: str) -> MalformedInputError:
        return fatal(
            self._path, f"uncompressed byte {self._offset}", f"{message}; the rest cannot be read"
        )

    def close(self) -> None:
        self._gzip.close()

    def __enter__(self) -> _GzipInput:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def open_binary(path: str | os.PathLike[str]) -> IO[bytes] | _GzipInput:
    """Open a file for reading bytes (``read(size)``), transparently decompressing ``.gz``.

    Damaged gzip data raises a fatal :class:`MalformedInputError` naming the file (see
    :class:`_GzipInput`).
    """
    if os.fspath(path).lower().endswith(".gz"):
        return _GzipInput(path)
    return open(path, "rb")


def read_lines(handle: IO[bytes], max_bytes: int) -> Iterator[tuple[int, bytes | None]]:
    """``(1-based line number, raw line)`` for each line; ``None`` for a line over ``max_bytes``.

    An over-long line is read past in bounded chunks and never held whole, so a file that is
    one endless line (a binary file, a missing newline in a huge export) cannot exhaust memory.
    """
    line_no = 0
    while raw := handle.readline(max_bytes + 1):
        line_no += 1
        if len(raw) > max_bytes and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):
                raw = handle.readline(1 << 20)
            yield line_no, None
            continue
        yield line_no, raw


def encoding_advice(raw: bytes) -> str:
    """Hint for a decoding error: UTF-16 (from its byte-order mark) or a legacy 8-bit encoding."""
    if raw.startswith(UTF16_BOMS):
        return (
            "the file is UTF-16 (byte-order mark); convert it to UTF-8 "
            "(`iconv -f UTF-16 -t UTF-8`)"
        )
    return "convert the file to UTF-8 (e.g. `iconv -f WINDOWS-1252 -t UTF-8`)"


def validation_problem(exc: ValidationError) -> RecordProblem:
    """A record problem for a record the data model refuses, naming fields, never values."""
    fields = "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'record'} ({error['type']})"
        for error in exc.errors(include_url=False, include_input=False, include_context=False)[:3]
    )
    return RecordProblem(f"record does not fit the document model: {fields}")


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
