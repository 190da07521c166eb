"""Relation extraction: typed-marker transformer classification of entity pairs within a sentence.

Public API::

    from extractors.relations import (
        DEFAULT_RE_MODEL, RelationModel, RelationCandidate, RelationPrediction,
        EntitySpan, candidate_pairs, edge_for, TASKS, train_re, evaluate_re,
    )
    model = RelationModel.load(DEFAULT_RE_MODEL)            # device="auto": CUDA if present
    cands = list(candidate_pairs(sentence, spans))           # spans: EntitySpan(start, end, label)
    for cand, pred in zip(cands, model.predict(cands)):
        edge = edge_for(cand, pred)                          # EdgeMapping or None

Tasks (:data:`TASKS`): ``ddi`` (Drug-Drug -> INTERACTS_WITH, interaction_type mechanism/effect/
advise/int), ``adverse_effect`` (Drug -> Disease/Symptom -> CAUSES_ADVERSE_EFFECT),
``has_symptom`` (Disease -> Symptom -> HAS_SYMPTOM).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from extractors.relations.candidates import (
    TASKS,
    CandidateError,
    EdgeMapping,
    EntitySpan,
    MarkedText,
    RelationCandidate,
    RelationPrediction,
    TaskSpec,
    candidate_pairs,
    edge_for,
    mark_entities,
)
from extractors.relations.model import DEFAULT_RE_MODEL, RelationModel

if TYPE_CHECKING:
    from extractors.relations.train import EvalResult, TrainConfig, evaluate_re, train_re

__all__ = [
    "DEFAULT_RE_MODEL",
    "TASKS",
    "CandidateError",
    "EdgeMapping",
    "EntitySpan",
    "EvalResult",
    "MarkedText",
    "RelationCandidate",
    "RelationModel",
    "RelationPrediction",
    "TaskSpec",
    "TrainConfig",
    "candidate_pairs",
    "edge_for",
    "evaluate_re",
    "mark_entities",
    "train_re",
]


def __getattr__(name: str) -> Any:
    """Training names are imported on first use: they pull in the corpus readers and loaders."""
    if name in {"EvalResult", "TrainConfig", "evaluate_re", "train_re"}:
        from extractors.relations import train

        return getattr(train, name)
    raise AttributeError(f"module 'extractors.relations' has no attribute {name!r}")
