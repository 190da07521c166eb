"""JSON Lines note loader: one note per line, every bad line reported with its position."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from loaders import jsonl
from loaders.errors import MalformedInputError, RecordError

Collector = tuple[list[RecordError], Callable[[RecordError], None]]


def test_reads_fixture(fixtures: Path) -> None:
    docs = list(jsonl.read(fixtures / "notes" / "notes.jsonl"))
    assert [d.id for d in docs] == ["note:101", "mimic:2002"]
    first, second = docs
    assert first.text == "Patient reports headache after starting nitroglycerin."
    assert (first.patient_id, first.title, first.kind) == (
        "p-0001",
        "Clinic visit",
        "clinical_note",
    )
    assert first.metadata == {"department": "cardiology"}
    assert (second.patient_id, second.title, second.metadata) == (
        None,
        None,
        {"note_type": "progress"},
    )
    assert {d.source_format for d in docs} == {"jsonl"}


BAD_LINES: list[tuple[str, str, str | None]] = [
    # (line, expected message fragment, expected record id)
    ('{"id": 1, "text": "ok" ', "invalid JSON", None),
    ('["id", "text"]', "JSON list, expected an object", None),
    ('{"text": "no id"}', '"id" must be a non-empty string or integer, got missing', None),
    ('{"id": "  ", "text": "blank id"}', '"id" must be a non-empty string or integer', "  "),
    ('{"id": true, "text": "bool id"}', "got a bool", None),
    ('{"id": 3}', '"text" must be a string, got missing', "3"),
    ('{"id": 4, "text": 42}', '"text" must be a string, got a int', "4"),
    ('{"id": 5, "text": "   "}', "empty document", "5"),
    ('{"id": 6, "text": "' + "x" * 51 + '"}', "longer than max_chars=50", "6"),
    ('{"id": 7, "text": "t", "kind": "tweet"}', '"kind" must be one of', "7"),
    ('{"id": 8, "text": "t", "patient_id": [1]}', '"patient_id" must be', "8"),
    ('{"id": 9, "text": "t", "title": 3}', '"title" must be a string', "9"),
    ('{"id": 10, "text": "t", "patient_id": "p\\u0000x"}', '"patient_id" holds a control character', "10"),
    ('{"id": "a\\nb", "text": "t"}', '"id" holds a control character', "a\nb"),
]


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    lines = ['{"id": "a", "text": "First good note."}', ""]
    lines += [line for line, _, _ in BAD_LINES]
    lines += ['{"id": "z", "text": "Last good note.", "kind": "record"}']
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_skip_mode_reports_each_bad_line_and_continues(mixed: Path, collect: Collector) -> None:
    errors, on_error = collect
    docs = list(jsonl.read(mixed, on_error=on_error, max_chars=50))
    assert [(d.id, d.kind) for d in docs] == [("note:a", "clinical_note"), ("note:z", "record")]
    assert len(errors) == len(BAD_LINES)
    for line_no, (error, (_, fragment, record_id)) in enumerate(
        zip(errors, BAD_LINES, strict=True), start=3
    ):
        assert error.path == str(mixed)
        assert error.position.startswith(f"line {line_no}")
        assert fragment in error.message
        assert error.record_id == record_id
    assert errors[0].position == "line 3, column 24"
    for quoted in ("no id", "blank id", "bool id", "xxxxx"):  # note text is never echoed
        assert all(quoted not in str(e) for e in errors)


def test_strict_mode_raises_at_first_bad_line(mixed: Path) -> None:
    seen: list[str] = []
    with pytest.raises(MalformedInputError) as raised:
        for doc in jsonl.read(mixed, max_chars=50):
            seen.append(doc.id)
    assert seen == ["note:a"]
    assert raised.value.error.position == "line 3, column 24"
    assert raised.value.fatal is False


def test_invalid_utf8_line(tmp_path: Path, collect: Collector) -> None:
    path = tmp_path / "enc.jsonl"
    good = json.dumps({"id": 1, "text": "fine"}).encode()
    other = json.dumps({"id": 3, "text": "fine"}).encode()
    path.write_bytes(
        good + b"\n" + '{"id": 2, "text": "caf\xe9"}'.encode("latin-1") + b"\n" + other + b"\n"
    )
    errors, on_error = collect
    assert [d.id for d in jsonl.read(path, on_error=on_error)] == ["note:1", "note:3"]
    assert [e.position for e in errors] == ["line 2"]
    assert "not valid UTF-8" in errors[0].message
