"""Reader for plain-text clinical notes: one UTF-8 file, one note.

The note keeps its exact characters (only a UTF-8 byte-order mark is dropped), so offsets
produced by extractors point into the file as written. The id is ``note:<file stem>``: the
file name is the only identifier a folder of notes has, and it should already be a pseudonym.

Errors (never quoting the note, which may contain identifiers):

* not valid UTF-8 -> reported at the first bad byte, suggesting a conversion (UTF-16 is named
  when the file starts with its byte-order mark), since guessing a legacy encoding silently
  corrupts drug names and units;
* a NUL character -> refused as binary data: no text note holds one, and binary files are
  often valid UTF-8 for long stretches;
* empty or whitespace-only -> ``empty document``;
* more than ``max_chars`` characters -> refused (see
  :data:`loaders._common.DEFAULT_MAX_CHARS` for why the limit exists); at most the bytes that
  many characters can take are read, so even an endless file (``/dev/zero``) is refused.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from schema.records import Document
from loaders._common import DEFAULT_MAX_CHARS, OnError, encoding_advice, report
from loaders._seen import SeenIds

SOURCE_FORMAT = "text"

_BOM = b"\xef\xbb\xbf"
_MAX_BYTES_PER_CHAR = 4  # UTF-8 never needs more, so this bounds what is read


def read(
    path: str | os.PathLike[str],
    *,
    on_error: OnError = None,
    max_chars: int = DEFAULT_MAX_CHARS,
    seen: SeenIds | None = None,
) -> Iterator[Document]:
    """Yield the single note in ``path`` (nothing, in skip mode, if the note is bad)."""
    doc_id = f"note:{Path(path).stem}"
    too_large = (
        f"note is larger than max_chars={max_chars:,} characters; split it or raise max_chars"
    )
    # Every character takes at most 4 UTF-8 bytes, so a file over this many bytes is too large
    # for certain and is refused without reading the rest.
    limit = max_chars * _MAX_BYTES_PER_CHAR + len(_BOM)
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        report(path, "byte 0", too_large, doc_id, on_error)
        return
    skipped = len(_BOM) if data.startswith(_BOM) else 0
    try:
        text = data[skipped:].decode("utf-8")
    except UnicodeDecodeError as exc:
        report(
            path,
            f"byte {skipped + exc.start}",
            f"not valid UTF-8 ({exc.reason}); {encoding_advice(data)} and load it again",
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
    nul = text.find("\x00")
    if nul >= 0:
        report(
            path,
            f"byte {skipped + len(text[:nul].encode('utf-8'))}",
            "binary data (NUL character): not a text note",
            doc_id,
            on_error,
        )
        return
    doc = Document(id=doc_id, source_format=SOURCE_FORMAT, text=text, kind="clinical_note")
    if (SeenIds() if seen is None else seen).admit(doc, path, "byte 0", on_error):
        yield doc
