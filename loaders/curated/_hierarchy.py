"""Ontology hierarchies (HPO, SYMP) as curated documents: names as mentions, ``IS_A`` relations.

The terms come from the project's one OBO reader, :mod:`loaders.obo`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from loaders.curated._common import bucket_id, curated_document, name_mentions, relation
from loaders.obo import OboTerm
from schema.records import Document, EntityType


def hierarchy_documents(
    terms: Iterable[OboTerm],
    *,
    source: str,
    label: EntityType,
    width: int,
    keep: set[str] | None = None,
) -> Iterator[Document]:
    """One document per numeric id bucket of ``width`` terms: names and synonyms as mentions,
    ``child IS_A parent`` relations for parents that are kept too.

    Obsolete terms are dropped; ``keep`` (when given) restricts terms and parents to a subtree.
    Buckets come out in id order, so the output is deterministic for a given file.
    """
    live = {t.id: t for t in terms if not t.obsolete and (keep is None or t.id in keep)}
    buckets: dict[str, list[OboTerm]] = {}
    for term_id in sorted(live):
        buckets.setdefault(bucket_id(source, term_id, width), []).append(live[term_id])
    for doc_id, group in buckets.items():
        mentions, relations = [], []
        for t in group:
            mentions += name_mentions(label, t.id, t.name, t.names(), source=source)
            for parent in t.is_a:
                if parent in live:
                    relations.append(
                        relation("IS_A", (t.id, label), (parent, label), source=source,
                                 evidence=f"{t.name} is a {live[parent].name}")
                    )
        yield curated_document(
            doc_id, source=source, title=f"{source} terms {group[0].id}..{group[-1].id}",
            mentions=mentions, relations=relations,
        )
