"""Streaming input loaders: one module per format, each turning files into :class:`Document`.

Every format module exposes the same function::

    read(path, *, on_error=None) -> Iterator[Document]

``on_error=None`` raises :class:`~loaders.errors.MalformedInputError` on the first bad record;
a callback receives a :class:`~loaders.errors.RecordError` per bad record and the record is
skipped. Errors that leave the rest of a file unreadable (broken XML, invalid JSON bundle) are
raised in both modes with ``fatal=True``. Loaders know nothing about the graph store.

Every reader also takes ``seen`` (a :class:`~loaders._seen.SeenIds`): documents whose id was
already read are refused or, if identical, dropped with a warning (see :mod:`loaders._seen`).

This package adds a registry (:data:`FORMATS`), format detection (:func:`detect_format`) and
:func:`read_documents`, which also walks directories (never following symlinks out of them).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from schema.records import Document
from loaders import bioc, ddi2013, fhir, jsonl, pubmed, pubtator, text
from loaders._common import OnError, open_binary, warn
from loaders._seen import SeenIds
from loaders._xml import document_root
from loaders.errors import (
    InputNotFoundError,
    LoaderError,
    LoaderWarning,
    MalformedInputError,
    RecordError,
    UnknownFormatError,
    UnreadableInputError,
    printable,
)

__all__ = [
    "FORMATS",
    "InputNotFoundError",
    "LoaderError",
    "LoaderWarning",
    "MalformedInputError",
    "Reader",
    "RecordError",
    "SeenIds",
    "UnknownFormatError",
    "UnreadableInputError",
    "detect_format",
    "read_documents",
]

Reader = Callable[..., Iterator[Document]]
"""``read(path, *, on_error=None, seen=None, **options) -> Iterator[Document]``."""

FORMATS: dict[str, Reader] = {
    "pubtator": pubtator.read,
    "bioc": bioc.read,
    "pubmed": pubmed.read,
    "text": text.read,
    "jsonl": jsonl.read,
    "fhir": fhir.read,
    "ddi2013": ddi2013.read,
}

_SNIFF_BYTES = 64 * 1024  # enough for any XML prolog/DOCTYPE and the top of a FHIR bundle
_PUBTATOR_FIRST_LINE = re.compile(rb"(?:\xef\xbb\xbf)?\s*\w[\w.-]{0,40}\|[ta]\|")
_BUNDLE = re.compile(rb'"resourceType"\s*:\s*"Bundle"')
_XML_ROOTS = {bioc.ROOT_ELEMENT: "bioc", pubmed.ROOT_ELEMENT: "pubmed", ddi2013.ROOT_ELEMENT: "ddi2013"}
_DATA_SUFFIXES = (".pubtator", ".txt", ".xml", ".xml.gz", ".json", ".jsonl", ".ndjson")
_NOT_DATA = re.compile(r"(readme|licen[cs]e|copying|notice)([-_.].*)?", re.I)


def _valid_formats() -> str:
    return ", ".join(FORMATS)


def _unknown(path: str | os.PathLike[str], why: str) -> UnknownFormatError:
    return UnknownFormatError(
        f"{printable(os.fspath(path))}: {why}; pass format= one of: {_valid_formats()} "
        "(detected from .pubtator/.txt, .xml/.xml.gz, .jsonl/.ndjson and .json files)"
    )


def _head(path: str | os.PathLike[str]) -> bytes:
    with open_binary(path) as handle:
        return handle.read(_SNIFF_BYTES)


def detect_format(path: str | os.PathLike[str]) -> str:
    """Name of the loader (a key of :data:`FORMATS`) for a file, from its name and content.

    * ``.pubtator`` -> pubtator; ``.txt`` -> pubtator if its first non-blank line looks like
      ``PMID|t|`` or ``PMID|a|``, else text (one clinical note);
    * ``.xml`` / ``.xml.gz`` -> bioc (root ``<collection>``), pubmed (``<PubmedArticleSet>``) or
      ddi2013 (``<document>``, text only: the build extracts from it);
    * ``.jsonl`` / ``.ndjson`` -> jsonl; ``.json`` -> fhir if it is a FHIR Bundle.

    Raises :class:`UnknownFormatError` naming the file and the valid formats otherwise.
    """
    name = Path(path).name.lower()
    if name.endswith(".pubtator"):
        return "pubtator"
    if name.endswith(".txt"):
        return "pubtator" if _PUBTATOR_FIRST_LINE.match(_head(path)) else "text"
    if name.endswith((".xml", ".xml.gz")):
        root = document_root(path)
        if root in _XML_ROOTS:
            return _XML_ROOTS[root]
        raise _unknown(
            path,
            f"XML root element <{root}> is not <collection> (BioC), <PubmedArticleSet> (PubMed) "
            "or <document> (DDI-2013)",
        )
    if name.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    if name.endswith(".json"):
        if _BUNDLE.search(_head(path)):
            return "fhir"
        raise _unknown(path, 'JSON file is not a FHIR Bundle (no "resourceType": "Bundle")')
    raise _unknown(path, "cannot tell the format from the file name")


def _files(directory: Path, *, quiet: bool = False) -> Iterator[Path]:
    """Data files under ``directory``, recursively, in sorted path order.

    Hidden files, files with suffixes no loader reads, and the README/LICENSE/SOURCE notes that
    corpora ship beside their data are skipped, so a corpus folder can be loaded as it is.

    Symlinks: a folder given to load means the files *in* it, so a link inside it is followed
    only when it is a link to a file that resolves inside the folder. A link leading outside
    (``notes/x.txt -> /etc/passwd``) and any link to a directory (which could loop, or lead
    anywhere) are skipped with a :class:`~loaders.errors.LoaderWarning` naming the link (links
    with names no loader reads, such as a ``LICENSE`` link, are skipped silently). Fifos,
    sockets and devices are skipped silently. A subfolder that cannot be listed raises
    :class:`~loaders.errors.UnreadableInputError` instead of being left out unnoticed.
    ``quiet`` drops the warnings, for a check that walks the folder before the real read.
    """
    inside = directory.resolve()
    found: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    pending = [directory]
    while pending:
        current = pending.pop()
        try:
            with os.scandir(current) as listing:
                entries = list(listing)
        except OSError as exc:
            raise UnreadableInputError(
                f"cannot list input folder {printable(str(current))}: {exc.strerror or exc}"
            ) from None
        for entry in entries:
            path = Path(entry.path)
            if entry.name.startswith("."):
                continue
            if entry.is_symlink():
                problem = _link_problem(path, inside)
                if problem is None and _is_data_name(entry.name):
                    found.append(path)
                elif problem == _FOLDER_LINK or (problem and _is_data_name(entry.name)):
                    skipped.append((path, problem))
            elif entry.is_dir(follow_symlinks=False):
                pending.append(path)
            elif entry.is_file(follow_symlinks=False) and _is_data_name(entry.name):
                found.append(path)
    for path, why in [] if quiet else sorted(skipped):
        warn(path, None, why)
    yield from sorted(found)


_FOLDER_LINK = "symlink to a folder skipped (never followed)"


def _link_problem(link: Path, folder: Path) -> str | None:
    """Why a symlink found in ``folder`` is not followed, or ``None`` if it is a file inside."""
    try:
        target = link.resolve(strict=True)
    except (OSError, RuntimeError):  # missing target, or a loop (RuntimeError before 3.13)
        return "broken symlink (missing target or a loop) skipped"
    if target.is_dir():
        return _FOLDER_LINK
    if not target.is_relative_to(folder):
        return "symlink leading outside the input folder skipped"
    if not target.is_file():
        return "symlink to a non-regular file skipped"
    return None


def _is_data_name(name: str) -> bool:
    return name.lower().endswith(_DATA_SUFFIXES) and not _NOT_DATA.fullmatch(name)


def read_documents(
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    on_error: OnError = None,
    seen: SeenIds | None = None,
) -> Iterator[Document]:
    """Stream Documents from a file or (recursively, in sorted order) a directory.

    ``format`` forces one loader for every file; by default it is detected per file with
    :func:`detect_format`. ``on_error`` is passed to the loaders (see the package docstring).
    ``seen`` makes duplicate ids an error across every file read with it (a whole build); by
    default each file is checked on its own. A path that is missing or cannot be read raises
    :class:`InputNotFoundError` / :class:`UnreadableInputError` naming it.
    """
    if format is not None and format not in FORMATS:
        raise UnknownFormatError(f"unknown format {format!r}; valid formats: {_valid_formats()}")
    root = Path(path)
    if not root.exists():
        raise InputNotFoundError(f"input not found: {printable(str(root))}")
    files = _files(root) if root.is_dir() else iter([root])
    for file in files:
        try:
            reader = FORMATS[format if format is not None else detect_format(file)]
            yield from reader(file, on_error=on_error, seen=seen)
        except LoaderError:
            raise
        except IsADirectoryError:
            raise UnreadableInputError(
                f"{printable(str(file))}: is a directory, not a file"
            ) from None
        except OSError as exc:  # permissions, I/O errors: gzip and parse errors are LoaderErrors
            raise UnreadableInputError(
                f"cannot read {printable(str(file))}: {exc.strerror or exc}"
            ) from None
