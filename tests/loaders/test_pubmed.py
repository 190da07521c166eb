"""PubMed XML loader on a hand-written two-article sample (plain and gzipped)."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import pytest

from schema.records import Document
from loaders import pubmed
from loaders.errors import MalformedInputError, RecordError

Collector = tuple[list[RecordError], Callable[[RecordError], None]]

TITLE_1 = "Lisinopril-associated angioedema in adults treated for de novo hypertension."
ABSTRACT_1 = (
    "Angioedema is a rare adverse effect of angiotensin-converting enzyme inhibitors. "
    "We reviewed 212 adults who started lisinopril for hypertension. "
    "Four patients (1.9%) developed angioedema within 30 days. "
    "Lisinopril-induced angioedema occurs early after treatment starts."
)


@pytest.fixture
def sample(fixtures: Path) -> Path:
    return fixtures / "pubmed" / "pubmed_sample.xml"


def _check(docs: list[Document]) -> None:
    assert [d.id for d in docs] == ["PMID:99000001", "PMID:99000002"]
    first, second = docs
    assert first.title == TITLE_1  # <i>de novo</i> flattened
    assert first.text == TITLE_1 + " " + ABSTRACT_1
    assert "BACKGROUND" not in first.text and "METHODS" not in first.text
    assert (first.kind, first.source_format, first.mentions) == ("literature", "pubmed", ())
    assert first.metadata == {
        "journal": "Journal of Invented Clinical Pharmacology",
        "year": 2021,
        "mesh_headings": ["MESH:D000799", "MESH:D006801", "MESH:D017706"],
    }
    assert second.text == (
        "Metformin and lactic acidosis in type 2 diabetes. Metformin rarely causes lactic "
        "acidosis. Renal function should be checked before treatment."
    )
    assert second.metadata["year"] == 1998  # from <MedlineDate>1998 Nov-Dec</MedlineDate>
    assert second.metadata["mesh_headings"] == ["MESH:D003924", "MESH:D008687"]


def test_reads_sample(sample: Path) -> None:
    _check(list(pubmed.read(sample)))


def test_reads_gzipped_copy(sample: Path, tmp_path: Path) -> None:
    packed = tmp_path / "pubmed25n0001.xml.gz"
    packed.write_bytes(gzip.compress(sample.read_bytes()))
    _check(list(pubmed.read(packed)))


def _article(pmid: str, title: str, abstract: str | None) -> str:
    pmid_xml = f"<PMID Version='1'>{pmid}</PMID>" if pmid else ""
    abstract_xml = (
        f"<Abstract><AbstractText>{abstract}</AbstractText></Abstract>" if abstract else ""
    )
    return (
        f"<PubmedArticle><MedlineCitation>{pmid_xml}<Article><Journal><Title>J</Title></Journal>"
        f"<ArticleTitle>{title}</ArticleTitle>{abstract_xml}</Article></MedlineCitation></PubmedArticle>"
    )


def test_record_errors_and_title_only(tmp_path: Path, collect: Collector) -> None:
    path = tmp_path / "mixed.xml"
    path.write_text(
        "<PubmedArticleSet>"
        + _article("", "An article without a PMID.", "Text.")
        + _article("5", "A title-only article.", None)
        + _article("6", "", None)
        + _article("7", "", "Abstract only.")
        + "</PubmedArticleSet>",
        encoding="utf-8",
    )
    with pytest.raises(MalformedInputError, match="no MedlineCitation/PMID") as raised:
        list(pubmed.read(path))
    assert (raised.value.error.position, raised.value.error.record_id) == ("entry 1", None)

    errors, on_error = collect
    docs = list(pubmed.read(path, on_error=on_error))
    assert [(d.id, d.text, d.title) for d in docs] == [
        ("PMID:5", "A title-only article.", "A title-only article."),
        ("PMID:7", "Abstract only.", None),
    ]
    assert [(e.position, e.record_id) for e in errors] == [("entry 1", None), ("entry 3", "PMID:6")]
    assert errors[1].message.startswith("empty document")


def test_syntax_error_is_fatal(sample: Path, tmp_path: Path, collect: Collector) -> None:
    data = sample.read_text(encoding="utf-8")
    broken = tmp_path / "broken.xml"
    broken.write_text(
        data.replace("<Title>Invented Diabetes Review</Title>", "<Title>Invented & Review</Title>"),
        encoding="utf-8",
    )
    errors, on_error = collect
    seen: list[str] = []
    with pytest.raises(MalformedInputError) as raised:
        for doc in pubmed.read(broken, on_error=on_error):
            seen.append(doc.id)
    assert seen == ["PMID:99000001"]
    assert raised.value.fatal is True and errors == []
    line = data[: data.index("<Title>Invented Diabetes")].count("\n") + 1
    assert raised.value.error.position.startswith(f"line {line}, column ")


def test_wrong_root_is_fatal(fixtures: Path) -> None:
    with pytest.raises(MalformedInputError, match="expected <PubmedArticleSet>"):
        list(pubmed.read(fixtures / "bc5cdr" / "CDR_TrainingSet_excerpt.BioC.xml"))
