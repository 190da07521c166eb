"""Transformer NER for Drug / Disease / Symptom (see :mod:`extractors.ner.model`).

Public API::

    from extractors.ner import DEFAULT_NER_MODEL, NerModel, NerSpan
    model = NerModel.load(DEFAULT_NER_MODEL)          # device="auto": CUDA if present, else CPU
    spans = model.predict(["Naloxone reverses clonidine-induced hypotension."])

    from extractors.ner import NerTrainConfig, shared_corpora, train_ner, evaluate_ner

Names are imported lazily so that ``import extractors.ner`` does not import torch.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "DEFAULT_NER_MODEL",
    "NerEnsemble",
    "NerModel",
    "NerSpan",
    "NerTrainConfig",
    "TrainCorpus",
    "evaluate_ner",
    "fit_ner",
    "save_ner",
    "shared_corpora",
    "train_ner",
]

_HOME = {
    "DEFAULT_NER_MODEL": "extractors.ner.model",
    "NerEnsemble": "extractors.ner.ensemble",
    "NerModel": "extractors.ner.model",
    "NerSpan": "extractors.ner.model",
    "NerTrainConfig": "extractors.ner.train",
    "TrainCorpus": "extractors.ner.train",
    "evaluate_ner": "extractors.ner.scoring",
    "fit_ner": "extractors.ner.train",
    "save_ner": "extractors.ner.train",
    "shared_corpora": "extractors.ner.train",
    "train_ner": "extractors.ner.train",
}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        import importlib

        return getattr(importlib.import_module(_HOME[name]), name)
    raise AttributeError(f"module 'extractors.ner' has no attribute {name!r}")
