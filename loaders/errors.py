"""Errors raised by loaders. Every message names the input (file and position)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from schema.errors import MedkgError

_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_MAX_SHOWN_ID = 80
"""Longest record id shown in a message: ids are pseudonyms and PMIDs, far shorter than this; a
longer "id" is almost certainly misplaced content, which must not be echoed."""


def printable(value: str) -> str:
    """``value`` with control characters, line separators and lone surrogates escaped.

    File names and ids can hold newlines; escaping them keeps every reported error on one line,
    so a log line cannot be forged or split by a hostile file name. Lone surrogates (a file name
    that is not UTF-8, a ``"\\ud800"`` JSON id) would make printing the message itself fail.
    """
    return _UNPRINTABLE.sub(_escape, value)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def shown_id(value: str) -> str:
    """A record id as it may appear in a message: escaped, and cut at 80 characters."""
    cut = value if len(value) <= _MAX_SHOWN_ID else value[:_MAX_SHOWN_ID] + "..."
    return printable(cut)


class LoaderError(MedkgError):
    """Root of all loader errors."""


class UnknownFormatError(LoaderError, ValueError):
    """The input's format could not be determined or is not supported."""


class InputNotFoundError(LoaderError, FileNotFoundError):
    """An input path that does not exist, or a directory that holds no data files."""


class UnreadableInputError(LoaderError, OSError):
    """An input path that exists but cannot be read (permissions, I/O error, special file)."""


class LoaderWarning(UserWarning):
    """Something the user should know that is not an error: a symlink skipped during a folder
    walk, an exact duplicate record dropped. Issued with :func:`warnings.warn`; the message names
    the file (and position)."""


@dataclass(frozen=True)
class RecordError:
    """A bad record found while streaming, reported instead of raised in ``skip`` mode."""

    path: str
    position: str
    message: str
    record_id: str | None = None

    def __str__(self) -> str:
        rid = f" (record {shown_id(self.record_id)})" if self.record_id else ""
        return f"{printable(self.path)}:{self.position}{rid}: {printable(self.message)}"


class MalformedInputError(LoaderError, ValueError):
    """Input that cannot be parsed: malformed XML/JSON/PubTator, bad encoding, bad offsets.

    ``fatal`` is True when the rest of the file cannot be read either (e.g. broken XML syntax),
    so skipping the record is not possible.
    """

    def __init__(self, error: RecordError, *, fatal: bool = False) -> None:
        super().__init__(str(error))
        self.error = error
        self.fatal = fatal
