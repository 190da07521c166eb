"""Interaction check on both stores, with graphs built through the normal write path.

Curated facts: a handful of real DDInter rows (``../shared/data/knowledge/ddinter``, CC BY-NC-SA
4.0), transcribed with their DDInter ids and levels and mapped to DrugBank ids, as the curated
loader writes them (one curated Document per record). Extracted fact: the cimetidine/altretamine
``mechanism`` pair of the DDI-2013 Train fixture sentence (tests/fixtures/ddi2013), as the
relation extractor would write it (model score, evidence sentence). Names are resolved with the
real default linking KB (drug dictionary + train aliases), as in extraction.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from extractors.corpora.ddi import read_ddi
from kg.build import build_batch
from kg.cli import app
from kg.interactions.drug_names import DrugClasses, auto_fuzziness, edit_distance, is_typo, strip_dose
from kg.interactions import (
    CLASS_CONFIDENCE,
    MODEL_SEVERITY,
    DrugResolver,
    InteractionInputError,
    InteractionReport,
    ResolvedDrug,
    UnknownPatientError,
    UnresolvedDrug,
    check_interactions,
    format_report,
    normalize_severity,
)
from schema.records import Document, EntityType, Mention, Relation
from kg.store.base import GraphStore
from kg.store.ladybug_store import LadybugStore
from tests.helpers import FIXTURES

WARFARIN, ASPIRIN, OMEPRAZOLE, ESOMEPRAZOLE = "DRUGBANK:DB00682", "DRUGBANK:DB00945", "DRUGBANK:DB00338", "DRUGBANK:DB00736"
SIMVASTATIN, CLOPIDOGREL = "DRUGBANK:DB00641", "DRUGBANK:DB00758"
CIMETIDINE, ALTRETAMINE = "DRUGBANK:DB00501", "DRUGBANK:DB00488"
CRANBERRY = "DDINTER:DDInter446"  # not in the drug vocabulary: kept under its DDInter id

# DDInterID_A, Drug_A, DDInterID_B, Drug_B, Level (verbatim rows) -> DrugBank ids
DDINTER_ROWS = [
    (("DDInter1951", "Warfarin", WARFARIN), ("DDInter20", "Acetylsalicylic acid", ASPIRIN), "Major"),
    (("DDInter1340", "Omeprazole", OMEPRAZOLE), ("DDInter1951", "Warfarin", WARFARIN), "Moderate"),
    (("DDInter1675", "Simvastatin", SIMVASTATIN), ("DDInter1951", "Warfarin", WARFARIN), "Minor"),
    (("DDInter1340", "Omeprazole", OMEPRAZOLE), ("DDInter413", "Clopidogrel", CLOPIDOGREL), "Major"),
    (("DDInter1951", "Warfarin", WARFARIN), ("DDInter446", "Cranberry", CRANBERRY), "Moderate"),
]
RE_MODEL = "re-minilm-test"
RE_SCORE = 0.87


def ddinter_documents() -> list[Document]:
    docs = []
    for (ida, name_a, a), (idb, name_b, b), level in DDINTER_ROWS:
        docs.append(Document(
            id=f"ddinter:{ida}-{idb}", source_format="ddinter", kind="curated",
            mentions=tuple(Mention(label=EntityType.DRUG, text=n, concept_id=c, concept_name=n, source="ddinter")
                           for n, c in ((name_a, a), (name_b, b))),
            relations=(Relation(type="INTERACTS_WITH", head_id=a, head_label="Drug", tail_id=b, tail_label="Drug",
                                score=1.0, source="ddinter", curated=True, properties={"severity": level}),),
        ))
    return docs


def ddi_sentence_document() -> Document:
    """The DDI-2013 fixture sentence with its gold cimetidine/altretamine mechanism pair, as an
    extracted relation (model name and score, evidence sentence)."""
    doc = read_ddi(FIXTURES / "ddi2013" / "Train" / "DrugBank" / "Altretamine_ddi.xml")
    sentence = doc.sentences[0]
    ents = {e.id: e for e in sentence.entities}
    pair = next(p for p in sentence.pairs if p.ddi and p.type == "mechanism")
    e1, e2 = ents[pair.e1], ents[pair.e2]
    assert (e1.text, e2.text) == ("Cimetidine", "altretamine")
    return Document(
        id=sentence.id, source_format="ddi2013", text=sentence.text,
        mentions=(
            Mention(label=EntityType.DRUG, text=e1.text, start=e1.start, end=e1.end, concept_id=CIMETIDINE,
                    concept_name="Cimetidine", score=0.99, source=RE_MODEL),
            Mention(label=EntityType.DRUG, text=e2.text, start=e2.start, end=e2.end, concept_id=ALTRETAMINE,
                    concept_name="Altretamine", score=0.98, source=RE_MODEL),
        ),
        relations=(Relation(type="INTERACTS_WITH", head_id=CIMETIDINE, head_label="Drug", tail_id=ALTRETAMINE,
                            tail_label="Drug", score=RE_SCORE, source=RE_MODEL, model=RE_MODEL,
                            evidence_text=sentence.text, evidence_start=0, evidence_end=len(sentence.text),
                            properties={"interaction_type": pair.type}),),
    )


def patient_document() -> Document:
    """A FHIR-like record: RxNorm-coded medications (Synthea's codes and display names)."""
    meds = [("RXNORM:855332", "Warfarin Sodium 5 MG Oral Tablet"), ("RXNORM:243670", "aspirin 81 MG Oral Tablet")]
    return Document(
        id="fhir:Patient/pat-demo-1", source_format="fhir", kind="record", patient_id="pat-demo-1",
        mentions=tuple(Mention(label=EntityType.DRUG, text=n, concept_id=c, concept_name=n, source="fhir") for c, n in meds),
    )


@pytest.fixture(scope="module")
def resolver() -> DrugResolver:
    return DrugResolver().warm()


@pytest.fixture
def graph(store: GraphStore) -> Iterator[GraphStore]:
    store.write(build_batch([*ddinter_documents(), ddi_sentence_document(), patient_document()]))
    yield store


def pair_ids(report: InteractionReport) -> list[frozenset[str]]:
    return [frozenset((x.drug_a.id, x.drug_b.id)) for x in report.interactions]


# -- resolution -----------------------------------------------------------------------------------


def test_resolves_generic_brand_misspelling_and_curie(resolver: DrugResolver) -> None:
    out = resolver.resolve(["warfarin", "Coumadin", "warfrin", "drugbank:db00945", "MESH:D014859", "Tylenol 500 mg"])
    assert all(isinstance(r, ResolvedDrug) for r in out), out
    got = [(r.curie, r.method) for r in out if isinstance(r, ResolvedDrug)]
    assert got == [(WARFARIN, "exact"), (WARFARIN, "exact"), (WARFARIN, "fuzzy"), (ASPIRIN, "curie"),
                   ("MESH:D014859", "curie"), ("DRUGBANK:DB00316", "exact")]
    assert out[2].score < resolver.linker.threshold  # accepted by the typo rule, not the cosine threshold
    assert WARFARIN in out[4].equivalent_ids  # MeSH id searched under its DrugBank equivalent too


def test_garbage_and_non_drug_curies_are_unresolved_with_reasons(resolver: DrugResolver) -> None:
    xyzzy, hp, bad_db = resolver.resolve(["xyzzy", "HP:0001945", "DRUGBANK:DB1"])
    # no far-fetched suggestion: "Levocetirizine" is 3-gram-close to "xyzzy" but not edit-close
    assert isinstance(xyzzy, UnresolvedDrug) and not xyzzy.suggestions and "threshold" in xyzzy.reason
    assert isinstance(hp, UnresolvedDrug) and "'HP' is not a Drug prefix" in hp.reason
    assert isinstance(bad_db, UnresolvedDrug) and "malformed DrugBank id" in bad_db.reason


def test_exact_name_wins_over_a_variant_alias(resolver: DrugResolver) -> None:
    r = resolver.resolve_one("escitalopram")
    assert isinstance(r, ResolvedDrug) and r.curie == "DRUGBANK:DB01175" and "DRUGBANK:DB00215" in r.alternatives


def test_typo_rule_pure_functions() -> None:
    assert [auto_fuzziness(n) for n in (2, 3, 5, 6, 12)] == [0, 1, 1, 2, 2]
    assert edit_distance("warfrin", "warfarin") == 1 and edit_distance("asprin", "aspirin") == 1
    assert edit_distance("abcd", "abdc") == 1  # adjacent transposition
    assert edit_distance("xyzzy", "xyzal") == 2 and edit_distance("kitten", "sitting", limit=1) == 2
    assert is_typo("warfrin", "warfarin") and not is_typo("xyzzy", "xyzal") and not is_typo("ab", "ac")
    assert strip_dose("Warfarin Sodium 5 MG Oral Tablet") == "Warfarin Sodium" and strip_dose("5 mg") == "5 mg"
    assert [normalize_severity(v) for v in ("major", "MODERATE", None, "weird")] == ["Major", "Moderate", None, "Unknown"]


def test_drug_classes_use_parent_and_own_tree_nodes() -> None:
    classes = DrugClasses({"A": ["D03.383.725.024.500"], "B": ["D03.383.725.024.500.500"],
                           "C": ["D03.383.725.024.100"], "D": ["D04.615.638.400"], "E": ["D04.615.638.472"]})
    assert classes.shared(["A"], ["B"])[0] == "D03.383.725.024.500"  # B is a derivative of A
    assert classes.shared(["A"], ["C"]) == ["D03.383.725.024"]  # siblings
    assert classes.shared(["D"], ["E"]) == []  # only a depth-3 family in common: too broad
    assert classes.members("D03.383.725.024") == {"A", "C"}


# -- the check on both stores -------------------------------------------------------------------------


def test_known_pairs_get_curated_severity_and_evidence(graph: GraphStore, resolver: DrugResolver) -> None:
    report = check_interactions(graph, ["warfarin", "aspirin", "omeprazole"], resolver=resolver)
    assert pair_ids(report) == [frozenset((WARFARIN, ASPIRIN)), frozenset((WARFARIN, OMEPRAZOLE))]
    major, moderate = report.interactions
    assert (major.severity, major.severity_basis, major.curated, major.confidence) == ("Major", "curated", True, 1.0)
    assert major.sources == ("ddinter",) and major.evidence_count == 1
    assert [e.doc_id for e in major.evidence] == ["ddinter:DDInter1951-DDInter20"] and major.evidence[0].curated
    assert moderate.severity == "Moderate" and moderate.evidence[0].doc_id == "ddinter:DDInter1340-DDInter1951"
    assert report.unresolved == () and report.duplicates == () and report.not_in_graph == ()


def test_extracted_only_pair_gets_model_severity_and_sentence(graph: GraphStore, resolver: DrugResolver) -> None:
    report = check_interactions(graph, ["cimetidine", "Hexalen"], resolver=resolver)
    (x,) = report.interactions
    assert {x.drug_a.id, x.drug_b.id} == {CIMETIDINE, ALTRETAMINE}
    assert (x.severity, x.severity_basis, x.curated) == (MODEL_SEVERITY, "model", False)
    assert x.confidence == pytest.approx(RE_SCORE) and x.interaction_type == "mechanism"
    (ev,) = x.evidence
    assert ev.doc_id == "DDI-DrugBank.d188.s0" and ev.source == RE_MODEL and not ev.curated
    assert ev.text is not None and "increased altretamines half-life" in ev.text


def test_sorted_by_severity_then_confidence(graph: GraphStore, resolver: DrugResolver) -> None:
    report = check_interactions(graph, ["simvastatin", "cimetidine", "warfarin", "altretamine", "omeprazole", "aspirin"],
                                resolver=resolver)
    got = [(x.tier, x.severity, x.severity_basis) for x in report.interactions]
    assert got == [("interrupt", "Major", "curated"), ("warn", "Moderate", "curated"), ("warn", "Moderate", "model")]
    # Minor is not an alert: it is folded into "also documented", not dropped
    assert [(x.tier, x.severity) for x in report.also_documented] == [("info", "Minor")]


def test_names_only_the_graph_knows_resolve_to_their_nodes(graph: GraphStore, resolver: DrugResolver) -> None:
    assert isinstance(resolver.resolve_one("Cranberry"), UnresolvedDrug)  # the linker's vocabulary lacks it
    report = check_interactions(graph, ["warfarin", "cranberry"], resolver=resolver)
    assert [(r.curie, r.method) for r in report.resolved] == [(WARFARIN, "exact"), (CRANBERRY, "graph_name")]
    assert report.unresolved == () and [x.severity for x in report.interactions] == ["Moderate"]


def test_duplicates_are_reported_and_checked_once(graph: GraphStore, resolver: DrugResolver) -> None:
    report = check_interactions(graph, ["Coumadin", "aspirin", "warfarin", WARFARIN], resolver=resolver)
    (dup,) = report.duplicates
    assert dup.curie == WARFARIN and dup.inputs == ("Coumadin", "warfarin", WARFARIN)
    assert pair_ids(report) == [frozenset((WARFARIN, ASPIRIN))]
    assert len(report.resolved) == 4


def test_evidence_switches(graph: GraphStore, resolver: DrugResolver) -> None:
    off = check_interactions(graph, ["warfarin", "aspirin"], resolver=resolver, include_evidence=False)
    assert off.interactions[0].evidence == () and off.interactions[0].evidence_count == 1
    with pytest.raises(InteractionInputError, match="max_evidence"):
        check_interactions(graph, ["warfarin"], resolver=resolver, max_evidence=-1)


def test_class_alerts_are_inferred_and_lower_confidence(graph: GraphStore, resolver: DrugResolver) -> None:
    report = check_interactions(graph, ["esomeprazole", "clopidogrel"], resolver=resolver)
    assert report.interactions == ()  # no stored edge for this pair
    (alert,) = report.class_alerts
    assert alert.kind == "class_interaction" and alert.inferred and alert.severity == "Major"
    assert alert.via is not None and alert.via.id == OMEPRAZOLE and alert.confidence == CLASS_CONFIDENCE
    assert {alert.drug_a.id, alert.drug_b.id} == {ESOMEPRAZOLE, CLOPIDOGREL}
    same = check_interactions(graph, ["omeprazole", "esomeprazole"], resolver=resolver)
    assert [a.kind for a in same.class_alerts] == ["same_class"]
    both = check_interactions(graph, ["omeprazole", "esomeprazole", "clopidogrel"], resolver=resolver)
    assert [(x.drug_a.id, x.severity) for x in both.interactions] == [(OMEPRAZOLE, "Major")]
    assert [(a.kind, a.drug_a.id, a.drug_b.id) for a in both.class_alerts] == [
        ("class_interaction", ESOMEPRAZOLE, CLOPIDOGREL), ("same_class", OMEPRAZOLE, ESOMEPRAZOLE)]
    assert same.class_alerts[0].class_id.startswith("MESH_TREE:D0")


def test_patient_mode_uses_takes_edges(graph: GraphStore, resolver: DrugResolver) -> None:
    report = check_interactions(graph, patient_id="pat-demo-1", resolver=resolver)
    assert {r.curie for r in report.resolved} == {"RXNORM:855332", "RXNORM:243670"}
    assert all(r.method == "patient" for r in report.resolved)
    (x,) = report.interactions  # found under the DrugBank ids the RxNorm names link to
    assert x.severity == "Major" and x.curated and set(x.graph_ids) == {(WARFARIN, ASPIRIN)}
    plus = check_interactions(graph, ["omeprazole"], patient_id="pat-demo-1", resolver=resolver)
    assert [x.severity for x in plus.interactions] == ["Major", "Moderate"]


def test_unknown_patient_is_a_clear_error(graph: GraphStore, resolver: DrugResolver) -> None:
    with pytest.raises(UnknownPatientError, match="unknown patient id"):
        check_interactions(graph, patient_id="nobody", resolver=resolver)
    with pytest.raises(UnknownPatientError):
        check_interactions(graph, patient_id="x' OR 1=1 WITH p MATCH (n) DETACH DELETE n //", resolver=resolver)
    with pytest.raises(InteractionInputError, match="patient id"):
        check_interactions(graph, patient_id="p" * 500, resolver=resolver)


def test_hostile_inputs_never_reach_cypher_as_code(graph: GraphStore, resolver: DrugResolver) -> None:
    before = graph.stats()
    hostile = [
        "warfarin' OR '1'='1",
        '"}) MATCH (n) DETACH DELETE n //',
        "LOCAL:x'})-[:TAKES]->(n)DETACH_DELETE",
        "DRUGBANK:DB00682'}) RETURN 1 //",
        "aspirin\x00",
        "x" * 10_000,
        "   ",
        "Ωμέγα ☠",
    ]
    report = check_interactions(graph, hostile, resolver=resolver)
    assert len(report.resolved) + len(report.unresolved) == len(hostile)
    # the linker folds punctuation and control characters away: these two are still the drugs
    assert {r.input: r.curie for r in report.resolved if r.method != "curie"} == {
        "warfarin' OR '1'='1": WARFARIN, "aspirin\x00": ASPIRIN}
    assert pair_ids(report) == [frozenset((WARFARIN, ASPIRIN))]
    assert "LOCAL:x'})-[:TAKES]->(n)DETACH_DELETE" in report.not_in_graph  # a CURIE-shaped string: a parameter
    assert any("longer than" in u.reason for u in report.unresolved)
    assert graph.stats() == before
    with pytest.raises(InteractionInputError, match="nothing to check"):
        check_interactions(graph, [], resolver=resolver)
    with pytest.raises(InteractionInputError, match="not one string"):
        check_interactions(graph, "warfarin", resolver=resolver)  # type: ignore[arg-type]
    with pytest.raises(InteractionInputError, match="at most"):
        check_interactions(graph, ["aspirin"] * 1000, resolver=resolver)


def test_format_report_lists_everything(graph: GraphStore, resolver: DrugResolver) -> None:
    text = format_report(check_interactions(graph, ["warfarin", "Coumadin", "aspirin", "simvastatin", "xyzzy",
                                                    "ommeprazzolle"], resolver=resolver))
    assert "Major" in text and "Warfarin + Aspirin" in text and "ddinter:DDInter1951-DDInter20" in text
    assert "SHOULD INTERRUPT" in text and "ALSO DOCUMENTED" in text and "why: Major (interrupt): ddinter: Major" in text
    assert text.index("SHOULD INTERRUPT") < text.index("ALSO DOCUMENTED")
    assert "duplicates" in text and "'xyzzy'" in text and "did you mean Omeprazole" in text


def test_cli_interactions(tmp_path, resolver: DrugResolver) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "g.lbug"
    with LadybugStore(path) as st:
        st.write(build_batch([*ddinter_documents(), ddi_sentence_document()]))
    runner = CliRunner()
    result = runner.invoke(app, ["interactions", "warfarin", "aspirin", "xyzzy", "--db", str(path)])
    assert result.exit_code == 0, result.output
    assert "Major" in result.output and "unresolved" in result.output
    result = runner.invoke(app, ["interactions", "--patient", "nobody", "--db", str(path)])
    assert result.exit_code == 2 and "unknown patient id" in result.output
    result = runner.invoke(app, ["interactions", "warfarin", "omeprazole", "--json", "--db", str(path)])
    assert result.exit_code == 0 and '"severity": "Moderate"' in result.output
