"""One-pass relation extraction: marking every span, grouping by text, document windows, a tiny
real training run that must find the exact pairs of a fixture, save/load through RelationModel.load."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from extractors.relations import RelationCandidate, RelationModel, candidate_pairs
from extractors.relations.candidates import EntitySpan
from extractors.relations.data import Example, RelationSet, document_windows
from extractors.relations.onepass import OnePassConfig, OnePassModel, encode_units, mark_spans, train_onepass, units_of


def test_mark_spans_marks_every_span_and_nests_like_the_spans() -> None:
    text = "heparin-induced thrombocytopenia and aspirin"
    spans = [(0, 7), (0, 32), (37, 44)]
    marked, opens = mark_spans(text, spans)
    assert marked == "@ @ heparin @-induced thrombocytopenia @ and @ aspirin @"
    assert [marked[o] for o in opens] == ["@", "@", "@"]
    assert marked[opens[0] + 2 :].startswith("heparin @")  # the inner span opens after the outer one
    assert marked[opens[1] + 2 :].startswith("@ heparin")
    assert marked[opens[2] + 2 :] == "aspirin @"


def test_units_group_candidates_by_text_and_encode_markers_at_the_right_tokens() -> None:
    from transformers import AutoTokenizer

    from extractors.transformer import PACKAGED_BASE, resolve_base

    a = "Aspirin increases warfarin levels."
    b = "Ibuprofen was stopped."
    ents = [EntitySpan(0, 7, "Drug"), EntitySpan(18, 26, "Drug")]
    cands = list(candidate_pairs(a, ents, tasks=["ddi"])) + [
        RelationCandidate(b, 0, 9, "Drug", 14, 21, "Disease", "adverse_effect"),
        RelationCandidate(a, 18, 26, "Drug", 0, 7, "Drug", "ddi"),
    ]
    units = units_of(cands)
    assert [u.text for u in units] == [a, b]
    assert units[0].spans == ((0, 7), (18, 26))
    assert units[0].pairs == ((0, 1, "ddi", 0), (1, 0, "ddi", 2))
    tokenizer = AutoTokenizer.from_pretrained(resolve_base(PACKAGED_BASE))
    enc = encode_units(tokenizer, units)
    tokens = tokenizer.convert_ids_to_tokens(list(enc[0].input_ids))
    assert [tokens[p] for p in enc[0].marker_pos] == ["@", "@"]
    assert tokens[enc[0].marker_pos[0] + 1] == "as" and tokens[enc[0].marker_pos[1] + 1] == "war"  # as ##pi ##rin
    # a text longer than the encoder takes: markers past the cut point at the last kept token
    long = "the patient was observed " * 200 + "aspirin"
    (cut,) = encode_units(tokenizer, units_of([RelationCandidate(long, 0, 3, "Drug", len(long) - 7, len(long), "Drug", "ddi")]), max_length=64)
    assert len(cut.input_ids) == 64 and cut.marker_pos[1] == 62 and cut.clipped == (False, True)
    # typed markers: a drug @...@, a condition #...#, at the same token positions
    assert units[1].labels == ("Drug", "Disease")
    assert mark_spans(b, units[1].spans, ["@", "#"])[0] == "@ Ibuprofen @ was # stopped #."
    typed = encode_units(tokenizer, units, typed=True)
    assert [tokenizer.convert_ids_to_tokens(list(typed[1].input_ids))[p] for p in typed[1].marker_pos] == ["@", "#"]
    assert typed[0].input_ids == enc[0].input_ids and typed[1].marker_pos == enc[1].marker_pos


@pytest.mark.parametrize("n", [0, 1, 3, 9])
def test_document_windows_cover_every_sentence_and_overlap_by_half(n: int) -> None:
    sentences = [(i * 100, i * 100 + 90) for i in range(n)]
    windows = document_windows(sentences, max_chars=300)
    if not n:
        assert windows == []
        return
    assert windows[0][0] == 0 and windows[-1][1] == sentences[-1][1]
    assert all(w1 - w0 <= 300 for w0, w1 in windows)
    starts, ends = {s for s, _ in sentences}, {e for _, e in sentences}
    assert all(w0 in starts and w1 in ends for w0, w1 in windows)
    # two sentences less than half a window apart always share a window
    for i in range(n - 1):
        assert any(w0 <= sentences[i][0] and sentences[i + 1][1] <= w1 for w0, w1 in windows)
    assert document_windows([(0, 1000)], max_chars=300) == [(0, 1000)]  # a long sentence is its own window


# --- a tiny real training run -------------------------------------------------------------

DRUGS = ["aspirin", "warfarin", "ibuprofen", "digoxin", "lithium", "phenytoin", "amiodarone", "sertraline",
         "tramadol", "simvastatin", "verapamil", "rifampin"]
TEMPLATES = [
    ("{a} increases the plasma levels of {b}, and {c} was given for pain.", {(0, 1)}),
    ("{c} was given for pain, and {a} increases the plasma levels of {b}.", {(1, 2)}),
    ("{a} and {b} were given on different days; {c} was not used.", set()),
]


def _sentence(template: str, names: list[str]) -> tuple[str, list[tuple[int, int]]]:
    text, spans = "", []
    parts = template.replace("{a}", "\0a\0").replace("{b}", "\0b\0").replace("{c}", "\0c\0").split("\0")
    for part in parts:
        if part in ("a", "b", "c"):
            name = names["abc".index(part)]
            spans.append((len(text), len(text) + len(name)))
            text += name
        else:
            text += part
    return text, spans


def _set(n: int, seed: int) -> RelationSet:
    rng = random.Random(seed)
    examples, gold = [], set()
    for k in range(n):
        template, positives = TEMPLATES[k % len(TEMPLATES)]
        names = rng.sample(DRUGS, 3)
        text, spans = _sentence(template, names)
        doc = f"d{seed}-{k}"
        ents = sorted(spans)
        for i in range(3):
            for j in range(i + 1, 3):
                label = "effect" if (i, j) in positives else "none"
                c = RelationCandidate(text, *ents[i], "Drug", *ents[j], "Drug", "ddi")
                examples.append(Example(c, label, doc, ((f"e{i}", f"e{j}"),)))
                if label != "none":
                    gold.add(("effect", doc, f"e{i}", f"e{j}"))
    return RelationSet(corpus="toy", task="ddi", split="train", examples=tuple(examples), gold=frozenset(gold),
                       score_type={t: t for t in ("mechanism", "effect", "advise", "int")}, symmetric=True, source="test")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[OnePassModel, Path]:
    out = tmp_path_factory.mktemp("re1") / "model"
    config = OnePassConfig(epochs=6, lr=3e-3, lora_r=4, head_hidden=32, batch_units=8, class_weight_power=0.0,
                           device="cpu", bf16=False, seed=3)
    model = train_onepass([_set(48, 1)], config=config, out_dir=out)
    return model, out


def test_tiny_one_pass_model_finds_exactly_the_stated_pairs(tiny) -> None:  # type: ignore[no-untyped-def]
    """Held-out sentences (new drug combinations): only the pair the sentence links is predicted,
    wherever it sits in the sentence; the third drug never is."""
    model, _ = tiny
    held_out = _set(12, 99)
    preds = model.predict([e.candidate for e in held_out.examples])
    got = {(e.doc_id, e.keys[0]) for e, p in zip(held_out.examples, preds) if p.label != "none"}
    want = {(e.doc_id, e.keys[0]) for e in held_out.examples if e.label != "none"}
    assert got == want


def test_one_pass_model_saves_and_loads_through_relation_model_load(tiny) -> None:  # type: ignore[no-untyped-def]
    model, out = tiny
    meta = json.loads((out / "medkg.json").read_text())
    assert meta["architecture"] == "one-pass" and meta["labels"] == {"ddi": ["none", "mechanism", "effect", "advise", "int"]}
    loaded = RelationModel.load(out, device="cpu")
    assert isinstance(loaded, OnePassModel)
    cands = [e.candidate for e in _set(9, 5).examples]
    before, after = model.predict(cands), loaded.predict(cands)
    assert [p.label for p in before] == [p.label for p in after]
    for a, b in zip(before, after):
        assert a.relation_score == pytest.approx(b.relation_score, abs=1e-4)


def test_one_pass_predictions_do_not_depend_on_order_or_batch_size(tiny) -> None:  # type: ignore[no-untyped-def]
    model, _ = tiny
    cands = [e.candidate for e in _set(9, 7).examples]
    base = model.predict(cands)
    order = list(range(len(cands)))
    random.Random(0).shuffle(order)
    shuffled = model.predict([cands[i] for i in order], batch_size=2)
    for k, i in enumerate(order):
        assert shuffled[k].label == base[i].label
        assert shuffled[k].relation_score == pytest.approx(base[i].relation_score, abs=1e-4)
    assert model.predict([]) == []


def test_document_scope_pairs_entities_across_sentences_and_cites_both(tiny) -> None:  # type: ignore[no-untyped-def]
    import spacy
    from spacy.tokens import Span

    from extractors.relations.component import RelationExtractor, _evidence

    model, _ = tiny
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    doc = nlp("Aspirin was given daily. Warfarin levels rose. Digoxin and lithium were stopped.")
    doc.ents = [Span(doc, 0, 1, label="Drug"), Span(doc, 5, 6, label="Drug"), Span(doc, 9, 10, label="Drug"),
                Span(doc, 11, 12, label="Drug")]
    extractor = RelationExtractor(model, threshold=0.5, batch_size=8)

    def pairs() -> set[tuple[str, str]]:
        return {(c.head_text, c.tail_text) for _, _, c, _ in extractor._jobs(doc)}

    assert pairs() == {("Digoxin", "lithium")}  # sentence scope: only the pair sharing a sentence
    saved = dict(model.meta)
    try:
        model.meta["scopes"] = {"ddi": "document"}
        assert pairs() == {(a, b) for i, a in enumerate(["Aspirin", "Warfarin", "Digoxin", "lithium"])
                           for b in ["Aspirin", "Warfarin", "Digoxin", "lithium"][i + 1 :]}
        extractor.extract([doc])  # runs end to end at document scope
    finally:
        model.meta.clear()
        model.meta.update(saved)
    aspirin, warfarin, digoxin, lithium = doc.ents
    assert _evidence(aspirin, warfarin).text == "Aspirin was given daily. Warfarin levels rose."
    assert _evidence(lithium, digoxin).text == "Digoxin and lithium were stopped."


def test_an_uncorrected_task_keeps_its_raw_posteriors_and_the_choice_survives_saving(tiny, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``OnePassConfig.uncorrected`` tasks are predicted from the raw class-weighted posteriors
    (the scores of the same model with the correction switched off); the list is recorded in
    ``medkg.json`` and read back by ``RelationModel.load``."""
    import shutil

    model, out = tiny
    assert model.meta["uncorrected_tasks"] == [] and model.corrects("ddi")  # the default list names no DDI task
    cands = [e.candidate for e in _set(9, 11).examples]
    raw = model.predict(cands)  # the tiny model trains unweighted: its recorded correction is zero

    def load(uncorrected: list[str]) -> RelationModel:
        copy = tmp_path / f"model-{len(uncorrected)}"
        shutil.copytree(out, copy)
        meta = json.loads((copy / "medkg.json").read_text())
        meta["logit_adjustment"] = {"ddi": [0.0, -4.0, -4.0, -4.0, -4.0]}  # a strong prior against relations
        meta["uncorrected_tasks"] = uncorrected
        (copy / "medkg.json").write_text(json.dumps(meta))
        return RelationModel.load(copy, device="cpu")

    corrected, uncorrected = load([]), load(["ddi"])
    assert corrected.corrects("ddi") and uncorrected.uncorrected == {"ddi"} and not uncorrected.corrects("ddi")
    assert any(abs(a.relation_score - b.relation_score) > 1e-3 for a, b in zip(corrected.predict(cands), raw))
    for a, b in zip(uncorrected.predict(cands), raw):
        assert a.label == b.label and a.relation_score == pytest.approx(b.relation_score, abs=1e-4)


def test_a_second_model_takes_over_its_tasks_and_the_first_keeps_the_rest(tiny) -> None:  # type: ignore[no-untyped-def]
    """The component's second model (the shipped document-scope symptom model) replaces the main
    model's same tasks: here both are the tiny DDI model, so the main one runs nothing and the
    relations are exactly the second one's, each once; the relations of two extractors that both
    run are concatenated."""
    import spacy
    from spacy.tokens import Span

    from extractors.relations.component import RelationComponent, RelationExtractor

    model, out = tiny
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")

    def doc():  # type: ignore[no-untyped-def]
        d = nlp("Aspirin increases the plasma levels of warfarin, and digoxin was given for pain.")
        d.ents = [Span(d, 0, 1, label="Drug"), Span(d, 6, 7, label="Drug"), Span(d, 9, 10, label="Drug")]
        return d

    def pairs(component: RelationComponent) -> list[tuple[str, str]]:
        return sorted((r.head_id, r.tail_id) for r in component(doc())._.relations)

    alone = RelationComponent(nlp, "re", str(out), "cpu", 0.5, 8, False)
    assert [x.tasks for x in alone.extractors] == [("ddi",)]
    both = RelationComponent(nlp, "re", str(out), "cpu", 0.5, 8, False, extra_model_dir=str(out))
    assert [x.tasks for x in both.extractors] == [(), ("ddi",)]
    want = [("LOCAL:drug:aspirin", "LOCAL:drug:warfarin")]
    assert pairs(alone) == want and pairs(both) == want  # found once, not once per model
    both.extractors[0] = RelationExtractor(model, threshold=0.5, batch_size=8)  # two extractors that both run
    assert pairs(both) == want * 2


def test_a_document_scope_pair_inside_a_one_sentence_window_is_one_relation(tiny) -> None:  # type: ignore[no-untyped-def]
    """A long sentence is a window of its own and also sits in the window before it: the pair
    it states is still one document-scope relation (the best-scored), not one per window."""
    import spacy
    from spacy.tokens import Span

    from extractors.relations.component import RelationExtractor

    model, _ = tiny
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    long_next = ", ".join(["it was taken with food and water"] * 50) + "."  # one sentence of ~1,650 characters
    d = nlp(f"Patients were seen twice. Aspirin increases the plasma levels of warfarin, and digoxin was given for pain. "
            f"{long_next}")
    names = {"Aspirin", "warfarin", "digoxin"}
    d.ents = [Span(d, t.i, t.i + 1, label="Drug") for t in d if t.text in names]
    extractor = RelationExtractor(model, threshold=0.5, batch_size=8)
    saved = dict(model.meta)
    try:
        model.meta["scopes"] = {"ddi": "document"}
        windows = {span.start_char for span, *_ in extractor._jobs(d)}
        assert len(windows) == 2  # the pair is classified in two windows
        (rels,) = extractor.extract([d])
    finally:
        model.meta.clear()
        model.meta.update(saved)
    assert [(r.head_id, r.tail_id) for r in rels] == [("LOCAL:drug:aspirin", "LOCAL:drug:warfarin")]


def test_training_warns_when_the_model_predicts_no_relation_on_a_dev_set(tiny) -> None:  # type: ignore[no-untyped-def]
    """A model that finds nothing on a dev set is named (a diverged run must not pass silently);
    one that finds the stated pairs is not."""
    from dataclasses import replace

    from extractors.relations.train import finish_training

    model, _ = tiny
    dev = _set(12, 42)
    quiet = replace(dev, corpus="toy-quiet", gold=frozenset(),
                    examples=tuple(e for e in dev.examples if int(e.doc_id.rsplit("-", 1)[1]) % 3 == 2))
    assert quiet.examples and all(e.label == "none" for e in quiet.examples)
    said: list[str] = []
    finish_training(model, model.peft_model, [dev, quiet], None, said.append)
    warnings = [line for line in said if line.startswith("WARNING")]
    assert len(warnings) == 1 and "on the dev split of toy-quiet:" in warnings[0]  # toy (with positives) not named
