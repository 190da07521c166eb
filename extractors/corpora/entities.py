"""The one entity record of the annotated corpora (RareDis brat files, DDI-2013 XML)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CorpusEntity:
    """One annotated entity.

    ``start``/``end`` span the whole entity (first fragment start, last fragment end,
    end-exclusive); ``fragments`` holds the individual ``(start, end)`` pieces, more than one for
    a discontinuous entity. ``text`` is the text of the fragments joined by a space. Offsets are
    document offsets for brat and sentence offsets for DDI-2013.
    """

    id: str
    type: str
    start: int
    end: int
    text: str
    fragments: tuple[tuple[int, int], ...]

    @property
    def discontinuous(self) -> bool:
        return len(self.fragments) > 1
