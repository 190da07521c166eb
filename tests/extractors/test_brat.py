"""brat standoff reader on a real RareDis excerpt (tests/fixtures/raredis, see SOURCE.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from extractors.corpora.brat import RAREDIS_TYPES, BratDocument, read_brat, read_brat_dir
from extractors.errors import CorpusFormatError
from schema.records import EntityType
from tests.helpers import FIXTURES, shared_data

RAREDIS = FIXTURES / "raredis" / "dev"


@pytest.fixture(scope="module")
def docs() -> dict[str, BratDocument]:
    return {d.id: d for d in read_brat_dir(RAREDIS)}


def test_reads_every_pair_in_name_order() -> None:
    ids = [d.id for d in read_brat_dir(RAREDIS)]
    assert ids == ["Alkaptonuria", "Baller", "Fetal-Valproate-Syndrome", "West-Syndrome"]


def test_entities_match_the_text(docs: dict[str, BratDocument]) -> None:
    for doc in docs.values():
        assert doc.entities
        for ent in doc.entities:
            assert ent.text == " ".join(doc.text[s:e] for s, e in ent.fragments)
            assert ent.start == min(s for s, _ in ent.fragments)
            assert ent.end == max(e for _, e in ent.fragments)


def test_contiguous_entity(docs: dict[str, BratDocument]) -> None:
    first = docs["Baller"].entity("T1")
    assert (first.type, first.start, first.end, first.text) == ("RAREDISEASE", 0, 22, "Baller-Gerold syndrome")
    assert not first.discontinuous
    assert first.fragments == ((0, 22),)


def test_discontinuous_entity(docs: dict[str, BratDocument]) -> None:
    ent = docs["Baller"].entity("T6")
    assert ent.discontinuous
    assert ent.fragments == ((129, 168), (176, 202))
    assert (ent.start, ent.end) == (129, 202)
    assert ent.text == "distinctive misshaped appearance of the facial (craniofacial) area"
    assert sum(e.discontinuous for e in docs["Baller"].entities) == 2


def test_relations_with_arguments(docs: dict[str, BratDocument]) -> None:
    rels = {r.id: r for r in docs["Baller"].relations}
    assert [(r.type, r.arg1, r.arg2) for r in rels.values()] == [
        ("Is_a", "T1", "T3"),
        ("Is_acron", "T2", "T1"),
        ("Produces", "T4", "T5"),
        ("Produces", "T4", "T6"),
        ("Produces", "T4", "T7"),
    ]
    doc = docs["Baller"]
    assert doc.entity(rels["R4"].arg2).type == "SIGN"


def test_dangling_relation_is_set_aside(docs: dict[str, BratDocument]) -> None:
    fvs = docs["Fetal-Valproate-Syndrome"]
    assert [(r.id, r.arg2) for r in fvs.dangling_relations] == [("R6", "T80")]
    assert "R6" not in {r.id for r in fvs.relations}
    assert len(fvs.relations) == 7
    ids = {e.id for e in fvs.entities}
    assert all(r.arg1 in ids and r.arg2 in ids for r in fvs.relations)


def test_strict_mode_names_file_and_entity() -> None:
    with pytest.raises(CorpusFormatError, match=r"Fetal-Valproate-Syndrome\.ann: line \d+: relation R6 .*T80"):
        read_brat(RAREDIS / "Fetal-Valproate-Syndrome.txt", strict=True)


def test_csv_quoted_text_field_is_tolerated(docs: dict[str, BratDocument]) -> None:
    ent = docs["West-Syndrome"].entity("T11")
    assert (ent.start, ent.end) == (228, 246)
    assert ent.text == '"salaam" movements'  # the document's text, not the .ann field


def test_same_span_two_types(docs: dict[str, BratDocument]) -> None:
    spans = [(e.start, e.end, e.type) for e in docs["Fetal-Valproate-Syndrome"].entities if e.start == 100]
    assert sorted(spans) == [(100, 120, "RAREDISEASE"), (100, 120, "SIGN")]


def test_raredis_type_map() -> None:
    assert RAREDIS_TYPES["SIGN"] is EntityType.SYMPTOM
    assert RAREDIS_TYPES["SYMPTOM"] is EntityType.SYMPTOM
    assert RAREDIS_TYPES["RAREDISEASE"] is EntityType.DISEASE
    assert "ANAPHOR" not in RAREDIS_TYPES


def _write(tmp_path: Path, text: str, ann: str) -> Path:
    (tmp_path / "doc.txt").write_text(text, encoding="utf-8")
    (tmp_path / "doc.ann").write_text(ann, encoding="utf-8")
    return tmp_path / "doc.txt"


def test_wrong_offsets_fail_with_file_and_line(tmp_path: Path) -> None:
    txt = _write(tmp_path, "Fever and cough.", "T1\tSIGN 0 5\tFever\nT2\tSIGN 9 14\tcough\n")
    with pytest.raises(CorpusFormatError, match=r"doc\.ann: line 2: entity T2: text 'cough' does not match"):
        read_brat(txt)


def test_malformed_span_and_missing_files(tmp_path: Path) -> None:
    txt = _write(tmp_path, "Fever.", "T1\tSIGN 0 x\tFever\n")
    with pytest.raises(CorpusFormatError, match="bad span"):
        read_brat(txt)
    (tmp_path / "doc.ann").unlink()
    with pytest.raises(CorpusFormatError, match="no annotation file doc.ann"):
        read_brat(txt)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CorpusFormatError, match="no .txt files"):
        list(read_brat_dir(empty))


def test_crlf_offsets_count_raw_characters(tmp_path: Path) -> None:
    (tmp_path / "doc.txt").write_bytes(b"Title\r\nFever here.")
    (tmp_path / "doc.ann").write_bytes(b"T1\tSIGN 7 12\tFever\r\n")
    doc = read_brat(tmp_path / "doc.txt")
    assert doc.entities[0].text == "Fever"


def test_whole_raredis_dev_split_reads() -> None:
    docs = list(read_brat_dir(shared_data("corpora", "raredis", "dev")))
    assert len(docs) == 104
    types = {e.type for d in docs for e in d.entities}
    assert types == {"RAREDISEASE", "DISEASE", "SIGN", "SYMPTOM", "SKINRAREDISEASE", "ANAPHOR"}
