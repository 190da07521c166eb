"""Format registry, detection and read_documents over files and directories."""

from __future__ import annotations

import gzip
import shutil
from collections import Counter
from pathlib import Path

import pytest

import loaders
from loaders import FORMATS, detect_format, read_documents
from loaders.errors import MalformedInputError, UnknownFormatError


def test_registry_lists_every_format() -> None:
    assert sorted(FORMATS) == ["bioc", "ddi2013", "fhir", "jsonl", "pubmed", "pubtator", "text"]
    assert FORMATS["bioc"] is loaders.bioc.read and FORMATS["fhir"] is loaders.fhir.read


@pytest.mark.parametrize(
    ("relative", "expected"),
    [
        ("bc5cdr/CDR_TrainingSet_excerpt.PubTator.txt", "pubtator"),
        ("bc5cdr/CDR_TrainingSet_excerpt.BioC.xml", "bioc"),
        ("biored/Train_excerpt.PubTator", "pubtator"),
        ("ncbi-disease/NCBIdevelopset_excerpt.txt", "pubtator"),  # starts with a blank line
        ("pubmed/pubmed_sample.xml", "pubmed"),
        ("synthea/synthea_bundle_excerpt.json", "fhir"),
        ("notes/notes.jsonl", "jsonl"),
        ("notes/discharge_note.txt", "text"),
    ],
)
def test_detect_format_on_fixtures(fixtures: Path, relative: str, expected: str) -> None:
    assert detect_format(fixtures / relative) == expected


def test_detect_gzipped_xml_and_ndjson(fixtures: Path, tmp_path: Path) -> None:
    packed = tmp_path / "pubmed25n0001.xml.gz"
    packed.write_bytes(gzip.compress((fixtures / "pubmed" / "pubmed_sample.xml").read_bytes()))
    assert detect_format(packed) == "pubmed"
    ndjson = tmp_path / "notes.ndjson"
    shutil.copy(fixtures / "notes" / "notes.jsonl", ndjson)
    assert detect_format(ndjson) == "jsonl"


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("table.csv", "a,b\n", "cannot tell the format"),
        ("patient.json", '{"resourceType": "Patient"}', "not a FHIR Bundle"),
        ("other.xml", "<root/>", "XML root element <root>"),
    ],
)
def test_unknown_formats_name_file_and_choices(
    tmp_path: Path, name: str, content: str, fragment: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(UnknownFormatError) as raised:
        detect_format(path)
    message = str(raised.value)
    assert str(path) in message and fragment in message
    assert "pubtator, bioc, pubmed, text, jsonl, fhir" in message
    assert isinstance(raised.value, ValueError)


def test_broken_xml_is_malformed_not_unknown(tmp_path: Path) -> None:
    path = tmp_path / "broken.xml"
    path.write_text("<?xml version='1.0'?>\n<<collection>", encoding="utf-8")
    with pytest.raises(MalformedInputError) as raised:
        detect_format(path)
    assert raised.value.fatal and raised.value.error.position == "line 2, column 2"


LOADER_FIXTURES = ("bc5cdr", "biored", "ncbi-disease", "notes", "pubmed", "synthea")
"""The fixture folders that hold loader inputs (others hold KBs, rules or corpora for extractors)."""


def test_read_documents_walks_fixture_tree(fixtures: Path, tmp_path: Path) -> None:
    import shutil

    for name in LOADER_FIXTURES:
        shutil.copytree(fixtures / name, tmp_path / name)
    docs = list(read_documents(tmp_path))  # SOURCE.md files are skipped
    counts = Counter((d.source_format, d.metadata.get("corpus")) for d in docs)
    assert counts == {
        ("bioc", "bc5cdr"): 3,
        ("pubtator", "bc5cdr"): 3,
        ("pubtator", "biored"): 2,
        ("pubtator", "ncbi-disease"): 3,
        ("jsonl", None): 2,
        ("text", None): 1,
        ("pubmed", None): 2,
        ("fhir", None): 1,
    }
    # sorted path order: bc5cdr/…BioC.xml < bc5cdr/…PubTator.txt < biored/ < ncbi-disease/ < notes/
    assert [d.id for d in docs[:4]] == [
        "PMID:227508",
        "PMID:2234245",
        "PMID:2505783",
        "PMID:227508",
    ]
    assert docs[3].source_format == "pubtator" and docs[6].id == "PMID:19642243"


def test_read_documents_forced_format_and_errors(fixtures: Path, tmp_path: Path) -> None:
    pubtator_file = fixtures / "bc5cdr" / "CDR_TrainingSet_excerpt.PubTator.txt"
    (note,) = read_documents(pubtator_file, format="text")
    assert note.id == "note:CDR_TrainingSet_excerpt.PubTator" and note.kind == "clinical_note"
    with pytest.raises(UnknownFormatError, match="unknown format 'brat'; valid formats: pubtator"):
        list(read_documents(pubtator_file, format="brat"))

    (tmp_path / "a.txt").write_text("", encoding="utf-8")
    (tmp_path / "b.txt").write_text("Fever.", encoding="utf-8")
    (tmp_path / "LICENSE.txt").write_text("Apache", encoding="utf-8")
    (tmp_path / ".hidden.txt").write_text("secret", encoding="utf-8")
    errors: list[loaders.RecordError] = []
    docs = list(read_documents(tmp_path, on_error=errors.append))
    assert [d.id for d in docs] == ["note:b"]
    assert [(Path(e.path).name, e.message) for e in errors] == [
        ("a.txt", "empty document: the note has no text")
    ]
