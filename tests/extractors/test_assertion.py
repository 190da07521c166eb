"""Assertion status (ConText) on real clinical sentences, the priority rule, scopes, and the fixture."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
from scispacy.custom_tokenizer import combined_rule_tokenizer
from spacy.language import Language
from spacy.tokens import Doc

from extractors.assertion import rules as assertion_rules
from extractors.assertion import (
    PRIORITY,
    AssertionConfigError,
    AssertionEngine,
    InvalidSpanError,
    assert_entities,
    assertion_for_span,
    default_pipeline,
    evaluate_examples,
    examples_from_notes,
    read_examples,
    resolve,
    split_examples,
)
from extractors.errors import CorpusFormatError, ExtractionError
from schema.records import Assertion
from tests.helpers import FIXTURES, REPO, shared_data

FIXTURE = FIXTURES / "assertion" / "assertion_fixture.jsonl"

P, N, S, H, X, F = (Assertion.PRESENT, Assertion.NEGATED, Assertion.POSSIBLE, Assertion.HYPOTHETICAL,
                    Assertion.HISTORICAL, Assertion.FAMILY)


@pytest.fixture(scope="module")
def nlp() -> Language:
    """The setting the component must support: blank English + scispacy's tokenizer, ents set upstream."""
    pipeline = spacy.blank("en")
    pipeline.tokenizer = combined_rule_tokenizer(pipeline)
    pipeline.add_pipe("medkg_assertion")
    return pipeline


def make_doc(nlp: Language, text: str, *targets: str | tuple[str, int]) -> Doc:
    """A doc whose ents are the given substrings (``(substring, occurrence)`` for repeats)."""
    doc = nlp.make_doc(text)
    spans = []
    for target in targets:
        phrase, occurrence = (target, 1) if isinstance(target, str) else target
        start = -1
        for _ in range(occurrence):
            start = text.index(phrase, start + 1)
        span = doc.char_span(start, start + len(phrase), label="Symptom")
        assert span is not None, (text, phrase)
        spans.append(span)
    doc.ents = spans
    return doc


def statuses(nlp: Language, text: str, *targets: str | tuple[str, int]) -> list[Assertion]:
    doc = nlp(make_doc(nlp, text, *targets))
    return [ent._.assertion for ent in doc.ents]


# ------------------------------------------------------------------ every class, real sentences

@pytest.mark.parametrize(
    ("text", "target", "expected"),
    [
        ("Echocardiogram demonstrates mitral regurgitation.", "mitral regurgitation", P),
        ("The patient denies any chest pain or swelling in her legs.", "chest pain", N),
        ("The patient denies any chest pain or swelling in her legs.", "swelling in her legs", N),
        ("No evidence of pneumothorax on the chest film.", "pneumothorax", N),
        ("Influenza was ruled out.", "Influenza", N),
        ("Urinalysis is negative for hematuria.", "hematuria", N),
        ("Skin is free of lesions.", "lesions", N),
        ("Abdominal pain without vomiting.", "vomiting", N),
        ("Cannot exclude a hairline fracture of the radius.", "hairline fracture", S),
        ("Cough, ? bronchitis.", "bronchitis", S),
        ("Findings are suspicious for early appendicitis.", "early appendicitis", S),
        ("If she develops a rash, stop the amoxicillin.", "rash", H),
        ("Return if the vomiting continues.", "vomiting", H),
        ("History of gout in the left foot.", "gout", X),
        ("He has a history of atrial fibrillation.", "atrial fibrillation", X),
        ("Family history of type 2 diabetes.", "type 2 diabetes", F),
        ("Her father had colon cancer.", "colon cancer", F),
        ("His sister had a pulmonary embolism.", "pulmonary embolism", F),
        ("Anti-Ro positive; hepatitis C negative.", "hepatitis C", N),
        ("Celiac serology negative.", "Celiac", N),
        ("HIV negative patient with fever.", "fever", P),
        ("Man with h/o chronic constipation and 3 days of LLQ pain.", "chronic constipation", X),
        ("Man with h/o chronic constipation and 3 days of LLQ pain.", "LLQ pain", P),
        ("Known asthma and a two-day history of wheeze.", "wheeze", P),
        ("Chest pain, troponin negative.", "Chest pain", P),
        ("Hemolytic anemia, Coombs negative.", "anemia", P),
        ("Fever (blood cultures negative)", "Fever", P),
        ("Denies 2 days of chest pain.", "chest pain", N),
        ("Denies chest pain or 2 weeks of weight loss.", "weight loss", N),
        ("Mother had 3 months of chemotherapy for breast cancer.", "breast cancer", F),
        ("Risk of 3 days of fever.", "fever", H),
    ],
)
def test_component_labels_real_sentences(nlp: Language, text: str, target: str, expected: Assertion) -> None:
    assert statuses(nlp, text, target) == [expected]


def test_denied_finding_and_family_cancer_are_not_present(nlp: Language) -> None:
    text = "She denies chest pain. Her mother had breast cancer. She has a cough."
    assert statuses(nlp, text, "chest pain", "breast cancer", "cough") == [N, F, P]


def test_cues_name_the_deciding_modifier(nlp: Language) -> None:
    doc = nlp(make_doc(nlp, "Patient denies nausea.", "nausea"))
    assert doc.ents[0]._.assertion_cues == ("NEGATED_EXISTENCE:denies",)
    doc = nlp(make_doc(nlp, "Patient reports nausea.", "nausea"))
    assert doc.ents[0]._.assertion_cues == ()


# ------------------------------------------------------------------ priority

def test_priority_order_is_documented_one() -> None:
    assert PRIORITY == (F, N, H, S, X)
    assert resolve([]) == P
    assert resolve([X, S]) == S
    assert resolve([S, H]) == H
    assert resolve([H, N, X]) == N
    assert resolve([N, F]) == F


@pytest.mark.parametrize(
    ("text", "target", "expected"),
    [
        ("There is no family history of colon cancer.", "colon cancer", F),  # family beats negated
        ("Patient denies a history of stroke.", "stroke", N),  # negated beats historical
        ("PUD, ?stroke and memory difficulty in the past 1-2 years.", "stroke", S),  # possible beats historical
        ("She was counseled on possible side effects, including nausea.", "nausea", H),  # hypothetical beats possible
        ("Mother with history of stroke.", "stroke", F),  # family beats historical
        ("Past medical and family history: diabetes in her mother.", "diabetes", F),
    ],
)
def test_priority_on_sentences_with_two_modifiers(nlp: Language, text: str, target: str, expected: Assertion) -> None:
    doc = nlp(make_doc(nlp, text, target))
    assert len(doc.ents[0]._.assertion_cues) >= 2, doc.ents[0]._.assertion_cues
    assert doc.ents[0]._.assertion == expected


# ------------------------------------------------------------------ scope

def test_negation_scope_stops_at_but(nlp: Language) -> None:
    assert statuses(nlp, "Denies fever but reports worsening headache.", "fever", "headache") == [N, P]
    assert statuses(nlp, "No nausea or vomiting, but she has had diarrhea.", "vomiting", "diarrhea") == [N, P]


def test_negation_scope_stops_at_a_new_asserting_verb(nlp: Language) -> None:
    assert statuses(nlp, "Denies chest pain, reports shortness of breath.", "chest pain",
                    "shortness of breath") == [N, P]
    assert statuses(nlp, "Negative for fever, positive for cough.", "fever", "cough") == [N, P]


@pytest.mark.parametrize(
    ("text", "target", "expected"),
    [
        ("Neuro: No focal deficits.", "focal deficits", N),  # ": No" must not swallow the forward "no"
        ("Fever: no\nCough: yes", "Fever", N),
        ("Chills: none.", "Chills", N),
        ("Edema: present.", "Edema", P),
    ],
)
def test_section_style_lines(nlp: Language, text: str, target: str, expected: Assertion) -> None:
    assert statuses(nlp, text, target) == [expected]


def test_scope_stops_at_sentence_end(nlp: Language) -> None:
    text = "Denies nausea, vomiting, or abdominal pain. Reports mild constipation."
    assert statuses(nlp, text, "abdominal pain", "constipation") == [N, P]
    assert statuses(nlp, "Her father had a stroke. She has migraines.", "stroke", "migraines") == [F, P]


def test_scope_without_the_sentence_end_would_leak(nlp: Language) -> None:
    """Control for the test above: the same words in one sentence are negated, so the period matters."""
    assert statuses(nlp, "Denies nausea, vomiting, or abdominal pain, or constipation.", "constipation") == [N]


def test_double_mention_with_different_statuses(nlp: Language) -> None:
    text = "Denies chest pain; instructed to return if chest pain recurs."
    assert statuses(nlp, text, ("chest pain", 1), ("chest pain", 2)) == [N, H]
    text = "Her father had a heart attack at 50 and her brother had a stroke."
    assert statuses(nlp, text, "heart attack", "stroke") == [F, F]
    assert statuses(nlp, "She has hypothyroidism and her mother had thyroid cancer.", "hypothyroidism",
                    "thyroid cancer") == [P, F]


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("There is no increase in the size of the liver lesion.", "liver lesion"),
        ("He has not only fatigue but also joint pain.", "fatigue"),
        ("Blood cultures grew gram negative rods consistent with bacteremia.", "bacteremia"),
        ("He presents with a two-week history of productive cough.", "productive cough"),
        ("The patient's husband reports that she has been confused.", "confused"),
        ("She worries about work, money and family, with restlessness and poor sleep.", "restlessness"),
        ("She is worried about her son and reports fatigue.", "fatigue"),
    ],
)
def test_pseudo_triggers_do_not_fire(nlp: Language, text: str, target: str) -> None:
    assert statuses(nlp, text, target) == [P]


# ------------------------------------------------------------------ sentences and the Doc

def test_upstream_sentences_are_used_and_not_overwritten(nlp: Language) -> None:
    text = "No fever Has cough"
    assert statuses(nlp, text, "fever", "cough") == [N, N]  # one sentence by the fallback splitter
    doc = make_doc(nlp, text, "fever", "cough")
    for token in doc:
        token.is_sent_start = token.text == "No" or token.text == "Has"
    doc = nlp(doc)
    assert [ent._.assertion for ent in doc.ents] == [N, P]
    assert [s.text for s in doc.sents] == ["No fever", "Has cough"]


def test_component_leaves_sentences_alone_unless_asked(nlp: Language) -> None:
    doc = nlp(make_doc(nlp, "No fever. Has cough.", "cough"))
    assert not doc.has_annotation("SENT_START")
    writer = spacy.blank("en")
    writer.add_pipe("medkg_assertion", config={"set_sentences": True, "splitter": "sentencizer"})
    doc = writer("No fever. Has cough.")
    assert [s.text for s in doc.sents] == ["No fever.", "Has cough."]


def test_sentencizer_fallback_gives_the_same_statuses() -> None:
    fast = spacy.blank("en")
    fast.tokenizer = combined_rule_tokenizer(fast)
    fast.add_pipe("medkg_assertion", config={"splitter": "sentencizer"})
    text = "Denies chest pain. Her mother had breast cancer. Palpitations, ? atrial fibrillation."
    assert statuses(fast, text, "chest pain", "breast cancer", "Palpitations", "atrial fibrillation") == [N, F, P, S]


def test_unknown_splitter_is_rejected(nlp: Language) -> None:
    with pytest.raises(AssertionConfigError, match="sentencizer"):
        AssertionEngine(nlp, splitter="nltk")  # type: ignore[arg-type]


def test_pure_function_matches_component_and_leaves_doc_untouched(nlp: Language) -> None:
    text = "Denies fever. Mother had lupus. If a rash develops, call. Possible early cellulitis."
    doc = make_doc(nlp, text, "fever", "lupus", "rash", "cellulitis")
    assert assert_entities(doc) == [N, F, H, S]
    assert not doc.has_annotation("SENT_START")
    assert all(ent._.assertion is None for ent in doc.ents)  # only the component writes it
    assert [ent._.assertion for ent in nlp(doc).ents] == [N, F, H, S]


def test_no_entities_and_empty_text(nlp: Language) -> None:
    doc = nlp("Denies chest pain.")
    assert doc.ents == () and assert_entities(doc) == []
    empty = nlp("")
    assert len(empty) == 0 and assert_entities(empty) == []


def test_span_from_another_doc_is_rejected(nlp: Language) -> None:
    doc = make_doc(nlp, "Denies fever.", "fever")
    other = nlp.make_doc("Has fever.")
    with pytest.raises(InvalidSpanError, match="another Doc"):
        AssertionEngine(nlp).analyse(other, [doc.ents[0]])


# ------------------------------------------------------------------ structured spans (no NER)

def test_assertion_for_span_on_structured_inputs() -> None:
    text = "Denies chest pain. Family history of diabetes. Hx of gout."
    assert assertion_for_span(text, 7, 17) == N
    assert assertion_for_span(text, 37, 45) == F
    assert assertion_for_span(text, 53, 57) == X
    assert assertion_for_span("Chest pain", 0, 10) == P
    assert assertion_for_span(text, 9, 12) == N  # a partial token widens to the whole token ("chest")


@pytest.mark.parametrize(("text", "start", "end"), [("", 0, 0), ("fever", 3, 2), ("fever", 0, 9), ("a   b", 1, 4)])
def test_assertion_for_span_rejects_bad_offsets(text: str, start: int, end: int) -> None:
    with pytest.raises(InvalidSpanError) as info:
        assertion_for_span(text, start, end)
    assert isinstance(info.value, ExtractionError) and f"{start}..{end}" in str(info.value)


# ------------------------------------------------------------------ rules stay in medspaCy's format

def test_rules_load_into_medspacys_own_context(tmp_path: Path) -> None:
    """The rule set written as JSON drives medspaCy's ConText to the same decisions."""
    from medspacy.context import ConText  # after extractors.assertion, which guards medspaCy's import

    path = tmp_path / "rules.json"
    assertion_rules.write_json(path)
    assert len(json.loads(path.read_text())["context_rules"]) == len(assertion_rules.rule_dicts())
    pipeline = spacy.blank("en")
    pipeline.tokenizer = combined_rule_tokenizer(pipeline)
    pipeline.add_pipe("sentencizer")
    context = pipeline.add_pipe("medspacy_context", config={"rules": str(path)})
    assert isinstance(context, ConText)
    text = "Denies fever but has a cough. No increase in the liver lesion. Mother had lupus."
    doc = pipeline(pipeline.make_doc(text))
    doc.ents = [doc.char_span(text.index(w), text.index(w) + len(w), label="X")
                for w in ("fever", "cough", "liver lesion", "lupus")]
    doc = context(doc)
    assert [(e._.is_negated, e._.is_family) for e in doc.ents] == [(True, False), (False, False), (False, False),
                                                                   (False, True)]
    assert assert_entities(doc) == [N, P, P, F]


# ------------------------------------------------------------------ the labelled fixture

@pytest.fixture(scope="module")
def halves() -> dict:
    return split_examples(read_examples(FIXTURE))


def test_fixture_is_balanced_and_split_by_sentence(halves: dict) -> None:
    examples = halves["tune"] + halves["test"]
    assert len(examples) >= 120
    for label in Assertion:
        assert sum(ex.label == label for ex in examples) >= 20, label
        assert sum(ex.label == label for ex in halves["test"]) >= 10, label
    assert not {ex.group for ex in halves["tune"]} & {ex.group for ex in halves["test"]}
    assert {ex.text for ex in halves["tune"]}.isdisjoint({ex.text for ex in halves["test"]})


def test_held_out_accuracy_above_floor(halves: dict) -> None:
    """Held-out half accuracy must stay >= 0.85.

    Why 0.85: medspaCy's packaged rules alone score 0.67 on this half and keeping only the
    additions that fire on the tune half scores 0.76, so the floor fails if the project's rule
    changes, the priority order or the scope handling are lost; the full rule set scores 0.97,
    leaving room for about 10 deliberate trade-offs before the test trips.
    """
    report = evaluate_examples(halves["test"])
    misses = [(ex.id, ex.label.value, res.assertion.value) for ex, res in report.errors]
    assert report.accuracy >= 0.85, misses


def test_negations_are_never_reported_present_on_the_fixture(halves: dict) -> None:
    """The costly error for a knowledge graph: a denied finding stored as the patient's."""
    report = evaluate_examples(halves["tune"] + halves["test"])
    assert report.confusion.get((N, P), 0) == 0


def test_medspacy_defaults_alone_fall_below_the_floor(halves: dict, nlp: Language) -> None:
    """Shows the floor is reachable from below: the accuracy test can fail."""
    from medspacy.context import ConTextRule

    defaults = json.loads(assertion_rules.default_rules_path().read_text())["context_rules"]
    engine = AssertionEngine(default_pipeline(), rules=[ConTextRule.from_dict(r) for r in defaults])
    assert evaluate_examples(halves["test"], engine=engine).accuracy < 0.85


def test_bad_fixture_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    good = {"id": "x1", "group": 0, "text": "No fever.", "start": 3, "end": 8, "label": "negated"}
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "label": "absent"}) + "\n")
    with pytest.raises(CorpusFormatError, match=r"bad\.jsonl:2"):
        read_examples(path)
    path.write_text(json.dumps({**good, "span": "fevers"}) + "\n")
    with pytest.raises(CorpusFormatError, match=r"bad\.jsonl:1"):
        read_examples(path)


def test_real_notes_accuracy_above_floor() -> None:
    """Blind-labelled spans in real ACI-BENCH valid notes (whole notes, so PyRuSH splits them).

    Same 0.85 floor as the fixture: the set is 57 spans, mostly negated/present ROS and exam
    lines, so a regression in negation scope or sentence splitting shows here first.
    """
    path = shared_data("knowledge", "aci_bench", "valid.csv")
    with path.open(encoding="utf-8", newline="") as fh:
        notes = {row["encounter_id"]: row["note"] for row in csv.DictReader(fh)}
    examples = examples_from_notes(FIXTURES / "assertion" / "aci_bench_valid_labels.jsonl", notes)
    assert len(examples) >= 50
    report = evaluate_examples(examples)
    assert report.accuracy >= 0.85, [(ex.text[ex.start:ex.end], res.assertion.value) for ex, res in report.errors]


def test_importing_the_module_keeps_warnings_on() -> None:
    """medspaCy silences all warnings when imported; our module must undo that (fresh interpreter)."""
    code = ("import warnings; import extractors.assertion, extractors.assertion.rules; "
            "print(any(f[0] == 'ignore' and f[2] is Warning and f[1] is None and f[3] is None "
            "for f in warnings.filters))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr[-2000:]
