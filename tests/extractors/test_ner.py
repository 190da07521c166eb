"""Transformer NER: decoding helpers, corpus preparation, a tiny real training run, the shipped model.

The tiny model is trained here, on the packaged MiniLM base, from the BC5CDR and RareDis test
fixtures (a few dozen sentences, a few steps), so the real training, saving and loading code
runs in every test session without shared data or a GPU.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from extractors.errors import CorpusFormatError, ModelNotFoundError
from extractors.ner.data import CORPORA, IGNORE_INDEX, encode, load_gold, to_sentences
from extractors.ner.decode import (
    Window,
    bio_tags,
    longest_first,
    abbreviation_consistency,
    abbreviation_definitions,
    owner_window,
    postprocess,
    resolve_overlaps,
    tag_spans,
    trim_span,
    viterbi_bio,
    windows,
    word_tags,
)
from extractors.ner.ensemble import NerEnsemble, vote_spans
from extractors.ner.features import SHAPE, Gazetteer, TokenFeaturizer, word_shape
from extractors.ner.gazetteer import GAZ_LABELS
from extractors.ner.model import DEFAULT_NER_MODEL, NerModel, NerSpan, build_network, text_segments
from extractors.ner.scoring import evaluate_ner
from extractors.ner.train import NerTrainConfig, TrainCorpus, fit_ner, save_ner
from tests.helpers import FIXTURES, shared_data

BC5CDR_FIXTURE = FIXTURES / "bc5cdr" / "CDR_TrainingSet_excerpt.PubTator.txt"
RAREDIS_FIXTURE = FIXTURES / "raredis" / "dev"

# Two sentences of the BC5CDR development set (PMIDs 591536 and 6203632) with their gold spans.
DEV_SENTENCES = [
    ("Arterial thromboembolism is a recognized complication of systemic heparin therapy.",
     {("heparin", "Drug")}, "thromboembolism"),
    ("Development of isoproterenol-induced cardiac hypertrophy.",
     {("isoproterenol", "Drug"), ("cardiac hypertrophy", "Disease")}, "cardiac hypertrophy"),
]


# --- decoding helpers ------------------------------------------------------------------------


def test_windows_cover_every_token_once_as_owner() -> None:
    assert windows(5, size=10, overlap=2) == [Window(0, 5)]
    wins = windows(25, size=10, overlap=4)
    assert wins[0] == Window(0, 10) and wins[-1] == Window(15, 25)
    assert all(w.end - w.start == 10 for w in wins)
    owner = owner_window(wins, 25)
    assert all(wins[o].start <= t < wins[o].end for t, o in enumerate(owner))
    # a token in an overlap belongs to the window where it is further from the edge
    assert owner[9] == 1 and owner[8] == 1 and owner[6] == 0 and owner[3] == 0
    with pytest.raises(ValueError):
        windows(5, size=4, overlap=4)


def test_viterbi_repairs_invalid_bio() -> None:
    tags = bio_tags(["Drug", "Disease"])  # O B-Drug I-Drug B-Disease I-Disease
    assert tags == ["O", "B-Drug", "I-Drug", "B-Disease", "I-Disease"]
    # argmax says O, I-Drug, I-Drug: invalid start of an entity
    lp = np.log(np.array([[0.9, 0.02, 0.04, 0.02, 0.02], [0.3, 0.25, 0.35, 0.05, 0.05], [0.1, 0.1, 0.7, 0.05, 0.05]]))
    path = viterbi_bio(lp)
    assert path == [0, 1, 2]
    assert tag_spans(path) == [(1, 3, 0)]
    # a valid argmax is kept as it is
    valid = np.log(np.array([[0.1, 0.8, 0.05, 0.03, 0.02], [0.1, 0.1, 0.1, 0.6, 0.1]]))
    assert viterbi_bio(valid) == [1, 3]
    assert viterbi_bio(np.zeros((0, 5))) == []


def test_tag_spans_opens_an_entity_on_a_stray_inside_tag() -> None:
    assert tag_spans([0, 2, 2, 0, 1, 4, 3]) == [(1, 3, 0), (4, 5, 0), (5, 6, 1), (6, 7, 1)]


def test_word_tags_and_overlap_resolution() -> None:
    words = [(0, 7), (8, 16), (17, 20), (21, 28)]
    assert word_tags(words, [(8, 20, 1), (21, 25, 0)]) == [0, 3, 4, 1]
    spans = [(0, 10, "Disease", 0.9), (5, 12, "Symptom", 0.95), (20, 25, "Drug", 0.5)]
    assert resolve_overlaps(spans) == [(5, 12, "Symptom", 0.95), (20, 25, "Drug", 0.5)]
    assert longest_first([(0, 5, "Disease"), (0, 5, "Symptom"), (0, 12, "Symptom"), (20, 22, "Disease")],
                         prefer=("Symptom",)) == [(0, 12, "Symptom"), (20, 22, "Disease")]


def test_trim_span_drops_function_words_and_stray_brackets() -> None:
    for piece, expected in [
        ("seizures and", "seizures"),
        ("chronic hepatitis C (", "chronic hepatitis C"),
        ("A-77636 (", "A-77636"),
        ("cirrhosis of the liver", "cirrhosis of the liver"),
        ("myocardial infarction (MI)", "myocardial infarction (MI)"),
        ("and", "and"),
    ]:
        start, end = trim_span(piece, 0, len(piece))
        assert piece[start:end] == expected
    start, end = trim_span("( ,", 0, 3)
    assert start == end


def test_abbreviation_definitions_schwartz_hearst() -> None:
    text = "Rats given puromycin aminonucleoside (PAN) and the angiotensin-converting enzyme (ACE) inhibitor (n = 5)."
    found = [(text[a:b], text[c:d]) for a, b, c, d in abbreviation_definitions(text)]
    assert found == [("puromycin aminonucleoside", "PAN"), ("angiotensin-converting enzyme", "ACE")]


def test_abbreviation_consistency_types_and_removes_short_forms() -> None:
    text = (
        "Cervical intraepithelial neoplasia (CIN) after the angiotensin-converting enzyme (ACE) inhibitor. "
        "CIN grade; CIN-like; ACE activity; CINE."
    )

    def at(word: str, nth: int = 0) -> tuple[int, int]:
        start = [m.start() for m in re.finditer(re.escape(word), text)][nth]
        return start, start + len(word)

    spans = [
        (*at("Cervical intraepithelial neoplasia"), "Disease", 0.9),
        (*at("CIN", 1), "Drug", 0.6),  # mistyped repeat
        (*at("ACE", 1), "Drug", 0.7),  # not an entity: its long form was not tagged
    ]
    out = {(text[s:e], s, lab) for s, e, lab, _ in abbreviation_consistency(text, spans)}
    assert out == {
        ("Cervical intraepithelial neoplasia", 0, "Disease"),
        ("CIN", at("CIN")[0], "Disease"),
        ("CIN", at("CIN", 1)[0], "Disease"),
        ("CIN", at("CIN", 2)[0], "Disease"),  # whole word before a hyphen
    }
    both = postprocess(text, [(*at("Cervical intraepithelial neoplasia"), "Disease", 0.9)])
    assert len(both) == 4


# --- corpus preparation ----------------------------------------------------------------------


def test_raredis_gold_keeps_all_entities_and_training_masks_discontinuous() -> None:
    spec = CORPORA["raredis"]
    docs = {d.id: d for d in load_gold(spec, RAREDIS_FIXTURE)}
    baller = docs["Baller"]
    assert (129, 202, "Symptom") in baller.spans  # discontinuous SIGN by its extent
    assert (129, 202) in baller.discontinuous
    sentences = to_sentences(baller, spec)
    covered = [s for s in sentences if s.masked]
    assert covered and all(
        not (s.offset + a < 202 and 129 < s.offset + b) for s in sentences for a, b, _ in s.spans
        if (s.offset + a, s.offset + b) != (129, 174)
    )
    fvs = to_sentences(docs["Fetal-Valproate-Syndrome"], spec)
    flat = [(s.text[a:b], lab) for s in fvs for a, b, lab in s.spans]
    assert ("cleft lip and palate", "Symptom") in flat  # RAREDISEASE + SIGN on one span: Symptom wins
    assert ("cleft lip and palate", "Disease") not in flat


def test_encode_puts_labels_on_first_subtokens_only() -> None:
    from transformers import AutoTokenizer

    from extractors.transformer import PACKAGED_BASE, resolve_base

    tokenizer = AutoTokenizer.from_pretrained(resolve_base(PACKAGED_BASE))
    spec = CORPORA["bc5cdr"]
    doc = load_gold(spec, BC5CDR_FIXTURE)[0]
    sentence = to_sentences(doc, spec)[0]  # "Naloxone reverses the antihypertensive effect of clonidine."
    (feat,) = encode([sentence], tokenizer, head="bc5cdr", labels=spec.labels, max_length=64, overlap=8)
    tokens = tokenizer.convert_ids_to_tokens(list(feat.input_ids))
    tagged = [(tok, lab) for tok, lab in zip(tokens, feat.labels) if lab != IGNORE_INDEX]
    assert tagged[0] == ("na", 1) and tagged[-2] == ("cl", 1)  # B-Drug on the first sub-token
    assert all(not tok.startswith("##") for tok, _ in tagged)
    long = encode([sentence], tokenizer, head="bc5cdr", labels=spec.labels, max_length=8, overlap=2)
    assert len(long) > 1 and all(len(f.input_ids) <= 8 for f in long)


# --- a tiny model trained here ---------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[NerModel, Path]:
    """Fit on the fixtures (50 sentences, 20 steps on the top two blocks), save, return model + dir."""
    out = tmp_path_factory.mktemp("ner") / "tiny"
    config = NerTrainConfig(
        corpora=(
            TrainCorpus("bc5cdr", train=BC5CDR_FIXTURE, dev=BC5CDR_FIXTURE),
            TrainCorpus("raredis", train=RAREDIS_FIXTURE, dev=RAREDIS_FIXTURE),
        ),
        out_dir=out,
        epochs=4,
        batch_size=12,
        lr=3e-3,
        head_lr=1e-2,
        frozen_layers=4,
        sample={},
        device="cpu",
        features=(),  # the pre-features recipe: these tests check what it saves and predicts
    )
    live = fit_ner(config)
    save_ner(live, out)
    return live, out


def _texts() -> list[str]:
    return [d.text for d in load_gold(CORPORA["bc5cdr"], BC5CDR_FIXTURE)]


def test_saved_directory_is_a_small_standard_adapter(tiny: tuple[NerModel, Path]) -> None:
    _, out = tiny
    names = {p.name for p in out.iterdir()}
    assert {"adapter_config.json", "adapter_model.safetensors", "tokenizer.json", "medkg.json", "README.md"} <= names
    assert sum(p.stat().st_size for p in out.iterdir()) < 10_000_000
    meta = json.loads((out / "medkg.json").read_text())
    assert meta["task"] == "ner" and meta["base"] == "packaged:minilm-l6-uncased"
    assert meta["heads"] == {"bc5cdr": ["Drug", "Disease"], "raredis": ["Disease", "Symptom"]}
    assert meta["label_sources"] == {"Drug": ["bc5cdr"], "Disease": ["bc5cdr"], "Symptom": ["raredis"]}
    assert meta["corpora"][0]["train_sentences"] == 22 and meta["hyperparameters"]["steps"] > 0
    adapter = json.loads((out / "adapter_config.json").read_text())
    assert set(adapter["modules_to_save"]) == {"head_bc5cdr", "head_raredis"}
    assert "microsoft/BiomedNLP-PubMedBERT" in (out / "README.md").read_text()


def test_save_load_round_trip_gives_identical_predictions(tiny: tuple[NerModel, Path]) -> None:
    live, out = tiny
    loaded = NerModel.load(out, device="cpu")
    texts = _texts()
    before, after = live.predict(texts), loaded.predict(texts)
    assert sum(map(len, before)) > 0, "the tiny model should find something in its own training text"
    assert [[(s.start, s.end, s.label) for s in d] for d in before] == [[(s.start, s.end, s.label) for s in d] for d in after]
    for d0, d1 in zip(before, after):
        for s0, s1 in zip(d0, d1):
            assert s1.score == pytest.approx(s0.score, abs=1e-4)
    assert loaded.labels == ("Drug", "Disease", "Symptom")
    # batching (padding, length-sorting) does not change results
    one_by_one = loaded.predict(texts, batch_size=1)
    assert [[(s.start, s.end, s.label) for s in d] for d in one_by_one] == [[(s.start, s.end, s.label) for s in d] for d in after]


def test_evaluate_uses_the_corpus_head(tiny: tuple[NerModel, Path]) -> None:
    _, out = tiny
    result = evaluate_ner(out, RAREDIS_FIXTURE, corpus="raredis", device="cpu")
    assert result["head"] == "raredis" and result["documents"] == 4
    assert set(result["scores"]) <= {"Disease", "Symptom", "ALL"} and "ALL" in result["scores"]
    assert result["scores"]["ALL"]["support"] == sum(len(d.spans) for d in load_gold(CORPORA["raredis"], RAREDIS_FIXTURE))
    assert "scores_contiguous" in result  # the fixture has discontinuous entities


def test_bad_inputs(tiny: tuple[NerModel, Path], tmp_path: Path) -> None:
    _, out = tiny
    model = NerModel.load(out, device="cpu")
    assert model.predict(["", "   \n "]) == [[], []]
    assert model.predict([]) == []
    with pytest.raises(TypeError):
        model.predict("a single string")  # type: ignore[arg-type]
    empty = tmp_path / "not-a-model"
    empty.mkdir()
    with pytest.raises(ModelNotFoundError, match=re.escape(str(empty))):
        NerModel.load(empty)
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        NerModel.load(tmp_path / "missing")
    with pytest.raises(CorpusFormatError, match="unknown NER corpus 'i2b2'"):
        NerTrainConfig(corpora=(TrainCorpus("i2b2", train=tmp_path),), out_dir=tmp_path)


def test_full_finetune_with_document_context_saves_and_reloads(tmp_path: Path) -> None:
    """The extended recipe's options: whole documents as windowed examples, every weight above
    the frozen blocks trained, the network saved whole; the reload predicts what was trained,
    and the frozen blocks keep the base's weights."""
    out = tmp_path / "full"
    config = NerTrainConfig(
        corpora=(TrainCorpus("bc5cdr", train=BC5CDR_FIXTURE),),
        out_dir=out,
        epochs=2,
        batch_size=2,
        lr=5e-4,
        head_lr=1e-2,
        frozen_layers=4,
        full_finetune=True,
        context="document",
        max_length=96,
        overlap=24,
        device="cpu",
        features=(),
    )
    live = fit_ner(config)
    save_ner(live, out)
    meta = json.loads((out / "medkg.json").read_text())
    assert meta["weights"] == "full" and meta["context"] == "document" and meta["max_length"] == 96
    docs = load_gold(CORPORA["bc5cdr"], BC5CDR_FIXTURE)
    assert meta["corpora"][0]["train_sentences"] == len(docs)  # one example per document
    assert (out / "model.safetensors").exists() and not (out / "adapter_config.json").exists()
    assert "fully fine-tuned" in (out / "README.md").read_text()
    loaded = NerModel.load(out, device="cpu")
    assert loaded.context == "document"
    text = docs[0].text
    assert text_segments(text, "document") == [(0, len(text))] and len(text_segments(text)) > 1
    assert text_segments(" \n", "document") == []
    texts = [d.text for d in docs]
    before, after = live.predict(texts), loaded.predict(texts)
    assert sum(map(len, after)) > 0
    assert [[(s.start, s.end, s.label) for s in d] for d in before] == [[(s.start, s.end, s.label) for s in d] for d in after]
    for d0, d1 in zip(before, after):
        for s0, s1 in zip(d0, d1):
            assert s1.score == pytest.approx(s0.score, abs=1e-4)
    base, trained = build_network(meta["base"], {}).encoder, loaded.network.encoder
    assert trained.embeddings.word_embeddings.weight.equal(base.embeddings.word_embeddings.weight)
    assert trained.encoder.layer[3].output.dense.weight.equal(base.encoder.layer[3].output.dense.weight)
    assert not trained.encoder.layer[4].output.dense.weight.equal(base.encoder.layer[4].output.dense.weight)


def test_word_shape_and_gazetteer_tags() -> None:
    from transformers import AutoTokenizer

    from extractors.transformer import PACKAGED_BASE, resolve_base

    shapes = {w: word_shape(w) for w in ["heparin", "Heparin", "OAB", "HEPARINS", "mRNA", "CD4", "h2o", "12", "(", "A", "x", "α", "½"]}
    assert shapes == {
        "heparin": SHAPE["lower"], "Heparin": SHAPE["title"], "OAB": SHAPE["caps_short"], "HEPARINS": SHAPE["caps_long"],
        "mRNA": SHAPE["mixed"], "CD4": SHAPE["caps_digit"], "h2o": SHAPE["alnum_digit"], "12": SHAPE["digits"],
        "(": SHAPE["punct"], "A": SHAPE["upper_letter"], "x": SHAPE["lower_letter"], "α": SHAPE["lower_letter"], "½": SHAPE["other"],
    }
    tokenizer = AutoTokenizer.from_pretrained(resolve_base(PACKAGED_BASE))
    gaz = Gazetteer.from_names(
        [("Disease", "Cardiac hypertrophy"), ("Disease", "cardiac"), ("Disease", "ALL"), ("Drug", "can"), ("Drug", "heparin")],
        tokenizer,
    )
    assert len(gaz) == 4  # "can": a short lower-case one-word term is dropped
    # longest match first, lower-cased except short upper-case terms, which need their case
    assert gaz.tags(["In", "ALL", "and", "all", "cardiac", "Hypertrophy", ",", "cardiac", "heparin"]) == [1, 4, 1, 1, 4, 5, 1, 4, 2]

    def every_length(words: list[str]) -> list[int]:  # the plain rule: try every length, longest first
        out, i = [1] * len(words), 0
        while i < len(words):
            for n in range(min(gaz.max_words, len(words) - i), 0, -1):
                label = gaz.terms.get((True, tuple(words[i:i + n]))) or gaz.terms.get((False, tuple(w.lower() for w in words[i:i + n])))
                if label is not None:
                    k = GAZ_LABELS.index(label)
                    out[i:i + n] = [2 + 2 * k] + [3 + 2 * k] * (n - 1)
                    i += n
                    break
            else:
                i += 1
        return out

    import random

    rng = random.Random(7)
    vocab = ["ALL", "all", "All", "cardiac", "Cardiac", "hypertrophy", "Hypertrophy", "heparin", "can", ","]
    for _ in range(300):
        words = [rng.choice(vocab) for _ in range(rng.randint(0, 8))]
        assert gaz.tags(words) == every_length(words), words
    featurizer = TokenFeaturizer(["gazetteer", "shape"], gaz)
    assert featurizer.names == ("shape", "gazetteer")  # fixed order, whatever the caller's
    text = "Heparin-induced ALL"
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    feats = featurizer(text, enc["offset_mapping"], enc.word_ids())
    pieces = [w for w in enc.word_ids() if w == 0]
    assert len(pieces) > 1  # "Heparin" is several wordpieces; each carries the whole word's shape
    assert feats["shape"][: len(pieces)] == [SHAPE["title"]] * len(pieces) and feats["shape"][-1] == SHAPE["caps_short"]
    assert feats["gazetteer"][0] == 2 and feats["gazetteer"][-1] == 4
    with pytest.raises(ValueError, match="unknown NER feature"):
        TokenFeaturizer(["pos"])


def test_the_shipped_model_sees_the_gazetteer_it_was_trained_with() -> None:
    """The linking KB's names, from the installed (pinned) packages and this checkout's KB code,
    give the NER model the very terms it was trained with: a change to the KB build or to
    ``normalize`` (which dedupes aliases) that drops or adds a term fails here, not as a warning
    on every user's run."""
    from transformers import AutoTokenizer

    from extractors.ner.gazetteer import kb_terms

    meta = json.loads((DEFAULT_NER_MODEL / "medkg.json").read_text())["gazetteer"]
    tokenizer = AutoTokenizer.from_pretrained(DEFAULT_NER_MODEL)
    kb = kb_terms(tokenizer)
    assert (len(kb), kb.sha256()) == (meta["kb_terms"], meta["kb_sha256"])


def test_gazetteer_ships_only_open_terms_and_adds_the_kb_part_at_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The linking-KB names (CC BY-SA drug synonyms, HPO) are left out of the model directory and
    added back from the installed packages at load time, giving exactly the training term set;
    a KB that changed since training is reported. Mentions join fold by fold."""
    from transformers import AutoTokenizer

    from extractors.ner.gazetteer import (
        GAZETTEER_FILE,
        disease_ontology_terms,
        kb_terms,
        load_model_gazetteer,
        read_terms,
        shipped_part,
        training_gazetteer,
    )
    from extractors.transformer import PACKAGED_BASE, resolve_base

    monkeypatch.setenv("MEDKG_CACHE_DIR", str(tmp_path / "cache"))
    tokenizer = AutoTokenizer.from_pretrained(resolve_base(PACKAGED_BASE))
    docs = load_gold(CORPORA["bc5cdr"], BC5CDR_FIXTURE)
    do_folder = FIXTURES / "curated" / "do"
    full, per_fold, meta = training_gazetteer(tokenizer, disease_ontology=do_folder, docs=[docs], folds=2)
    kb = kb_terms(tokenizer)
    assert list((tmp_path / "cache").glob("ner-gazetteer-kb-*.tsv.gz"))  # cached: later loads only read it
    assert ("Drug", False, ("aspirin",)) in kb.items() and len(kb) > 50_000
    do = disease_ontology_terms(do_folder, tokenizer)
    assert do and meta["kb_sha256"] == kb.sha256() and meta["terms"] == len(full) == meta["kb_terms"] + meta["shipped_terms"]
    # fold 0 (documents 0, 2, ...) is featurized without its own mentions, with fold 1's
    do_keys = {(ex, w) for _, ex, w in do}
    words = {w for _, ex, w in full.items() if (ex, w) not in kb.terms and (ex, w) not in do_keys}
    fold0 = {w for i, d in enumerate(docs) for _, _, w in _mention_terms(d, tokenizer) if i % 2 == 0} & words
    fold1 = {w for i, d in enumerate(docs) for _, _, w in _mention_terms(d, tokenizer) if i % 2 == 1} & words
    only0 = fold0 - fold1
    assert only0 and per_fold is not None
    assert not any((False, w) in per_fold[0].terms or (True, w) in per_fold[0].terms for w in only0)
    assert all((False, w) in per_fold[1].terms or (True, w) in per_fold[1].terms for w in only0)
    # the model directory holds the DO names and mentions only
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    shipped = shipped_part(full, kb)
    shipped.save(model_dir / GAZETTEER_FILE)
    on_disk = read_terms(model_dir / GAZETTEER_FILE)
    assert len(on_disk) == meta["shipped_terms"] and not any((ex, w) in kb.terms for _, ex, w in on_disk)
    loaded = load_model_gazetteer({"gazetteer": meta}, model_dir, tokenizer)
    assert loaded.terms == full.terms and not [r for r in caplog.records if r.name == "extractors.ner.gazetteer"]
    with caplog.at_level("WARNING", logger="extractors.ner.gazetteer"):
        load_model_gazetteer({"gazetteer": {**meta, "kb_sha256": "0" * 64}}, model_dir, tokenizer)
    assert "0" * 64 in caplog.text and kb.sha256() in caplog.text
    # models from before the split ship every term and load them as they are
    assert load_model_gazetteer({"gazetteer": {"terms": len(shipped)}}, model_dir, tokenizer).terms == shipped.terms
    with pytest.raises(CorpusFormatError, match=re.escape(str(tmp_path / "no-do"))):
        disease_ontology_terms(tmp_path / "no-do", tokenizer)


def _mention_terms(doc, tokenizer):  # type: ignore[no-untyped-def]
    from extractors.ner.gazetteer import gazetteer_terms, mention_names

    return gazetteer_terms(mention_names(doc.text, doc.spans, doc.discontinuous), tokenizer)


def test_training_defaults_are_the_shipped_recipe() -> None:
    from extractors.ner.data import data_root

    config = NerTrainConfig(corpora=(TrainCorpus("bc5cdr", train=BC5CDR_FIXTURE),), out_dir=Path("unused"))
    assert config.features == ("shape", "gazetteer") and config.gazetteer_folds == 5
    assert config.disease_ontology == data_root() / "knowledge" / "disease_ontology"
    shipped_meta = json.loads((DEFAULT_NER_MODEL / "medkg.json").read_text()) if (DEFAULT_NER_MODEL / "medkg.json").exists() else None
    if shipped_meta is not None:
        assert shipped_meta["features"] == list(config.features)
        assert shipped_meta["gazetteer"]["train_mention_folds"] == config.gazetteer_folds
    with pytest.raises(ValueError, match="gazetteer_folds"):
        NerTrainConfig(corpora=(TrainCorpus("bc5cdr", train=BC5CDR_FIXTURE),), out_dir=Path("unused"), gazetteer_folds=1)


def test_features_model_saves_and_reloads_identically(tmp_path: Path) -> None:
    """A model with the shape and gazetteer features records them in medkg.json, ships its
    gazetteer, and predicts the same after reloading, also one window per batch and windowed."""
    from transformers import AutoTokenizer

    from extractors.transformer import PACKAGED_BASE, resolve_base

    tokenizer = AutoTokenizer.from_pretrained(resolve_base(PACKAGED_BASE))
    gaz = Gazetteer.from_names([("Drug", "naloxone"), ("Drug", "clonidine"), ("Disease", "hypotension")], tokenizer)
    out = tmp_path / "feat"
    config = NerTrainConfig(
        corpora=(TrainCorpus("bc5cdr", train=BC5CDR_FIXTURE),),
        out_dir=out,
        epochs=3,
        batch_size=8,
        lr=3e-3,
        head_lr=1e-2,
        frozen_layers=4,
        device="cpu",
        features=("shape", "gazetteer"),
        gazetteer=gaz,
    )
    live = fit_ner(config)
    save_ner(live, out)
    meta = json.loads((out / "medkg.json").read_text())
    assert meta["features"] == ["shape", "gazetteer"] and meta["gazetteer"]["terms"] == 3
    assert "features" not in meta["hyperparameters"]
    adapter = json.loads((out / "adapter_config.json").read_text())
    assert {"feat_shape", "feat_gazetteer", "head_bc5cdr"} == set(adapter["modules_to_save"])
    loaded = NerModel.load(out, device="cpu")
    assert loaded.featurizer.names == ("shape", "gazetteer") and len(loaded.featurizer.gazetteer) == 3

    def key(result: list[list[NerSpan]]) -> list[list[tuple[int, int, str]]]:
        return [[(s.start, s.end, s.label) for s in d] for d in result]

    texts = _texts() + ["NALOXONE and Clonidine caused HYPOTENSION in rats."]
    before, after = live.predict(texts), loaded.predict(texts)
    assert sum(map(len, after)) > 0
    assert key(before) == key(after) == key(loaded.predict(texts, batch_size=1))
    for d0, d1 in zip(before, after):
        for s0, s1 in zip(d0, d1):
            assert s1.score == pytest.approx(s0.score, abs=1e-4)
    # windows: features are cut with the tokens, so a long text still decodes at exact offsets
    short = NerModel.load(out, device="cpu", max_length=24)
    long_text = " ".join(texts[:2])
    assert all(long_text[s.start : s.end].strip() for s in short.predict([long_text])[0])
    # the network refuses to run without the features it was trained with
    ids = tokenizer(["naloxone"], return_tensors="pt")
    with pytest.raises(ValueError, match="input features"):
        loaded.network(input_ids=ids["input_ids"], attention_mask=ids["attention_mask"], heads=("bc5cdr",))
    (out / "gazetteer.tsv.gz").unlink()
    with pytest.raises(ModelNotFoundError, match="gazetteer"):
        NerModel.load(out, device="cpu")


def test_vote_spans_keeps_the_majority() -> None:
    a = [(0, 5, "Drug", 0.9), (10, 20, "Disease", 0.8)]
    b = [(0, 5, "Drug", 0.6), (10, 15, "Disease", 0.7), (0, 5, "Drug", 0.5)]  # a duplicate votes once
    c = [(10, 20, "Drug", 0.9)]
    assert vote_spans([a, b, c], min_votes=2) == [(0, 5, "Drug", pytest.approx(0.5))]  # (0.9 + 0.6) / 3
    # one vote suffices: overlapping candidates are resolved by score
    assert vote_spans([a, b, c], min_votes=1) == [(0, 5, "Drug", pytest.approx(0.5)), (10, 20, "Drug", pytest.approx(0.3))]
    assert vote_spans([a, a], min_votes=2) == [(0, 5, "Drug", pytest.approx(0.9)), (10, 20, "Disease", pytest.approx(0.8))]
    with pytest.raises(ValueError, match="min_votes"):
        vote_spans([a, b], min_votes=3)


def test_ensemble_votes_on_shared_heads(tiny: tuple[NerModel, Path]) -> None:
    live, out = tiny
    loaded = NerModel.load(out, device="cpu")
    texts = _texts()
    same = NerEnsemble([live, loaded])
    assert same.min_votes == 2 and set(same.heads) == {"bc5cdr", "raredis"} and same.labels == ("Drug", "Disease", "Symptom")
    # two copies of one model agree on everything: the vote is that model's output
    assert [[(s.start, s.end, s.label) for s in d] for d in same.predict(texts)] == [
        [(s.start, s.end, s.label) for s in d] for d in loaded.predict(texts)
    ]
    scored = evaluate_ner(same, BC5CDR_FIXTURE, corpus="bc5cdr")
    alone = evaluate_ner(loaded, BC5CDR_FIXTURE, corpus="bc5cdr")
    assert scored["head"] == "bc5cdr" and scored["scores"] == alone["scores"]
    # a member with only the BC5CDR head: the ensemble votes on that head alone
    meta = {**loaded.meta, "heads": {"bc5cdr": ["Drug", "Disease"]}, "label_sources": {"Drug": ["bc5cdr"], "Disease": ["bc5cdr"]}}
    narrow = NerModel(
        network=loaded.network, tokenizer=loaded.tokenizer, meta=meta, device=loaded.device, max_length=64, overlap=8
    )
    mixed = NerEnsemble([loaded, narrow, live])
    assert list(mixed.heads) == ["bc5cdr"] and mixed.labels == ("Drug", "Disease")
    with pytest.raises(ValueError, match="unknown head"):
        mixed.predict_heads(texts, heads=("raredis",))
    with pytest.raises(ValueError, match="at least 2"):
        NerEnsemble([loaded])


# --- the shipped model -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped() -> NerModel:
    if not (DEFAULT_NER_MODEL / "medkg.json").exists():
        pytest.fail(f"the shipped model is missing at {DEFAULT_NER_MODEL}; train it: medkg train ner")
    return NerModel.load(DEFAULT_NER_MODEL, device="cpu")


def test_shipped_model_finds_drugs_and_diseases(shipped: NerModel) -> None:
    assert shipped.labels == ("Drug", "Disease", "Symptom")
    texts = [t for t, _, _ in DEV_SENTENCES]
    for (text, gold, disease), spans in zip(DEV_SENTENCES, shipped.predict(texts)):
        found = {(text[s.start : s.end], s.label) for s in spans}
        assert gold <= found, f"{text!r}: expected {gold}, got {found}"
        assert any(disease in form and label == "Disease" for form, label in found), found
        assert all(isinstance(s, NerSpan) and 0 < s.score <= 1 for s in spans)


def test_shipped_model_finds_symptoms(shipped: NerModel) -> None:
    text = "Affected individuals may develop seizures, hearing loss and short stature."
    labels = {(text[s.start : s.end], s.label) for s in shipped.predict([text])[0]}
    assert any(label == "Symptom" for _, label in labels), labels


@pytest.mark.parametrize("max_length", [24, 256])
def test_windowed_long_text_maps_offsets_exactly(max_length: int) -> None:
    """One 'sentence' of ~600 tokens (no sentence break) is cut into windows of ``max_length``;
    every drug mention must come back once, at its exact character offsets."""
    model = NerModel.load(DEFAULT_NER_MODEL, device="cpu", max_length=max_length)
    unit = "naloxone reverses the hypotensive effect of clonidine in rats; "
    text = unit * 40
    spans = model.predict([text])[0]
    drugs = sorted((s.start, s.end) for s in spans if s.label == "Drug")
    expected = sorted(
        (m.start(), m.end()) for m in re.finditer(r"naloxone|clonidine", text)
    )
    assert drugs == expected
    assert len({(s.start, s.end) for s in spans}) == len(spans)
    for a, b in zip(spans, spans[1:]):
        assert a.end <= b.start
    assert all(text[s.start : s.end].strip() == text[s.start : s.end] != "" for s in spans)


def test_an_abbreviation_defined_in_one_sentence_decides_its_uses_in_the_others() -> None:
    """The model reads one sentence at a time and, alone, types "HT" as a disease (hypertension);
    the document defines it as hormone therapy, which is no entity, so no use of it is one. A short
    form whose long form is a disease becomes one in every sentence."""
    import spacy

    import extractors.ner.component  # noqa: F401  (registers the factory)
    import extractors.pipeline  # noqa: F401  (registers medkg_sentences)

    later = "Long-term HT significantly increased the risk of venous thromboembolism."
    model = NerModel.load(DEFAULT_NER_MODEL, device="cpu")
    assert ("HT", "Disease") in {(later[s.start : s.end], s.label) for s in model.predict([later])[0]}
    nlp = spacy.blank("en")
    nlp.add_pipe("medkg_sentences")
    nlp.add_pipe("medkg_ner", config={"model_dir": str(DEFAULT_NER_MODEL), "device": "cpu"})
    doc = nlp("Hormone therapy (HT) is widely used after the menopause. " + later)
    assert [e.text for e in doc.ents if e.text == "HT"] == []
    assert "venous thromboembolism" in {e.text for e in doc.ents}
    doc = nlp("Patients with diabetes insipidus (DI) were studied. Lithium caused DI in two of them.")
    assert [e.label_ for e in doc.ents if e.text == "DI"] == ["Disease", "Disease"]


def test_shipped_model_on_real_dev_split() -> None:
    """A quick sanity check against a slice of the BC5CDR dev split (full numbers: benchmarks/)."""
    path = shared_data("corpora", "bc5cdr", "pubtator", "CDR_DevelopmentSet.PubTator.txt")
    docs = load_gold(CORPORA["bc5cdr"], path)[:20]
    model = NerModel.load(DEFAULT_NER_MODEL, device="cpu")
    predicted = model.predict_heads([d.text for d in docs], heads=("bc5cdr",))
    gold = {(d.id, s, e, lab) for d in docs for s, e, lab in d.spans}
    pred = {(d.id, s.start, s.end, s.label) for d, p in zip(docs, predicted) for s in p["bc5cdr"]}
    f1 = 2 * len(gold & pred) / (len(gold) + len(pred))
    assert f1 > 0.7, f"dev-slice F1 {f1:.3f}"


def test_spacy_baseline_trains_and_scores_like_the_transformer() -> None:
    from extractors.ner.spacy_baseline import SpacyBaselineConfig, evaluate_spacy_ner, train_spacy_ner

    spec = CORPORA["bc5cdr"]
    docs = load_gold(spec, BC5CDR_FIXTURE)
    nlp, info = train_spacy_ner(docs, spec, config=SpacyBaselineConfig(epochs=8))
    assert info["sentences"] == 22 and info["entities_not_token_aligned"] == 0
    result = evaluate_spacy_ner(nlp, docs, spec)
    assert result["scores"]["ALL"]["support"] == 49
    assert result["scores"]["Drug"]["tp"] > 0  # it learned something from its own training text
