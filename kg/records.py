"""Moved to :mod:`schema.records` (the records sit on the bottom floor, below loaders and
extractors); this re-export keeps old imports working for one release."""

from __future__ import annotations

import warnings

from schema.records import (  # noqa: F401
    Assertion,
    Document,
    DocumentRecord,
    Edge,
    EntityType,
    EvidenceRecord,
    GraphBatch,
    Mention,
    MentionEdge,
    Node,
    Record,
    Relation,
)

warnings.warn("kg.records moved to schema.records; import from there", DeprecationWarning, stacklevel=2)
