"""Errors of drug-name resolution (the interaction check's own errors are in :mod:`kg.interactions.check`)."""

from __future__ import annotations

from kg.errors import MedkgError


class DrugResolveError(MedkgError):
    """Root of drug-resolution errors (the knowledge base cannot be loaded...)."""
