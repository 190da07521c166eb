"""The interaction check: a medication list or a patient's drugs in, interacting pairs out.

:mod:`~kg.interactions.drug_names` turns what people write (names, brands, misspellings, CURIEs)
into drug concepts; :mod:`~kg.interactions.check` finds the pairs in the graph and builds the
report (its docstring states the rules).

    from kg.interactions import DrugResolver, check_interactions
    report = check_interactions(store, ["warfarin", "aspirin", "omeprazole"], resolver=DrugResolver())
"""

from kg.interactions.check import (
    CLASS_CONFIDENCE,
    ClassAlert,
    DrugRef,
    Duplicate,
    EvidenceItem,
    Interaction,
    InteractionError,
    InteractionInputError,
    InteractionReport,
    MAX_DRUGS,
    MODEL_SEVERITY,
    SEVERITY_ORDER,
    Severity,
    UnknownPatientError,
    check_interactions,
    format_report,
    model_severity,
    most_severe,
    normalize_severity,
    report_json,
)
from kg.interactions.drug_names import DrugResolveError, DrugResolver, ResolvedDrug, Suggestion, UnresolvedDrug

__all__ = [
    "CLASS_CONFIDENCE",
    "ClassAlert",
    "DrugRef",
    "DrugResolveError",
    "DrugResolver",
    "Duplicate",
    "EvidenceItem",
    "Interaction",
    "InteractionError",
    "InteractionInputError",
    "InteractionReport",
    "MAX_DRUGS",
    "MODEL_SEVERITY",
    "ResolvedDrug",
    "SEVERITY_ORDER",
    "Severity",
    "Suggestion",
    "UnknownPatientError",
    "UnresolvedDrug",
    "check_interactions",
    "format_report",
    "model_severity",
    "most_severe",
    "normalize_severity",
    "report_json",
]
