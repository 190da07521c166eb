"""Findings the tagger missed: the untagged words of a text scanned for finding names.

The symptom tagger was trained on literature (RareDis; Symptom F1 ~52 on its dev split) and
misses much of how clinical notes say findings: "pain in her right hip and groin region", "Mild
wheezes bilaterally", "her hip will sometimes catch". After the tagger's mentions are resolved
(:meth:`~kg.diagnosis.findings.Resolver.resolve_text`), the words no mention covers are scanned,
longest stretch first, for a finding name the index knows *exactly*: the same exact lookup a
tagged mention gets (the graph's names and synonyms, the clinical phrases, plural and word forms,
an exact match of the linker), never a fuzzy one, plus a pain said site last ("pain in her right
hip" -> Hip pain). A stretch never crosses punctuation or a tagged mention and never starts or
ends on a function word, so what the scan adds is a whole name said in the text. Each match gets
its assertion from the same ConText rules as a tagged mention (:mod:`extractors.assertion`):
present and negated ones become findings and exclusions, historical, family, possible and
hypothetical ones are left out.

Pure text helpers here; the lookups are the resolver's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

MAX_WORDS = 6
"""Longest stretch tried (HPO's clinical names are rarely longer: "pain in the right lower
quadrant" is six words with its determiner)."""
MAX_FOUND = 200
"""At most this many scanned matches per text (as many findings as a query may give): the
assertion pass grows with them."""
MIN_SINGLE = 4
"""A one-word stretch needs at least this many letters ("ache" and longer): shorter words are
mostly abbreviations of something else in a note ("BP", "ROM", "DM")."""

GENERIC = frozenset("""symptom symptoms sign signs finding findings problem problems issue issues condition conditions
disease diseases illness disorder disorders abnormality abnormalities complaint complaints afebrile asymptomatic
fall falls shakes jumps sleeps tears discharge unresponsive""".split())
"""One word the scan never takes alone: it names no finding in particular (SYMP's root is
"symptom"), an absence ("afebrile"), or in notes mostly something else ("fall allergies", "shakes
his hands", "her mood falls", "in tears", "discharge home", "fever unresponsive to antipyretics"
is no *Confusional arousal*)."""

_PRONOUNS = frozenset("that which who it he she they".split())
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*[A-Za-z]|[A-Za-z]")
_BREAK = re.compile(r"[\n.;:,()\[\]{}?!•/\"|=<>+*#]|\s[-–]\s|\d")


@dataclass(frozen=True)
class Stretch:
    """Words ``start``..``end`` (character offsets) of the text, lower-cased in ``words``."""

    start: int
    end: int
    words: tuple[str, ...]
    before: str = ""
    """The run's word before the stretch ("" at its start)."""
    after: str = ""
    """The run's word after it."""

    def verb(self) -> bool:
        """One word in -s after a pronoun: a verb ("nystagmus that fatigues", "she shakes")."""
        return len(self.words) == 1 and self.words[0].endswith("s") and self.before in _PRONOUNS


def runs(text: str, covered: Sequence[tuple[int, int]]) -> list[list[tuple[int, int, str]]]:
    """The text's words in runs that no punctuation, digit or ``covered`` span (a tagged mention)
    interrupts: each a list of ``(start, end, lower-cased word)``."""
    marks = [0] * (len(text) + 1)  # prefix counts of cut characters
    cut = bytearray(len(text))
    for m in _BREAK.finditer(text):
        cut[m.start():m.end()] = b"\x01" * (m.end() - m.start())
    for s, e in covered:
        s, e = max(0, s), min(len(text), e)
        if s < e:
            cut[s:e] = b"\x01" * (e - s)
    for i, c in enumerate(cut):
        marks[i + 1] = marks[i] + c
    out: list[list[tuple[int, int, str]]] = []
    current: list[tuple[int, int, str]] = []
    for m in _WORD.finditer(text):
        s, e = m.start(), m.end()
        if marks[e] - marks[s]:  # the word is (partly) a mention's
            if current:
                out.append(current)
            current = []
            continue
        if current and marks[s] - marks[current[-1][1]]:
            out.append(current)
            current = []
        current.append((s, e, m.group().lower()))
    if current:
        out.append(current)
    return out


def stretches(run: Sequence[tuple[int, int, str]], *, edge_words: frozenset[str]) -> Iterator[Stretch]:
    """Every stretch of up to :data:`MAX_WORDS` words of a run, each start's longest first,
    skipping those that start or end on an ``edge_words`` word (function words: "the pain" is
    "pain", "pain in" says nothing more)."""
    for i in range(len(run)):
        if run[i][2] in edge_words:
            continue
        for n in range(min(MAX_WORDS, len(run) - i), 0, -1):
            last = run[i + n - 1]
            if last[2] in edge_words:
                continue
            words = tuple(w for _, _, w in run[i:i + n])
            if n == 1 and len(words[0]) < MIN_SINGLE:
                continue
            yield Stretch(run[i][0], last[1], words, run[i - 1][2] if i else "",
                          run[i + n][2] if i + n < len(run) else "")
