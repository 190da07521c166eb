"""Mapping of gold corpus annotations (PubTator and BioC share it) onto our records.

Both formats carry the same annotation model (typed spans with MeSH/OMIM ids, and relations
between concept ids), so the decisions live here once:

* **Entity types.** Only chemicals and diseases are kept, because the graph schema has Drug and
  Disease nodes and nothing for genes, variants, species or cell lines. NCBI-disease's
  sub-types (SpecificDisease, DiseaseClass, CompositeMention, Modifier) are all diseases.
* **Concept ids.** Bare MeSH ids (``D014859``, ``C000123``) become ``MESH:D014859``; prefixed
  ids keep their local part with the prefix upper-cased (``OMIM:123``); ``-1``, ``-`` and empty
  mean "not linked". Composite mentions list several ids separated by ``|``, ``,``, ``;`` or
  (NCBI-disease) ``+``; each id gets its own Mention over the same span, so every concept the
  span names is counted, and the graph never sees a fake composite id.
* **Relations.** BC5CDR ``CID`` (chemical-induced disease) -> ``CAUSES_ADVERSE_EFFECT``;
  BioRED ``Drug_Interaction`` between two chemicals -> ``INTERACTS_WITH``; BioRED
  ``Positive_Correlation`` chemical/disease -> ``CAUSES_ADVERSE_EFFECT`` and
  ``Negative_Correlation`` chemical/disease -> ``TREATS`` (a chemical that lowers a disease is
  the corpus's reading of a treatment). BioRED relations are undirected in the file, so the
  chemical is made the head whichever column it is in. Every other relation is dropped.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

from schema.records import Document, EntityType, Mention, Relation
from loaders._common import RecordProblem
from schema.sentences import sentence_index, sentence_spans

ENTITY_TYPES: Mapping[str, EntityType] = {
    "Chemical": EntityType.DRUG,
    "ChemicalEntity": EntityType.DRUG,
    "Disease": EntityType.DISEASE,
    "DiseaseOrPhenotypicFeature": EntityType.DISEASE,
    "SpecificDisease": EntityType.DISEASE,
    "DiseaseClass": EntityType.DISEASE,
    "CompositeMention": EntityType.DISEASE,
    "Modifier": EntityType.DISEASE,
}
"""Corpus entity types we keep; any other type (genes, variants, species...) is skipped."""

CAUSES_ADVERSE_EFFECT = "CAUSES_ADVERSE_EFFECT"
INTERACTS_WITH = "INTERACTS_WITH"
TREATS = "TREATS"

_UNLINKED = frozenset({"", "-1", "-"})
_ID_SEPARATORS = re.compile(r"[|,;+]")
_BARE_MESH = re.compile(r"[CD]\d+")
_PREFIXED = re.compile(r"([A-Za-z][A-Za-z0-9_.-]*):(\S+)")


class RelationSpec(NamedTuple):
    """One relation as the corpus states it, before mapping.

    ``position`` (e.g. ``line 12``) and ``name`` (e.g. ``relation R0``) locate it in error
    messages; either may be ``None`` when the format has no such notion.
    """

    corpus_type: str
    raw_id1: str
    raw_id2: str
    position: str | None = None
    name: str | None = None


def normalize_id(raw: str) -> str | None:
    """One corpus concept id as a CURIE, or ``None`` when the mention is not linked.

    Raises :class:`RecordProblem` for an id that is neither MeSH nor prefixed: guessing a
    namespace would put wrong nodes in the graph.
    """
    raw = raw.strip()
    if raw in _UNLINKED:
        return None
    if _BARE_MESH.fullmatch(raw):
        return f"MESH:{raw}"
    prefixed = _PREFIXED.fullmatch(raw)
    if prefixed:
        return f"{prefixed.group(1).upper()}:{prefixed.group(2)}"
    raise RecordProblem(
        f"unrecognised concept id {raw!r}: expected a bare MeSH id (D000001, C000001), "
        "a prefixed id (MESH:D000001, OMIM:100100) or -1 for unlinked"
    )


def concept_ids(raw: str) -> list[str | None]:
    """All concept ids of a (possibly composite) id field, de-duplicated, in file order."""
    linked: list[str | None] = []
    for piece in _ID_SEPARATORS.split(raw):
        cid = normalize_id(piece)
        if cid is not None and cid not in linked:
            linked.append(cid)
    return linked or [None]


def gold_mentions(
    *, corpus_type: str, text: str, start: int, end: int, raw_id: str, source: str
) -> list[Mention]:
    """Mentions for one annotated span: none if its type is not kept, one per concept id."""
    label = ENTITY_TYPES.get(corpus_type)
    if label is None:
        return []
    return [
        Mention(label=label, text=text, start=start, end=end, concept_id=cid, source=source)
        for cid in concept_ids(raw_id)
    ]


def check_span(doc_text: str, start: int, end: int, mention_text: str) -> str:
    """The mention text as it appears in the document, or :class:`RecordProblem` if it doesn't.

    Surrounding whitespace in the annotation is tolerated (one NCBI-disease training mention
    carries two trailing spaces that the offsets exclude); the document's own characters are
    returned so ``doc.text[start:end] == mention.text`` always holds. The message gives
    offsets and lengths only, never document text.
    """
    if not 0 <= start <= end:
        raise RecordProblem(f"bad mention offsets {start}..{end}: need 0 <= start <= end")
    if end > len(doc_text):
        raise RecordProblem(
            f"mention offsets {start}..{end} run past the end of the text ({len(doc_text)} chars)"
        )
    span = doc_text[start:end]
    if span != mention_text and span != mention_text.strip():
        raise RecordProblem(
            f"mention text ({len(mention_text)} chars) does not match the document text at "
            f"offsets {start}..{end}"
        )
    return span


def _lenient_id(raw: str) -> str | None:
    """Relation endpoint id, or ``None`` for ids we cannot read (gene ids, variant HGVS...).

    Relations involving such endpoints are never mapped, so they are dropped, not errors.
    """
    try:
        return normalize_id(raw)
    except RecordProblem:
        return None


def _map_relation(
    rel_type: str, id1: str | None, id2: str | None, labels: Mapping[str, set[EntityType]]
) -> tuple[str, str, EntityType, str, EntityType] | None:
    """(type, head id, head label, tail id, tail label) for a kept relation, else ``None``."""
    if id1 is None or id2 is None:
        return None
    drug, disease = EntityType.DRUG, EntityType.DISEASE
    if rel_type == "CID":
        return CAUSES_ADVERSE_EFFECT, id1, drug, id2, disease
    l1, l2 = labels.get(id1, set()), labels.get(id2, set())
    if rel_type == "Drug_Interaction":
        if drug in l1 and drug in l2 and id1 != id2:
            return INTERACTS_WITH, id1, drug, id2, drug
        return None
    target = {"Positive_Correlation": CAUSES_ADVERSE_EFFECT, "Negative_Correlation": TREATS}
    if rel_type in target:
        if drug in l1 and disease in l2:
            return target[rel_type], id1, drug, id2, disease
        if drug in l2 and disease in l1:
            return target[rel_type], id2, drug, id1, disease
    return None


def gold_relations(
    *,
    specs: Iterable[RelationSpec],
    mentions: Sequence[Mention],
    text: str,
    breaks: Iterable[int],
    source: str,
) -> list[Relation]:
    """Relations for the corpus relations we keep, each with its evidence sentence.

    The evidence is the first sentence (see :mod:`schema.sentences`) holding a mention of both
    endpoints; ``None`` when the two are never mentioned in the same sentence, as happens for
    document-level relations such as many BC5CDR CIDs.
    """
    labels: dict[str, set[EntityType]] = defaultdict(set)
    for m in mentions:
        if m.concept_id is not None:
            labels[m.concept_id].add(m.label)
    sentences = sentence_spans(text, breaks=breaks)
    in_sentences: dict[str, set[int]] = defaultdict(set)
    for m in mentions:
        if m.concept_id is not None and m.start is not None:
            idx = sentence_index(sentences, m.start)
            if idx is not None:
                in_sentences[m.concept_id].add(idx)

    relations: list[Relation] = []
    for spec in specs:
        rel_type, raw1, raw2 = spec.corpus_type, spec.raw_id1, spec.raw_id2
        if rel_type == "CID":
            try:
                id1, id2 = normalize_id(raw1), normalize_id(raw2)
            except RecordProblem as problem:
                prefix = f"{spec.name}: " if spec.name else ""
                raise RecordProblem(prefix + problem.message, spec.position) from None
        else:
            id1, id2 = _lenient_id(raw1), _lenient_id(raw2)
        mapped = _map_relation(rel_type, id1, id2, labels)
        if mapped is None:
            continue
        rtype, head, head_label, tail, tail_label = mapped
        shared = in_sentences.get(head, set()) & in_sentences.get(tail, set())
        ev_start, ev_end = sentences[min(shared)] if shared else (None, None)
        relations.append(
            Relation(
                type=rtype,
                head_id=head,
                head_label=head_label,
                tail_id=tail,
                tail_label=tail_label,
                source=source,
                evidence_text=text[ev_start:ev_end] if shared else None,
                evidence_start=ev_start,
                evidence_end=ev_end,
                properties={"source_relation": rel_type},
            )
        )
    return relations


def gold_source(corpus: str | None, fallback: str) -> str:
    """``Mention.source`` / ``Relation.source`` for a gold corpus: ``gold:<corpus>``."""
    return f"gold:{corpus or fallback}"


def gold_document(
    *, pmid: str, source_format: str, text: str, title: str, corpus: str | None,
    mentions: list[Mention], specs: list[RelationSpec], breaks: list[int], source: str,
) -> Document:
    """An annotated abstract (PubTator, BioC): its mentions and the relations its specs resolve to."""
    relations = gold_relations(specs=specs, mentions=mentions, text=text, breaks=breaks, source=source)
    return Document(
        id=f"PMID:{pmid}",
        source_format=source_format,
        text=text,
        title=title,
        kind="literature",
        metadata={"corpus": corpus},
        mentions=tuple(mentions),
        relations=tuple(relations),
    )
