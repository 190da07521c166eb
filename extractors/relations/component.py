"""The ``medkg_relations`` spaCy component: candidate pairs per sentence -> typed Relations in
``doc._.relations``.

Glue between the pipeline's linked entities and :class:`~extractors.relations.model.RelationModel`:
all candidate pairs of the documents of one ``nlp.pipe`` call are classified in one
length-sorted batch, and every positive prediction becomes a :class:`~schema.records.Relation`
between the linked concepts, with its sentence as evidence.
"""

# no `from __future__ import annotations`: spaCy validates factory signatures at runtime

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc, Span

from extractors.relations.candidates import EntitySpan, candidate_pairs, edge_for
from extractors.relations.model import DEFAULT_RE_MODEL, RelationModel
from schema.records import Relation, local_id

if not Doc.has_extension("relations"):
    Doc.set_extension("relations", default=[])  # list[Relation]
if not Span.has_extension("concept"):
    Span.set_extension("concept", default=None)


def concept_of(ent: Span) -> str:
    """The concept id a pipeline entity stands for: its linked CURIE or its stable local id."""
    concept = ent._.concept
    return concept.concept_id if concept is not None else local_id(ent.label_, ent.text)


class RelationExtractor:
    """Classifies intra-sentence entity pairs of processed Docs."""

    def __init__(self, model: RelationModel, *, threshold: float, batch_size: int) -> None:
        self.model = model
        self.threshold = threshold
        self.batch_size = batch_size

    @classmethod
    def load(cls, model_dir: str | Path | None, *, device: str = "auto", threshold: float = 0.5, batch_size: int = 64) -> "RelationExtractor":
        return cls(RelationModel.load(model_dir or DEFAULT_RE_MODEL, device=device), threshold=threshold, batch_size=batch_size)

    def extract(self, docs: Sequence[Doc]) -> list[list[Relation]]:
        jobs: list[tuple[int, Span, dict[tuple[int, int, str], Span], Any]] = []
        for i, doc in enumerate(docs):
            for sent in doc.sents:
                ents = [e for e in doc.ents if e.start >= sent.start and e.end <= sent.end]
                if len(ents) < 2:
                    continue
                by_span = {(e.start_char - sent.start_char, e.end_char - sent.start_char, e.label_): e for e in ents}
                spans = [EntitySpan(start=s, end=t, label=lab) for s, t, lab in by_span]
                for cand in candidate_pairs(sent.text, spans, tasks=self.model.tasks):
                    jobs.append((i, sent, by_span, cand))
        preds = self.model.predict([c for *_, c in jobs], batch_size=self.batch_size) if jobs else []
        out: list[list[Relation]] = [[] for _ in docs]
        for (i, sent, by_span, cand), pred in zip(jobs, preds, strict=True):
            edge = edge_for(cand, pred)
            if edge is None or pred.relation_score < self.threshold:
                continue
            head = by_span[(cand.head_start, cand.head_end, cand.head_label)]
            tail = by_span[(cand.tail_start, cand.tail_end, cand.tail_label)]
            if concept_of(head) == concept_of(tail):
                continue
            out[i].append(
                Relation(
                    type=edge.edge_type,
                    head_id=concept_of(head),
                    head_label=head.label_,
                    tail_id=concept_of(tail),
                    tail_label=tail.label_,
                    score=float(pred.relation_score),
                    source=self.model.name,
                    model=self.model.name,
                    evidence_text=sent.text,
                    evidence_start=sent.start_char,
                    evidence_end=sent.end_char,
                    properties=dict(edge.properties),
                )
            )
        return out


class RelationComponent:
    """Sets ``doc._.relations``; classifies the pairs of every document it is given in one batch."""

    def __init__(self, nlp: Language, name: str, model_dir: str, device: str, threshold: float, batch_size: int) -> None:
        self.extractor = RelationExtractor.load(model_dir or None, device=device, threshold=threshold, batch_size=batch_size)
        self.name = name

    def __call__(self, doc: Doc) -> Doc:
        return next(iter(self.pipe([doc])))

    def pipe(self, docs: Iterable[Doc], batch_size: int | None = None) -> Iterable[Doc]:
        docs = list(docs)
        for doc, relations in zip(docs, self.extractor.extract(docs), strict=True):
            doc._.relations = relations
            yield doc


@Language.factory("medkg_relations", default_config={"model_dir": "", "device": "auto", "threshold": 0.5, "batch_size": 64})
def make_relations(nlp: Language, name: str, model_dir: str, device: str, threshold: float, batch_size: int) -> RelationComponent:
    return RelationComponent(nlp, name, model_dir, device, threshold, batch_size)
