"""Relation extraction: markers, candidates, a tiny real training run, save/load, the shipped model."""

from __future__ import annotations

from pathlib import Path

import pytest

from extractors.relations import (
    DEFAULT_RE_MODEL,
    TASKS,
    CandidateError,
    EntitySpan,
    RelationCandidate,
    RelationModel,
    RelationPrediction,
    candidate_pairs,
    edge_for,
    mark_entities,
)
from extractors.relations.data import ade_set, bc5cdr_set, ddi_set
from extractors.relations.model import encode_candidates
from extractors.relations.train import TrainConfig, evaluate_re, train_re
from tests.helpers import FIXTURES

DDI = FIXTURES / "ddi2013" / "Train"


def cand(text: str, head: tuple[int, int], tail: tuple[int, int], *, labels: tuple[str, str] = ("Drug", "Drug"),
         task: str = "ddi") -> RelationCandidate:
    return RelationCandidate(text, head[0], head[1], labels[0], tail[0], tail[1], labels[1], task)


# --- markers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "head", "tail"),
    [
        ("Aspirin potentiates warfarin", (0, 7), (20, 28)),  # sentence start and end
        ("warfarin is potentiated by aspirin", (27, 34), (0, 8)),  # tail before head
        ("aspirinwarfarin", (0, 7), (7, 15)),  # adjacent, no space
        ("x aspirin warfarin y", (2, 9), (10, 18)),
    ],
)
def test_markers_map_entity_offsets_exactly(text: str, head: tuple[int, int], tail: tuple[int, int]) -> None:
    c = cand(text, head, tail)
    m = mark_entities(c)
    assert m.text[slice(*m.head)] == c.head_text
    assert m.text[slice(*m.tail)] == c.tail_text
    assert m.text[m.head_marker : m.head_marker + 11] == "@ * drug * "
    assert m.text[m.tail_marker : m.tail_marker + 11] == "# ^ drug ^ "
    assert m.text[m.head[1] : m.head[1] + 2] == " @"
    assert m.text[m.tail[1] : m.tail[1] + 2] == " #"
    # removing the markers gives back the original text
    stripped = m.text
    for piece in ("@ * drug * ", " @", "# ^ drug ^ ", " #"):
        stripped = stripped.replace(piece, "", 1)
    assert stripped == text


def test_adjacent_entities_close_before_they_open() -> None:
    m = mark_entities(cand("aspirinwarfarin", (0, 7), (7, 15)))
    assert m.text == "@ * drug * aspirin @# ^ drug ^ warfarin #"


def test_nested_entities_nest_their_markers() -> None:
    c = cand("Codeine intoxication in the neonate.", (0, 7), (0, 20), labels=("Drug", "Disease"), task="adverse_effect")
    m = mark_entities(c)
    assert m.text == "# ^ disease ^ @ * drug * Codeine @ intoxication # in the neonate."
    assert m.text[slice(*m.head)] == "Codeine"
    assert m.text[m.head_marker] == "@" and m.text[m.tail_marker] == "#"


def test_candidate_validation() -> None:
    with pytest.raises(CandidateError, match=r"tail span 5\.\.40 is empty or outside the text \(10 characters\)"):
        cand("0123456789", (0, 2), (5, 40))
    with pytest.raises(CandidateError, match="same span"):
        cand("0123456789", (0, 2), (0, 2))
    with pytest.raises(CandidateError, match="head_label 'Gene' is not one of Disease, Drug, Symptom"):
        cand("0123456789", (0, 2), (3, 4), labels=("Gene", "Drug"))


# --- candidates ---------------------------------------------------------------------------

SENT = "Aspirin and warfarin cause bleeding and headache in migraine."
ASPIRIN, WARFARIN = EntitySpan(0, 7, "Drug"), EntitySpan(12, 20, "Drug")
BLEEDING, HEADACHE = EntitySpan(27, 35, "Disease"), EntitySpan(40, 48, "Symptom")
MIGRAINE = EntitySpan(52, 60, "Disease")


def _pairs(cands: list[RelationCandidate]) -> set[tuple[str, str, str]]:
    return {(c.task, c.head_text, c.tail_text) for c in cands}


def test_candidate_pairs_respect_types_and_direction() -> None:
    cands = list(candidate_pairs(SENT, [MIGRAINE, HEADACHE, BLEEDING, WARFARIN, ASPIRIN]))
    assert _pairs(cands) == {
        ("ddi", "Aspirin", "warfarin"),  # once, earlier entity as head
        ("adverse_effect", "Aspirin", "bleeding"), ("adverse_effect", "Aspirin", "headache"),
        ("adverse_effect", "Aspirin", "migraine"), ("adverse_effect", "warfarin", "bleeding"),
        ("adverse_effect", "warfarin", "headache"), ("adverse_effect", "warfarin", "migraine"),
        ("has_symptom", "bleeding", "headache"), ("has_symptom", "migraine", "headache"),
    }
    assert len(cands) == 9  # no duplicates


def test_candidate_pairs_task_filter_duplicates_and_same_span() -> None:
    spans = [ASPIRIN, ASPIRIN, WARFARIN, EntitySpan(27, 35, "Symptom"), BLEEDING]
    cands = list(candidate_pairs(SENT, spans, tasks=["has_symptom"]))
    assert cands == []  # "bleeding" as Disease and as Symptom is one span: never paired with itself
    assert _pairs(list(candidate_pairs(SENT, spans, tasks=["ddi"]))) == {("ddi", "Aspirin", "warfarin")}
    with pytest.raises(CandidateError, match="unknown relation task 'treats'; valid: ddi, adverse_effect, has_symptom"):
        list(candidate_pairs(SENT, spans, tasks=["treats"]))
    with pytest.raises(CandidateError, match=r"entity span 50\.\.99 is empty or outside the text"):
        list(candidate_pairs(SENT, [ASPIRIN, EntitySpan(50, 99, "Drug")]))


def test_edge_mapping() -> None:
    c = next(iter(candidate_pairs(SENT, [ASPIRIN, WARFARIN])))
    edge = edge_for(c, RelationPrediction(task="ddi", label="mechanism", score=0.9, relation_score=0.95))
    assert edge is not None
    assert (edge.edge_type, edge.direction, dict(edge.properties)) == (
        "INTERACTS_WITH", "symmetric", {"interaction_type": "mechanism"})
    assert edge_for(c, RelationPrediction(task="ddi", label="none", score=0.9, relation_score=0.1)) is None
    with pytest.raises(CandidateError, match="task 'ddi' has no label 'synergy'"):
        edge_for(c, RelationPrediction(task="ddi", label="synergy", score=0.9, relation_score=0.9))
    ae = TASKS["adverse_effect"].edges["adverse_effect"]
    assert (ae.edge_type, ae.direction) == ("CAUSES_ADVERSE_EFFECT", "forward")
    assert TASKS["has_symptom"].edges["has_symptom"].edge_type == "HAS_SYMPTOM"


# --- corpora -> candidates ----------------------------------------------------------------


def test_bc5cdr_candidates_are_same_sentence_pairs_scored_per_document() -> None:
    rset = bc5cdr_set(FIXTURES / "bc5cdr" / "CDR_TrainingSet_excerpt.PubTator.txt", "train")
    assert len(rset.gold) == 6  # every CID pair of the three abstracts, cross-sentence ones included
    assert 0 < len(rset.reachable_gold()) < len(rset.gold)
    ex = next(e for e in rset.examples if e.candidate.head_text == "alpha-methyldopa")
    assert ex.candidate.text == "The hypotensive effect of 100 mg/kg alpha-methyldopa was also partially reversed by naloxone."
    assert (ex.label, ex.doc_id, ex.keys) == ("adverse_effect", "PMID:227508", (("MESH:D008750", "MESH:D007022"),))
    from loaders import read_documents
    from schema.sentences import sentence_spans

    sentences = {
        doc.text[a:b]
        for doc in read_documents(FIXTURES / "bc5cdr" / "CDR_TrainingSet_excerpt.PubTator.txt")
        for a, b in sentence_spans(doc.text, breaks=[len(doc.title or "") + 1])
    }
    for e in rset.examples:
        c = e.candidate
        assert (c.task, c.head_label, c.tail_label) == ("adverse_effect", "Drug", "Disease")
        assert c.text in sentences


def test_raredis_candidates_pair_diseases_with_symptoms_and_drop_anaphor_heads() -> None:
    from extractors.relations.data import raredis_set
    from tests.helpers import shared_data

    rset = raredis_set(shared_data("corpora", "raredis", "dev"))
    assert rset.split == "dev" and rset.notes["produces_with_anaphor_head_excluded"] > 0
    assert {(e.candidate.head_label, e.candidate.tail_label) for e in rset.examples} == {("Disease", "Symptom")}
    positives = sum(e.label == "has_symptom" for e in rset.examples)
    assert positives == len(rset.reachable_gold()) < len(rset.gold)


def test_raredis_document_scope_reaches_the_pairs_that_name_the_disease_in_an_earlier_sentence() -> None:
    from extractors.relations.data import CORPORA, document_windows, raredis_set
    from extractors.corpora.brat import read_brat_dir
    from schema.sentences import sentence_spans
    from tests.helpers import shared_data

    folder = shared_data("corpora", "raredis", "dev")
    sent, doc = raredis_set(folder), raredis_set(folder, scope="document")
    assert (doc.corpus, doc.scope, doc.gold) == ("raredis-doc", "document", sent.gold)
    assert CORPORA["raredis-doc"](shared_data(), "dev").corpus == "raredis-doc"
    # sentence scope reaches under half of the gold pairs; windows reach (almost) all of them
    assert len(sent.reachable_gold()) < 0.5 * len(sent.gold) and len(doc.reachable_gold()) > 0.95 * len(doc.gold)
    texts = {d.id: d.text for d in read_brat_dir(folder)}
    windows = {d: {t[a:b] for a, b in document_windows(sentence_spans(t))} for d, t in texts.items()}
    crossing = 0
    for e in doc.examples:
        c = e.candidate
        assert c.text in windows[e.doc_id] and (c.head_label, c.tail_label) == ("Disease", "Symptom")
        crossing += sum(1 for a, b in sentence_spans(c.text) if a <= min(c.head_start, c.tail_start) < b
                        and max(c.head_end, c.tail_end) > b)
    assert crossing > 0  # some candidates pair a disease with a symptom of a later sentence


# --- encoding -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tokenizer():  # type: ignore[no-untyped-def]
    from transformers import AutoTokenizer

    from extractors.transformer import PACKAGED_BASE, resolve_base

    return AutoTokenizer.from_pretrained(resolve_base(PACKAGED_BASE))


def test_encoding_points_at_the_opening_markers(tokenizer) -> None:  # type: ignore[no-untyped-def]
    c = cand("Aspirin potentiates warfarin", (0, 7), (20, 28))
    (enc,) = encode_candidates(tokenizer, [c])
    tokens = tokenizer.convert_ids_to_tokens(list(enc.input_ids))
    assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]"
    assert tokens[enc.head_pos] == "@" and tokens[enc.head_pos + 3] == "*"
    assert tokens[enc.tail_pos] == "#" and tokens[enc.tail_pos + 1] == "^"


def test_long_candidates_keep_both_markers_in_the_window(tokenizer) -> None:  # type: ignore[no-untyped-def]
    filler = "the patient was observed " * 60
    text = filler + "aspirin increased warfarin levels " + filler
    start = len(filler)
    c = cand(text, (start, start + 7), (start + 18, start + 26))
    (enc,) = encode_candidates(tokenizer, [c], max_length=64)
    tokens = tokenizer.convert_ids_to_tokens(list(enc.input_ids))
    assert len(tokens) <= 64  # marker-to-marker stretch plus CONTEXT wordpieces, capped at max_length
    assert tokens[enc.head_pos] == "@" and tokens[enc.tail_pos] == "#"
    decoded = tokenizer.decode(list(enc.input_ids))
    assert "@ * drug * aspirin @ increased # ^ drug ^ warfarin #" in decoded


# --- a tiny real training run -------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[RelationModel, Path, list]:
    """A model trained for a few steps on the DDI, ADE and BC5CDR fixtures, saved to a temp dir."""
    sets = [
        ddi_set(DDI, None),
        ade_set(FIXTURES / "ade" / "DRUG-AE_excerpt.rel", None),
        bc5cdr_set(FIXTURES / "bc5cdr" / "CDR_TrainingSet_excerpt.PubTator.txt", "train"),
    ]
    out = tmp_path_factory.mktemp("re") / "model"
    config = TrainConfig(epochs=1, max_steps=4, batch_size=8, lora_r=4, head_hidden=32, device="cpu", bf16=False)
    model = train_re(sets, config=config, dev_sets=sets[:1], out_dir=out)
    return model, out, sets


def test_tiny_training_writes_a_standard_model_dir(tiny) -> None:  # type: ignore[no-untyped-def]
    import json

    model, out, _ = tiny
    names = {p.name for p in out.iterdir()}
    assert {"adapter_config.json", "adapter_model.safetensors", "medkg.json", "README.md", "tokenizer_config.json"} <= names
    meta = json.loads((out / "medkg.json").read_text())
    assert meta["labels"] == {"ddi": list(TASKS["ddi"].labels), "adverse_effect": ["none", "adverse_effect"]}
    assert meta["training"]["steps"] == 4
    assert set(meta["dev_metrics"]["ddi2013"]["scores"]) >= {"ALL"}
    assert "CC BY-NC 4.0" in (out / "README.md").read_text()
    adapter = json.loads((out / "adapter_config.json").read_text())
    assert sorted(adapter["modules_to_save"]) == ["heads.adverse_effect", "heads.ddi"]
    assert sum(p.stat().st_size for p in out.iterdir()) < 10_000_000


def test_save_load_round_trip_gives_identical_predictions(tiny) -> None:  # type: ignore[no-untyped-def]
    model, out, sets = tiny
    cands = [e.candidate for s in sets for e in s.examples][:60]
    before = model.predict(cands, batch_size=7)
    loaded = RelationModel.load(out, device="cpu")
    after = loaded.predict(cands, batch_size=64)
    assert [p.label for p in before] == [p.label for p in after]
    assert [p.task for p in after] == [c.task for c in cands]
    for a, b in zip(before, after):
        assert a.score == pytest.approx(b.score, abs=1e-4)
        assert a.relation_score == pytest.approx(b.relation_score, abs=1e-4)


def test_predict_rejects_a_task_the_model_lacks(tiny) -> None:  # type: ignore[no-untyped-def]
    model, _, _ = tiny
    c = cand("Lupus causes fever.", (0, 5), (13, 18), labels=("Disease", "Symptom"), task="has_symptom")
    with pytest.raises(CandidateError, match="this model has no task 'has_symptom'; it has: ddi, adverse_effect"):
        model.predict([c])
    assert model.predict([]) == []


def test_evaluate_counts_unreachable_gold_as_misses(tiny) -> None:  # type: ignore[no-untyped-def]
    model, _, sets = tiny
    bc5 = sets[2]
    result = evaluate_re(model, bc5)
    assert result.gold == len(bc5.gold)
    assert result.reachable <= result.gold
    all_ = result.scores["ALL"]
    assert all_.tp + all_.fn == result.gold  # every gold CID pair is in the denominator


# --- the shipped model --------------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped() -> RelationModel:
    return RelationModel.load(DEFAULT_RE_MODEL, device="cpu")


def test_shipped_model_is_small_and_complete() -> None:
    size = sum(p.stat().st_size for p in Path(DEFAULT_RE_MODEL).iterdir())
    assert size < 10_000_000
    assert (Path(DEFAULT_RE_MODEL) / "README.md").read_text().count("CC BY-NC") >= 1


def test_shipped_model_separates_dev_interactions_from_non_interacting_pairs(shipped: RelationModel) -> None:
    """Dev-side DDI documents (never trained on): interacting pairs must score clearly higher than
    non-interacting ones on average (a ranking check, not an F1 threshold; BENCHMARKS.md has F1)."""
    from tests.helpers import shared_data

    examples = ddi_set(shared_data("corpora", "ddi2013", "Train"), "dev").examples[:400]
    preds = shipped.predict([e.candidate for e in examples])
    pos = [p.relation_score for e, p in zip(examples, preds) if e.label != "none"]
    neg = [p.relation_score for e, p in zip(examples, preds) if e.label == "none"]
    assert len(pos) >= 20 and len(neg) >= 20
    assert sum(pos) / len(pos) > sum(neg) / len(neg) + 0.15


def test_shipped_model_has_all_three_tasks(shipped: RelationModel) -> None:
    assert set(shipped.tasks) == {"ddi", "adverse_effect", "has_symptom"}
    preds = shipped.predict(list(candidate_pairs(SENT, [ASPIRIN, WARFARIN, BLEEDING, HEADACHE, MIGRAINE])))
    assert all(0.0 <= p.score <= 1.0 and 0.0 <= p.relation_score <= 1.0 for p in preds)


# --- the shipped document-scope symptom model ----------------------------------------------------


def test_shipped_symptom_model_is_small_complete_and_document_scope() -> None:
    from extractors.relations.model import DEFAULT_SYMPTOM_RE_MODEL

    size = sum(p.stat().st_size for p in Path(DEFAULT_SYMPTOM_RE_MODEL).iterdir())
    assert size < 10_000_000 and (Path(DEFAULT_SYMPTOM_RE_MODEL) / "README.md").exists()
    model = RelationModel.load(DEFAULT_SYMPTOM_RE_MODEL, device="cpu")
    assert model.tasks == ("has_symptom",) and model.meta["scopes"] == {"has_symptom": "document"}
    assert model.uncorrected == {"has_symptom"}


def test_shipped_symptom_model_separates_dev_produces_pairs_from_the_rest() -> None:
    """RareDis dev windows (never trained on): disease-sign pairs the corpus relates, within or
    across sentences, score clearly higher on average than the other pairs of their windows."""
    from extractors.relations.data import raredis_set
    from extractors.relations.model import DEFAULT_SYMPTOM_RE_MODEL
    from tests.helpers import shared_data

    model = RelationModel.load(DEFAULT_SYMPTOM_RE_MODEL, device="cpu")
    examples = raredis_set(shared_data("corpora", "raredis", "dev"), scope="document").examples[:600]
    preds = model.predict([e.candidate for e in examples])
    pos = [p.relation_score for e, p in zip(examples, preds) if e.label != "none"]
    neg = [p.relation_score for e, p in zip(examples, preds) if e.label == "none"]
    assert len(pos) >= 20 and len(neg) >= 20
    assert sum(pos) / len(pos) > sum(neg) / len(neg) + 0.2


def test_the_default_pipeline_takes_disease_symptom_pairs_from_the_symptom_model_across_sentences() -> None:
    """With the shipped models the symptom model takes over ``has_symptom``: the main model keeps
    DDI and adverse effects, and a sign named in the sentence after its disease is related to it."""
    from extractors.config import PipelineConfig
    from extractors.pipeline import ExtractionPipeline
    from schema.records import Document
    from tests.helpers import FIXTURES

    pipeline = ExtractionPipeline(PipelineConfig(kb=str(FIXTURES / "kb" / "tiny_kb.jsonl"), device="cpu", bf16=False,
                                                 keep_unlinked=True))
    component = pipeline.nlp.get_pipe("medkg_relations")
    assert [set(x.tasks) for x in component.extractors] == [{"ddi", "adverse_effect"}, {"has_symptom"}]
    text = ("Alkaptonuria is a rare inherited disorder of tyrosine metabolism. "
            "Affected adults develop dark urine, arthritis of the spine and bluish-black pigmentation of the ears.")
    (out,) = pipeline.process([Document(id="t1", source_format="text", text=text)])
    symptom = [r for r in out.relations if r.type == "HAS_SYMPTOM"]
    assert symptom and all(r.model == "medkg-re:re-symptom-minilm" for r in symptom)
    assert any(r.evidence_text == text for r in symptom)  # disease and sign in two sentences: both cited
