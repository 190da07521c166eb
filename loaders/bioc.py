"""Streaming reader for BioC XML collections (e.g. the BC5CDR BioC release).

``xml.etree.ElementTree.iterparse`` is used and every ``<document>`` is cleared once read, so
memory stays at one document whatever the size of the collection. Plain and ``.gz`` files
are accepted.

Text layout: BioC offsets are absolute, so each passage's text is placed at its ``<offset>``
and the gap before it padded with spaces. For BC5CDR this reproduces the PubTator layout
(title, one space, abstract) exactly, which is what lets both releases be compared mention by
mention.

Annotations: ``type`` infon (mapped as in :mod:`loaders._gold`), id from the ``MESH`` infon
(or ``identifier``), one ``<location>``. BC5CDR also lists the parts of each composite
mention as ``CompositeRole=IndividualMention`` annotations with discontinuous locations; they
are skipped because the ``CompositeMention`` annotation over the whole span already yields one
Mention per id (and the PubTator release omits them). Any other discontinuous annotation is
a record error, since a Mention is one contiguous span.

Relations: ``relation``/``type`` infon for the type, endpoints from ``Chemical``/``Disease``
infons (BC5CDR CID), ``entity1``/``entity2`` infons, or two ``<node refid=...>`` children.

Positions: a bad document is reported as ``entry N`` (1-based index of the ``<document>`` in
the file) with its PMID as record id; XML syntax errors are fatal and report the line and
(1-based) column. A passage placed beyond ``DEFAULT_MAX_CHARS`` is a record error (the gap
before it would be padded with that many spaces). A PMID already read (in this file, or in the
build: see :mod:`loaders._seen`) is refused, or dropped with a warning if identical. The XML
guards (entity declarations refused, records bounded, damaged gzip) are in :mod:`loaders._xml`.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator

from pydantic import ValidationError

from schema.records import Document, Mention
from loaders._common import (
    DEFAULT_MAX_CHARS,
    OnError,
    RecordProblem,
    guess_corpus,
    report,
    validation_problem,
)
from loaders._gold import (
    ENTITY_TYPES,
    RelationSpec,
    check_span,
    gold_document,
    gold_mentions,
    gold_source,
)
from loaders._seen import SeenIds
from loaders._xml import iter_records

SOURCE_FORMAT = "bioc"
ROOT_ELEMENT = "collection"

_ID_INFONS = ("MESH", "identifier", "Identifier", "MeSH")
_TITLE_TYPES = frozenset({"title", "front"})


def _infons(element: ET.Element) -> dict[str, str]:
    return {i.get("key", ""): (i.text or "").strip() for i in element.findall("infon")}


def _int(value: str | None, what: str) -> int:
    try:
        return int((value or "").strip())
    except ValueError:
        raise RecordProblem(f"{what} is not an integer") from None


def _layout(document: ET.Element) -> tuple[str, str | None, list[int], list[ET.Element]]:
    """Document text with passages at their offsets, the title, passage starts, annotations."""
    parts: list[str] = []
    length = 0
    title: str | None = None
    breaks: list[int] = []
    annotations: list[ET.Element] = []
    for number, passage in enumerate(document.findall("passage"), start=1):
        offset = _int(passage.findtext("offset"), f"<offset> of passage {number}")
        if offset < length:
            raise RecordProblem(
                f"passage {number} starts at offset {offset}, inside the previous passage "
                f"(which ends at {length})"
            )
        passage_text = passage.findtext("text") or ""
        if offset + len(passage_text) > DEFAULT_MAX_CHARS:
            raise RecordProblem(
                f"passage {number} ends at offset {offset + len(passage_text):,}, beyond the "
                f"{DEFAULT_MAX_CHARS:,} characters a document may hold"
            )
        parts.append(" " * (offset - length))
        parts.append(passage_text)
        length = offset + len(passage_text)
        breaks.append(offset)
        if title is None and _infons(passage).get("type") in _TITLE_TYPES:
            title = passage_text
        annotations.extend(passage.findall("annotation"))
    return "".join(parts), title, breaks, annotations


def _mentions(
    text: str, annotations: list[ET.Element], source: str
) -> tuple[list[Mention], dict[str, str]]:
    """Mentions of kept types, and every annotation's raw id by annotation id (for nodes)."""
    mentions: list[Mention] = []
    raw_ids: dict[str, str] = {}
    for annotation in annotations:
        ann_id = annotation.get("id", "?")
        infons = _infons(annotation)
        raw_id = next((infons[k] for k in _ID_INFONS if k in infons), "")
        raw_ids[ann_id] = raw_id
        corpus_type = infons.get("type", "")
        if corpus_type not in ENTITY_TYPES or infons.get("CompositeRole") == "IndividualMention":
            continue
        locations = annotation.findall("location")
        if len(locations) != 1:
            raise RecordProblem(
                f"annotation {ann_id} has {len(locations)} locations; only one contiguous "
                "location is supported (discontinuous parts are allowed only as "
                "CompositeRole=IndividualMention)"
            )
        start = _int(locations[0].get("offset"), f"offset of annotation {ann_id}")
        end = start + _int(locations[0].get("length"), f"length of annotation {ann_id}")
        try:
            span = check_span(text, start, end, annotation.findtext("text") or "")
            mentions.extend(
                gold_mentions(
                    corpus_type=corpus_type,
                    text=span,
                    start=start,
                    end=end,
                    raw_id=raw_id,
                    source=source,
                )
            )
        except RecordProblem as problem:
            raise RecordProblem(f"annotation {ann_id}: {problem.message}") from None
    return mentions, raw_ids


def _relation_specs(document: ET.Element, raw_ids: dict[str, str]) -> list[RelationSpec]:
    """Every relation whose two endpoints can be found, in file order."""
    specs: list[RelationSpec] = []
    for relation in document.iter("relation"):
        infons = _infons(relation)
        rel_type = infons.get("relation") or infons.get("type") or ""
        name = f"relation {relation.get('id', '?')}"
        if "Chemical" in infons and "Disease" in infons:
            specs.append(RelationSpec(rel_type, infons["Chemical"], infons["Disease"], name=name))
        elif "entity1" in infons and "entity2" in infons:
            specs.append(RelationSpec(rel_type, infons["entity1"], infons["entity2"], name=name))
        else:
            refs = [node.get("refid", "") for node in relation.findall("node")]
            if len(refs) == 2 and all(ref in raw_ids for ref in refs):
                specs.append(RelationSpec(rel_type, raw_ids[refs[0]], raw_ids[refs[1]], name=name))
    return specs


def _build(document: ET.Element, pmid: str, *, corpus: str | None, source: str) -> Document:
    text, title, breaks, annotations = _layout(document)
    mentions, raw_ids = _mentions(text, annotations, source)
    return gold_document(
        pmid=pmid, source_format=SOURCE_FORMAT, text=text, title=title, corpus=corpus, mentions=mentions,
        specs=_relation_specs(document, raw_ids), breaks=breaks, source=source,
    )


def read(
    path: str | os.PathLike[str],
    *,
    on_error: OnError = None,
    corpus: str | None = None,
    seen: SeenIds | None = None,
) -> Iterator[Document]:
    """Stream the documents of a BioC XML collection (plain or ``.gz``).

    ``corpus`` is as for :func:`loaders.pubtator.read` (guessed from the path by default).
    """
    seen = SeenIds() if seen is None else seen
    corpus = corpus if corpus is not None else guess_corpus(path)
    source = gold_source(corpus, SOURCE_FORMAT)
    records = iter_records(
        path, root_tag=ROOT_ELEMENT, record_tag="document", format_name="BioC XML"
    )
    for index, element in records:
        pmid = (element.findtext("id") or "").strip()
        try:
            if not pmid:
                raise RecordProblem("document has no <id>")
            try:
                doc = _build(element, pmid, corpus=corpus, source=source)
            except ValidationError as exc:
                raise validation_problem(exc) from None
        except RecordProblem as problem:
            record_id = f"PMID:{pmid}" if pmid else None
            report(path, f"entry {index}", problem.message, record_id, on_error)
            continue
        if seen.admit(doc, path, f"entry {index}", on_error):
            yield doc
