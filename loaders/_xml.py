"""Streaming iteration over the records of an XML file, shared by the BioC and PubMed readers."""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator

from loaders._common import fatal, open_binary

_EXPAT_POSITION = re.compile(r":\s*line \d+, column \d+\s*$")


def iter_records(
    path: str | os.PathLike[str], *, root_tag: str, record_tag: str, format_name: str
) -> Iterator[tuple[int, ET.Element]]:
    """Yield ``(1-based index, element)`` for each ``record_tag`` child, then free it.

    Each record is complete when yielded and is cleared (with everything before it) as soon as
    the caller asks for the next one, so memory holds one record however large the file.
    A wrong root element or an XML syntax error raises a fatal
    :class:`~loaders.errors.MalformedInputError`: after a syntax error expat cannot resume, so
    no later record is reachable. Columns are reported 1-based (expat counts from 0).
    """
    with open_binary(path) as handle:
        root: ET.Element | None = None
        index = 0
        try:
            for event, element in ET.iterparse(handle, events=("start", "end")):
                if root is None:
                    root = element
                    if root.tag != root_tag:
                        raise fatal(
                            path,
                            "byte 0",
                            f"root element is <{root.tag}>, expected <{root_tag}> ({format_name})",
                        )
                if event == "end" and element.tag == record_tag:
                    index += 1
                    yield index, element
                    root.clear()
        except ET.ParseError as exc:
            line, column = exc.position
            message = _EXPAT_POSITION.sub("", str(exc))
            raise fatal(
                path,
                f"line {line}, column {column + 1}",
                f"XML syntax error ({message}); the rest of the file cannot be read",
            ) from None
