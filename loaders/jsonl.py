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
invalid UTF-8) is reported as ``line N`` (``line N, column M`` for JSON syntax) and skipped in
skip mode; blank lines are ignored. Messages name the field, never the note's text.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

from kg.records import Document
from loaders._common import DEFAULT_MAX_CHARS, OnError, RecordProblem, report

SOURCE_FORMAT = "jsonl"
KINDS = ("clinical_note", "literature", "record")
_KNOWN = frozenset({"id", "text", "patient_id", "title", "kind"})


def _identifier(value: Any, field: str) -> str:
    """A string/integer identifier field as a non-empty string (``bool`` is not an id)."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        shown = "missing" if value is None else f"a {type(value).__name__}"
        raise RecordProblem(f'"{field}" must be a non-empty string or integer, got {shown}')
    result = str(value).strip()
    if not result:
        raise RecordProblem(f'"{field}" must be a non-empty string or integer, got ""')
    return result


def _build(obj: Any, *, max_chars: int) -> Document:
    if not isinstance(obj, dict):
        raise RecordProblem(f"line is a JSON {type(obj).__name__}, expected an object")
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
) -> Iterator[Document]:
    """Stream one Document per non-blank line of a JSON Lines file."""
    with open(path, "rb") as handle:
        for line_no, raw in enumerate(handle, start=1):
            record_id: str | None = None
            try:
                try:
                    line = raw.decode("utf-8-sig" if line_no == 1 else "utf-8")
                except UnicodeDecodeError as exc:
                    raise RecordProblem(
                        f"line is not valid UTF-8 at byte {exc.start} of the line; "
                        "convert the file to UTF-8"
                    ) from None
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line.rstrip("\r\n"))
                except json.JSONDecodeError as exc:
                    raise RecordProblem(
                        f"invalid JSON: {exc.msg}", f"line {line_no}, column {exc.colno}"
                    ) from None
                raw_id = obj.get("id") if isinstance(obj, dict) else None
                if isinstance(raw_id, str | int) and not isinstance(raw_id, bool):
                    record_id = str(raw_id)
                doc = _build(obj, max_chars=max_chars)
            except RecordProblem as problem:
                report(
                    path,
                    problem.position or f"line {line_no}",
                    problem.message,
                    record_id,
                    on_error,
                )
                continue
            yield doc
