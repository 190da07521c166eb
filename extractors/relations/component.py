"""The ``medkg_relations`` spaCy component: candidate pairs per sentence (or per document window,
for tasks a one-pass model was trained on at document scope) -> typed Relations in ``doc._.relations``,
from one model or from a main model plus a second one that takes over some of its tasks.

Glue between the pipeline's linked entities and :class:`~extractors.relations.model.RelationModel`:
all candidate pairs of the documents of one ``nlp.pipe`` call are classified in one
length-sorted batch, and every positive prediction becomes a :class:`~schema.records.Relation`
between the linked concepts, with its sentence as evidence.
"""

# no `from __future__ import annotations`: spaCy validates factory signatures at runtime

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Optional

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
    """Classifies the entity pairs of processed Docs (per sentence, or per window; see :meth:`_jobs`)."""

    def __init__(self, model: RelationModel, *, threshold: float, batch_size: int,
                 tasks: Optional[Iterable[str]] = None) -> None:
        self.model = model
        keep = None if tasks is None else set(tasks)
        self.tasks = tuple(t for t in model.tasks if keep is None or t in keep)
        """The model's tasks this extractor runs (all unless ``tasks`` narrows them)."""
        self.threshold = threshold
        self.batch_size = batch_size

    @classmethod
    def load(cls, model_dir: str | Path | None, *, device: str = "auto", threshold: float = 0.5, batch_size: int = 64,
             bf16: bool | None = None) -> "RelationExtractor":
        return cls(RelationModel.load(model_dir or DEFAULT_RE_MODEL, device=device, bf16=bf16), threshold=threshold,
                   batch_size=batch_size)

    def _jobs(self, doc: Doc) -> Iterable[tuple[Span, dict[tuple[int, int, str], Span], Any, bool]]:
        """(text span, entities of the text by offsets, candidate, document scope?) for every
        candidate of ``doc``.

        Tasks the model was trained on at sentence scope pair the entities of one sentence;
        tasks it was trained on at document scope (``medkg.json``'s ``scopes``, a one-pass model
        trained on ``bc5cdr-doc``) pair the entities of each window of consecutive sentences
        (:func:`~extractors.relations.data.document_windows`), cross-sentence pairs included.
        """
        scopes = self.model.meta.get("scopes") or {}
        by_scope: dict[str, list[str]] = {}
        for task in self.tasks:
            by_scope.setdefault(scopes.get(task, "sentence"), []).append(task)
        sents = list(doc.sents)
        texts: list[tuple[Span, list[str], bool]] = []
        if by_scope.get("sentence"):
            texts += [(sent, by_scope["sentence"], False) for sent in sents]
        if by_scope.get("document"):
            from extractors.relations.data import document_windows

            starts = {s.start_char: s for s in sents}
            ends = {s.end_char: s for s in sents}
            for w0, w1 in document_windows([(s.start_char, s.end_char) for s in sents]):
                texts.append((doc[starts[w0].start : ends[w1].end], by_scope["document"], True))
        for span, tasks, document in texts:
            ents = [e for e in doc.ents if e.start >= span.start and e.end <= span.end]
            if len(ents) < 2:
                continue
            by_span = {(e.start_char - span.start_char, e.end_char - span.start_char, e.label_): e for e in ents}
            spans = [EntitySpan(start=s, end=t, label=lab) for s, t, lab in by_span]
            for cand in candidate_pairs(span.text, spans, tasks=tasks):
                yield span, by_span, cand, document

    def extract(self, docs: Sequence[Doc]) -> list[list[Relation]]:
        jobs: list[tuple[int, Span, dict[tuple[int, int, str], Span], Any, bool]] = []
        for i, doc in enumerate(docs):
            jobs += [(i, *job) for job in self._jobs(doc)]
        preds = self.model.predict([job[3] for job in jobs], batch_size=self.batch_size) if jobs else []
        best: list[dict[tuple[str, str, str], Relation]] = [{} for _ in docs]
        out: list[list[Relation]] = [[] for _ in docs]
        for (i, span, by_span, cand, document), pred in zip(jobs, preds, strict=True):
            edge = edge_for(cand, pred)
            if edge is None or pred.relation_score < self.threshold:
                continue
            head = by_span[(cand.head_start, cand.head_end, cand.head_label)]
            tail = by_span[(cand.tail_start, cand.tail_end, cand.tail_label)]
            if concept_of(head) == concept_of(tail):
                continue
            evidence = _evidence(head, tail)
            rel = Relation(
                type=edge.edge_type,
                head_id=concept_of(head),
                head_label=head.label_,
                tail_id=concept_of(tail),
                tail_label=tail.label_,
                score=float(pred.relation_score),
                source=self.model.name,
                model=self.model.name,
                evidence_text=evidence.text,
                evidence_start=evidence.start_char,
                evidence_end=evidence.end_char,
                properties=dict(edge.properties),
            )
            if not document:
                out[i].append(rel)  # sentence scope: one relation per sentence that states it
                continue
            # document scope (a window can be one sentence): a pair seen in several windows or mention
            # pairs is one relation, the best-scored
            key = (rel.type, rel.head_id, rel.tail_id)
            if key not in best[i] or rel.score > best[i][key].score:
                best[i][key] = rel
        return [rels + list(b.values()) for rels, b in zip(out, best, strict=True)]


def _evidence(head: Span, tail: Span) -> Span:
    """The sentence holding both mentions, or the sentences from the first mention's to the last's."""
    first, last = (head, tail) if head.start <= tail.start else (tail, head)
    a, b = first.sent, last.sent
    return a if a.start == b.start else head.doc[a.start : max(a.end, b.end)]


class RelationComponent:
    """Sets ``doc._.relations``; classifies the pairs of every document it is given in one batch.

    ``extra_model_dir`` names a second model whose tasks replace the main model's same tasks (the
    shipped document-scope symptom model takes ``has_symptom``); each model encodes its own texts."""

    def __init__(self, nlp: Language, name: str, model_dir: str, device: str, threshold: float, batch_size: int,
                 bf16: Optional[bool] = None, extra_model_dir: str = "") -> None:
        self.extractors: list[RelationExtractor] = []
        extra = None
        if extra_model_dir:
            extra = RelationExtractor.load(extra_model_dir, device=device, threshold=threshold, batch_size=batch_size,
                                           bf16=bf16)
        main = RelationExtractor.load(model_dir or None, device=device, threshold=threshold, batch_size=batch_size,
                                      bf16=bf16)
        if extra is not None:
            main = RelationExtractor(main.model, threshold=threshold, batch_size=batch_size,
                                     tasks=[t for t in main.model.tasks if t not in extra.tasks])
        self.extractors = [main] + ([extra] if extra is not None else [])
        self.name = name

    @property
    def extractor(self) -> RelationExtractor:
        """The main model's extractor (without the tasks a second model took over: use the
        component itself, or every one of :attr:`extractors`, for all relations)."""
        return self.extractors[0]

    def __call__(self, doc: Doc) -> Doc:
        return next(iter(self.pipe([doc])))

    def pipe(self, docs: Iterable[Doc], batch_size: int | None = None) -> Iterable[Doc]:
        docs = list(docs)
        found: list[list[Relation]] = [[] for _ in docs]
        for extractor in self.extractors:
            if extractor.tasks:
                for rels, more in zip(found, extractor.extract(docs), strict=True):
                    rels += more
        for doc, relations in zip(docs, found, strict=True):
            doc._.relations = relations
            yield doc


@Language.factory("medkg_relations", default_config={"model_dir": "", "device": "auto", "threshold": 0.5, "batch_size": 64,
                                                     "bf16": None, "extra_model_dir": ""})
def make_relations(nlp: Language, name: str, model_dir: str, device: str, threshold: float, batch_size: int,
                   bf16: Optional[bool], extra_model_dir: str) -> RelationComponent:
    return RelationComponent(nlp, name, model_dir, device, threshold, batch_size, bf16, extra_model_dir)
