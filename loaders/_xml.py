"""Safe, streaming iteration over the records of an XML file, shared by the BioC and PubMed readers.

Three guards keep a hostile or broken file to one fatal error naming it:

* **Entity declarations are refused.** The ``<!DOCTYPE>`` prolog is read first with a bare
  ``pyexpat`` parser that raises at the first ``<!ENTITY`` declaration, before any reference to
  it can be expanded. Python 3.11's ``xml.etree`` expands internal entities, and only expat
  2.4.1+ limits the "billion laughs" amplification (expat 2.5 here, but the wheel or distro
  expat elsewhere may be older, and even 2.4's limit lets the first 8 MiB of expansion through).
  BioC and PubMed files never declare entities (they reference an external DTD, which is not
  fetched), so refusing them costs nothing; ``defusedxml`` would do the same with a dependency.
* **Each record is bounded** by :data:`MAX_RECORD_BYTES` of XML, so a gzip bomb or a record
  that never closes cannot exhaust memory: only the current record is ever held.
* **Damaged input is fatal and located**: XML syntax errors (line, 1-based column), damaged
  gzip data (see :func:`loaders._common.open_binary`), empty files.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from xml.parsers import expat

from loaders._common import fatal, open_binary
from loaders.errors import LoaderError

MAX_RECORD_BYTES = 64 * 1024 * 1024
"""Most XML bytes one record (``<document>``/``<PubmedArticle>``, with anything between it and
the previous one) may take. A PubMed article is 5-50 kB and a full-text PMC BioC document with
annotations a few MB; a note at the loaders' 5M-character limit is at most 20 MB of UTF-8. 64 MiB
is well above all of them and bounds the memory (about 10x the XML, as an element tree) a single
record can claim."""

_CHUNK = 64 * 1024
_BAD_ENCODING = (
    "the XML declaration names an encoding that cannot be read (unknown, or multi-byte other "
    "than UTF-8/UTF-16); convert the file to UTF-8"
)
_EXPAT_POSITION = re.compile(r":\s*line \d+, column \d+\s*$")


class _RootReached(Exception):
    def __init__(self, tag: str) -> None:
        super().__init__(tag)
        self.tag = tag


class _EntityDeclared(Exception):
    pass


def _refuse_entity(*_: object) -> None:
    raise _EntityDeclared


def _stop_at_root(name: str, _attributes: object) -> None:
    # namespace_separator="}" gives "uri}local"; ElementTree spells that "{uri}local"
    tag = "{" + name if "}" in name else name
    raise _RootReached(tag if len(tag) <= 80 else tag[:80] + "...")  # it is quoted in messages


def document_root(path: str | os.PathLike[str]) -> str:
    """Tag of the root element (as ElementTree spells it), reading only the prolog.

    Raises a fatal :class:`~loaders.errors.MalformedInputError` for an empty file, a syntax
    error before the root element, or a DOCTYPE that declares entities.
    """
    parser = expat.ParserCreate(namespace_separator="}")
    parser.StartElementHandler = _stop_at_root
    parser.EntityDeclHandler = _refuse_entity
    parser.UnparsedEntityDeclHandler = _refuse_entity
    with open_binary(path) as handle:
        first = True
        try:
            while True:
                data = handle.read(_CHUNK)
                if first and not data:
                    raise fatal(path, "byte 0", "empty file: no XML at all")
                first = False
                parser.Parse(data, not data)
                if not data:  # a complete document without a root element is a syntax error
                    break
        except _RootReached as reached:
            return reached.tag
        except _EntityDeclared:
            raise fatal(
                path,
                f"line {parser.CurrentLineNumber}, column {parser.CurrentColumnNumber + 1}",
                "the DOCTYPE declares an entity; entity declarations are refused (they allow "
                "'billion laughs' expansion bombs, and BioC/PubMed files never need them)",
            ) from None
        except expat.ExpatError as exc:
            raise fatal(
                path,
                f"line {exc.lineno}, column {exc.offset + 1}",
                f"XML syntax error before the root element ({expat.ErrorString(exc.code)})",
            ) from None
        except LoaderError:
            raise
        except (LookupError, ValueError):  # pyexpat's unknown-encoding handler: codec errors
            raise fatal(path, "line 1", _BAD_ENCODING) from None
    raise fatal(path, "byte 0", "XML file has no root element")


def iter_records(
    path: str | os.PathLike[str], *, root_tag: str, record_tag: str, format_name: str
) -> Iterator[tuple[int, ET.Element]]:
    """Yield ``(1-based index, element)`` for each ``record_tag`` child, then free it.

    Each record is complete when yielded and is cleared (with everything before it) as soon as
    the caller asks for the next one, so memory holds one record however large the file.
    A wrong root element, an XML syntax error, a record over :data:`MAX_RECORD_BYTES` or a
    refused entity declaration raises a fatal :class:`~loaders.errors.MalformedInputError`:
    after a syntax error expat cannot resume, so no later record is reachable. Columns are
    reported 1-based (expat counts from 0).
    """
    found = document_root(path)
    if found != root_tag:
        raise fatal(
            path, "byte 0", f"root element is <{found}>, expected <{root_tag}> ({format_name})"
        )
    parser = ET.XMLPullParser(events=("start", "end"))
    root: ET.Element | None = None
    index = 0
    pending = 0  # bytes fed since the last complete record
    with open_binary(path) as handle:
        try:
            while True:
                data = handle.read(_CHUNK)
                if data:
                    parser.feed(data)
                else:
                    parser.close()
                pending += len(data)
                for event, element in parser.read_events():
                    if root is None:
                        root = element
                    if event == "end" and element.tag == record_tag:
                        index += 1
                        pending = 0
                        yield index, element
                        root.clear()
                if pending > MAX_RECORD_BYTES:
                    raise fatal(
                        path,
                        f"entry {index + 1}",
                        f"record is larger than {MAX_RECORD_BYTES // (1024 * 1024)} MiB of XML "
                        f"(or <{record_tag}> is never closed); the rest cannot be read",
                    )
                if not data:
                    return
        except ET.ParseError as exc:
            line, column = exc.position
            message = _EXPAT_POSITION.sub("", str(exc))
            raise fatal(
                path,
                f"line {line}, column {column + 1}",
                f"XML syntax error ({message}); the rest of the file cannot be read",
            ) from None
        except LoaderError:
            raise
        except (LookupError, ValueError):  # as in document_root (not reached after its check)
            raise fatal(path, "line 1", _BAD_ENCODING) from None
