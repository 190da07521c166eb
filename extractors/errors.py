"""Errors of the extractors package."""

from __future__ import annotations

from schema.errors import MedkgError


class ExtractionError(MedkgError):
    """Root of all extraction errors."""


class ModelNotFoundError(ExtractionError, FileNotFoundError):
    """A model directory or hub ID could not be resolved (offline machines cannot download)."""


class CorpusFormatError(ExtractionError, ValueError):
    """A training/evaluation corpus file is malformed (names the file and position)."""
