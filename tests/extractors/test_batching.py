"""Inference batching (extractors.batching) and the NER / relation inference paths built on it.

``tests/fixtures/batching/pre_batching_outputs.json`` holds what the shipped models predict on
the texts stored in it (CPU, fp32, produced by :func:`_outputs` below with NER ``batch_size=4``:
the default 32 puts the two 256-wordpiece windows of the long text and every short sentence in
one batch, which is slow here). It was first written by the code *before* the DataLoader path
existed (commit 9dda79f), which the CPU path matched exactly; it is regenerated with
:func:`_outputs` whenever a shipped model is retrained (last: the NER model with word-shape and
gazetteer features; then the one-pass relation model; then that model retrained with raw posteriors for
its binary tasks, 2026-12-07), so the grouped / worker paths stay checked
against the default one.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from extractors.batching import Batching, GroupDataset, length_batches
from extractors.ner.decode import viterbi_bio, viterbi_bio_many
from extractors.ner.model import DEFAULT_NER_MODEL, NerModel
from extractors.relations.candidates import EntitySpan, candidate_pairs
from extractors.relations.model import DEFAULT_RE_MODEL, RelationModel
from extractors.transformer import Device
from schema.sentences import sentence_spans
from tests.helpers import FIXTURES

GOLDEN = json.loads((FIXTURES / "batching" / "pre_batching_outputs.json").read_text(encoding="utf-8"))
TEXTS: list[str] = GOLDEN["texts"]

# Groups of 3 texts and a small token budget: several groups, budget-cut batches.
SMALL = {"batch_size": 8, "max_tokens": 700, "group_size": 3}


# --- pure batching ---------------------------------------------------------------------------


def test_length_batches_sorts_stably_and_respects_both_limits() -> None:
    lengths = [5, 2, 9, 2, 7, 5]
    assert length_batches(lengths, batch_size=2) == [[1, 3], [0, 5], [4, 2]]
    assert length_batches(lengths, batch_size=10, descending=True) == [[2, 4, 0, 5, 1, 3]]
    # budget: rows x longest row <= 12 ([9] alone; 7+5 -> 2x7=14 > 12, so 7 alone; 5,5 -> 10; 2,2 -> 4)
    assert length_batches(lengths, batch_size=10, max_tokens=12, descending=True) == [[2], [4], [0, 5], [1, 3]]
    # ascending, the budget is checked against the row that would widen the batch
    assert length_batches(lengths, batch_size=10, max_tokens=12) == [[1, 3], [0, 5], [4], [2]]
    # a row over budget still forms a batch of its own
    assert length_batches([50, 1], batch_size=4, max_tokens=10) == [[1], [0]]
    assert length_batches([], batch_size=4) == []


def test_batching_validates_and_picks_device_defaults() -> None:
    with pytest.raises(ValueError, match="Batching.batch_size must be a positive integer"):
        Batching(batch_size=0)
    with pytest.raises(ValueError, match="Batching.max_tokens"):
        Batching(max_tokens=-5)
    with pytest.raises(ValueError, match="Batching.num_workers"):
        Batching(num_workers=-1)
    cpu = Batching.for_device(Device("cpu", bf16=False), batch_size=32)
    assert cpu == Batching(batch_size=32, max_tokens=None, group_size=None, num_workers=0)
    cuda = Batching.for_device(Device("cuda", bf16=True), batch_size=32)
    assert cuda.max_tokens and cuda.group_size and cuda.num_workers >= 1
    assert cpu.with_batch_size(None) is cpu and cpu.with_batch_size(4).batch_size == 4


def test_viterbi_many_equals_one_at_a_time() -> None:
    """Random and tied log-probabilities, empty and invalid-argmax sequences, 3 to 7 tags."""
    rng = np.random.default_rng(0)
    for n_tags in (3, 5, 7):
        seqs = []
        for n in rng.integers(0, 30, size=60):
            x = rng.normal(size=(n, n_tags)) * rng.choice([0.5, 4.0])
            lp = (x - np.log(np.exp(x).sum(axis=1, keepdims=True))).astype(np.float32)
            if n and rng.random() < 0.3:
                lp[:, 1] = lp[:, 2]  # ties between tags
            seqs.append(lp)
        seqs.append(np.log(np.full((12, n_tags), 1 / n_tags, dtype=np.float32)))  # all tied
        assert viterbi_bio_many(seqs) == [viterbi_bio(s) for s in seqs]
    assert viterbi_bio_many([]) == [] and viterbi_bio_many([np.zeros((0, 5))]) == [[]]


def test_group_dataset_bounds() -> None:
    ds = GroupDataset(7, 3)
    assert len(ds) == 3 and [ds.bounds(g) for g in range(3)] == [(0, 3), (3, 6), (6, 7)]
    assert len(GroupDataset(7, None)) == 1 and len(GroupDataset(0, None)) == 0
    with pytest.raises(IndexError, match="group 3 out of range"):
        ds.bounds(3)


# --- the models --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def models() -> tuple[NerModel, RelationModel]:
    # fp32 explicitly: the golden file pins fp32 scores; on a CPU with native bf16 the default is bf16
    return (NerModel.load(DEFAULT_NER_MODEL, device="cpu", bf16=False),
            RelationModel.load(DEFAULT_RE_MODEL, device="cpu", bf16=False))


def _outputs(ner: NerModel, rel: RelationModel, texts: list[str], *, batch_size: int | None = None) -> dict[str, Any]:
    """NER on ``texts``, then RE on every same-sentence candidate pair of the predicted spans."""
    spans = ner.predict(texts, batch_size=batch_size)
    cands = []
    for text, found in zip(texts, spans):
        for s, e in sentence_spans(text):
            ents = [EntitySpan(x.start - s, x.end - s, x.label) for x in found if x.start >= s and x.end <= e]
            cands += list(candidate_pairs(text[s:e], ents))
    preds = rel.predict(cands)
    return {
        "ner": [[[x.start, x.end, x.label, x.score] for x in f] for f in spans],
        "re": [
            {"sentence": c.text[:40], "head": [c.head_start, c.head_end, c.head_label],
             "tail": [c.tail_start, c.tail_end, c.tail_label], "task": c.task,
             "label": p.label, "score": p.score, "relation_score": p.relation_score}
            for c, p in zip(cands, preds)
        ],
    }


def _assert_same(got: dict[str, Any], want: dict[str, Any], *, tol: float) -> None:
    """Identical spans, labels, candidates and predicted relation labels; scores within ``tol``."""
    assert [[s[:3] for s in doc] for doc in got["ner"]] == [[s[:3] for s in doc] for doc in want["ner"]]
    assert [{k: v for k, v in r.items() if "score" not in k} for r in got["re"]] == [
        {k: v for k, v in r.items() if "score" not in k} for r in want["re"]
    ]
    for g, w in zip([s[3] for doc in got["ner"] for s in doc], [s[3] for doc in want["ner"] for s in doc]):
        assert g == pytest.approx(w, abs=tol)
    for g, w in zip(got["re"], want["re"]):
        assert (g["score"], g["relation_score"]) == pytest.approx((w["score"], w["relation_score"]), abs=tol)


def test_default_cpu_path_matches_the_pre_batching_code(models: tuple[NerModel, RelationModel]) -> None:
    ner, rel = models
    assert ner.batching.num_workers == 0 and ner.batching.group_size is None
    got = _outputs(ner, rel, TEXTS, batch_size=GOLDEN["ner_batch_size"])
    assert sum(map(len, got["ner"])) == 61 and len(got["re"]) == 64  # the fixture exercises both models
    # Same batches as the old code, so on the machine that wrote the file the scores are bit-identical;
    # the tolerance only absorbs other CPUs' fp32 kernels.
    _assert_same(got, GOLDEN, tol=1e-5)


def test_grouped_budgeted_batches_same_with_and_without_workers(models: tuple[NerModel, RelationModel]) -> None:
    """Groups prepared in a DataLoader worker give exactly what in-process preparation gives,
    and the same spans and relations as the old code (other batch compositions change fp32
    scores in the 7th digit, never a span or a label here)."""
    ner, rel = models
    texts = TEXTS[1:7]  # 6 texts (2 NER groups) whose 19 candidates (3 RE groups) are golden["re"][31:50]
    default = (ner.batching, rel.batching)
    runs = []
    try:
        for workers in (0, 1):
            ner.batching = Batching(**SMALL, num_workers=workers)
            rel.batching = Batching(batch_size=4, max_tokens=300, group_size=8, num_workers=workers)
            runs.append(_outputs(ner, rel, texts))
    finally:
        ner.batching, rel.batching = default
    assert runs[0] == runs[1]
    _assert_same(runs[0], {"ner": GOLDEN["ner"][1:7], "re": GOLDEN["re"][31:50]}, tol=1e-5)


def test_input_order_is_kept_whatever_the_lengths(models: tuple[NerModel, RelationModel]) -> None:
    """Mixed-length inputs (empty, one word, a windowed 371-wordpiece sentence, abstracts) in
    reverse order, across groups and budget-cut batches: outputs come back in input order."""
    ner, _ = models
    default = ner.batching
    try:
        ner.batching = Batching(**SMALL)
        backward = ner.predict(TEXTS[::-1])
        assert ner.predict(["", " ", "\n", "Aspirin."])[:3] == [[], [], []]  # a group of empty texts
    finally:
        ner.batching = default
    assert [[(s.start, s.end, s.label) for s in doc] for doc in backward[::-1]] == [
        [tuple(s[:3]) for s in doc] for doc in GOLDEN["ner"]
    ]
    assert backward[-2] == [] and backward[-5] == []  # the empty and whitespace-only texts


def test_predict_rejects_bad_batch_size(models: tuple[NerModel, RelationModel]) -> None:
    ner, rel = models
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        ner.predict(["Aspirin."], batch_size=0)
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        rel.predict([], batch_size=0)


def test_cpu_bf16_gives_the_fp32_spans_and_relation_labels(models: tuple[NerModel, RelationModel]) -> None:
    """bf16 autocast (the default on a CPU with native bf16) moves scores in the 2nd-3rd digit, so a
    few borderline spans change, not the bulk (BC5CDR dev span F1 is the same: BENCHMARKS.md);
    ``MEDKG_CPU_BF16`` decides it when ``bf16`` is not given."""
    from extractors.transformer import CPU_BF16_ENV, pick_inference_device

    ner, rel = models
    fp32 = _outputs(ner, rel, TEXTS)
    ner16 = NerModel.load(DEFAULT_NER_MODEL, device="cpu", bf16=True)
    rel16 = RelationModel.load(DEFAULT_RE_MODEL, device="cpu", bf16=True)
    bf16 = _outputs(ner16, rel16, TEXTS)
    spans16 = {(i, *x[:3]) for i, f in enumerate(bf16["ner"]) for x in f}
    spans32 = {(i, *x[:3]) for i, f in enumerate(fp32["ner"]) for x in f}
    assert len(spans16 & spans32) >= 0.9 * len(spans32) and len(spans16) <= 1.1 * len(spans32)
    pairs16 = {(r["sentence"], tuple(r["head"]), tuple(r["tail"])): r["label"] for r in bf16["re"]}
    pairs32 = {(r["sentence"], tuple(r["head"]), tuple(r["tail"])): r["label"] for r in fp32["re"]}
    same = [k for k in pairs32.keys() & pairs16.keys()]
    assert len(same) >= 0.85 * len(pairs32) and sum(pairs16[k] == pairs32[k] for k in same) >= 0.9 * len(same)
    mp = pytest.MonkeyPatch()
    try:
        for value, want in (("0", False), ("1", True)):
            mp.setenv(CPU_BF16_ENV, value)
            assert pick_inference_device("cpu").bf16 is want
        assert pick_inference_device("cpu", bf16=False).bf16 is False  # an explicit choice wins
    finally:
        mp.undo()
