"""Streaming reader for JSON Lines notes: one JSON object (one note) per line.

Fields:

* ``id`` (required, string or integer, non-empty): becomes ``note:<id>``, unless it already
  holds a ``:`` (``mimic:123``), in which case the caller's namespace is kept;
* ``text`` (required, non-empty string of at most ``max_chars`` characters, see
  :data:`loaders._common.DEFAULT_MAX_CHARS`);
* ``patient_id`` (string or integer pseudonym), ``title`` (string), ``kind`` (one of
  :data:`KINDS`, default ``clinical_note``) are optional;
* every other key goes to ``Document.metadata`` unchanged.

Each line is its own record: a bad line (invalid JSON, not an object, bad or missing field,
invalid UTF-8, longer than :func:`max_line_bytes`, nested deeper than
:data:`~loaders._json.MAX_JSON_DEPTH`, holding ``NaN``/``Infinity`` or an unpaired surrogate
that could not be stored) is reported as ``line N`` (``line N, column M`` for JSON syntax) and
skipped in skip mode; blank lines are ignored. An id already read (in this file, or in the build:
see :mod:`loaders._seen`) is refused, or dropped with a warning if the line is identical. A file
with no record at all is a record error at ``byte 0``. Messages name the field, never the note's
text.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError

from schema.records import Document
from loaders._common import (
    DEFAULT_MAX_CHARS,
    OnError,
    RecordProblem,
    encoding_advice,
    read_lines,
    report,
    validation_problem,
)
from loaders._json import json_problem, parse_json
from loaders._seen import SeenIds

SOURCE_FORMAT = "jsonl"
KINDS = ("clinical_note", "literature", "record")
_KNOWN = frozenset({"id", "text", "patient_id", "title", "kind"})
_METADATA_ALLOWANCE = 1024 * 1024


def max_line_bytes(max_chars: int) -> int:
    """Longest line read for a given ``max_chars``: 12 bytes per character, the most one
    character can take in a JSON string (an escaped astral character, ``\\ud83d\\ude00``),
    plus 1 MiB for the other fields. A longer line is a record error, read past in bounded
    chunks, so one endless line cannot exhaust memory."""
    return max_chars * 12 + _METADATA_ALLOWANCE


def _identifier(value: Any, field: str) -> str:
    """A string/integer identifier field as a non-empty string (``bool`` is not an id)."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        shown = "missing" if value is None else f"a {type(value).__name__}"
        raise RecordProblem(f'"{field}" must be a non-empty string or integer, got {shown}')
    result = str(value).strip()
    if not result:
        raise RecordProblem(f'"{field}" must be a non-empty string or integer, got ""')
    if any(ch < " " or ch == "\x7f" for ch in result):  # NUL or a line break in an id breaks exports (GraphML, Turtle)
        raise RecordProblem(f'"{field}" holds a control character (NUL, a line break, a tab...)')
    return result


def _build(obj: Any, *, max_chars: int) -> Document:
    if not isinstance(obj, dict):
        raise RecordProblem(f"line is a JSON {type(obj).__name__}, expected an object")
    problem = json_problem(obj, what="line")
    if problem is not None:
        raise RecordProblem(problem)
    raw_id = _identifier(obj.get("id"), "id")
    doc_id = raw_id if ":" in raw_id else f"note:{raw_id}"
    text = obj.get("text")
    if not isinstance(text, str):
        shown = "missing" if text is None else f"a {type(text).__name__}"
        raise RecordProblem(f'"text" must be a string, got {shown}')
    if not text.strip():
        raise RecordProblem('empty document: "text" is empty')
    if len(text) > max_chars:
        raise RecordProblem(f'"text" is longer than max_chars={max_chars:,} characters')
    title = obj.get("title")
    if title is not None and not isinstance(title, str):
        raise RecordProblem(f'"title" must be a string, got a {type(title).__name__}')
    patient_id = obj.get("patient_id")
    kind = obj.get("kind", "clinical_note")
    if kind not in KINDS:
        raise RecordProblem(f'"kind" must be one of {", ".join(KINDS)}')
    return Document(
        id=doc_id,
        source_format=SOURCE_FORMAT,
        text=text,
        title=title,
        kind=kind,
        patient_id=None if patient_id is None else _identifier(patient_id, "patient_id"),
        metadata={k: v for k, v in obj.items() if k not in _KNOWN},
    )


def read(
    path: str | os.PathLike[str],
    *,
    on_error: OnError = None,
    max_chars: int = DEFAULT_MAX_CHARS,
    seen: SeenIds | None = None,
) -> Iterator[Document]:
    """Stream one Document per non-blank line of a JSON Lines file."""
    seen = SeenIds() if seen is None else seen
    limit = max_line_bytes(max_chars)
    records = 0
    with open(path, "rb") as handle:
        for line_no, raw in read_lines(handle, limit):
            record_id: str | None = None
            try:
                if raw is None:
                    records += 1
                    raise RecordProblem(f"line is longer than {limit:,} bytes")
                try:
                    line = raw.decode("utf-8-sig" if line_no == 1 else "utf-8")
                except UnicodeDecodeError as exc:
                    records += 1
                    advice = encoding_advice(raw) if line_no == 1 else "convert the file to UTF-8"
                    raise RecordProblem(
                        f"line is not valid UTF-8 at byte {exc.start} of the line; {advice}"
                    ) from None
                if not line.strip():
                    continue
                records += 1
                try:
                    obj = parse_json(line.rstrip("\r\n"))
                except json.JSONDecodeError as exc:
                    raise RecordProblem(
                        f"invalid JSON: {exc.msg}", f"line {line_no}, column {exc.colno}"
                    ) from None
                raw_id = obj.get("id") if isinstance(obj, dict) else None
                if isinstance(raw_id, str | int) and not isinstance(raw_id, bool):
                    record_id = str(raw_id)
                try:
                    doc = _build(obj, max_chars=max_chars)
                except ValidationError as exc:
                    raise validation_problem(exc) from None
            except RecordProblem as problem:
                report(
                    path,
                    problem.position or f"line {line_no}",
                    problem.message,
                    record_id,
                    on_error,
                )
                continue
            if seen.admit(doc, path, f"line {line_no}", on_error):
                yield doc
    if records == 0:
        report(path, "byte 0", "empty file: no records", None, on_error)
