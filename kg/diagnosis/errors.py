"""Errors of :mod:`kg.diagnosis`: one root under :class:`kg.errors.MedkgError`."""

from __future__ import annotations

from kg.errors import MedkgError


class DiagnosisError(MedkgError):
    """Root of the diagnosis errors."""


class DiagnosisInputError(DiagnosisError, ValueError):
    """The query is unusable: wrong types, too long, nothing to rank on, bad age/sex/top_k."""


class EmptyIndexError(DiagnosisError, LookupError):
    """The graph holds no Disease -[:HAS_SYMPTOM]-> Symptom edges to rank on."""


class DiagnosisTimeoutError(DiagnosisError):
    """One ranking ran past its time limit (the API's ``MEDKG_API_DIAGNOSIS_TIMEOUT_S``)."""


class DiagnosisBusyError(DiagnosisError):
    """Every diagnosis slot of the API is taken: try again shortly (503)."""
