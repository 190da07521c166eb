"""BioC loader: the BC5CDR BioC excerpt must match its PubTator twin; broken XML is fatal."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import pytest

from schema.records import Document
from loaders import bioc, pubtator
from loaders.errors import MalformedInputError, RecordError

Collector = tuple[list[RecordError], Callable[[RecordError], None]]


@pytest.fixture
def excerpt(fixtures: Path) -> Path:
    return fixtures / "bc5cdr" / "CDR_TrainingSet_excerpt.BioC.xml"


def _mention_keys(doc: Document) -> set[tuple[str, str | None, int | None, int | None, str]]:
    return {(m.label.value, m.concept_id, m.start, m.end, m.text) for m in doc.mentions}


def test_matches_pubtator_release(excerpt: Path, fixtures: Path) -> None:
    from_bioc = list(bioc.read(excerpt))
    from_pubtator = list(
        pubtator.read(fixtures / "bc5cdr" / "CDR_TrainingSet_excerpt.PubTator.txt")
    )
    assert [d.id for d in from_bioc] == ["PMID:227508", "PMID:2234245", "PMID:2505783"]
    for b, p in zip(from_bioc, from_pubtator, strict=True):
        assert b.text == p.text  # passages placed at their offsets == title + " " + abstract
        assert b.title == p.title
        assert _mention_keys(b) == _mention_keys(p)
        assert len(b.mentions) == len(p.mentions)  # IndividualMention parts are not extra mentions
        assert b.relations == p.relations
        assert (b.source_format, b.metadata) == ("bioc", {"corpus": "bc5cdr"})
        for m in b.mentions:
            assert b.text[m.start : m.end] == m.text
    assert len(from_bioc[1].mentions) == 22
    assert [(r.head_id, r.tail_id) for r in from_bioc[2].relations] == [
        ("MESH:C004656", "MESH:D003556"),
        ("MESH:C004656", "MESH:D006470"),
    ]


def test_gzipped_collection(excerpt: Path, tmp_path: Path) -> None:
    packed = tmp_path / "cdr.xml.gz"
    packed.write_bytes(gzip.compress(excerpt.read_bytes()))
    assert [d.id for d in bioc.read(packed)] == ["PMID:227508", "PMID:2234245", "PMID:2505783"]


def test_truncated_xml_is_fatal_even_in_skip_mode(
    excerpt: Path, tmp_path: Path, collect: Collector
) -> None:
    data = excerpt.read_text(encoding="utf-8")
    cut = data.index("<text>Ocular and auditory toxicity") + 12  # inside document 2's title
    broken = tmp_path / "broken.xml"
    broken.write_text(data[:cut] + "</passage></collection>\n", encoding="utf-8")
    errors, on_error = collect
    seen: list[str] = []
    with pytest.raises(MalformedInputError) as raised:
        for doc in bioc.read(broken, on_error=on_error):
            seen.append(doc.id)
    assert seen == ["PMID:227508"]  # documents before the damage were streamed
    assert raised.value.fatal is True
    error = raised.value.error
    assert error.path == str(broken)
    line = data[:cut].count("\n") + 1  # where the damage starts
    assert error.position.startswith(f"line {line}, column ")
    assert "XML syntax error" in error.message and "mismatched tag" in error.message
    assert errors == []  # fatal problems are raised, not reported


def test_wrong_root_element_is_fatal(tmp_path: Path) -> None:
    path = tmp_path / "other.xml"
    path.write_text("<?xml version='1.0'?><PubmedArticleSet></PubmedArticleSet>", encoding="utf-8")
    with pytest.raises(MalformedInputError, match="expected <collection>") as raised:
        list(bioc.read(path))
    assert raised.value.fatal is True


def test_bad_annotation_is_a_record_error(
    excerpt: Path, tmp_path: Path, collect: Collector
) -> None:
    data = excerpt.read_text(encoding="utf-8")
    # first annotation of the first document: "Naloxone" at 0 moved to offset 1
    path = tmp_path / "bad.xml"
    path.write_text(
        data.replace("<location offset='0' length='8' />", "<location offset='1' length='8' />", 1),
        encoding="utf-8",
    )
    with pytest.raises(MalformedInputError) as raised:
        list(bioc.read(path))
    error = raised.value.error
    assert (error.position, error.record_id, raised.value.fatal) == (
        "entry 1",
        "PMID:227508",
        False,
    )
    assert "annotation 0" in error.message and "does not match" in error.message
    assert "Naloxone" not in str(raised.value)

    errors, on_error = collect
    assert [d.id for d in bioc.read(path, on_error=on_error)] == ["PMID:2234245", "PMID:2505783"]
    assert [(e.position, e.record_id) for e in errors] == [("entry 1", "PMID:227508")]


def test_bad_relation_id_names_the_relation(excerpt: Path, tmp_path: Path) -> None:
    data = excerpt.read_text(encoding="utf-8")
    path = tmp_path / "badrel.xml"
    bad = data.replace('<infon key="Disease">D007022</infon>', '<infon key="Disease">X1</infon>')
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(MalformedInputError) as raised:
        list(bioc.read(path))
    error = raised.value.error
    assert (error.position, error.record_id) == ("entry 1", "PMID:227508")
    assert error.message.startswith("relation R0: unrecognised concept id 'X1'")


def test_discontinuous_annotation_is_a_record_error(tmp_path: Path, collect: Collector) -> None:
    path = tmp_path / "disc.xml"
    path.write_text(
        "<collection><document><id>1</id><passage><offset>0</offset>"
        "<text>ocular and renal toxicity</text>"
        "<annotation id='a'><infon key='type'>Disease</infon><infon key='MESH'>D1</infon>"
        "<location offset='0' length='6'/><location offset='17' length='8'/>"
        "<text>ocular toxicity</text>"
        "</annotation></passage></document>"
        "<document><passage><offset>0</offset><text>no id</text></passage></document></collection>",
        encoding="utf-8",
    )
    errors, on_error = collect
    assert list(bioc.read(path, on_error=on_error)) == []
    assert [(e.position, e.record_id) for e in errors] == [("entry 1", "PMID:1"), ("entry 2", None)]
    assert "2 locations" in errors[0].message
    assert "no <id>" in errors[1].message
