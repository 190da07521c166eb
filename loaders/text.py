"""Reader for plain-text clinical notes: one UTF-8 file, one note.

The note keeps its exact characters (only a UTF-8 byte-order mark is dropped), so offsets
produced by extractors point into the file as written. The id is ``note:<file stem>``: the
file name is the only identifier a folder of notes has, and it should already be a pseudonym.

Errors (never quoting the note, which may contain identifiers):

* not valid UTF-8 -> reported at the first bad byte, suggesting a conversion, since guessing
  a legacy encoding silently corrupts drug names and units;
* empty or whitespace-only -> ``empty document``;
* more than ``max_chars`` characters -> refused (see
  :data:`loaders._common.DEFAULT_MAX_CHARS` for why the limit exists).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from kg.records import Document
from loaders._common import DEFAULT_MAX_CHARS, OnError, report

SOURCE_FORMAT = "text"

_BOM = b"\xef\xbb\xbf"
_MAX_BYTES_PER_CHAR = 4  # UTF-8 never needs more, so this bounds what is read


def read(
    path: str | os.PathLike[str],
    *,
    on_error: OnError = None,
    max_chars: int = DEFAULT_MAX_CHARS,
) -> Iterator[Document]:
    """Yield the single note in ``path`` (nothing, in skip mode, if the note is bad)."""
    doc_id = f"note:{Path(path).stem}"
    too_large = (
        f"note is larger than max_chars={max_chars:,} characters; split it or raise max_chars"
    )
    # Every character takes at most 4 UTF-8 bytes, so a file over this many bytes is too large
    # for certain and is refused without being read into memory.
    if os.stat(path).st_size > max_chars * _MAX_BYTES_PER_CHAR + len(_BOM):
        report(path, "byte 0", too_large, doc_id, on_error)
        return
    with open(path, "rb") as handle:
        data = handle.read()
    skipped = len(_BOM) if data.startswith(_BOM) else 0
    try:
        text = data[skipped:].decode("utf-8")
    except UnicodeDecodeError as exc:
        report(
            path,
            f"byte {skipped + exc.start}",
            f"not valid UTF-8 ({exc.reason}); convert the file to UTF-8 "
            "(e.g. `iconv -f WINDOWS-1252 -t UTF-8`) and load it again",
            doc_id,
            on_error,
        )
        return
    if len(text) > max_chars:
        report(path, "byte 0", too_large, doc_id, on_error)
        return
    if not text.strip():
        report(path, "byte 0", "empty document: the note has no text", doc_id, on_error)
        return
    yield Document(id=doc_id, source_format=SOURCE_FORMAT, text=text, kind="clinical_note")
