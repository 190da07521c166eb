"""Full-corpus checks against ../shared/data (skipped where the folder is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from schema.records import Document
from loaders import bioc, pubtator, read_documents


def _mention_set(docs: list[Document]) -> set[tuple[str, str, str | None, int | None, int | None]]:
    return {(d.id, m.label.value, m.concept_id, m.start, m.end) for d in docs for m in d.mentions}


def test_bc5cdr_train_pubtator_and_bioc_agree(shared_data: Path) -> None:
    corpus = shared_data / "corpora" / "bc5cdr"
    from_pubtator = list(pubtator.read(corpus / "pubtator" / "CDR_TrainingSet.PubTator.txt"))
    from_bioc = list(bioc.read(corpus / "bioc" / "CDR_TrainingSet.BioC.xml"))
    assert len(from_pubtator) == len(from_bioc) == 500
    assert [d.id for d in from_pubtator] == [d.id for d in from_bioc]
    assert _mention_set(from_pubtator) == _mention_set(from_bioc)
    # 9,385 annotated spans; composite spans give one mention per id
    assert (
        sum(len(d.mentions) for d in from_bioc)
        == sum(len(d.mentions) for d in from_pubtator)
        == 9488
    )
    for docs in (from_pubtator, from_bioc):
        cids = [r for d in docs for r in d.relations]
        assert len(cids) == 1038
        assert {r.type for r in cids} == {"CAUSES_ADVERSE_EFFECT"}
        assert all(d.text[m.start : m.end] == m.text for d in docs for m in d.mentions)
        with_evidence = [r for r in cids if r.evidence_text is not None]
        assert all(
            d.text[r.evidence_start : r.evidence_end] == r.evidence_text  # type: ignore[misc]
            for d in docs
            for r in d.relations
            if r.evidence_text is not None
        )
        assert len(with_evidence) == 756


@pytest.mark.parametrize(
    ("relative", "documents"),
    [
        ("corpora/bc5cdr/pubtator/CDR_DevelopmentSet.PubTator.txt", 500),
        ("corpora/bc5cdr/bioc/CDR_DevelopmentSet.BioC.xml", 500),
        ("corpora/biored/Train.PubTator", 400),
        ("corpora/biored/Dev.PubTator", 100),
        # 593 blocks, but PMID 8528200 is listed twice, identically: the repeat is dropped
        # with a LoaderWarning (see test_ncbi_train_duplicate_is_dropped_with_a_warning)
        ("corpora/ncbi-disease/original/NCBItrainset_corpus.txt", 592),
        ("corpora/ncbi-disease/original/NCBIdevelopset_corpus.txt", 100),
    ],
)
@pytest.mark.filterwarnings("ignore::loaders.errors.LoaderWarning")
def test_every_gold_file_loads_strictly(shared_data: Path, relative: str, documents: int) -> None:
    docs = list(read_documents(shared_data / relative))  # strict: any bad record raises
    assert len(docs) == documents
    assert all(d.text[m.start : m.end] == m.text for d in docs for m in d.mentions)


def test_ncbi_train_duplicate_is_dropped_with_a_warning(shared_data: Path) -> None:
    from loaders.errors import LoaderWarning

    path = shared_data / "corpora" / "ncbi-disease" / "original" / "NCBItrainset_corpus.txt"
    with pytest.warns(LoaderWarning, match=r"line 4557: duplicate document id PMID:8528200: "
                      r"identical to the record first at line 3811; dropped"):
        ids = [d.id for d in pubtator.read(path)]
    assert ids.count("PMID:8528200") == 1
