"""Assertion status (negated, possible, hypothetical, historical, family) with medspaCy ConText.

:mod:`~extractors.assertion.component` (the ``medkg_assertion`` spaCy factory beside its
engine), :mod:`~extractors.assertion.rules` (the ConText rules), :mod:`~extractors.assertion.evaluation`
(labelled examples and scores).
"""

from extractors.assertion.component import (
    PRIORITY,
    SPLITTERS,
    AssertionComponent,
    AssertionConfigError,
    AssertionEngine,
    AssertionResult,
    InvalidSpanError,
    assert_entities,
    assertion_for_span,
    default_engine,
    default_pipeline,
    resolve,
)
from extractors.assertion.evaluation import (
    AssertionExample,
    AssertionReport,
    evaluate_examples,
    examples_from_notes,
    read_examples,
    split_examples,
)

__all__ = [
    "AssertionComponent",
    "AssertionConfigError",
    "AssertionEngine",
    "AssertionExample",
    "AssertionReport",
    "AssertionResult",
    "InvalidSpanError",
    "PRIORITY",
    "SPLITTERS",
    "assert_entities",
    "assertion_for_span",
    "default_engine",
    "default_pipeline",
    "evaluate_examples",
    "examples_from_notes",
    "read_examples",
    "resolve",
    "split_examples",
]
