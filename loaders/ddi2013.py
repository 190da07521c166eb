"""Reader for DDI Extraction 2013 corpus files as *text to extract from* (one XML file, one document).

The DDI-2013 corpus (Herrero-Zazo et al., J Biomed Inform 2013; CC BY-NC 4.0, non-commercial)
holds DrugBank drug-interaction label texts and MEDLINE abstracts, one ``<document>`` per file,
split into ``<sentence text="...">`` elements. Loaded with ``medkg build`` it becomes one
literature Document per file whose text is its sentences joined by newlines, with **no
annotations**: the build runs the extraction pipeline on it (``--extract auto``), so the
interactions that reach the graph are the ones the models find in the text, with their
sentences and scores, marked as extracted. That is how label and literature evidence joins the
interaction check. The corpus's gold entities and pairs (training data for the relation model)
are read by :mod:`extractors.corpora.ddi` instead.

    medkg build ../shared/data/corpora/ddi2013/Train --db graph.lbug     # opt-in: CC BY-NC 4.0

Errors: a wrong root element or malformed XML is fatal for the file (one line naming it); a
``<sentence>`` without a ``text`` attribute is a record error for the document; a document
without text is an empty-document error.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from loaders._common import DEFAULT_MAX_CHARS, OnError, report
from loaders._seen import SeenIds
from loaders._xml import iter_records
from schema.records import Document

SOURCE_FORMAT = "ddi2013"
ROOT_ELEMENT = "document"
LICENCE = "DDI-2013 corpus: CC BY-NC 4.0 (non-commercial use only)"


def read(
    path: str | os.PathLike[str],
    *,
    on_error: OnError = None,
    max_chars: int = DEFAULT_MAX_CHARS,
    seen: SeenIds | None = None,
) -> Iterator[Document]:
    """Yield the file's document (nothing, in skip mode, if it is bad)."""
    sentences: list[str] = []
    doc_id: str | None = None
    problem: tuple[str, str] | None = None
    for index, element in iter_records(path, root_tag=ROOT_ELEMENT, record_tag="sentence", format_name="DDI-2013 XML"):
        text = element.get("text")
        if doc_id is None:
            sid = element.get("id") or ""
            doc_id = sid.rsplit(".s", 1)[0] if ".s" in sid else None
        if text is None:
            problem = problem or (f"sentence {index}", "<sentence> has no text attribute")
            continue
        sentences.append(" ".join(text.split()))
    ident = f"ddi2013:{doc_id or Path(path).stem}"
    if problem is not None:
        report(path, problem[0], problem[1], ident, on_error)
        return
    body = "\n".join(s for s in sentences if s)
    if not body.strip():
        report(path, "byte 0", "empty document: no sentence text", ident, on_error)
        return
    if len(body) > max_chars:
        report(path, "byte 0", f"document is larger than max_chars={max_chars:,} characters", ident, on_error)
        return
    doc = Document(id=ident, source_format=SOURCE_FORMAT, kind="literature", text=body,
                   title=Path(path).stem.removesuffix("_ddi"), metadata={"licence": LICENCE})
    if (SeenIds() if seen is None else seen).admit(doc, path, "byte 0", on_error):
        yield doc
