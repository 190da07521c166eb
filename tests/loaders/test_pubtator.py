"""PubTator loader: real BC5CDR / BioRED / NCBI-disease excerpts and hand-broken variants."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from schema.records import Document, EntityType
from loaders import pubtator
from loaders.errors import MalformedInputError, RecordError

Collector = tuple[list[RecordError], Callable[[RecordError], None]]


def _load(path: Path, **kwargs: object) -> list[Document]:
    return list(pubtator.read(path, **kwargs))  # type: ignore[arg-type]


@pytest.fixture
def bc5cdr(fixtures: Path) -> Path:
    return fixtures / "bc5cdr" / "CDR_TrainingSet_excerpt.PubTator.txt"


def _write(tmp_path: Path, content: str, name: str = "broken.pubtator") -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def _spans_match(doc: Document) -> None:
    for m in doc.mentions:
        assert m.start is not None and m.end is not None
        assert doc.text[m.start : m.end] == m.text


def test_bc5cdr_documents(bc5cdr: Path) -> None:
    docs = _load(bc5cdr)
    assert [d.id for d in docs] == ["PMID:227508", "PMID:2234245", "PMID:2505783"]
    first = docs[0]
    assert first.title == "Naloxone reverses the antihypertensive effect of clonidine."
    assert first.text.startswith(first.title + " In unanesthetized")
    assert (first.kind, first.source_format, first.metadata) == (
        "literature",
        "pubtator",
        {"corpus": "bc5cdr"},
    )
    assert len(first.mentions) == 20
    for doc in docs:
        _spans_match(doc)
        assert {m.source for m in doc.mentions} == {"gold:bc5cdr"}
    naloxone = first.mentions[0]
    assert (naloxone.label, naloxone.concept_id, naloxone.start, naloxone.end) == (
        EntityType.DRUG,
        "MESH:D009270",
        0,
        8,
    )
    unlinked = [m for m in first.mentions if m.concept_id is None]
    assert [m.text for m in unlinked] == ["nalozone", "[3H]-naloxone", "[3H]-dihydroergocryptine"]


def test_bc5cdr_composite_ids_give_one_mention_per_id(bc5cdr: Path) -> None:
    doc = _load(bc5cdr)[1]
    at_zero = [m for m in doc.mentions if m.start == 0]
    assert [(m.concept_id, m.end, m.text) for m in at_zero] == [
        ("MESH:D014786", 28, "Ocular and auditory toxicity"),
        ("MESH:D006311", 28, "Ocular and auditory toxicity"),
    ]
    # 18 mention lines, four of them composite with two ids each
    assert len(doc.mentions) == 22
    assert all(m.label is EntityType.DISEASE for m in at_zero)


def test_bc5cdr_cid_relations_with_evidence(bc5cdr: Path) -> None:
    docs = _load(bc5cdr)
    (cid,) = docs[0].relations
    assert (cid.type, cid.head_id, cid.head_label, cid.tail_id, cid.tail_label) == (
        "CAUSES_ADVERSE_EFFECT",
        "MESH:D008750",
        "Drug",
        "MESH:D007022",
        "Disease",
    )
    assert cid.properties == {"source_relation": "CID"}
    assert cid.source == "gold:bc5cdr"
    expected = (
        "The hypotensive effect of 100 mg/kg alpha-methyldopa was also partially reversed "
        "by naloxone."
    )
    assert cid.evidence_text == expected
    assert cid.evidence_start is not None and cid.evidence_end is not None
    assert docs[0].text[cid.evidence_start : cid.evidence_end] == expected

    relations = docs[1].relations
    assert [(r.head_id, r.tail_id) for r in relations] == [
        ("MESH:D003676", "MESH:D012164"),
        ("MESH:D003676", "MESH:D014786"),
        ("MESH:D003676", "MESH:D006319"),
    ]
    # the title names both desferrioxamine and ocular toxicity; the other two pairs never
    # share a sentence, so they have no evidence
    assert relations[1].evidence_start == 0
    assert relations[1].evidence_text == docs[1].title
    assert relations[0].evidence_text is None and relations[2].evidence_text is None
    assert relations[0].evidence_start is None


def test_biored_relations_are_mapped_and_oriented(fixtures: Path) -> None:
    docs = _load(fixtures / "biored" / "Train_excerpt.PubTator")
    assert [d.id for d in docs] == ["PMID:19642243", "PMID:7468724"]
    # OrganismTaxon mentions are skipped: 19 - 2 and 8 - 1 annotation lines
    assert [len(d.mentions) for d in docs] == [17, 7]
    assert {m.label for d in docs for m in d.mentions} == {EntityType.DRUG, EntityType.DISEASE}
    for doc in docs:
        _spans_match(doc)
    got = {(r.type, r.head_id, r.head_label, r.tail_id, r.tail_label) for r in docs[0].relations}
    assert got == {
        ("CAUSES_ADVERSE_EFFECT", "MESH:D014640", "Drug", "MESH:D051437", "Disease"),
        ("TREATS", "MESH:D014640", "Drug", "MESH:D010019", "Disease"),  # disease first in file
        ("CAUSES_ADVERSE_EFFECT", "MESH:D000068698", "Drug", "MESH:D005198", "Disease"),
        ("CAUSES_ADVERSE_EFFECT", "MESH:D000068698", "Drug", "MESH:D051437", "Disease"),
        ("INTERACTS_WITH", "MESH:D000068698", "Drug", "MESH:D014640", "Drug"),
        ("CAUSES_ADVERSE_EFFECT", "MESH:D000068698", "Drug", "MESH:D058186", "Disease"),
    }
    interaction = next(r for r in docs[0].relations if r.type == "INTERACTS_WITH")
    assert interaction.properties == {"source_relation": "Drug_Interaction"}
    assert interaction.source == "gold:biored"
    assert interaction.evidence_text is not None and interaction.evidence_text.startswith(
        "Acute renal failure in patients with AIDS on tenofovir"
    )
    # Association relations are dropped; the two Negative_Correlations become TREATS
    assert sorted((r.type, r.head_id, r.tail_id) for r in docs[1].relations) == [
        ("CAUSES_ADVERSE_EFFECT", "MESH:D000305", "MESH:D002318"),
        ("TREATS", "MESH:D000305", "MESH:D007752"),
        ("TREATS", "MESH:D013726", "MESH:D007752"),
    ]


def test_ncbi_disease_ids(fixtures: Path) -> None:
    docs = _load(fixtures / "ncbi-disease" / "NCBIdevelopset_excerpt.txt")
    assert [d.id for d in docs] == ["PMID:8931701", "PMID:8751855", "PMID:8621452"]
    for doc in docs:
        _spans_match(doc)
        assert {m.label for m in doc.mentions} == {EntityType.DISEASE}
        assert {m.source for m in doc.mentions} == {"gold:ncbi-disease"}
    plus = [m.concept_id for m in docs[0].mentions if m.start == 176]
    assert plus == ["MESH:D007153", "MESH:D040181"]
    pipe = [m.concept_id for m in docs[1].mentions if m.start == 786]
    assert pipe == ["MESH:D001943", "MESH:D010051"]
    assert {m.concept_id for m in docs[2].mentions} == {"OMIM:217000"}
    assert len(docs[0].mentions) == 12 and len(docs[1].mentions) == 12


def test_corpus_fallback_and_override(bc5cdr: Path, tmp_path: Path) -> None:
    copy = tmp_path / "abstracts.pubtator"
    shutil.copy(bc5cdr, copy)
    doc = _load(copy)[0]
    assert doc.metadata == {"corpus": None}
    assert {m.source for m in doc.mentions} == {"gold:pubtator"}
    assert {r.source for r in doc.relations} == {"gold:pubtator"}
    named = _load(copy, corpus="mycorpus")[0]
    assert named.metadata == {"corpus": "mycorpus"}
    assert named.mentions[0].source == "gold:mycorpus"


def test_missing_blank_line_and_title_only_document(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "1|t|Aspirin and asthma.\n1\t0\t7\tAspirin\tChemical\tD001241\n"
        "2|t|Only a title about gout\n2\t19\t23\tgout\tDisease\tMESH:D006073\n",
    )
    docs = _load(path)
    assert [d.id for d in docs] == ["PMID:1", "PMID:2"]
    assert docs[1].text == "Only a title about gout"
    assert docs[1].mentions[0].concept_id == "MESH:D006073"


GOOD = "10|t|Drug X causes rash.\n10|a|Rash resolved.\n10\t14\t18\trash\tDisease\tD005076\n\n"
LAST = "30|t|Heparin and bleeding.\n30\t0\t7\tHeparin\tChemical\tD006493\n"


@pytest.mark.parametrize(
    ("bad_block", "line", "fragment"),
    [
        ("20|t|Naloxone note.\n20\t0\t7\tNaloxone\tChemical\tD009270\n", 6, "does not match"),
        ("20|t|Naloxone note.\n20\t0\tx8\tNaloxone\tChemical\tD009270\n", 6, "not integers"),
        ("20|t|Naloxone note.\n20\t0\t99\tNaloxone\tChemical\tD009270\n", 6, "past the end"),
        ("20|t|Naloxone note.\n21\t0\t8\tNaloxone\tChemical\tD009270\n", 6, "PMID 21"),
        ("20|t|Naloxone note.\n20|a|Short.\n20\t0\t8\n", 7, "3 tab-separated fields"),
        ("20|t|Naloxone note.\n20\tCID\tD009270\n", 6, "relation line has 3"),
        ("20|t|Naloxone note.\nthis line is garbage\n", 6, "malformed line"),
        (
            "20|t|Naloxone note.\n20\t0\t8\tNaloxone\tChemical\tCHEBI\n",
            6,
            "unrecognised concept id",
        ),
        (
            "20|t|Naloxone note.\n20\t0\t8\tNaloxone\tChemical\tD009270\n20\tCID\tD009270\tXYZ\n",
            7,
            "unrecognised concept id 'XYZ'",
        ),
    ],
    ids=["span", "offset", "past-end", "pmid", "truncated", "relation", "garbage", "id", "cid"],
)
def test_record_errors(
    tmp_path: Path, collect: Collector, bad_block: str, line: int, fragment: str
) -> None:
    path = _write(tmp_path, GOOD + bad_block + "\n" + LAST)
    with pytest.raises(MalformedInputError) as raised:
        _load(path)
    error = raised.value.error
    assert (error.path, error.position, error.record_id) == (str(path), f"line {line}", "PMID:20")
    assert fragment in error.message
    assert raised.value.fatal is False
    assert "Naloxone" not in str(raised.value)  # never quote document text

    errors, on_error = collect
    docs = _load(path, on_error=on_error)
    assert [d.id for d in docs] == ["PMID:10", "PMID:30"]
    assert [(e.position, e.record_id) for e in errors] == [(f"line {line}", "PMID:20")]


def test_annotation_before_title_is_reported(tmp_path: Path, collect: Collector) -> None:
    path = _write(tmp_path, "40\t0\t3\tfoo\tChemical\tD1\n\n" + GOOD)
    errors, on_error = collect
    assert [d.id for d in _load(path, on_error=on_error)] == ["PMID:10"]
    assert [(e.position, e.record_id) for e in errors] == [("line 1", "PMID:40")]
    assert "before the document's title" in errors[0].message


def test_invalid_utf8_line_is_a_record_error(tmp_path: Path, collect: Collector) -> None:
    path = tmp_path / "latin1.pubtator"
    path.write_bytes(GOOD.encode() + "50|t|Caf\xe9 and gout\n\n".encode("latin-1") + LAST.encode())
    errors, on_error = collect
    assert [d.id for d in _load(path, on_error=on_error)] == ["PMID:10", "PMID:30"]
    assert [e.position for e in errors] == ["line 5"]
    assert "UTF-8" in errors[0].message
