"""Curated-source readers (HPO, SYMP, DO, HSDN, PharmacotherapyDB, DDInter), their registry, the
load job on both stores, and the CLI command. Fixtures: tests/fixtures/curated (see SOURCE.md)."""

from __future__ import annotations

from collections import Counter
from itertools import islice
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kg.cli import app
from schema.records import Document, Relation
from kg.store.base import GraphStore
from loaders.curated import (
    CURATED_SOURCES,
    LicenceNotAcceptedError,
    LoadReport,
    UnknownSourceError,
    ddinter,
    default_sources,
    disease_ontology,
    hpo,
    hsdn,
    pharmacotherapydb,
    read_curated,
    symptom_ontology,
)
from kg.jobs.curated_job import default_drug_index, load_curated, parse_paths
from loaders.errors import MalformedInputError, RecordError
from tests.helpers import FIXTURES, shared_data

CURATED = FIXTURES / "curated"
BROKEN = CURATED / "broken"

# A 5-drug slice of the real drug vocabulary (drug-named-entity-recognition, DrugBank ids),
# so the DDInter tests need not load the 20k-drug dictionary; one test below uses the real one.
TINY_DRUGS = ddinter.build_drug_index([
    ("DRUGBANK:DB00682", "Warfarin", ["coumadin", "warfarin sodium"]),
    ("DRUGBANK:DB00945", "Aspirin", ["Acetylsalicylic acid", "ASA"]),
    ("DRUGBANK:DB00338", "Omeprazole", ["prilosec"]),
    ("DRUGBANK:DB00196", "Fluconazole", ["diflucan"]),
    ("DRUGBANK:DB00284", "Acarbose", ["precose"]),
])


def _read(reader, path: Path, **kwargs) -> tuple[list[Document], LoadReport]:  # type: ignore[no-untyped-def]
    rep = LoadReport("test")
    return list(reader(path, report_to=rep, **kwargs)), rep


def _rels(docs: list[Document], type_: str) -> dict[tuple[str, str], Relation]:
    return {(r.head_id, r.tail_id): r for d in docs for r in d.relations if r.type == type_}


def _names(docs: list[Document]) -> dict[str, str]:
    return {m.concept_id: m.concept_name for d in docs for m in d.mentions if m.concept_id and m.concept_name}


# -- HPO ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("", None), ("HP:0040280", 1.0), ("HP:0040281", 0.9), ("HP:0040282", 0.55), ("HP:0040283", 0.17),
     ("HP:0040284", 0.025), ("HP:0040285", 0.0), ("2/7", 2 / 7), ("0/4", 0.0), ("25%", 0.25), ("12.5%", 0.125)],
)
def test_parse_frequency(raw: str, expected: float | None) -> None:
    assert hpo.parse_frequency(raw) == pytest.approx(expected) if expected is not None else hpo.parse_frequency(raw) is None


@pytest.mark.parametrize("raw", ["often", "3/2", "1/0", "120%", "HP:0000118"])
def test_parse_frequency_rejects(raw: str) -> None:
    with pytest.raises(ValueError, match="frequency"):
        hpo.parse_frequency(raw)


def test_combine_frequencies_pools_counts_else_takes_max() -> None:
    assert hpo.combine_frequencies(["2/2", "0/4", "1/1"]) == pytest.approx(3 / 7)
    assert hpo.combine_frequencies(["1/10", "HP:0040282"]) == pytest.approx(0.55)
    assert hpo.combine_frequencies(["", "2/7"]) == pytest.approx(2 / 7)
    assert hpo.combine_frequencies(["", ""]) is None


def test_hpo_annotations_fixture() -> None:
    docs, rep = _read(hpo.read_annotations, CURATED / "hpo" / "phenotype.hpoa")
    assert [d.id for d in docs] == ["hpo:OMIM:104200", "hpo:ORPHA:1401", "hpo:OMIM:300055", "hpo:OMIM:607155"]
    assert all(d.kind == "curated" and d.source_format == "hpo" and d.text == "" for d in docs)
    assert rep.rows == 54 and rep.documents == 4 and rep.merged == 3
    assert rep.relations == {"HAS_SYMPTOM": 44, "LACKS_SYMPTOM": 2}
    assert sum(rep.skipped.values()) == 5  # aspects C (2), I (2), M (1)
    has, lacks = _rels(docs, "HAS_SYMPTOM"), _rels(docs, "LACKS_SYMPTOM")
    assert set(lacks) == {("ORPHA:1401", "HP:0001270"), ("ORPHA:1401", "HP:0200041")}
    assert not set(lacks) & set(has)
    assert has[("OMIM:300055", "HP:0000252")].properties["frequency"] == pytest.approx(3 / 7)  # 2/2 + 0/4 + 1/1
    assert has[("OMIM:300055", "HP:0000252")].properties["references"] == ["PMID:11007980", "PMID:12615169"]  # distinct
    assert has[("OMIM:104200", "HP:0003774")].properties["frequency"] == pytest.approx(2 / 7)  # "" + "2/7"
    assert has[("OMIM:104200", "HP:0000093")].properties["frequency"] == 1.0  # 7/7
    assert has[("OMIM:607155", "HP:0008305")].properties["frequency"] == 0.25  # 25%
    assert has[("ORPHA:1401", "HP:0002164")].properties["frequency"] == 0.9  # HP:0040281 very frequent
    assert "frequency" not in has[("OMIM:104200", "HP:0002157")].properties  # none given
    r = has[("OMIM:300055", "HP:0000252")]
    assert (r.head_label, r.tail_label, r.curated, r.source, r.score) == ("Disease", "Symptom", True, "hpo", 1.0)
    assert _names(docs)["ORPHA:1401"] == "CHAND syndrome"


def test_hpo_hierarchy_keeps_phenotypic_subtree_and_exact_related_synonyms() -> None:
    docs, rep = _read(hpo.read_hierarchy, CURATED / "hpo" / "hp.obo")
    assert [d.id for d in docs] == ["hpo:HP:000000", "hpo:HP:000005", "hpo:HP:000040"]
    names = _names(docs)
    assert set(names) == {"HP:0000118", "HP:0000152", "HP:0000234", "HP:0000240", "HP:0000252", "HP:0000253",
                          "HP:0000256", "HP:0000929", "HP:0005484", "HP:0040194", "HP:0040195"}
    isa = _rels(docs, "IS_A")
    assert len(isa) == 10 and ("HP:0000152", "HP:0000118") in isa and ("HP:0000252", "HP:0040195") in isa
    assert not any(t == "HP:0000001" for _, t in isa)  # the root above HP:0000118 is outside the subtree
    micro = {m.text for d in docs for m in d.mentions if m.concept_id == "HP:0000252"}
    assert {"Microcephaly", "small cranium", "Reduced head circumference"} <= micro
    assert not micro & {"Small head", "small calvarium"}  # BROAD / NARROW
    assert rep.rows == 15 and rep.relations == {"IS_A": 10}


def test_hpo_folder_reads_hierarchy_then_annotations() -> None:
    docs = list(hpo.read(CURATED / "hpo"))
    assert [d.id for d in docs][:3] == ["hpo:HP:000000", "hpo:HP:000005", "hpo:HP:000040"]
    assert len(docs) == 7


# -- ontologies and tables ---------------------------------------------------------------------


def test_symptom_ontology_fixture() -> None:
    docs, rep = _read(symptom_ontology.read, CURATED / "symp")
    assert [d.id for d in docs] == ["symp:SYMP:000000", "symp:SYMP:000004", "symp:SYMP:000006", "symp:SYMP:000008"]
    assert set(_names(docs)) == {"SYMP:0000000", "SYMP:0000001", "SYMP:0000461", "SYMP:0000462", "SYMP:0000613", "SYMP:0000891"}
    assert set(_rels(docs, "IS_A")) == {("SYMP:0000000", "SYMP:0000891"), ("SYMP:0000001", "SYMP:0000461"),
                                        ("SYMP:0000461", "SYMP:0000462"), ("SYMP:0000891", "SYMP:0000462")}
    assert "pyrexia" in {m.text for d in docs for m in d.mentions if m.concept_id == "SYMP:0000613"}
    assert rep.skipped["obsolete term"] == 2


def test_disease_ontology_fixture() -> None:
    docs, rep = _read(disease_ontology.read, CURATED / "do")
    names = _names(docs)
    assert names["DOID:4"] == "disease" and names["DOID:13241"] == "Behcet's disease"
    assert len([n for n in names if n.startswith("DOID:")]) == 10
    isa = _rels(docs, "IS_A")
    assert set(isa) == {("DOID:7", "DOID:4"), ("DOID:1287", "DOID:7"), ("DOID:114", "DOID:1287"), ("DOID:2914", "DOID:7"),
                        ("DOID:1205", "DOID:2914"), ("DOID:417", "DOID:2914"), ("DOID:13241", "DOID:417"),
                        ("DOID:13241", "DOID:865")}
    assert rep.skipped["parent label not found"] == 2  # vascular disease, extrinsic cardiomyopathy: not in the excerpt
    assert set(_rels(docs, "HAS_SYMPTOM")) == {("DOID:1205", "SYMP:0000900"), ("DOID:820", "SYMP:0000061"),
                                               ("DOID:13241", "SYMP:0000061"), ("DOID:865", "SYMP:0000061")}
    xrefs = disease_ontology.read_xrefs(CURATED / "do")
    assert {"OMIM:109650", "MESH:D001528", "SNOMEDCT:310701003", "UMLS:C0004943"} <= set(xrefs["DOID:13241"])
    assert any("OMIM:109650" in d.metadata["xrefs"].get("DOID:13241", []) for d in docs)


def test_hsdn_merges_mesh_diseases_of_one_doid() -> None:
    docs, rep = _read(hsdn.read, CURATED / "hsdn" / "symptoms-DO.tsv")
    assert [d.id for d in docs] == ["hsdn:DOID:3393", "hsdn:DOID:635"]
    rels = _rels(docs, "HAS_SYMPTOM")
    assert len(rels) == 6 and rep.merged == 3 and rep.rows == 9
    fever = rels[("DOID:3393", "MESH:D005334")]
    assert fever.properties["weight"] == pytest.approx(14.2355655425158)
    assert fever.properties["cooccurs"] == 23
    assert fever.properties["mesh_diseases"] == ["MESH:D003324", "MESH:D003327", "MESH:D017202"]
    assert _names(docs)["MESH:D005334"] == "Fever"


def test_pharmacotherapydb_skips_non_indications() -> None:
    docs, rep = _read(pharmacotherapydb.read, CURATED / "pharmacotherapydb")
    assert [d.id for d in docs] == ["pharmacotherapydb:DOID:10652", "pharmacotherapydb:DOID:9206"]
    treats = _rels(docs, "TREATS")
    assert len(treats) == 11 and rep.skipped["NOT: curated non-indication"] == 7
    assert treats[("DRUGBANK:DB00843", "DOID:10652")].properties["indication_type"] == "DM"
    assert treats[("DRUGBANK:DB00502", "DOID:10652")].properties["indication_type"] == "SYM"
    assert ("DRUGBANK:DB00190", "DOID:10652") not in treats  # Carbidopa: NOT


# -- DDInter -----------------------------------------------------------------------------------


def test_build_drug_index_prefers_primary_names_and_drops_ambiguous_synonyms() -> None:
    idx = ddinter.build_drug_index([
        ("DRUGBANK:DB1", "Insulin", ["humulin"]),
        ("DRUGBANK:DB2", "Insulin lispro", ["insulin", "humalog", "shared"]),
        ("DRUGBANK:DB3", "Other", ["shared"]),
    ])
    assert idx["insulin"] == ("DRUGBANK:DB1", "Insulin")
    assert idx["humalog"] == ("DRUGBANK:DB2", "Insulin lispro")
    assert "shared" not in idx


def test_ddinter_fixture_dedups_and_reports_unmapped() -> None:
    docs, rep = _read(ddinter.read, CURATED / "ddinter", drug_index=TINY_DRUGS)
    assert [d.id for d in docs] == ["ddinter:DDInter:000001", "ddinter:DDInter:000002", "ddinter:DDInter:000074",
                                    "ddinter:DDInter:000134"]
    rels = _rels(docs, "INTERACTS_WITH")
    assert rep.rows == 6 and rep.merged == 1 and len(rels) == 5
    assert rels[("DRUGBANK:DB00682", "DRUGBANK:DB00945")].properties == {"severity": "Major"}
    assert rels[("DRUGBANK:DB00338", "DRUGBANK:DB00682")].properties == {"severity": "Moderate"}
    assert rels[("DDINTER:DDInter887", "DRUGBANK:DB00284")].properties == {"severity": "Minor"}  # head id < tail id
    assert rep.unmapped == {"DDINTER:DDInter887": "Hydrocortisone (topical)"}
    names = _names(docs)
    assert names["DRUGBANK:DB00945"] == "Aspirin" and names["DDINTER:DDInter887"] == "Hydrocortisone (topical)"
    assert "Acetylsalicylic acid" in {m.text for d in docs for m in d.mentions if m.concept_id == "DRUGBANK:DB00945"}


def test_ddinter_default_index_uses_the_drug_vocabulary() -> None:
    docs, rep = _read(ddinter.read, CURATED / "ddinter", drug_index=default_drug_index())
    assert rep.unmapped == {"DDINTER:DDInter887": "Hydrocortisone (topical)"}
    assert ("DRUGBANK:DB00682", "DRUGBANK:DB00945") in _rels(docs, "INTERACTS_WITH")


# -- registry and errors -----------------------------------------------------------------------


def test_registry_and_licence_opt_in() -> None:
    assert set(CURATED_SOURCES) == {"hpo", "do", "symp", "hsdn", "common", "pharmacotherapydb", "pddi", "critical",
                                    "ddinter", "pddi-drugbank"}
    assert default_sources() == ["hpo", "do", "symp", "hsdn", "common", "pharmacotherapydb", "pddi", "critical"]
    assert CURATED_SOURCES["ddinter"].opt_in and "NC" in CURATED_SOURCES["ddinter"].licence
    with pytest.raises(LicenceNotAcceptedError, match="accept_noncommercial"):
        read_curated("ddinter", CURATED / "ddinter")
    with pytest.raises(UnknownSourceError, match="valid sources: hpo, do"):
        read_curated("drugbank")
    docs = list(read_curated("ddinter", CURATED / "ddinter", accept_noncommercial=True, drug_index=TINY_DRUGS))
    assert len(docs) == 4
    assert parse_paths(["symp=/x/symp.obo"]) == {"symp": Path("/x/symp.obo")}
    with pytest.raises(ValueError, match="SOURCE=PATH"):
        parse_paths(["symp"])


@pytest.mark.parametrize(
    ("reader", "path", "where", "what"),
    [
        (hpo.read_annotations, BROKEN / "phenotype.hpoa", "line 5", "unreadable frequency 'often'"),
        (disease_ontology.read, BROKEN / "do", "line 3", "expected 3 fields, got 2"),
        (ddinter.read, BROKEN / "ddinter_downloads_code_X.csv", "line 3", "Level 'Severe'"),
        (symptom_ontology.read, BROKEN / "symp.obo", "line 8", "exactly one id and one name"),
        (hsdn.read, BROKEN / "symptoms-DO.tsv", "line 2", "tfidf_score 'n/a'"),
        (pharmacotherapydb.read, BROKEN / "indications.tsv", "line 1", "header lacks column(s) category"),
    ],
)
def test_malformed_rows_name_file_and_line(reader, path: Path, where: str, what: str) -> None:  # type: ignore[no-untyped-def]
    kwargs = {"drug_index": TINY_DRUGS} if reader is ddinter.read else {}
    with pytest.raises(MalformedInputError) as info:
        list(reader(path, **kwargs))
    message = str(info.value)
    assert str(path if path.is_file() else path / "HumanDO.tsv") in message
    assert f":{where}" in message and what in message


def test_skip_mode_collects_bad_rows_and_keeps_good_ones() -> None:
    errors: list[RecordError] = []
    docs = list(hpo.read_annotations(BROKEN / "phenotype.hpoa", on_error=errors.append))
    assert [e.position for e in errors] == ["line 5"]
    assert [(r.tail_id, r.properties["frequency"]) for d in docs for r in d.relations] == [("HP:0000365", pytest.approx(1 / 7))]


# -- the load job on both stores ---------------------------------------------------------------

FIXTURE_PATHS = {name: CURATED / name for name in ("hpo", "do", "symp", "hsdn", "pharmacotherapydb", "ddinter")}


def _load(store: GraphStore):  # type: ignore[no-untyped-def]
    return load_curated(store, list(FIXTURE_PATHS), paths=FIXTURE_PATHS, accept_noncommercial=True,
                        reader_options={"ddinter": {"drug_index": TINY_DRUGS}}, batch_relations=40)


def test_load_curated_into_store_is_idempotent(store: GraphStore) -> None:
    first = _load(store)
    assert first.relations == {"HAS_SYMPTOM": 44 + 4 + 6, "LACKS_SYMPTOM": 2, "IS_A": 10 + 4 + 8,
                               "TREATS": 11, "INTERACTS_WITH": 5}
    assert first.unmapped == {"DDINTER:DDInter887": "Hydrocortisone (topical)"}
    stats = store.stats()
    assert stats["HAS_SYMPTOM"] == 54 and stats["LACKS_SYMPTOM"] == 2 and stats["IS_A"] == 22
    assert stats["TREATS"] == 11 and stats["INTERACTS_WITH"] == 5
    assert stats["Document"] == first.documents == 7 + 7 + 4 + 2 + 2 + 4  # hpo do symp hsdn pharmacotherapydb ddinter
    rows = store.query(
        "MATCH (d:Disease {id: $d})-[r:HAS_SYMPTOM]->(s:Symptom {id: $s}) RETURN r.frequency AS f, r.curated AS c, "
        "r.sources AS src, s.name AS name",
        {"d": "OMIM:300055", "s": "HP:0000252"},
    )
    assert rows == [{"f": pytest.approx(3 / 7), "c": True, "src": ["hpo"], "name": "Microcephaly"}]
    rows = store.query("MATCH (a:Drug {id: $a})-[r:INTERACTS_WITH]-(b:Drug {id: $b}) RETURN r.severity AS s",
                       {"a": "DRUGBANK:DB00945", "b": "DRUGBANK:DB00682"})
    assert rows == [{"s": "Major"}]
    second = _load(store)
    assert sum(s.write.documents_unchanged for s in second.sources) == first.documents
    assert sum(s.write.edges_written + s.write.evidence_created + s.write.nodes_created for s in second.sources) == 0
    assert store.stats() == stats


# -- CLI ---------------------------------------------------------------------------------------


def test_cli_refuses_ddinter_without_licence_flag(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["load-curated", "ddinter", "--db", str(tmp_path / "g.lbug"), "-q"])
    assert result.exit_code == 2
    assert "CC BY-NC-SA" in result.output and "--accept-noncommercial" in result.output
    assert not (tmp_path / "g.lbug").exists()  # refused before any store is opened


def test_cli_loads_a_source_and_writes_report(tmp_path: Path) -> None:
    args = ["load-curated", "symp", "pharmacotherapydb", "--path", f"symp={CURATED / 'symp'}",
            "--path", f"pharmacotherapydb={CURATED / 'pharmacotherapydb'}", "--db", str(tmp_path / "g.lbug"),
            "--report", str(tmp_path / "unmapped.tsv"), "-q"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "symp: 8 rows -> 4 documents, 4 IS_A" in result.output
    assert "TREATS 11" in result.output and "unmapped drug names: 0" in result.output
    assert (tmp_path / "unmapped.tsv").read_text() == "id\tname\tsource\n"


# -- full shared data (skips where absent) -----------------------------------------------------


def test_full_hpo_smoke() -> None:
    rep = LoadReport("hpo")
    docs = list(islice(hpo.read_annotations(report_to=rep), 200))
    assert len(docs) == 200 and all(d.relations for d in docs)
    hierarchy = list(hpo.read_hierarchy())
    assert 15_000 < len(_names(hierarchy)) < 25_000


def test_full_disease_ontology_symp_hsdn_pharmacotherapydb_smoke() -> None:
    _, rep = _read(disease_ontology.read, shared_data("knowledge", "disease_ontology"))
    assert rep.relations["IS_A"] > 12_000 and rep.relations["HAS_SYMPTOM"] == 2_222
    _, rep = _read(symptom_ontology.read, shared_data("knowledge", "symptom_ontology", "symp.obo"))
    assert 850 < rep.relations["IS_A"] < 1_000
    _, rep = _read(hsdn.read, shared_data("knowledge", "hsdn_symptom_disease", "symptoms-DO.tsv"))
    assert rep.rows == 10_465 and rep.relations["HAS_SYMPTOM"] == 10_246
    _, rep = _read(pharmacotherapydb.read, shared_data("knowledge", "pharmacotherapydb"))
    assert rep.relations["TREATS"] == 1_145 and rep.skipped["NOT: curated non-indication"] == 243


def test_full_ddinter_one_file_smoke() -> None:
    docs, rep = _read(ddinter.read, shared_data("knowledge", "ddinter", "ddinter_downloads_code_V.csv"),
                      drug_index=default_drug_index())
    assert rep.rows > 5_000 and rep.relations["INTERACTS_WITH"] > 5_000
    assert len(rep.unmapped) < 0.2 * len({m.concept_id for d in docs for m in d.mentions})


# -- public DDI lists (ONC, NDF-RT; DrugBank 4.0 opt-in) -------------------------------------------


def test_public_pddi_lists_map_to_one_severity_scale_and_say_who_said_what() -> None:
    from loaders.curated import public_pddi

    docs, rep = _read(public_pddi.read_public, CURATED / "pddi")
    rels = _rels(docs, "INTERACTS_WITH")
    moxi_cisapride = rels[("DRUGBANK:DB00218", "DRUGBANK:DB00604")]  # both row orders, two lists
    # ONC high priority beats NDF-RT Significant; each list's own grade is kept
    assert moxi_cisapride.properties == {"severity": "Major", "lists": {"ONC-HighPriority": "Major", "NDF-RT": "Moderate"}}
    assert moxi_cisapride.evidence_text == ("Moxifloxacin and Cisapride: ONC high-priority list (should interrupt): Major; "
                                            "VA NDF-RT: Moderate")
    severities = Counter(r.properties["severity"] for r in rels.values())
    assert severities == {"Major": 6, "Moderate": 1, "Minor": 3}
    assert rep.skipped["Drugbank rows (another registered source)"] == 5 and rep.merged == 1
    assert "Calcium Acetate" in {m.text for d in docs for m in d.mentions}
    docs, _ = _read(public_pddi.read_drugbank, CURATED / "pddi")
    assert {r.properties["severity"] for d in docs for r in d.relations} == {"Unknown"}


def test_public_pddi_maps_drugbank4_ids_missing_from_the_vocabulary_by_name() -> None:
    from loaders.curated import public_pddi

    index = default_drug_index()
    docs, rep = _read(public_pddi.read_drugbank, CURATED / "pddi", drug_index=index)
    pairs = set(_rels(docs, "INTERACTS_WITH"))
    # verapamil is DB00661 in DrugBank 4.0 and DB14063 in today's vocabulary; digoxin kept its id
    assert ("DRUGBANK:DB00390", "DRUGBANK:DB14063") in pairs
    assert not any("DRUGBANK:DB00661" in p for p in pairs)
    assert any("mapped to the vocabulary's id" in n for n in rep.notes)
    docs, _ = _read(public_pddi.read_drugbank, CURATED / "pddi")  # without an index: ids as given
    assert ("DRUGBANK:DB00390", "DRUGBANK:DB00661") in set(_rels(docs, "INTERACTS_WITH"))


def test_public_pddi_drugbank_rows_are_opt_in(store: GraphStore) -> None:
    from kg.jobs.curated_job import load_curated

    assert "pddi" in default_sources() and "pddi-drugbank" not in default_sources()
    with pytest.raises(LicenceNotAcceptedError, match="non-commercial"):
        load_curated(store, ["pddi-drugbank"], paths={"pddi-drugbank": CURATED / "pddi"})
    load_curated(store, ["pddi"], paths={"pddi": CURATED / "pddi"})
    assert store.stats()["INTERACTS_WITH"] == 10
    rows = store.query("MATCH (a:Drug {id: $a})-[r:INTERACTS_WITH]-(b:Drug {id: $b}) RETURN r.severity AS s, r.sources AS src",
                       {"a": "DRUGBANK:DB00218", "b": "DRUGBANK:DB00604"})
    assert rows == [{"s": "Major", "src": ["pddi"]}]
    load_curated(store, ["pddi-drugbank"], paths={"pddi-drugbank": CURATED / "pddi"}, accept_noncommercial=True)
    assert store.stats()["INTERACTS_WITH"] == 15


def test_documents_a_new_release_no_longer_has_are_retired(store: GraphStore, tmp_path: Path) -> None:
    """Re-loading a source whose release regroups (or drops) records leaves no stale support."""
    from kg.jobs.curated_job import load_curated

    full = tmp_path / "full"
    full.mkdir()
    (full / "merged_pddi_public_subset.tsv").write_bytes((CURATED / "pddi" / "merged_pddi_public_subset.tsv").read_bytes())
    load_curated(store, ["pddi"], paths={"pddi": full})
    before = store.stats()
    # the next "release" lacks the amiodarone/escitalopram row, the only pair of its bucket document
    lines = (full / "merged_pddi_public_subset.tsv").read_text(encoding="utf-8").splitlines(keepends=True)
    smaller = tmp_path / "smaller"
    smaller.mkdir()
    (smaller / "merged_pddi_public_subset.tsv").write_text(
        "".join(line for line in lines if "Escitalopram" not in line), encoding="utf-8")
    run = load_curated(store, ["pddi"], paths={"pddi": smaller})
    assert any("emptied" in n for n in run.sources[0].read.notes)
    rows = store.query("MATCH (a:Drug {id: $a})-[r:INTERACTS_WITH]-(b:Drug {id: $b}) RETURN r.severity AS s",
                       {"a": "DRUGBANK:DB01118", "b": "DRUGBANK:DB01175"})
    assert rows == [] and store.stats()["INTERACTS_WITH"] == before["INTERACTS_WITH"] - 1
    # idempotent: loading the same release again changes nothing
    again = load_curated(store, ["pddi"], paths={"pddi": smaller})
    assert again.sources[0].write.edges_written == 0 and not again.sources[0].read.notes
