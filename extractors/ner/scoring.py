"""Scoring NER models on gold corpora with the project's standard entity-level scorer."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from extractors.errors import CorpusFormatError
from extractors.scorers import PRF, entity_scores, format_table
from extractors.ner.data import GoldDocument, corpus_spec, display_path, load_gold
from extractors.ner.decode import postprocess
from extractors.ner.ensemble import NerEnsemble
from extractors.ner.model import NerModel


def _guess_corpus(path: Path) -> str:
    lowered = str(path).lower()
    for name in ("bc5cdr", "ncbi", "raredis"):
        if name in lowered or (name == "bc5cdr" and "cdr_" in lowered):
            return "ncbi-disease" if name == "ncbi" else name
    raise CorpusFormatError(f"cannot tell the corpus of {path}; pass corpus= one of bc5cdr, ncbi-disease, raredis")


def evaluate_ner(
    model: NerModel | NerEnsemble | str | Path,
    corpus_path: str | Path,
    *,
    corpus: str | None = None,
    head: str | None = None,
    merged: bool = False,
    batch_size: int = 32,
    device: str = "auto",
) -> dict[str, Any]:
    """Entity-level exact-match P/R/F1 per type on a gold corpus (``extractors.scorers``).

    Predictions come from ``head`` when given; by default from the head trained on this corpus
    if the model has one (what that head learned), else -- or with ``merged=True`` -- from the
    merged output (:meth:`NerModel.predict`) restricted to the corpus's types (cross-corpus).
    Discontinuous gold entities count by their extent; ``scores_contiguous`` leaves them out.
    With post-processing on, ``scores_no_postprocess`` is the ablation (raw decoder output);
    an ensemble's members post-process before their vote, so it has no such ablation.
    """
    corpus_path = Path(corpus_path)
    spec = corpus_spec(corpus or _guess_corpus(corpus_path))
    loaded = model if isinstance(model, (NerModel, NerEnsemble)) else NerModel.load(model, device=device)
    docs = load_gold(spec, corpus_path)
    texts = [d.text for d in docs]
    chosen = head if head is not None else (spec.name if spec.name in loaded.heads and not merged else None)
    started = time.perf_counter()
    ablation: list[list[tuple[int, int, str, float]]] | None = None
    if chosen is None:
        spans = [[(s.start, s.end, s.label, s.score) for s in doc] for doc in loaded.predict(texts, batch_size=batch_size)]
    else:
        # post-processing is applied below when the model does it (with the raw output as ablation)
        raw = loaded.predict_heads(texts, batch_size=batch_size, heads=(chosen,), postprocess=False if loaded.postprocess else None)
        spans = [[(s.start, s.end, s.label, s.score) for s in r[chosen]] for r in raw]
        if loaded.postprocess:
            ablation, spans = spans, [postprocess(t, doc) for t, doc in zip(texts, spans)]
    seconds = time.perf_counter() - started
    result: dict[str, Any] = {
        "corpus": spec.name,
        "path": display_path(corpus_path),
        "head": chosen or "merged",
        "postprocess": loaded.postprocess,
        "documents": len(docs),
        "seconds": round(seconds, 2),
        **_score(docs, spans, spec.labels),
    }
    result["table"] = format_table(
        {t: PRF(s["tp"], s["fp"], s["fn"]) for t, s in result["scores"].items()},
        title=f"{spec.name} ({chosen or 'merged'} head)",
    )
    if ablation is not None:
        result["scores_no_postprocess"] = _score(docs, ablation, spec.labels)["scores"]
    return result


def _score(docs: list[GoldDocument], spans: list[list[tuple[int, int, str, float]]], labels: tuple[str, ...]) -> dict[str, Any]:
    gold = [(lab, d.id, s, e) for d in docs for s, e, lab in d.spans]
    pred = [(lab, d.id, s, e) for d, doc in zip(docs, spans) for s, e, lab, _ in doc if lab in labels]
    out: dict[str, Any] = {"scores": {t: prf.as_dict() for t, prf in entity_scores(gold, pred).items()}}
    if any(d.discontinuous for d in docs):
        contiguous = [(lab, d.id, s, e) for d in docs for s, e, lab in d.spans if (s, e) not in d.discontinuous]
        out["scores_contiguous"] = {t: prf.as_dict() for t, prf in entity_scores(contiguous, pred).items()}
    return out
