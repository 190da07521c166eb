"""Errors raised by loaders. Every message names the input (file and position)."""

from __future__ import annotations

from dataclasses import dataclass


class LoaderError(Exception):
    """Root of all loader errors."""


class UnknownFormatError(LoaderError, ValueError):
    """The input's format could not be determined or is not supported."""


@dataclass(frozen=True)
class RecordError:
    """A bad record found while streaming, reported instead of raised in ``skip`` mode."""

    path: str
    position: str
    message: str
    record_id: str | None = None

    def __str__(self) -> str:
        rid = f" (record {self.record_id})" if self.record_id else ""
        return f"{self.path}:{self.position}{rid}: {self.message}"


class MalformedInputError(LoaderError, ValueError):
    """Input that cannot be parsed: malformed XML/JSON/PubTator, bad encoding, bad offsets.

    ``fatal`` is True when the rest of the file cannot be read either (e.g. broken XML syntax),
    so skipping the record is not possible.
    """

    def __init__(self, error: RecordError, *, fatal: bool = False) -> None:
        super().__init__(str(error))
        self.error = error
        self.fatal = fatal
