"""The whole extraction pipeline on raw text, with models trained here on tiny real fixtures
(so the run does not depend on the shipped weights) and the tiny KB fixture, into a real store."""

from __future__ import annotations

from pathlib import Path

import pytest

from extractors.config import PipelineConfig
from extractors.pipeline import ExtractionPipeline
from extractors.relations.data import ade_set, bc5cdr_set, ddi_set
from extractors.relations.train import TrainConfig, train_re
from kg.build import build_batch
from kg.jobs import LazyExtractor, run_build
from schema.records import Assertion, Document
from kg.store.ladybug_store import LadybugStore
from tests.helpers import FIXTURES

BC5CDR = FIXTURES / "bc5cdr" / "CDR_TrainingSet_excerpt.PubTator.txt"


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from extractors.ner.train import NerTrainConfig, TrainCorpus, fit_ner, save_ner

    root = tmp_path_factory.mktemp("pipeline")
    ner_dir, re_dir = root / "ner", root / "re"
    cfg = NerTrainConfig(
        corpora=(
            TrainCorpus("bc5cdr", train=BC5CDR, dev=BC5CDR),
            TrainCorpus("raredis", train=FIXTURES / "raredis" / "dev", dev=FIXTURES / "raredis" / "dev"),
        ),
        out_dir=ner_dir, epochs=6, batch_size=12, lr=3e-3, head_lr=1e-2, device="cpu", features=(),
    )
    save_ner(fit_ner(cfg), ner_dir)
    sets = [ddi_set(FIXTURES / "ddi2013" / "Train", None), ade_set(FIXTURES / "ade" / "DRUG-AE_excerpt.rel", None),
            bc5cdr_set(BC5CDR, "train")]
    train_re(sets, config=TrainConfig(epochs=1, max_steps=4, batch_size=8, lora_r=4, head_hidden=32, device="cpu", bf16=False),
             dev_sets=sets[:1], out_dir=re_dir)
    return ner_dir, re_dir


@pytest.fixture(scope="module")
def pipeline(models: tuple[Path, Path]) -> ExtractionPipeline:
    ner_dir, re_dir = models
    kb = FIXTURES / "kb" / "tiny_kb.jsonl"
    return ExtractionPipeline(PipelineConfig(ner_model=str(ner_dir), re_model=str(re_dir), kb=str(kb), device="cpu",
                                             re_threshold=0.0, keep_unlinked=True))  # tiny KB: keep what it cannot link


def test_raw_abstract_gets_exact_spans_links_and_relations(pipeline: ExtractionPipeline) -> None:
    from loaders import read_documents

    gold = next(iter(read_documents(BC5CDR)))
    raw = Document(id=gold.id, source_format="text", text=gold.text)
    (out,) = pipeline.process([raw])
    assert out.mentions, "the tiny model should find some entity in a training abstract"
    for m in out.mentions:
        assert out.text[m.start:m.end] == m.text
        assert m.source == "medkg"
    gold_spans = {(m.start, m.end) for m in gold.mentions}
    assert {(m.start, m.end) for m in out.mentions} & gold_spans
    # threshold 0 keeps every classified pair that maps to an edge: relations are well formed
    for r in out.relations:
        assert r.evidence_text and r.evidence_text in out.text and r.head_id != r.tail_id
        assert (r.type, r.head_label) in {("INTERACTS_WITH", "Drug"), ("CAUSES_ADVERSE_EFFECT", "Drug"), ("HAS_SYMPTOM", "Disease")}


def test_gold_documents_are_left_alone_in_auto_mode(pipeline: ExtractionPipeline) -> None:
    from loaders import read_documents

    gold = list(read_documents(BC5CDR))
    assert pipeline.process(gold) == gold


def test_negated_finding_never_becomes_a_patient_finding(pipeline: ExtractionPipeline) -> None:
    from spacy.tokens import Span

    text = "The patient denies chest pain. She reports fever."
    sdoc = pipeline.nlp.make_doc(text)
    for _, proc in pipeline.nlp.pipeline:
        if _ in ("medkg_ner",):
            continue
        if _ == "medkg_assertion":
            sdoc.ents = [sdoc.char_span(19, 29, label="Symptom"), sdoc.char_span(43, 48, label="Symptom")]
        sdoc = proc(sdoc)
    statuses = [e._.assertion for e in sdoc.ents]
    assert statuses == [Assertion.NEGATED, Assertion.PRESENT]
    assert Span.has_extension("concept")


def test_build_job_runs_the_pipeline_on_notes_only(models: tuple[Path, Path], tmp_path: Path) -> None:
    ner_dir, re_dir = models
    notes = tmp_path / "notes.jsonl"
    notes.write_text(
        '{"id": "n1", "patient_id": "pt-1", "text": "Naloxone reverses the antihypertensive effect of clonidine."}\n',
        encoding="utf-8",
    )
    config = PipelineConfig(ner_model=str(ner_dir), re_model=str(re_dir), kb=str(FIXTURES / "kb" / "tiny_kb.jsonl"), device="cpu",
                            keep_unlinked=True)  # the tiny KB has neither drug
    extractor = LazyExtractor(config)
    with LadybugStore(tmp_path / "g.lbug") as store:
        run_build([BC5CDR], store, extractor=extractor)
        assert extractor._pipeline is None  # gold-only input never loads a model
        report = run_build([notes], store, extractor=extractor)
        assert report.documents_read == 1 and extractor._pipeline is not None
        mentions = store.query("MATCH (d:Document {id: $id})-[m:MENTIONS]->(c) RETURN c.id AS id", {"id": "note:n1"})
        assert mentions, "the note's entities are in the graph"
        again = run_build([notes], store, extractor=extractor)
        assert again.write.documents_unchanged == 1  # idempotent with the same models
    assert build_batch([]).nodes == ()


def test_entities_inside_one_token_get_their_own_tokens() -> None:
    """scispacy keeps ``Famotidine-associated`` as one token; an entity found inside it must not
    expand to the whole token (it would be linked as that text, to nothing, with wrong offsets)."""
    import spacy
    from scispacy.custom_tokenizer import combined_rule_tokenizer

    from extractors.ner.component import split_at_boundaries

    nlp = spacy.blank("en")
    nlp.tokenizer = combined_rule_tokenizer(nlp)
    doc = nlp("Famotidine-associated delirium and cocaine-induced seizures.")
    assert "Famotidine-associated" in [t.text for t in doc]
    split_at_boundaries(doc, [0, 10, 35, 42])
    assert doc.char_span(0, 10).text == "Famotidine" and doc.char_span(35, 42).text == "cocaine"
    assert doc.text == "Famotidine-associated delirium and cocaine-induced seizures."
    split_at_boundaries(doc, [0, 10])  # already boundaries: nothing changes
    assert [t.text for t in doc][:2] == ["Famotidine", "-associated"]


def test_a_drug_span_that_takes_in_its_induced_or_associated_suffix_is_cut_back_to_the_drug() -> None:
    from extractors.ner.component import drug_end

    text = "Famotidine-associated delirium, cocaine-induced seizures, drug-induced hepatitis, 5-FU-treated mice."
    assert text[0:drug_end(text, 0, 21, "Drug")] == "Famotidine"
    assert text[32:drug_end(text, 32, 47, "Drug")] == "cocaine"
    assert text[58:drug_end(text, 58, 80, "Disease")] == "drug-induced hepatitis"  # a disease name keeps its words
    assert text[82:drug_end(text, 82, 94, "Drug")] == "5-FU"
    assert drug_end(text, 32, 39, "Drug") == 39  # the drug alone: unchanged
    assert drug_end("-induced", 0, 8, "Drug") == 8  # nothing before the hyphen: unchanged


def test_a_split_one_token_document_keeps_its_sentence() -> None:
    """A DDI-2013 document that is one URL token, split at the drug inside it, must still have
    sentence boundaries (``doc.sents`` raised spaCy's E030 in the relation step)."""
    import spacy
    from scispacy.custom_tokenizer import combined_rule_tokenizer

    from extractors.ner.component import split_at_boundaries
    from extractors.pipeline import sentences_component

    nlp = spacy.blank("en")
    nlp.tokenizer = combined_rule_tokenizer(nlp)
    text = "http://www.rxlist.com/cgi/generic3/guanethidine_od.htm"
    doc = sentences_component(nlp(text))
    assert len(doc) == 1
    split_at_boundaries(doc, [text.index("guanethidine"), text.index("_od")])
    assert [t.text for t in doc][1] == "guanethidine" and [s.text for s in doc.sents] == [text]


def test_a_split_keeps_earlier_spans_on_their_text() -> None:
    """Abbreviations found before NER point at token indices, which a split shifts."""
    import scispacy.abbreviation  # noqa: F401  (registers abbreviation_detector)
    import spacy
    from scispacy.custom_tokenizer import combined_rule_tokenizer

    from extractors.ner.component import split_at_boundaries

    nlp = spacy.blank("en")
    nlp.tokenizer = combined_rule_tokenizer(nlp)
    nlp.add_pipe("abbreviation_detector")
    doc = nlp("Famotidine-associated delirium with angiotensin-converting enzyme (ACE) inhibitors. The ACE was high.")
    before = sorted((a.text, a.start_char, a._.long_form.text) for a in doc._.abbreviations)
    split_at_boundaries(doc, [0, 10])
    after = sorted((a.text, a.start_char, a._.long_form.text) for a in doc._.abbreviations)
    assert after == before and before and before[0][0] == "ACE"


def test_negation_cues_are_trimmed_but_names_that_start_like_them_are_kept() -> None:
    import spacy
    from scispacy.custom_tokenizer import combined_rule_tokenizer
    from spacy.tokens import Span

    from extractors.ner.component import without_leading_cues

    nlp = spacy.blank("en")
    nlp.tokenizer = combined_rule_tokenizer(nlp)
    cases = {
        "denies nipple discharge": "nipple discharge", "no evidence of pneumonia": "pneumonia",
        "absence of fever": "fever", "negative for malignancy": "malignancy", "without any rash": "rash",
        # names, not cues: kept whole
        "absence seizures": "absence seizures", "Absent thumb": "Absent thumb", "negative symptoms": "negative symptoms",
        "no": "no",  # at least one token stays
    }
    for text, want in cases.items():
        doc = nlp(text)
        assert without_leading_cues(Span(doc, 0, len(doc), label="Symptom")).text == want, text


def test_unlinked_entities_are_dropped_unless_asked_for(models: tuple[Path, Path]) -> None:
    """By default only grounded entities leave the pipeline (and reach relation extraction);
    ``keep_unlinked`` keeps the rest under LOCAL ids, as diagnosis needs to list them."""
    from loaders import read_documents

    ner_dir, _ = models
    raw = [Document(id=d.id, source_format="text", text=d.text) for d in list(read_documents(BC5CDR))[:3]]
    common = dict(ner_model=str(ner_dir), re_model=None, kb=str(FIXTURES / "kb" / "tiny_kb.jsonl"), device="cpu")
    kept = ExtractionPipeline(PipelineConfig(**common, keep_unlinked=True)).process(raw)
    dropped = ExtractionPipeline(PipelineConfig(**common)).process(raw)
    kept_m = [m for d in kept for m in d.mentions]
    dropped_m = [m for d in dropped for m in d.mentions]
    assert any(m.concept_id is None for m in kept_m), "the tiny KB leaves some entity unlinked"
    assert any(m.concept_id for m in kept_m)
    assert dropped_m == [m for m in kept_m if m.concept_id is not None]


def test_the_ambiguity_margin_reaches_the_linker(models: tuple[Path, Path]) -> None:
    from extractors.linking.linker import AMBIGUITY_MARGIN

    kb = str(FIXTURES / "kb" / "tiny_kb.jsonl")
    for margin, expected in ((None, AMBIGUITY_MARGIN), (0.0, 0.0), (0.2, 0.2)):
        p = ExtractionPipeline(PipelineConfig(ner_model=str(models[0]), re_model=None, kb=kb, device="cpu",
                                              link_ambiguity_margin=margin))
        assert p.nlp.get_pipe("medkg_linker").linker.ambiguity_margin == expected
