"""Relation candidates: tasks, candidate generation, typed entity markers, schema mapping.

A *candidate* is one ordered entity pair inside one text (typically a sentence) together with
the *task* that should classify it. Tasks are declared once in :data:`TASKS` with the entity
types they accept, their labels and how each label maps onto an edge of the graph schema, so
candidate generation, the model heads and the graph writer all read the same table.

The model sees a candidate as the text with **typed entity markers (punct)** (Zhou & Chen
2021, "An Improved Baseline for Sentence-level Relation Extraction")::

    "@ * drug * aspirin @ potentiates # ^ drug ^ warfarin #"

``@ * type *`` ... ``@`` around the head, ``# ^ type ^`` ... ``#`` around the tail. The markers
are ordinary punctuation and words already in every BERT vocabulary, so no new tokens or
embeddings are needed (which is what lets a LoRA adapter stay small), and the type word
tells the encoder what kind of entity sits between them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from extractors.errors import ExtractionError
from schema.records import EntityType

__all__ = [
    "CandidateError",
    "EdgeMapping",
    "EntitySpan",
    "MarkedText",
    "RelationCandidate",
    "RelationPrediction",
    "TASKS",
    "TaskSpec",
    "candidate_pairs",
    "edge_for",
    "mark_entities",
]

_LABELS = frozenset(t.value for t in EntityType)


class CandidateError(ExtractionError, ValueError):
    """A relation candidate is inconsistent (offsets outside the text, unknown label or task)."""


@dataclass(frozen=True, slots=True)
class RelationCandidate:
    """One ordered entity pair in ``text`` to classify with ``task``'s head.

    Offsets are character offsets into ``text``, end-exclusive. Labels are graph entity types
    (``"Drug"``, ``"Disease"``, ``"Symptom"``). Head and tail may overlap or nest (DDI-2013
    and ADE annotate "heparin" inside "heparin-induced thrombocytopenia") but not coincide.
    """

    text: str
    head_start: int
    head_end: int
    head_label: str
    tail_start: int
    tail_end: int
    tail_label: str
    task: str

    def __post_init__(self) -> None:
        n = len(self.text)
        for name, start, end in (("head", self.head_start, self.head_end), ("tail", self.tail_start, self.tail_end)):
            if not 0 <= start < end <= n:
                raise CandidateError(f"{name} span {start}..{end} is empty or outside the text ({n} characters)")
        if (self.head_start, self.head_end) == (self.tail_start, self.tail_end):
            raise CandidateError(f"head and tail are the same span {self.head_start}..{self.head_end}")
        for name, label in (("head", self.head_label), ("tail", self.tail_label)):
            if label not in _LABELS:
                raise CandidateError(f"{name}_label {label!r} is not one of {', '.join(sorted(_LABELS))}")

    @property
    def head_text(self) -> str:
        return self.text[self.head_start : self.head_end]

    @property
    def tail_text(self) -> str:
        return self.text[self.tail_start : self.tail_end]


@dataclass(frozen=True, slots=True)
class RelationPrediction:
    """The head's verdict on one candidate.

    ``label`` is the argmax label (``"none"`` for no relation) and ``score`` its probability;
    ``relation_score`` is ``1 - P(none)``, the probability that *some* relation holds, which
    is the number to rank or threshold pairs by when the type does not matter.
    """

    task: str
    label: str
    score: float
    relation_score: float


@dataclass(frozen=True, slots=True)
class EdgeMapping:
    """How a (task, label) becomes a schema edge: type, direction and fixed properties.

    ``direction`` is ``"forward"`` (candidate head -> tail) or ``"symmetric"`` (the store keeps
    one edge per unordered pair, as the schema declares for INTERACTS_WITH).
    """

    edge_type: str
    direction: Literal["forward", "symmetric"]
    properties: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """One relation task: which entity types it pairs and what its labels mean in the graph.

    ``labels[0]`` is always ``"none"``. ``symmetric`` tasks generate one candidate per
    unordered pair, head = the entity that comes first in the text (as DDI-2013 lists pairs).
    """

    name: str
    head_labels: frozenset[str]
    tail_labels: frozenset[str]
    labels: tuple[str, ...]
    symmetric: bool
    edges: Mapping[str, EdgeMapping]
    description: str

    def fits(self, head_label: str, tail_label: str) -> bool:
        return head_label in self.head_labels and tail_label in self.tail_labels


_DRUG, _DISEASE, _SYMPTOM = EntityType.DRUG.value, EntityType.DISEASE.value, EntityType.SYMPTOM.value
_DDI_TYPES = ("mechanism", "effect", "advise", "int")

TASKS: Mapping[str, TaskSpec] = {
    "ddi": TaskSpec(
        name="ddi",
        head_labels=frozenset({_DRUG}),
        tail_labels=frozenset({_DRUG}),
        labels=("none", *_DDI_TYPES),
        symmetric=True,
        edges={t: EdgeMapping("INTERACTS_WITH", "symmetric", {"interaction_type": t}) for t in _DDI_TYPES},
        description="drug-drug interaction typed as in DDI-2013 (trained on DDI-2013, CC BY-NC 4.0)",
    ),
    "adverse_effect": TaskSpec(
        name="adverse_effect",
        head_labels=frozenset({_DRUG}),
        tail_labels=frozenset({_DISEASE, _SYMPTOM}),
        labels=("none", "adverse_effect"),
        symmetric=False,
        edges={"adverse_effect": EdgeMapping("CAUSES_ADVERSE_EFFECT", "forward")},
        description="drug causes a disease/symptom as an adverse effect (BC5CDR CID + ADE v2)",
    ),
    "has_symptom": TaskSpec(
        name="has_symptom",
        head_labels=frozenset({_DISEASE}),
        tail_labels=frozenset({_SYMPTOM}),
        labels=("none", "has_symptom"),
        symmetric=False,
        edges={"has_symptom": EdgeMapping("HAS_SYMPTOM", "forward")},
        description="disease produces a sign/symptom (RareDis Produces)",
    ),
}
"""The relation tasks. TREATS is not among them: no corpus here states treatment at the
sentence level with enough examples to train it inside the CPU budget (BioRED's
Negative_Correlation is a proxy that the gold loaders already map)."""


def edge_for(candidate: RelationCandidate, prediction: RelationPrediction) -> EdgeMapping | None:
    """The schema edge a prediction asserts, or ``None`` for ``"none"``.

    Raises :class:`CandidateError` if the prediction's task or label is unknown, since a
    silently dropped label would mean a model and this table disagree.
    """
    spec = TASKS.get(prediction.task)
    if spec is None or prediction.task != candidate.task:
        raise CandidateError(f"prediction task {prediction.task!r} does not match candidate task {candidate.task!r}")
    if prediction.label == "none":
        return None
    if prediction.label not in spec.edges:
        raise CandidateError(f"task {spec.name!r} has no label {prediction.label!r}; valid: {', '.join(spec.labels)}")
    return spec.edges[prediction.label]


@dataclass(frozen=True, slots=True)
class EntitySpan:
    """A typed entity span in a sentence, the input of :func:`candidate_pairs`."""

    start: int
    end: int
    label: str


def candidate_pairs(
    text: str, entities: Iterable[EntitySpan], *, tasks: Sequence[str] | None = None
) -> Iterator[RelationCandidate]:
    """Every candidate the tasks define over the entities of one sentence.

    For each task (all of :data:`TASKS` by default) and each pair of distinct entity spans
    whose labels fit it: ordered pairs for directed tasks, one pair per unordered pair (earlier
    entity as head) for symmetric ones. Duplicate spans are merged, and a span is never paired
    with itself, nor with a span of the same offsets under another label (RareDis annotates
    "hypoadrenalism" both as DISEASE and SIGN; it does not produce itself).

    Entities must lie inside ``text``; pass one sentence at a time, since the tasks are trained
    on intra-sentence pairs.
    """
    names = list(TASKS) if tasks is None else list(tasks)
    for name in names:
        if name not in TASKS:
            raise CandidateError(f"unknown relation task {name!r}; valid: {', '.join(TASKS)}")
    ents = sorted({(e.start, e.end, e.label) for e in entities})
    for start, end, label in ents:
        if not 0 <= start < end <= len(text):
            raise CandidateError(f"entity span {start}..{end} is empty or outside the text ({len(text)} characters)")
        if label not in _LABELS:
            raise CandidateError(f"entity label {label!r} is not one of {', '.join(sorted(_LABELS))}")
    for name in names:
        spec = TASKS[name]
        for i, (hs, he, hl) in enumerate(ents):
            for j, (ts, te, tl) in enumerate(ents):
                if i == j or (hs, he) == (ts, te) or not spec.fits(hl, tl):
                    continue
                if spec.symmetric and j < i:
                    continue
                yield RelationCandidate(
                    text=text, head_start=hs, head_end=he, head_label=hl,
                    tail_start=ts, tail_end=te, tail_label=tl, task=name,
                )


@dataclass(frozen=True, slots=True)
class MarkedText:
    """``text`` with markers inserted; ``head_marker``/``tail_marker`` index the ``@``/``#`` that open
    each entity (whose representations the model pools); ``head``/``tail`` are the entity spans
    in the marked text: ``marked.text[slice(*marked.head)] == candidate.head_text`` whenever
    head and tail do not overlap (an overlapping span also covers the other's markers)."""

    text: str
    head_marker: int
    tail_marker: int
    head: tuple[int, int]
    tail: tuple[int, int]


def mark_entities(candidate: RelationCandidate) -> MarkedText:
    """Insert typed entity markers (punct) around head and tail (pure function).

    At one character position, closing markers come before opening ones (adjacent entities
    read ``... aspirin @ # ^ drug ^ warfarin ...``); nested spans open outer-first and close
    inner-first, so the markers always nest properly when the spans do.
    """
    c = candidate
    head_open, tail_open = f"@ * {c.head_label.lower()} * ", f"# ^ {c.tail_label.lower()} ^ "
    # (position, order, insert text, role). order: closings (0) before openings (1); within
    # closings the later-starting (inner) span first; within openings the longer (outer) first.
    inserts = [
        (c.head_end, 0, -c.head_start, " @", "head_close"),
        (c.tail_end, 0, -c.tail_start, " #", "tail_close"),
        (c.head_start, 1, -c.head_end, head_open, "head_open"),
        (c.tail_start, 1, -c.tail_end, tail_open, "tail_open"),
    ]
    inserts.sort(key=lambda x: (x[0], x[1], x[2]))
    pieces: list[str] = []
    where: dict[str, int] = {}
    shift = 0
    prev = 0
    for pos, _, _, piece, role in inserts:
        pieces.append(c.text[prev:pos])
        shift += pos - prev
        prev = pos
        where[role] = shift  # start of this marker in the marked text
        pieces.append(piece)
        shift += len(piece)
    pieces.append(c.text[prev:])
    marked = "".join(pieces)
    head = (where["head_open"] + len(head_open), where["head_close"])
    tail = (where["tail_open"] + len(tail_open), where["tail_close"])
    return MarkedText(text=marked, head_marker=where["head_open"], tail_marker=where["tail_open"], head=head, tail=tail)
