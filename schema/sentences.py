"""A small, predictable sentence splitter for picking relation evidence in gold corpora.

Loaders only need sentences to attach an evidence sentence to gold relations (the first
sentence that mentions both concepts), so the splitter is deliberately simple rather than
linguistically complete:

* a sentence ends at ``.``, ``!`` or ``?`` (optionally followed by closing quotes/brackets),
  followed by whitespace and then an upper-case letter, a digit or an opening bracket/quote;
* it does not end after a handful of abbreviations that are common in biomedical abstracts
  (``e.g.``, ``i.e.``, ``vs.``, ``et al.``, ``Fig.``, ``i.v.`` ...), because splitting there
  would cut most drug-administration sentences in two;
* callers may force extra boundaries (e.g. between a title and its abstract, whose separator
  is a single space that the rules above would not always split on);
* a blank line always ends a sentence.

It errs towards sentences that are too long rather than too short: a too-long evidence
sentence still contains the evidence, a too-short one loses it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from itertools import pairwise

_BOUNDARY = re.compile(r"[.!?][\"')\]]*\s+(?=[A-Z0-9(\[\"'])|\n[ \t]*\n\s*")

_ABBREVIATIONS = frozenset(
    {
        "e.g",
        "i.e",
        "vs",
        "al",
        "fig",
        "figs",
        "dr",
        "mr",
        "mrs",
        "ms",
        "approx",
        "ca",
        "cf",
        "resp",
        "i.v",
        "i.p",
        "i.m",
        "s.c",
        "p.o",
        "no",
        "nos",
        "ref",
        "refs",
        "eq",
    }
)


def _ends_with_abbreviation(text: str, punct_at: int) -> bool:
    """True when the token right before the period at ``punct_at`` is a known abbreviation."""
    if text[punct_at] != ".":
        return False
    start = punct_at
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    token = text[start:punct_at].lstrip("([\"'").lower()
    return token in _ABBREVIATIONS


def sentence_spans(text: str, *, breaks: Iterable[int] = ()) -> list[tuple[int, int]]:
    """Character spans ``(start, end)`` of the sentences of ``text``, whitespace-trimmed.

    ``breaks`` are offsets where a sentence must end regardless of punctuation (passage
    starts). Spans are in text order, non-overlapping, and ``text[start:end]`` never starts
    or ends with whitespace.
    """
    n = len(text)
    cuts = {0, n}
    cuts.update(b for b in breaks if 0 < b < n)
    for match in _BOUNDARY.finditer(text):
        if text[match.start()] in ".!?" and _ends_with_abbreviation(text, match.start()):
            continue
        cuts.add(match.end())
    ordered = sorted(cuts)
    spans: list[tuple[int, int]] = []
    for start, end in pairwise(ordered):
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start < end:
            spans.append((start, end))
    return spans


def sentence_index(spans: Sequence[tuple[int, int]], offset: int) -> int | None:
    """Index of the sentence containing character ``offset``, or ``None`` (between sentences)."""
    lo, hi = 0, len(spans)
    while lo < hi:
        mid = (lo + hi) // 2
        start, end = spans[mid]
        if offset < start:
            hi = mid
        elif offset >= end:
            lo = mid + 1
        else:
            return mid
    return None
