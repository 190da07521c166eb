"""Symptom Ontology (``symp.obo``): SYMP terms with names, EXACT/RELATED synonyms and IS_A.

Every live term is kept (the ontology is one tree under SYMP:0000462 "symptom"); obsolete
terms are dropped. Terms are grouped into documents by numeric id bucket of
:data:`BUCKET_WIDTH` (``symp:SYMP:000001`` holds SYMP:0000100 to SYMP:0000199), so a new
release rewrites only the buckets whose terms changed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from schema.records import Document, EntityType
from loaders._common import OnError
from loaders.curated._common import SHARED_KNOWLEDGE, LoadReport, count_document, require
from loaders.curated._hierarchy import hierarchy_documents
from loaders.obo import read_obo

SOURCE = "symp"
BUCKET_WIDTH = 100
"""SYMP ids are dense (SYMP:0000000..SYMP:0000900 and a few higher), so 100 ids per document
gives ~10 documents of ~90 terms: small re-writes when a release edits a few terms."""


def default_path() -> Path:
    return SHARED_KNOWLEDGE / "symptom_ontology" / "symp.obo"


def read(
    path: str | os.PathLike[str] | None = None,
    *,
    on_error: OnError = None,
    report_to: LoadReport | None = None,
    width: int = BUCKET_WIDTH,
) -> Iterator[Document]:
    """Stream the Symptom Ontology as bucketed documents of names, synonyms and IS_A relations.

    ``path`` is ``symp.obo`` or the folder holding it.
    """
    file = Path(path) if path else default_path()
    if file.is_dir():
        file = file / "symp.obo"
    terms = list(read_obo(require(file, "Symptom Ontology (symp.obo)"), on_error=on_error))
    if report_to is not None:
        report_to.rows += len(terms)
        report_to.skipped["obsolete term"] += sum(t.obsolete for t in terms)
    for doc in hierarchy_documents(terms, source=SOURCE, label=EntityType.SYMPTOM, width=width):
        yield count_document(report_to, doc)
