"""Streaming input loaders: one module per format, each turning files into :class:`Document`.

Every format module exposes the same function::

    read(path, *, on_error=None) -> Iterator[Document]

``on_error=None`` raises :class:`~loaders.errors.MalformedInputError` on the first bad record;
a callback receives a :class:`~loaders.errors.RecordError` per bad record and the record is
skipped. Errors that leave the rest of a file unreadable (broken XML, invalid JSON bundle) are
raised in both modes with ``fatal=True``. Loaders know nothing about the graph store.

This package adds a registry (:data:`FORMATS`), format detection (:func:`detect_format`) and
:func:`read_documents`, which also walks directories.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path

from kg.records import Document
from loaders import bioc, fhir, jsonl, pubmed, pubtator, text
from loaders._common import OnError, fatal, open_binary
from loaders.errors import LoaderError, MalformedInputError, RecordError, UnknownFormatError

__all__ = [
    "FORMATS",
    "LoaderError",
    "MalformedInputError",
    "Reader",
    "RecordError",
    "UnknownFormatError",
    "detect_format",
    "read_documents",
]

Reader = Callable[..., Iterator[Document]]
"""``read(path, *, on_error=None, **options) -> Iterator[Document]``."""

FORMATS: dict[str, Reader] = {
    "pubtator": pubtator.read,
    "bioc": bioc.read,
    "pubmed": pubmed.read,
    "text": text.read,
    "jsonl": jsonl.read,
    "fhir": fhir.read,
}

_SNIFF_BYTES = 64 * 1024  # enough for any XML prolog/DOCTYPE and the top of a FHIR bundle
_PUBTATOR_FIRST_LINE = re.compile(rb"(?:\xef\xbb\xbf)?\s*\w[\w.-]{0,40}\|[ta]\|")
_BUNDLE = re.compile(rb'"resourceType"\s*:\s*"Bundle"')
_XML_ROOTS = {bioc.ROOT_ELEMENT: "bioc", pubmed.ROOT_ELEMENT: "pubmed"}
_DATA_SUFFIXES = (".pubtator", ".txt", ".xml", ".xml.gz", ".json", ".jsonl", ".ndjson")
_NOT_DATA = re.compile(r"(readme|licen[cs]e|copying|notice)([-_.].*)?", re.I)


def _valid_formats() -> str:
    return ", ".join(FORMATS)


def _unknown(path: str | os.PathLike[str], why: str) -> UnknownFormatError:
    return UnknownFormatError(
        f"{os.fspath(path)}: {why}; pass format= one of: {_valid_formats()} "
        "(detected from .pubtator/.txt, .xml/.xml.gz, .jsonl/.ndjson and .json files)"
    )


def _head(path: str | os.PathLike[str]) -> bytes:
    with open_binary(path) as handle:
        return handle.read(_SNIFF_BYTES)


def _xml_root(path: str | os.PathLike[str]) -> str:
    """Tag of the root element, read with a streaming parser that stops at the first tag."""
    with open_binary(path) as handle:
        try:
            for _, element in ET.iterparse(handle, events=("start",)):
                return str(element.tag)
        except ET.ParseError as exc:
            line, column = exc.position
            raise fatal(
                path,
                f"line {line}, column {column + 1}",
                "XML syntax error before the root element",
            ) from None
    raise fatal(path, "byte 0", "XML file has no root element")


def detect_format(path: str | os.PathLike[str]) -> str:
    """Name of the loader (a key of :data:`FORMATS`) for a file, from its name and content.

    * ``.pubtator`` -> pubtator; ``.txt`` -> pubtator if its first non-blank line looks like
      ``PMID|t|`` or ``PMID|a|``, else text (one clinical note);
    * ``.xml`` / ``.xml.gz`` -> bioc (root ``<collection>``) or pubmed (``<PubmedArticleSet>``);
    * ``.jsonl`` / ``.ndjson`` -> jsonl; ``.json`` -> fhir if it is a FHIR Bundle.

    Raises :class:`UnknownFormatError` naming the file and the valid formats otherwise.
    """
    name = Path(path).name.lower()
    if name.endswith(".pubtator"):
        return "pubtator"
    if name.endswith(".txt"):
        return "pubtator" if _PUBTATOR_FIRST_LINE.match(_head(path)) else "text"
    if name.endswith((".xml", ".xml.gz")):
        root = _xml_root(path)
        if root in _XML_ROOTS:
            return _XML_ROOTS[root]
        raise _unknown(
            path,
            f"XML root element <{root}> is neither <collection> (BioC) "
            "nor <PubmedArticleSet> (PubMed)",
        )
    if name.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    if name.endswith(".json"):
        if _BUNDLE.search(_head(path)):
            return "fhir"
        raise _unknown(path, 'JSON file is not a FHIR Bundle (no "resourceType": "Bundle")')
    raise _unknown(path, "cannot tell the format from the file name")


def _files(directory: Path) -> Iterator[Path]:
    """Data files under ``directory``, recursively, in sorted path order.

    Hidden files, files with suffixes no loader reads, and the README/LICENSE/SOURCE notes that
    corpora ship beside their data are skipped, so a corpus folder can be loaded as it is.
    """
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        if not path.name.lower().endswith(_DATA_SUFFIXES) or _NOT_DATA.fullmatch(path.name):
            continue
        yield path


def read_documents(
    path: str | os.PathLike[str], *, format: str | None = None, on_error: OnError = None
) -> Iterator[Document]:
    """Stream Documents from a file or (recursively, in sorted order) a directory.

    ``format`` forces one loader for every file; by default it is detected per file with
    :func:`detect_format`. ``on_error`` is passed to the loaders (see the package docstring).
    """
    if format is not None and format not in FORMATS:
        raise UnknownFormatError(f"unknown format {format!r}; valid formats: {_valid_formats()}")
    root = Path(path)
    files = _files(root) if root.is_dir() else iter([root])
    for file in files:
        reader = FORMATS[format if format is not None else detect_format(file)]
        yield from reader(file, on_error=on_error)
