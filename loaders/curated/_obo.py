"""A small streaming OBO 1.2 reader for ontology hierarchies (HPO ``hp.obo``, ``symp.obo``).

It keeps what the graph uses (id, name, EXACT/RELATED synonyms, ``is_a`` parents, obsolete flag)
and raises :class:`~loaders.errors.MalformedInputError` naming the file and the line of the
stanza. (``extractors.linking.obo`` reads the same files for the linking KB; loaders must not
depend on the extractors package, whose import pulls in scikit-learn.)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

from kg.records import Document, EntityType
from loaders._common import OnError, fatal, report
from loaders.curated._common import bucket_id, curated_document, name_mentions, relation

_SYNONYM = re.compile(r'^"((?:[^"\\]|\\.)*)"\s+(EXACT|RELATED|BROAD|NARROW)(?:\s+([^\s\[]+))?')
KEPT_SYNONYM_SCOPES = frozenset({"EXACT", "RELATED"})
"""BROAD and NARROW synonyms name a wider or narrower concept, so they are not names of the term."""
_DROPPED_SYNONYM_TYPES = frozenset({"obsolete_synonym", "HP:0034334"})  # HP:0034334: allelic requirement


class OboTerm(NamedTuple):
    id: str
    name: str
    synonyms: tuple[str, ...]
    is_a: tuple[str, ...]
    obsolete: bool
    line: int


def read_obo(path: Path, *, on_error: OnError = None) -> Iterator[OboTerm]:
    """Yield the ``[Term]`` stanzas of an OBO file (obsolete ones too, flagged)."""
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
        if m.group(2) in KEPT_SYNONYM_SCOPES and m.group(3) not in _DROPPED_SYNONYM_TYPES:
            synonyms.append(_unescape(m.group(1)))
    return OboTerm(
        id=ids[0],
        name=_unescape(names[0]),
        synonyms=tuple(dict.fromkeys(synonyms)),
        is_a=tuple(_first_word(v) for v in tags.get("is_a", [])),
        obsolete=tags.get("is_obsolete", ["false"])[0] == "true",
        line=line,
    )


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def descendants(terms: Iterable[OboTerm], root: str) -> set[str]:
    """Ids of ``root`` and every term below it along ``is_a``."""
    children: dict[str, list[str]] = {}
    for t in terms:
        for parent in t.is_a:
            children.setdefault(parent, []).append(t.id)
    seen, stack = {root}, [root]
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return seen


def hierarchy_documents(
    terms: Iterable[OboTerm],
    *,
    source: str,
    label: EntityType,
    width: int,
    keep: set[str] | None = None,
) -> Iterator[Document]:
    """One document per numeric id bucket of ``width`` terms: names and synonyms as mentions,
    ``child IS_A parent`` relations for parents that are kept too.

    Obsolete terms are dropped; ``keep`` (when given) restricts terms and parents to a subtree.
    Buckets come out in id order, so the output is deterministic for a given file.
    """
    live = {t.id: t for t in terms if not t.obsolete and (keep is None or t.id in keep)}
    buckets: dict[str, list[OboTerm]] = {}
    for term_id in sorted(live):
        buckets.setdefault(bucket_id(source, term_id, width), []).append(live[term_id])
    for doc_id, group in buckets.items():
        mentions, relations = [], []
        for t in group:
            mentions += name_mentions(label, t.id, t.name, t.synonyms, source=source)
            for parent in t.is_a:
                if parent in live:
                    relations.append(
                        relation("IS_A", (t.id, label), (parent, label), source=source,
                                 evidence=f"{t.name} is a {live[parent].name}")
                    )
        yield curated_document(
            doc_id, source=source, title=f"{source} terms {group[0].id}..{group[-1].id}",
            mentions=mentions, relations=relations,
        )
