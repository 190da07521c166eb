"""Errors of :mod:`kg.diagnosis`: one root under :class:`kg.errors.MedkgError`."""

from __future__ import annotations

from kg.errors import MedkgError


class DiagnosisError(MedkgError):
    """Root of the diagnosis errors."""


class DiagnosisInputError(DiagnosisError, ValueError):
    """The query is unusable: wrong types, too long, nothing to rank on, bad age/sex/top_k."""


class EmptyIndexError(DiagnosisError, LookupError):
    """The graph holds no Disease -[:HAS_SYMPTOM]-> Symptom edges to rank on."""
