"""The diagnosis prior, age/sex fit, can't-miss list and cross-vocabulary candidates, on both
stores: the HPO excerpt of tests/fixtures/diagnosis plus three common-disease profiles
(tests/fixtures/common_diseases) and a Disease Ontology xref statement, all written through the
normal curated write path."""

from __future__ import annotations

import math

import pytest

from kg.build import build_batch
from kg.diagnosis import DiagnosisIndex, rank_diagnoses
from kg.diagnosis.prior import AGE_OUTSIDE, DEFAULT_PER_100K, PRIOR_WEIGHT, SEX_MISMATCH
from kg.diagnosis.report import format_report
from kg.store.base import GraphStore
from loaders.curated import common_diseases, hpo
from loaders.curated._common import curated_document
from schema.records import ConceptProperties, EntityType
from tests.helpers import FIXTURES

AORTIC_ANEURYSM_DOID, OVARIAN_CANCER, MARFAN_DOID, MARFAN_OMIM = "DOID:3627", "DOID:2394", "DOID:14323", "OMIM:154700"
CHEST_PAIN, AORTIC_ANEURYSM, ABDOMINAL_DISTENTION, ASCITES = "HP:0100749", "HP:0004942", "HP:0003270", "HP:0001541"
ARACHNODACTYLY, ECTOPIA_LENTIS = "HP:0001166", "HP:0001083"


def _xrefs_document():  # type: ignore[no-untyped-def]
    """What the Disease Ontology reader states about Marfan syndrome's ids (a real xref row)."""
    return curated_document("do:test-xrefs", source="do", concepts=[
        ConceptProperties(label=EntityType.DISEASE, concept_id=MARFAN_DOID, properties={"xrefs": [MARFAN_OMIM, "MESH:D008382"]}),
    ])


@pytest.fixture
def index(store: GraphStore) -> DiagnosisIndex:
    docs = [*hpo.read(FIXTURES / "diagnosis"), *common_diseases.read(FIXTURES / "common_diseases"), _xrefs_document()]
    store.write(build_batch(docs, schema=store.schema))
    return DiagnosisIndex.from_store(store)


def _by_id(candidates, disease):  # type: ignore[no-untyped-def]
    return next((c for c in candidates if c.disease_id == disease or disease in c.same_as), None)


def test_profiles_reach_the_index(index: DiagnosisIndex) -> None:
    stats = index.stats()
    assert stats["with_prior"] >= 3 and stats["cant_miss"] == 1 and stats["grouped"] == 1
    pos = index.position(OVARIAN_CANCER)
    assert pos is not None
    p = index.profile(pos)
    assert (p.per_100k, p.basis, p.sex, p.age_min, p.age_max, p.cant_miss) == (10.0, "incidence", "female", 30, 120, False)


def test_prior_rule_and_its_contribution(index: DiagnosisIndex) -> None:
    report = rank_diagnoses(index, findings=[CHEST_PAIN, AORTIC_ANEURYSM], top_k=20)
    common = _by_id(report.candidates, AORTIC_ANEURYSM_DOID)
    assert common.prior.stated and common.prior.per_100k == 50
    assert common.prior.log_prior == pytest.approx(PRIOR_WEIGHT * math.log(50 / 100_000), abs=1e-6)
    rare = next(c for c in report.candidates if c.disease_id.startswith("OMIM:") and not c.same_as)
    assert not rare.prior.stated and rare.prior.per_100k == DEFAULT_PER_100K
    assert rare.prior.log_prior == pytest.approx(PRIOR_WEIGHT * math.log(DEFAULT_PER_100K / 100_000), abs=1e-6)
    for c in report.candidates:
        assert c.score == pytest.approx(c.log_likelihood + c.prior.log_prior + c.log_age_sex, abs=1e-5)
    assert [c.score for c in report.candidates] == sorted((c.score for c in report.candidates), reverse=True)
    # without the prior the same findings rank the common disease no higher than with it
    flat = rank_diagnoses(index, findings=[CHEST_PAIN, AORTIC_ANEURYSM], top_k=20, prior_weight=0.0)
    assert all(c.prior.log_prior == 0 for c in flat.candidates)
    assert common.rank <= _by_id(flat.candidates, AORTIC_ANEURYSM_DOID).rank
    assert report.candidates[0].disease_id == AORTIC_ANEURYSM_DOID


def test_sex_and_age_are_used_and_said(index: DiagnosisIndex) -> None:
    findings = [ABDOMINAL_DISTENTION, ASCITES]
    woman = _by_id(rank_diagnoses(index, findings=findings, age=60, sex="female").candidates, OVARIAN_CANCER)
    man = _by_id(rank_diagnoses(index, findings=findings, age=60, sex="male").candidates, OVARIAN_CANCER)
    girl = _by_id(rank_diagnoses(index, findings=findings, age=12, sex="female").candidates, OVARIAN_CANCER)
    assert woman.log_age_sex == 0 and any("female" in n and "fits" in n for n in woman.age_sex)
    assert man.log_age_sex == pytest.approx(math.log(SEX_MISMATCH), abs=1e-6)
    assert any("female" in n and "x0.02" in n for n in man.age_sex)
    assert girl.log_age_sex == pytest.approx(math.log(AGE_OUTSIDE), abs=1e-6)
    assert any("ages 30-120" in n and "12" in n for n in girl.age_sex)
    assert man.score < woman.score and girl.score < woman.score
    # no age or sex given: nothing applied, nothing said
    plain = _by_id(rank_diagnoses(index, findings=findings).candidates, OVARIAN_CANCER)
    assert plain.log_age_sex == 0 and plain.age_sex == ()


def test_cant_miss_is_listed_even_outside_the_top(index: DiagnosisIndex) -> None:
    report = rank_diagnoses(index, findings=[CHEST_PAIN, ARACHNODACTYLY, ECTOPIA_LENTIS], top_k=1)
    assert report.candidates[0].disease_id != AORTIC_ANEURYSM_DOID
    (serious,) = report.cant_miss
    assert serious.disease_id == AORTIC_ANEURYSM_DOID and serious.cant_miss
    assert [m.finding for m in serious.matched] == [CHEST_PAIN]
    text = format_report(report)
    assert "can't miss" in text and "aortic aneurysm" in text
    # nothing serious explains these findings: no can't-miss list
    assert rank_diagnoses(index, findings=[ABDOMINAL_DISTENTION]).cant_miss == ()


def test_one_candidate_per_disease_across_vocabularies(index: DiagnosisIndex) -> None:
    report = rank_diagnoses(index, findings=[ARACHNODACTYLY, ECTOPIA_LENTIS], top_k=50)
    marfan = [c for c in report.candidates if {c.disease_id, *c.same_as} & {MARFAN_DOID, MARFAN_OMIM}]
    assert len(marfan) == 1
    (c,) = marfan
    assert {c.disease_id, *c.same_as} == {MARFAN_DOID, MARFAN_OMIM}
    assert c.rank == 1
    # the prior is the DOID's own: no member lends or borrows a profile
    doid_pos, omim_pos = index.position(MARFAN_DOID), index.position(MARFAN_OMIM)
    assert index.profile(doid_pos).per_100k == 20 and index.profile(omim_pos).per_100k is None
    assert (c.prior.per_100k == 20) == (c.disease_id == MARFAN_DOID)
    ids = [x.disease_id for x in report.candidates]
    assert len(ids) == len(set(ids))
    assert sum(x.posterior for x in report.candidates) <= 1 + 1e-6


def test_reloading_the_profiles_is_a_no_op_and_a_changed_row_replaces_them(store: GraphStore, tmp_path) -> None:  # type: ignore[no-untyped-def]
    docs = list(common_diseases.read(FIXTURES / "common_diseases"))
    store.write(build_batch([*docs, _xrefs_document()], schema=store.schema))
    again = store.write(build_batch([*common_diseases.read(FIXTURES / "common_diseases"), _xrefs_document()],
                                    schema=store.schema))
    assert again.documents_unchanged == len(docs) + 1 and again.evidence_created == 0
    assert again.nodes_updated == 0 and again.nodes_created == 0
    query = ("MATCH (d:Disease {id: $id}) RETURN d.prevalence_per_100k AS p, d.typical_sex AS s, "
             "d.cant_miss AS c, d.xrefs AS x")
    assert store.query(query, {"id": OVARIAN_CANCER}) == [{"p": 10.0, "s": "female", "c": False, "x": None}]
    assert store.query(query, {"id": MARFAN_DOID})[0]["x"] == ["MESH:D008382", MARFAN_OMIM]
    # a new release of the table: ovarian cancer's row now says sex 'any' and another rate
    folder = tmp_path / "common"
    folder.mkdir()
    for name in (common_diseases.DISEASES_FILE, common_diseases.FINDINGS_FILE):
        text = (FIXTURES / "common_diseases" / name).read_text()
        (folder / name).write_text(text.replace("DOID:2394\tovarian cancer\t10\tincidence\tfemale",
                                                "DOID:2394\tovarian cancer\t12\tincidence\tany"))
    changed = store.write(build_batch(list(common_diseases.read(folder)), schema=store.schema))
    assert changed.documents_replaced == 1
    assert store.query(query, {"id": OVARIAN_CANCER}) == [{"p": 12.0, "s": None, "c": False, "x": None}]


def test_loose_xrefs_do_not_merge_different_diseases() -> None:
    from kg.diagnosis import Annotation
    from kg.diagnosis.prior import Profile

    index = DiagnosisIndex.from_annotations(
        [Annotation("DOID:3393", CHEST_PAIN, 0.9), Annotation("OMIM:614293", "HP:0000001", 0.9),
         Annotation("OMIM:999", CHEST_PAIN, 0.5)],
        disease_names={"DOID:3393": "coronary artery disease", "OMIM:614293": "Hydatidiform mole, recurrent, 2",
                       "OMIM:999": "Coronary artery disease, autosomal dominant 1"},
        profiles={"DOID:3393": Profile(per_100k=5000, cant_miss=True)},
        xrefs={"DOID:3393": ["OMIM:614293", "OMIM:999"]},
    )
    cad, mole, adcad = (index.position(d) for d in ("DOID:3393", "OMIM:614293", "OMIM:999"))
    assert index.group[mole] == mole  # a wrong xref (a different disease's name) is not followed
    assert index.group[adcad] == index.group[cad]
    assert index.profile(mole).per_100k is None and not index.profile(adcad).cant_miss


def test_read_only_store_of_an_older_schema_ranks_without_profiles(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import ladybug

    from kg.diagnosis.cache import cached_index
    from kg.store.ladybug_store import LadybugStore
    from schema.compile import ladybug_ddl
    from schema.model import load_schema

    schema = load_schema()
    disease = schema.nodes["Disease"]
    old_disease = disease.model_copy(update={"properties": {k: v for k, v in disease.properties.items()
                                                           if k in ("name", "synonyms", "sources")}})
    old_schema = schema.model_copy(update={"nodes": {**schema.nodes, "Disease": old_disease}})
    path = tmp_path / "old.lbug"
    db = ladybug.Database(str(path))
    conn = ladybug.Connection(db)
    for stmt in ladybug_ddl(old_schema):
        conn.execute(stmt)
    conn.execute("CREATE (:Disease {id: 'OMIM:154700', name: 'Marfan syndrome'}), (:Symptom {id: 'HP:0001166', name: 'Arachnodactyly'})")
    conn.execute("MATCH (d:Disease), (s:Symptom) CREATE (d)-[:HAS_SYMPTOM {frequency: 0.9, curated: true, "
                 "evidence_count: 1, best_score: 1.0, sources: ['hpo']}]->(s)")
    conn.close()
    db.close()
    store = LadybugStore(path, read_only=True)
    try:
        index, from_cache = cached_index(store, directory=tmp_path / "cache")
        assert index.profiles_missing and not from_cache
        assert not list((tmp_path / "cache").glob("*.pickle"))  # the reduced index is not kept
        report = rank_diagnoses(index, findings=[ARACHNODACTYLY])
        assert report.candidates[0].disease_id == "OMIM:154700"
        assert any("predates disease profiles" in n for n in report.notes)
    finally:
        store.close()


def test_a_finding_weighs_the_same_whichever_vocabulary_annotates_it() -> None:
    from kg.diagnosis import Annotation

    anns = [Annotation(f"OMIM:{i}", "HP:0001945", 0.5) for i in range(1, 6)]
    anns += [Annotation("DOID:1", "SYMP:0000613", 0.5), Annotation("DOID:2", "HP:0002094", 0.5)]
    index = DiagnosisIndex.from_annotations(anns, symptom_names={"HP:0001945": "Fever", "SYMP:0000613": "fever",
                                                                  "HP:0002094": "Dyspnea"})
    report = rank_diagnoses(index, findings=["HP:0001945"], top_k=10)
    lrs = {c.disease_id: c.log_likelihood for c in report.candidates}
    assert set(lrs) == {"OMIM:1", "OMIM:2", "OMIM:3", "OMIM:4", "OMIM:5", "DOID:1"}
    assert lrs["DOID:1"] == pytest.approx(lrs["OMIM:1"])  # SYMP's one annotation is no rarer than HPO's five


def test_a_disease_described_through_its_subtypes_takes_their_findings(store: GraphStore) -> None:
    """Along the disease hierarchy (Disease Ontology IS_A, read from the store): a disease with
    fewer than five findings of its own (DO's *diabetes mellitus*: two) takes its subtypes'
    findings as their mixture, each subtype weighted by its stated prevalence; lent findings do
    not count in the background. A disease described well enough on its own takes nothing, a
    subtype does not take its parent's findings, and without the hierarchy nothing moves."""
    from kg.diagnosis.index import MIN_OWN_FINDINGS, SUBTYPE_SOURCE, Annotation
    from loaders.curated._common import name_mentions, relation

    dm, t2, t1, htn, ess = "DOID:9351", "DOID:9352", "DOID:9744", "DOID:10763", "DOID:10825"
    hp_dm, polyuria, polydipsia, weight_loss = "HP:0000819", "HP:0000103", "HP:0001959", "HP:0001824"
    hp_htn, headache, epistaxis = "HP:0000822", "HP:0002315", "HP:0000421"
    names = {dm: "diabetes mellitus", t2: "type 2 diabetes mellitus", t1: "type 1 diabetes mellitus",
             htn: "hypertension", ess: "essential hypertension"}
    symptoms = {hp_dm: "Diabetes mellitus", polyuria: "Polyuria", polydipsia: "Polydipsia", epistaxis: "Epistaxis",
                weight_loss: "Weight loss", hp_htn: "Hypertension", headache: "Headache",
                "HP:0001250": "Seizure", "HP:0001251": "Ataxia"}
    D, S = EntityType.DISEASE, EntityType.SYMPTOM
    has = [(dm, hp_dm, None), (t2, polyuria, 0.8), (t2, polydipsia, 0.7), (t1, polyuria, 0.9), (t1, weight_loss, 0.6),
           (htn, headache, 0.3), (htn, "HP:0001250", 0.1), (htn, "HP:0001251", 0.1), (htn, polyuria, 0.1),
           (ess, headache, 0.4), (ess, epistaxis, 0.2)]
    doc = curated_document(
        "test:hierarchy", source="test",
        mentions=[m for cid, n in names.items() for m in name_mentions(D, cid, n, source="test")]
        + [m for cid, n in symptoms.items() for m in name_mentions(S, cid, n, source="test")],
        relations=[relation("IS_A", (c, D), (p, D), source="test") for c, p in ((t2, dm), (t1, dm), (ess, htn))]
        + [relation("HAS_SYMPTOM", (d, D), (s, S), source="test", properties={"frequency": f}) for d, s, f in has],
        concepts=[ConceptProperties(label=D, concept_id=t2, properties={"prevalence_per_100k": 9000.0}),
                  ConceptProperties(label=D, concept_id=t1, properties={"prevalence_per_100k": 500.0})],
    )
    store.write(build_batch([doc], schema=store.schema))
    index = DiagnosisIndex.from_store(store)

    def edges(disease: str):  # type: ignore[no-untyped-def]
        return index.annotations[index.position(disease)]

    mixed = edges(dm)
    assert mixed[hp_dm].sources == ("test",)  # its own stands
    assert mixed[polyuria].sources == (SUBTYPE_SOURCE,)
    assert mixed[polyuria].frequency == pytest.approx((9000 * 0.8 + 500 * 0.9) / 9500)
    assert mixed[polydipsia].frequency == pytest.approx(9000 * 0.7 / 9500)
    assert mixed[weight_loss].frequency == pytest.approx(500 * 0.6 / 9500)
    # hypertension has exactly MIN_OWN_FINDINGS findings (its defining one included): nothing lent
    assert len(edges(htn)) == MIN_OWN_FINDINGS and epistaxis not in edges(htn)
    assert not any(e.sources == (SUBTYPE_SOURCE,) for d in (htn, t2, t1, ess) for e in edges(d).values())
    # the background counts the diseases a source describes: polydipsia is type 2 diabetes' alone
    assert index.ic(polydipsia) == pytest.approx(index.ic(epistaxis))
    report = rank_diagnoses(index, findings=[polyuria, polydipsia], top_k=10)
    parent = _by_id(report.candidates, dm)
    assert parent is not None and {m.provenance.sources for m in parent.matched} == {(SUBTYPE_SOURCE,)}

    plain = DiagnosisIndex.from_annotations(
        [Annotation(disease=d, symptom=s, frequency=f) for d, s, f in has], symptom_names=symptoms, disease_names=names)
    assert polyuria not in plain.annotations[plain.position(dm)]
