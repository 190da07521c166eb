"""Streaming reader for PubMed / MEDLINE XML (``PubmedArticleSet``), plain or ``.xml.gz``.

The annual baseline ships as ~1,200 gzipped files of ~30k articles each, so articles are
read with ``iterparse`` and cleared one at a time.

One Document per ``PubmedArticle``: id ``PMID:<pmid>``, text = title + " " + abstract, where
a structured abstract's ``AbstractText`` sections are joined with single spaces and their
labels (BACKGROUND, METHODS...) dropped: labels are layout, and keeping them would put
section names into extracted evidence sentences. Inline markup (``<i>``, ``<sup>``) is
flattened to its text. An article without an abstract is a title-only document.

Metadata: ``journal`` (journal title, else ISO abbreviation), ``year`` (``PubDate/Year``, else
the first year in ``MedlineDate``, else ``ArticleDate/Year``) and ``mesh_headings`` (the
article's MeSH descriptor UIs as ``MESH:Dxxxxxx`` CURIEs, the form gold mentions use).

Record errors (``entry N`` = 1-based index of the article in the file): no PMID, empty
title and abstract, a PMID already read (in this file, or in the build: see
:mod:`loaders._seen`; an identical repeat is dropped with a warning instead). XML syntax errors
and a root other than ``PubmedArticleSet`` are fatal; the XML guards (entity declarations
refused, records bounded, damaged gzip) are in :mod:`loaders._xml`.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError

from schema.records import Document
from loaders._common import OnError, RecordProblem, report, validation_problem
from loaders._seen import SeenIds
from loaders._xml import iter_records

SOURCE_FORMAT = "pubmed"
ROOT_ELEMENT = "PubmedArticleSet"

_YEAR = re.compile(r"\b(\d{4})\b")


def _flat(element: ET.Element | None) -> str:
    """All text inside ``element`` (inline markup flattened), stripped."""
    return "".join(element.itertext()).strip() if element is not None else ""


def _year(article: ET.Element) -> int | None:
    pub_date = article.find("Journal/JournalIssue/PubDate")
    candidates = [
        pub_date.findtext("Year") if pub_date is not None else None,
        pub_date.findtext("MedlineDate") if pub_date is not None else None,
        article.findtext("ArticleDate/Year"),
    ]
    for candidate in candidates:
        found = _YEAR.search(candidate or "")
        if found:
            return int(found.group(1))
    return None


def _build(citation: ET.Element) -> Document:
    pmid = (citation.findtext("PMID") or "").strip()
    if not pmid:
        raise RecordProblem("article has no MedlineCitation/PMID")
    article = citation.find("Article")
    title = _flat(article.find("ArticleTitle")) if article is not None else ""
    sections = (
        [_flat(s) for s in article.findall("Abstract/AbstractText")] if article is not None else []
    )
    abstract = " ".join(s for s in sections if s)
    text = " ".join(part for part in (title, abstract) if part)
    if not text:
        raise RecordProblem("empty document: no ArticleTitle and no AbstractText")
    metadata: dict[str, Any] = {
        "journal": (
            (article.findtext("Journal/Title") or article.findtext("Journal/ISOAbbreviation"))
            if article is not None
            else None
        ),
        "year": _year(article) if article is not None else None,
        "mesh_headings": [
            f"MESH:{ui}"
            for d in citation.findall("MeshHeadingList/MeshHeading/DescriptorName")
            if (ui := (d.get("UI") or "").strip())
        ],
    }
    return Document(
        id=f"PMID:{pmid}",
        source_format=SOURCE_FORMAT,
        text=text,
        title=title or None,
        kind="literature",
        metadata=metadata,
    )


def read(
    path: str | os.PathLike[str], *, on_error: OnError = None, seen: SeenIds | None = None
) -> Iterator[Document]:
    """Stream the articles of a PubMed XML file (plain or gzipped) as Documents."""
    seen = SeenIds() if seen is None else seen
    records = iter_records(
        path, root_tag=ROOT_ELEMENT, record_tag="PubmedArticle", format_name="PubMed XML"
    )
    for index, element in records:
        citation = element.find("MedlineCitation")
        pmid = (citation.findtext("PMID") or "").strip() if citation is not None else ""
        try:
            if citation is None:
                raise RecordProblem("article has no MedlineCitation (and so no PMID)")
            try:
                doc = _build(citation)
            except ValidationError as exc:
                raise validation_problem(exc) from None
        except RecordProblem as problem:
            record_id = f"PMID:{pmid}" if pmid else None
            report(path, f"entry {index}", problem.message, record_id, on_error)
            continue
        # PubMed update files re-issue revised citations: the later revision wins
        if seen.admit(doc, path, f"entry {index}", on_error, replaces=True):
            yield doc
