"""Errors of entity linking: all derive from :class:`extractors.errors.ExtractionError`."""

from __future__ import annotations

from extractors.errors import ExtractionError


class LinkingError(ExtractionError):
    """Root of entity-linking errors."""


class KBFormatError(LinkingError, ValueError):
    """A knowledge-base file or a source vocabulary file is malformed (names the file and line)."""


class KBNotFoundError(LinkingError, FileNotFoundError):
    """A knowledge-base file or source vocabulary path does not exist (names the path)."""


class UnknownLabelError(LinkingError, ValueError):
    """A label hint that is not one of the entity types the linker knows (lists the valid ones)."""
