"""End-to-end evaluation: raw text in, the shipped pipeline, graph-level answers scored.

What reaches the graph is not a span but a concept (and a pair of concepts), so the pipeline is
scored the way its output is used, at the level of the literature's own vocabulary (MeSH):

* **concepts**: per document and entity type, the set of MeSH ids the pipeline's mentions ground
  to, against the gold annotations' ids (BC5CDR: Chemical -> Drug, Disease; NCBI-disease:
  Disease, MeSH or OMIM). A predicted concept that grounds to no MeSH id (a ``LOCAL:`` id for an
  unlinked span, a DrugBank or HPO id without a MeSH cross-reference) is a false positive, as in
  the graph it is a node no MeSH query finds.
* **pairs**: BC5CDR's document-level chemical-induced-disease pairs, (document, chemical MeSH,
  disease MeSH), against the pipeline's CAUSES_ADVERSE_EFFECT relations grounded the same way.
* **pairs, linking bypassed**: the same relations, each end replaced by the gold MeSH ids of the
  gold spans its predicted mentions overlap (same document), so the relation and NER losses are
  visible without the grounding loss.

The documents are stripped of their annotations and run exactly as ``medkg extract`` runs them
(:class:`~extractors.pipeline.ExtractionPipeline`, ``mode="always"``, the default models, KB and
thresholds). Scores are micro P/R/F1 over the sets (:class:`extractors.scorers.PRF`).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from extractors.config import PipelineConfig
from extractors.scorers import PRF
from schema.records import Document, EntityType, Mention, local_id

GOLD_TYPES = {"bc5cdr": (EntityType.DRUG, EntityType.DISEASE), "ncbi-disease": (EntityType.DISEASE,)}
"""Entity types each corpus annotates (BC5CDR Chemical is the graph's Drug)."""

CID = "CAUSES_ADVERSE_EFFECT"
_VOCABULARY_PREFIXES = {"bc5cdr": ("MESH",), "ncbi-disease": ("MESH", "OMIM")}


@dataclass
class PipelineScores:
    """The three measures, with what they were computed on."""

    corpus: str
    documents: int
    seconds: float
    concepts: dict[str, PRF] = field(default_factory=dict)
    pairs: PRF | None = None
    pairs_gold_spans: PRF | None = None
    grounding: dict[str, float] = field(default_factory=dict)
    """Share of predicted concepts (per type) that ground to the corpus vocabulary at all."""

    def table(self) -> str:
        rows = ["| measure | P | R | F1 | tp | fp | fn |", "|---|---|---|---|---|---|---|"]
        for name, s in self.concepts.items():
            rows.append(_row(f"concepts: {name} (document, id)", s))
        if self.pairs is not None:
            rows.append(_row("CID pairs (document, chemical, disease)", self.pairs))
        if self.pairs_gold_spans is not None:
            rows.append(_row("CID pairs, linking bypassed (gold ids of overlapped gold spans)", self.pairs_gold_spans))
        return "\n".join(rows)

    def as_dict(self) -> dict[str, Any]:
        def d(s: PRF | None) -> dict[str, Any] | None:
            return None if s is None else s.as_dict()

        return {"corpus": self.corpus, "documents": self.documents, "seconds": round(self.seconds, 1),
                "concepts": {k: d(v) for k, v in self.concepts.items()}, "pairs": d(self.pairs),
                "pairs_gold_spans": d(self.pairs_gold_spans), "grounding": self.grounding}


def _row(name: str, s: PRF) -> str:
    return f"| {name} | {100 * s.precision:.1f} | {100 * s.recall:.1f} | **{100 * s.f1:.1f}** | {s.tp} | {s.fp} | {s.fn} |"


def _prf(gold: set[Any], pred: set[Any]) -> PRF:
    tp = len(gold & pred)
    return PRF(tp=tp, fp=len(pred) - tp, fn=len(gold) - tp)


def strip(doc: Document) -> Document:
    """The document as raw text: annotations removed, nothing else changed."""
    return doc.model_copy(update={"mentions": (), "relations": ()})


class Grounder:
    """A concept id as ids of the target vocabulary: itself if it is one, else its KB xrefs."""

    def __init__(self, xrefs: Callable[[str], Iterable[str]], prefixes: Sequence[str]) -> None:
        self._xrefs = xrefs
        self.prefixes = tuple(p + ":" for p in prefixes)

    def __call__(self, concept_id: str) -> frozenset[str]:
        if concept_id.startswith(self.prefixes):
            return frozenset({concept_id})
        return frozenset(x for x in self._xrefs(concept_id) if x.startswith(self.prefixes))


def _concept(m: Mention) -> str:
    return m.concept_id or local_id(m.label.value, m.text)


def score(
    gold_docs: Sequence[Document], predicted: Sequence[Document], *, corpus: str, grounder: Grounder, seconds: float = 0.0,
) -> PipelineScores:
    """Score predicted documents against their gold versions (same order, same ids)."""
    types = GOLD_TYPES[corpus]
    out = PipelineScores(corpus=corpus, documents=len(gold_docs), seconds=seconds)
    gold_c: dict[EntityType, set[tuple[str, str]]] = defaultdict(set)
    pred_c: dict[EntityType, set[tuple[str, str]]] = defaultdict(set)
    grounded: dict[EntityType, list[bool]] = defaultdict(list)
    gold_pairs: set[tuple[str, str, str]] = set()
    pred_pairs: set[tuple[str, str, str]] = set()
    bypass_pairs: set[tuple[str, str, str]] = set()
    for gold, pred in zip(gold_docs, predicted, strict=True):
        assert gold.id == pred.id
        for m in gold.mentions:
            if m.label in types and m.concept_id:
                gold_c[m.label].add((gold.id, m.concept_id))
        for r in gold.relations:
            if r.type == CID:
                gold_pairs.add((gold.id, r.head_id, r.tail_id))
        as_type = {EntityType.SYMPTOM: EntityType.DISEASE} if EntityType.DISEASE in types else {}
        spans_of: dict[str, list[Mention]] = defaultdict(list)
        for m in pred.mentions:
            label = as_type.get(m.label, m.label)
            if label not in types:
                continue
            cid = _concept(m)
            spans_of[cid].append(m)
            ids = grounder(cid)
            grounded[label].append(bool(ids))
            for x in ids or {cid}:  # an ungrounded concept is still a prediction (a wrong one)
                pred_c[label].add((gold.id, x))
        for r in pred.relations:
            if r.type != CID:
                continue
            for h in grounder(r.head_id):
                for t in grounder(r.tail_id):
                    pred_pairs.add((gold.id, h, t))
            heads = _gold_ids_under(spans_of.get(r.head_id, ()), gold.mentions, EntityType.DRUG)
            tails = _gold_ids_under(spans_of.get(r.tail_id, ()), gold.mentions, EntityType.DISEASE)
            bypass_pairs.update((gold.id, h, t) for h in heads for t in tails)
    for label in types:
        out.concepts[label.value] = _prf(gold_c[label], pred_c[label])
        flags = grounded[label]
        out.grounding[label.value] = round(sum(flags) / len(flags), 4) if flags else 0.0
    if corpus == "bc5cdr":
        out.pairs = _prf(gold_pairs, pred_pairs)
        out.pairs_gold_spans = _prf(gold_pairs, bypass_pairs)
    return out


def _gold_ids_under(spans: Iterable[Mention], gold: Iterable[Mention], label: EntityType) -> set[str]:
    """Gold concept ids of the gold ``label`` mentions that overlap any of ``spans``."""
    gold = [g for g in gold if g.label is label and g.concept_id and g.start is not None]
    out: set[str] = set()
    for s in spans:
        if s.start is None or s.end is None:
            continue
        out.update(g.concept_id for g in gold if g.start < s.end and s.start < g.end)  # type: ignore[operator,misc]
    return out


def evaluate_pipeline(
    path: str | Path,
    *,
    corpus: str,
    config: PipelineConfig | None = None,
    batch_docs: int = 64,
    limit: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> PipelineScores:
    """Run the pipeline on the corpus file's raw text and score it (see the module docstring)."""
    from extractors.pipeline import ExtractionPipeline
    from loaders import read_documents

    if corpus not in GOLD_TYPES:
        raise ValueError(f"unknown corpus {corpus!r}; choose one of: {', '.join(GOLD_TYPES)}")
    gold = list(read_documents(path))[:limit]
    config = config or PipelineConfig()
    pipeline = ExtractionPipeline(config)
    # the linker's own KB: the xrefs the pipeline's links carry, loaded once
    kb = pipeline.nlp.get_pipe("medkg_linker").linker.kb if pipeline.nlp.has_pipe("medkg_linker") else None

    def xrefs(concept_id: str) -> Iterable[str]:
        entry = kb.get(concept_id) if kb is not None else None
        return entry.xrefs if entry is not None else ()

    if gold:  # load the KB index and warm the kernels outside the timed loop (as bench_pipeline does)
        pipeline.process([strip(gold[0])], mode="always")
    started = time.perf_counter()
    predicted: list[Document] = []
    for i in range(0, len(gold), batch_docs):
        predicted += pipeline.process([strip(d) for d in gold[i : i + batch_docs]], mode="always")
        if progress is not None:
            progress(len(predicted), len(gold))
    seconds = time.perf_counter() - started
    return score(gold, predicted, corpus=corpus, grounder=Grounder(xrefs, _VOCABULARY_PREFIXES[corpus]), seconds=seconds)
