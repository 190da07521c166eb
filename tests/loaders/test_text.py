"""Plain-text note loader: one UTF-8 note per file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from loaders import text
from loaders.errors import MalformedInputError, RecordError

Collector = tuple[list[RecordError], Callable[[RecordError], None]]


def test_reads_note_verbatim(fixtures: Path) -> None:
    path = fixtures / "notes" / "discharge_note.txt"
    (doc,) = text.read(path)
    assert doc.id == "note:discharge_note"
    assert doc.text == path.read_text(encoding="utf-8")
    assert (doc.kind, doc.source_format, doc.title, doc.patient_id) == (
        "clinical_note",
        "text",
        None,
        None,
    )


def test_bom_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "n1.txt"
    path.write_bytes(b"\xef\xbb\xbfFever and cough.\n")
    assert [d.text for d in text.read(path)] == ["Fever and cough.\n"]


def test_wrong_encoding_names_byte_offset(tmp_path: Path, collect: Collector) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("Patient: Müller, fever.".encode("latin-1"))
    with pytest.raises(MalformedInputError) as raised:
        list(text.read(path))
    error = raised.value.error
    assert (error.path, error.position, error.record_id) == (str(path), "byte 10", "note:latin1")
    assert "not valid UTF-8" in error.message and "convert" in error.message
    assert "M" + "ller" not in str(raised.value)

    errors, on_error = collect
    assert list(text.read(path, on_error=on_error)) == []
    assert [e.position for e in errors] == ["byte 10"]


@pytest.mark.parametrize("content", [b"", b"  \n\t\n"], ids=["empty", "whitespace"])
def test_empty_note(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "blank.txt"
    path.write_bytes(content)
    with pytest.raises(MalformedInputError, match="empty document"):
        list(text.read(path))


def test_max_chars(tmp_path: Path, collect: Collector) -> None:
    path = tmp_path / "long.txt"
    path.write_text("é" * 10, encoding="utf-8")  # 10 characters, 20 bytes
    assert len(next(text.read(path, max_chars=10)).text) == 10
    errors, on_error = collect
    assert list(text.read(path, on_error=on_error, max_chars=9)) == []
    assert "larger than max_chars=9" in errors[0].message
    path.write_text("x" * 100, encoding="utf-8")  # refused from its size alone
    with pytest.raises(MalformedInputError, match="max_chars=10"):
        list(text.read(path, max_chars=10))
