"""What resolving a patient's inputs gives (:class:`Resolution`), and the small helpers both the
resolver (:mod:`kg.diagnosis.findings`) and the scan of untagged words (:mod:`kg.diagnosis.untagged`)
use to fill it."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from kg.diagnosis.errors import DiagnosisTimeoutError
from kg.diagnosis.report import FindingRole, ResolvedFinding, Unresolved


class Deadline:
    """A wall-clock budget for resolving one patient's findings: :meth:`check` raises
    :class:`DiagnosisTimeoutError` once it is spent (``None`` or ``0`` seconds: no limit). Checked
    before each lookup, so a hostile list of long names stops within one lookup of the limit."""

    def __init__(self, seconds: float | None = None) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds if seconds else None

    def check(self) -> None:
        if self._end is not None and time.monotonic() > self._end:
            raise DiagnosisTimeoutError(
                f"diagnosis stopped: past its time limit of {self.seconds:g} s "
                "(give fewer or shorter findings, or a shorter text)")


@dataclass
class Resolution:
    findings: list[ResolvedFinding] = field(default_factory=list)
    excluded: list[ResolvedFinding] = field(default_factory=list)
    unresolved: list[Unresolved] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    named: dict[int, list[str]] = field(default_factory=dict)
    """Index position of a disease the text names (present or historical) -> the mentions naming it."""


NOTE_ITEMS = 20
"""At most this many items in one note (the rest counted): a long text's notes stay readable."""


def listed(items: Sequence[str]) -> str:
    """Items once each, in order, at most :data:`NOTE_ITEMS` of them and a count of the rest."""
    unique = list(dict.fromkeys(items))
    rest = len(unique) - NOTE_ITEMS
    return ", ".join(unique[:NOTE_ITEMS]) + (f" and {rest} more" if rest > 0 else "")


def prefer(ids: Sequence[str]) -> str:
    """Among same-named terms, the HPO one (richest hierarchy), then by id."""
    return sorted(ids, key=lambda t: (not t.startswith("HP:"), t))[0]


def add(out: Resolution, result: ResolvedFinding | Unresolved) -> None:
    """``result`` into the list of ``out`` its kind and role say."""
    if isinstance(result, Unresolved):
        out.unresolved.append(result)
    elif result.role is FindingRole.PRESENT:
        out.findings.append(result)
    else:
        out.excluded.append(result)
