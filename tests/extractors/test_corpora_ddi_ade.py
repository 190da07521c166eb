"""DDI-2013 and ADE v2 readers on tiny real excerpts, malformed input, and the full shared corpora."""

from __future__ import annotations

from pathlib import Path

import pytest

from extractors.corpora.ade import ade_split, read_ade
from extractors.corpora.ddi import ddi_split, read_ddi, read_ddi_dir
from extractors.errors import CorpusFormatError
from tests.helpers import FIXTURES, shared_data

DDI = FIXTURES / "ddi2013" / "Train"
ADE = FIXTURES / "ade" / "DRUG-AE_excerpt.rel"


# --- DDI-2013 -----------------------------------------------------------------------------


def test_ddi_reads_every_fixture_document_in_path_order() -> None:
    docs = list(read_ddi_dir(DDI))
    assert [d.id for d in docs] == ["DDI-DrugBank.d188", "DDI-DrugBank.d377", "DDI-MedLine.d16"]
    assert [d.source for d in docs] == ["DrugBank", "DrugBank", "MedLine"]


def test_ddi_offsets_are_made_end_exclusive_and_match_the_text() -> None:
    doc = read_ddi(DDI / "DrugBank" / "Altretamine_ddi.xml")
    s0 = doc.sentences[0]
    hexalen = s0.entity("DDI-DrugBank.d188.s0.e0")
    assert (hexalen.start, hexalen.end) == (29, 36)  # charOffset="29-35" is inclusive
    assert s0.text[hexalen.start : hexalen.end] == "HEXALEN"
    for sentence in doc.sentences:
        for e in sentence.entities:
            if not e.discontinuous:
                assert sentence.text[e.start : e.end] == e.text


def test_ddi_discontinuous_entity_keeps_its_fragments() -> None:
    doc = read_ddi(DDI / "DrugBank" / "Echothiophate Iodide_ddi.xml")
    s0 = doc.sentences[0]
    organo = s0.entity("DDI-DrugBank.d377.s0.e3")  # charOffset="90-104;120-130"
    assert organo.discontinuous
    assert organo.fragments == ((90, 105), (120, 131))
    assert (organo.start, organo.end) == (90, 131)
    assert [s0.text[a:b] for a, b in organo.fragments] == ["organophosphate", "insecticide"]
    assert organo.text == "organophosphate insecticide"


def test_ddi_pairs_carry_flag_and_type() -> None:
    doc = read_ddi(DDI / "DrugBank" / "Altretamine_ddi.xml")
    pairs = {p.id.rsplit(".", 2)[-2] + "." + p.id.rsplit(".", 1)[-1]: p for s in doc.sentences for p in s.pairs}
    assert pairs["s0.p0"].ddi and pairs["s0.p0"].type == "effect"
    assert pairs["s0.p5"].type == "mechanism"
    assert pairs["s2.p0"].type == "advise"
    assert not pairs["s0.p1"].ddi and pairs["s0.p1"].type is None
    medline = read_ddi(DDI / "MedLine" / "1115367.xml")
    assert "int" in {p.type for s in medline.sentences for p in s.pairs}


def test_ddi_split_is_by_document_and_deterministic() -> None:
    assert ddi_split("DDI-DrugBank.d188") == "dev"
    assert ddi_split("DDI-DrugBank.d377") == "train"
    assert ddi_split("DDI-DrugBank.d188") == ddi_split("DDI-DrugBank.d188")


def _write(tmp_path: Path, body: str, name: str = "bad.xml") -> Path:
    path = tmp_path / name
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n' + body, encoding="utf-8")
    return path


def test_ddi_broken_xml_names_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, '<document id="D1"><sentence id="D1.s0" text="x">\n</document>')
    with pytest.raises(CorpusFormatError, match=r"bad\.xml: XML syntax error at line \d+"):
        read_ddi(path)


@pytest.mark.parametrize(
    ("entity", "message"),
    [
        ('<entity id="D1.s0.e0" charOffset="0-x" type="drug" text="Aspirin"/>', r"<entity id='D1.s0.e0'>: bad charOffset"),
        ('<entity id="D1.s0.e0" charOffset="0-99" type="drug" text="Aspirin"/>', r"<entity id='D1.s0.e0'>: charOffset .* outside"),
        ('<entity id="D1.s0.e0" charOffset="0-5" type="drug" text="Aspirin"/>', r"<entity id='D1.s0.e0'>: text 'Aspirin' does not match"),
        ('<entity id="D1.s0.e0" charOffset="0-6" type="chemical" text="Aspirin"/>', r"<entity id='D1.s0.e0'>: unknown entity type 'chemical'"),
        ('<entity id="D1.s0.e0" type="drug" text="Aspirin"/>', r"<entity id='D1.s0.e0'>: missing attribute 'charOffset'"),
    ],
)
def test_ddi_malformed_entity_names_file_and_element(tmp_path: Path, entity: str, message: str) -> None:
    path = _write(tmp_path, f'<document id="D1"><sentence id="D1.s0" text="Aspirin and warfarin.">{entity}</sentence></document>')
    with pytest.raises(CorpusFormatError, match=r"bad\.xml: " + message):
        read_ddi(path)


def test_ddi_pair_with_unknown_entity_or_bad_type_is_an_error(tmp_path: Path) -> None:
    ents = ('<entity id="e0" charOffset="0-6" type="drug" text="Aspirin"/>'
            '<entity id="e1" charOffset="12-19" type="drug" text="warfarin"/>')
    path = _write(tmp_path, f'<document id="D1"><sentence id="s0" text="Aspirin and warfarin.">{ents}'
                            '<pair id="p0" e1="e0" e2="e9" ddi="false"/></sentence></document>')
    with pytest.raises(CorpusFormatError, match=r"<pair id='p0'>: refers to unknown entity 'e9'"):
        read_ddi(path)
    path = _write(tmp_path, f'<document id="D1"><sentence id="s0" text="Aspirin and warfarin.">{ents}'
                            '<pair id="p0" e1="e0" e2="e1" ddi="true" type="synergy"/></sentence></document>')
    with pytest.raises(CorpusFormatError, match=r"unknown DDI type 'synergy'; valid: mechanism, effect, advise, int"):
        read_ddi(path)


def test_ddi_true_pair_without_type_reads_as_int(tmp_path: Path) -> None:
    ents = ('<entity id="e0" charOffset="0-6" type="drug" text="Aspirin"/>'
            '<entity id="e1" charOffset="12-19" type="drug" text="warfarin"/>')
    path = _write(tmp_path, f'<document id="D1"><sentence id="s0" text="Aspirin and warfarin.">{ents}'
                            '<pair id="p0" e1="e0" e2="e1" ddi="true"/></sentence></document>')
    (pair,) = read_ddi(path).sentences[0].pairs
    assert pair.ddi and pair.type == "int"


def test_ddi_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CorpusFormatError, match="no .xml files"):
        list(read_ddi_dir(tmp_path))


def test_ddi_full_train_set_reads_and_splits_about_one_in_five() -> None:
    docs = list(read_ddi_dir(shared_data("corpora", "ddi2013", "Train")))
    assert len(docs) == 714
    pairs = [p for d in docs for s in d.sentences for p in s.pairs]
    assert len(pairs) == 27_792
    assert sum(p.ddi for p in pairs) == 4_021
    dev = [d for d in docs if ddi_split(d.id) == "dev"]
    assert 0.15 < len(dev) / len(docs) < 0.25
    # the one corrected entity (see _ERRATA) now matches its text
    eszo = next(d for d in docs if d.id == "DDI-DrugBank.d216")
    ent = next(e for s in eszo.sentences for e in s.entities if e.id == "DDI-DrugBank.d216.s16.e2")
    text = next(s.text for s in eszo.sentences if s.id == "DDI-DrugBank.d216.s16")
    assert [text[a:b] for a, b in ent.fragments] == ["(R)-", "warfarin"]


# --- ADE v2 ---------------------------------------------------------------------------------


def test_ade_groups_lines_into_sentences_and_places_every_entity() -> None:
    sentences = list(read_ade(ADE))
    assert len(sentences) == 16
    for s in sentences:
        for e in s.entities:
            assert s.text[e.start : e.end] == e.text


def test_ade_multi_pair_sentence() -> None:
    s = next(s for s in read_ade(ADE) if s.text.startswith("RESULTS: A 44-year-old man taking naproxen"))
    names = {e.id: e.text for e in s.entities}
    assert sorted((names[d], names[e]) for d, e in s.pairs) == [
        ("naproxen", "cutaneous fragility"), ("naproxen", "tense bullae"),
        ("oxaprozin", "cutaneous fragility"), ("oxaprozin", "tense bullae"),
    ]
    assert s.offset == 828  # the abstract offset implied by the corpus offsets (862 - 34)


def test_ade_repeated_text_is_placed_by_the_offsets() -> None:
    s = next(s for s in read_ade(ADE) if s.text.startswith("Acute INH neurotoxicity was not suspected"))
    inh = [e for e in s.entities if e.text == "INH"]
    tox = [e for e in s.entities if e.text == "neurotoxicity"]
    assert [e.start for e in inh] == [6, s.text.rindex("INH")]
    assert len(tox) == 2 and len(s.pairs) == 2
    # each INH is paired with the neurotoxicity right after it, not the other one
    for d, e in s.pairs:
        assert s.entity(e).start == s.entity(d).end + 1


def test_ade_unrelated_pairs_in_a_sentence_are_not_pairs() -> None:
    s = next(s for s in read_ade(ADE) if s.text.startswith("Adriamycin-induced cardiomyopathy"))
    drugs = [e for e in s.entities if e.type == "drug"]
    effects = [e for e in s.entities if e.type == "effect"]
    assert len(drugs) * len(effects) - len(s.pairs) == 2


def test_ade_drug_inside_its_effect() -> None:
    s = next(s for s in read_ade(ADE) if s.text == "Codeine intoxication in the neonate.")
    spans = {e.type: (e.start, e.end) for e in s.entities}
    assert spans == {"drug": (0, 7), "effect": (0, 20)}


def test_ade_split_by_pmid() -> None:
    by_split = {(s.pmid, ade_split(s.pmid)) for s in read_ade(ADE)}
    assert ("10203437", "dev") in by_split and ("7724306", "train") in by_split


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("123|A sentence.|x|0|1|y", r"line 1: expected 8 '\|'-separated fields, found 6"),
        ("123|Aspirin caused rash.|rash|a|19|Aspirin|0|7", r"line 1: offsets must be integers"),
        ("123|Aspirin caused rash.|rash|15|30|Aspirin|0|7", r"line 1: offset span lengths"),
        ("12x|Aspirin caused rash.|rash|15|19|Aspirin|0|7", r"line 1: PMID must be digits"),
        ("123|Aspirin caused rash.|rash|15|19|Aspirin|2|9", r"line 1: PMID 123: cannot place the entities"),
    ],
)
def test_ade_malformed_lines_name_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "DRUG-AE.rel"
    path.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(CorpusFormatError, match=r"DRUG-AE\.rel: " + message):
        list(read_ade(tmp_path))


def test_ade_full_corpus_resolves_every_line() -> None:
    sentences = list(read_ade(shared_data("corpora", "ade-corpus-v2")))
    assert sum(len(s.pairs) for s in sentences) == 6_821
    dev = {s.pmid for s in sentences if ade_split(s.pmid) == "dev"}
    pmids = {s.pmid for s in sentences}
    assert 0.15 < len(dev) / len(pmids) < 0.25
