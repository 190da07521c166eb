"""The peer baseline: spaCy 3.7's CNN ``ner`` component trained on the same sentences.

A blank English pipeline with one ``ner`` component using spaCy's default model (transition-based
parser over a HashEmbedCNN tok2vec: width 96, depth 4, subword features; no pretrained vectors,
none are available offline). It is trained on exactly the sentences the transformer trains on
(:func:`extractors.ner.data.to_sentences`) and scored with the same entity-level scorer, so the
two are compared like for like.

The tokenizer adds one infix rule, splitting on ``- / + ( ) [ ] , : ;`` inside tokens: BC5CDR
annotates ``5-fluorouracil`` inside ``5-fluorouracil-induced``, and with spaCy's default rules
121 of 9,385 BC5CDR training entities fall inside a token (6 with the extra rule). BERT's
pre-tokenizer splits on the same punctuation, so both models see the same word boundaries.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from extractors.scorers import entity_scores, format_table
from extractors.ner.data import CorpusSpec, GoldDocument, to_sentences

_EXTRA_INFIX = r"[-/+(),\[\]:;]"


@dataclass(frozen=True, kw_only=True)
class SpacyBaselineConfig:
    """Training options. ``epochs`` 15 with dropout 0.2 is where BC5CDR dev F1 stops improving
    on this CPU-sized model (spaCy's own quickstart uses dropout 0.1-0.2)."""

    epochs: int = 15
    dropout: float = 0.2
    batch_start: float = 4.0
    batch_stop: float = 32.0
    seed: int = 13


def blank_pipeline() -> Any:
    """``spacy.blank("en")`` with the extra punctuation infix rule (see the module docstring)."""
    import spacy
    from spacy.util import compile_infix_regex

    nlp = spacy.blank("en")
    nlp.tokenizer.infix_finditer = compile_infix_regex([*nlp.Defaults.infixes, _EXTRA_INFIX]).finditer
    return nlp


def train_spacy_ner(
    docs: Sequence[GoldDocument], spec: CorpusSpec, *, config: SpacyBaselineConfig = SpacyBaselineConfig()
) -> tuple[Any, dict[str, Any]]:
    """Train the CNN NER on the sentences of ``docs``; returns the pipeline and training info."""
    from spacy.training import Example
    from spacy.util import compounding, fix_random_seed, minibatch

    started = time.perf_counter()
    fix_random_seed(config.seed)
    rng = random.Random(config.seed)
    nlp = blank_pipeline()
    ner = nlp.add_pipe("ner")
    for label in spec.labels:
        ner.add_label(label)
    examples, dropped = [], 0
    for doc in docs:
        for sent in to_sentences(doc, spec):
            pred = nlp.make_doc(sent.text)
            ents = [(s, e, lab) for s, e, lab in sent.spans if pred.char_span(s, e) is not None]
            dropped += len(sent.spans) - len(ents)
            examples.append(Example.from_dict(pred, {"entities": ents}))
    optimizer = nlp.initialize(lambda: examples)
    losses_per_epoch = []
    for _ in range(config.epochs):
        rng.shuffle(examples)
        losses: dict[str, float] = {}
        for batch in minibatch(examples, size=compounding(config.batch_start, config.batch_stop, 1.001)):
            nlp.update(batch, drop=config.dropout, sgd=optimizer, losses=losses)
        losses_per_epoch.append(round(losses.get("ner", 0.0), 1))
    info = {
        "sentences": len(examples),
        "entities_not_token_aligned": dropped,
        "epochs": config.epochs,
        "dropout": config.dropout,
        "losses": losses_per_epoch,
        "training_seconds": round(time.perf_counter() - started, 1),
    }
    return nlp, info


def evaluate_spacy_ner(nlp: Any, docs: Sequence[GoldDocument], spec: CorpusSpec) -> dict[str, Any]:
    """Entity-level exact match on whole documents, as :func:`extractors.ner.train.evaluate_ner`."""
    started = time.perf_counter()
    gold = [(lab, d.id, s, e) for d in docs for s, e, lab in d.spans]
    pred = [
        (ent.label_, d.id, ent.start_char, ent.end_char)
        for d, parsed in zip(docs, nlp.pipe([d.text for d in docs], batch_size=64))
        for ent in parsed.ents
    ]
    scores = entity_scores(gold, pred)
    return {
        "corpus": spec.name,
        "documents": len(docs),
        "seconds": round(time.perf_counter() - started, 2),
        "scores": {t: prf.as_dict() for t, prf in scores.items()},
        "table": format_table(scores, title=f"{spec.name}: spaCy CNN ner"),
    }
