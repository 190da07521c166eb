"""Corpora -> labelled relation candidates, with the gold pairs each corpus is scored against.

Each reader returns a :class:`RelationSet`: the candidates of one corpus split within a sentence
or, at document scope, within a window of consecutive sentences (with gold labels, for training),
plus the *complete* gold relation set of that split, so that evaluation counts the relations
that the candidates cannot reach as misses.

| corpus | task | candidates | scored as |
|---|---|---|---|
| DDI-2013 | ddi | the corpus's own pairs (every drug pair of a sentence) | (type, doc, e1, e2), unordered, 4 types |
| BC5CDR | adverse_effect | Chemical x Disease mention pairs in one sentence | (CID, doc, chemical MeSH, disease MeSH), document level |
| ADE v2 | adverse_effect | drug x effect pairs of each annotated sentence | (ADE, sentence, drug, effect) |
| RareDis | has_symptom | disease x sign/symptom entity pairs in one sentence (``raredis``) or one window (``raredis-doc``) | (Produces, doc, arg1, arg2) |

Sentences of BC5CDR and RareDis come from :func:`schema.sentences.sentence_spans` (title and
abstract split apart for BC5CDR); at sentence scope, entities that straddle a sentence boundary
are not paired (at document scope they are, within a window).
RareDis ``Produces`` relations whose head is an ``ANAPHOR`` ("the disorder") are left out of
the gold set, since the graph has no anaphor entities to attach them to; their count is kept
in :attr:`RelationSet.notes`.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar

from extractors.corpora.ade import ade_split, read_ade
from extractors.corpora.brat import RAREDIS_TYPES, read_brat_dir
from extractors.corpora.ddi import ddi_split, read_ddi_dir
from extractors.errors import CorpusFormatError
from extractors.relations.candidates import TASKS, RelationCandidate
from schema.records import EntityType
from schema.sentences import sentence_index, sentence_spans

__all__ = [
    "CORPORA",
    "Example",
    "RelationSet",
    "ade_set",
    "bc5cdr_set",
    "ddi_set",
    "load_sets",
    "raredis_set",
]

Split = Literal["train", "dev"]
SplitName = Literal["train", "dev", "all"]


@dataclass(frozen=True, slots=True)
class Example:
    """A candidate with its gold label and the scoring keys it stands for.

    ``keys`` are ``(head, tail)`` ids in the corpus's scoring namespace: entity ids for DDI,
    ADE and RareDis; every (chemical MeSH, disease MeSH) combination of the two mentions for
    BC5CDR (a composite mention carries several ids).
    """

    candidate: RelationCandidate
    label: str
    doc_id: str
    keys: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class RelationSet:
    """One corpus split as candidates + gold relations ``(type, doc, head, tail)``.

    ``score_type`` maps a positive predicted label to the relation type used in scoring
    (``adverse_effect`` -> ``CID`` for BC5CDR); ``symmetric`` scores unordered pairs.
    """

    corpus: str
    task: str
    split: SplitName
    examples: tuple[Example, ...]
    gold: frozenset[tuple[str, str, str, str]]
    score_type: Mapping[str, str]
    symmetric: bool
    source: str
    notes: Mapping[str, int | float | str] = field(default_factory=dict)
    scope: Literal["sentence", "document"] = "sentence"
    """Where candidates pair entities: within a sentence, or within a window of a document."""

    def counts(self) -> dict[str, int]:
        """Candidates per gold label, and the gold relations."""
        out: dict[str, int] = defaultdict(int)
        for ex in self.examples:
            out[ex.label] += 1
        out["gold_relations"] = len(self.gold)
        return dict(out)

    def reachable_gold(self) -> frozenset[tuple[str, str, str, str]]:
        """Gold relations that some candidate stands for: the recall ceiling of intra-sentence RE."""
        keys = set()
        for ex in self.examples:
            for h, t in ex.keys:
                keys.add((ex.doc_id, *sorted((h, t))) if self.symmetric else (ex.doc_id, h, t))
        out = set()
        for rtype, doc, h, t in self.gold:
            key = (doc, *sorted((h, t))) if self.symmetric else (doc, h, t)
            if key in keys:
                out.add((rtype, doc, h, t))
        return frozenset(out)


WINDOW_CHARS = 1500
"""Characters per document window: about 330 wordpieces of abstract text, so a window with its
entity markers stays inside a 512-position encoder."""


def document_windows(sentences: Sequence[tuple[int, int]], *, max_chars: int = WINDOW_CHARS) -> list[tuple[int, int]]:
    """Spans of consecutive sentences of at most ``max_chars`` (a longer sentence is a window of its own).

    A text that fits is one window. Otherwise each window starts at the middle sentence of the
    previous one, so every two sentences less than half a window apart share a window.
    """
    if not sentences:
        return []
    out: list[tuple[int, int]] = []
    i = 0
    while True:
        j = i
        while j + 1 < len(sentences) and sentences[j + 1][1] - sentences[i][0] <= max_chars:
            j += 1
        out.append((sentences[i][0], sentences[j][1]))
        if j == len(sentences) - 1:
            return out
        i = max(i + 1, (i + j + 1) // 2)


T = TypeVar("T")


def _in_sentence(spans: list[tuple[int, int]], start: int, end: int) -> int | None:
    """Sentence index holding the whole span ``start..end``, or ``None`` if it straddles two."""
    first = sentence_index(spans, start)
    return first if first is not None and first == sentence_index(spans, end - 1) else None


def _texts(sentences: list[tuple[int, int]], items: Sequence[T], span: Callable[[T], tuple[int, int]],
           scope: Literal["sentence", "document"]) -> tuple[list[tuple[int, int]], dict[int, list[T]]]:
    """The spans candidates are drawn from (the sentences, or at document scope the windows of
    :func:`document_windows`) and, per span index, the ``items`` it holds whole, in ``items``'
    order. At sentence scope an item that straddles two sentences is in none."""
    if scope == "document":
        windows = document_windows(sentences)
        return windows, {w: [x for x in items if w0 <= span(x)[0] and span(x)[1] <= w1] for w, (w0, w1) in enumerate(windows)}
    per: dict[int, list[T]] = defaultdict(list)
    for x in items:
        idx = _in_sentence(sentences, *span(x))
        if idx is not None:
            per[idx].append(x)
    return sentences, per


def ddi_set(root: str | os.PathLike[str], split: Split | None) -> RelationSet:
    """DDI-2013 Train documents of one side of :func:`~extractors.corpora.ddi.ddi_split` (all if ``None``)."""
    examples: list[Example] = []
    gold: set[tuple[str, str, str, str]] = set()
    docs = 0
    for doc in read_ddi_dir(root):
        if split is not None and ddi_split(doc.id) != split:
            continue
        docs += 1
        for sent in doc.sentences:
            for pair in sent.pairs:
                a, b = sent.entity(pair.e1), sent.entity(pair.e2)
                if pair.type is not None:
                    gold.add((pair.type, doc.id, a.id, b.id))
                if (a.start, a.end) == (b.start, b.end):
                    continue  # never happens in the release; a candidate needs two spans
                head, tail = (a, b) if (a.start, a.end) <= (b.start, b.end) else (b, a)
                cand = RelationCandidate(
                    text=sent.text, head_start=head.start, head_end=head.end, head_label=EntityType.DRUG.value,
                    tail_start=tail.start, tail_end=tail.end, tail_label=EntityType.DRUG.value, task="ddi",
                )
                examples.append(Example(cand, pair.type or "none", doc.id, ((a.id, b.id),)))
    return RelationSet(
        corpus="ddi2013", task="ddi", split=split or "all", examples=tuple(examples), gold=frozenset(gold),
        score_type={t: t for t in TASKS["ddi"].labels[1:]}, symmetric=True, source=str(root),
        notes={"documents": docs},
    )


def bc5cdr_set(path: str | os.PathLike[str], split: Split, *, scope: Literal["sentence", "document"] = "sentence") -> RelationSet:
    """BC5CDR (PubTator file of one split): Chemical x Disease mention pairs of one sentence, or
    (``scope="document"``) of each window of consecutive sentences (:func:`document_windows`,
    about 1,500 characters: a whole abstract when it fits, else overlapping windows).

    A candidate is positive when any (chemical id, disease id) of its two mentions is a CID
    pair of the document; that is distant supervision at the mention level (the sentence may
    not itself state the relation), the usual way to train CID at mention level. Document scope
    reaches the cross-sentence pairs (about a quarter of the gold) that sentence scope cannot.
    """
    from loaders import read_documents

    examples: list[Example] = []
    gold: set[tuple[str, str, str, str]] = set()
    docs = 0
    for doc in read_documents(path, format="pubtator"):
        docs += 1
        cid = {(r.head_id, r.tail_id) for r in doc.relations if r.properties.get("source_relation") == "CID"}
        gold.update(("CID", doc.id, h, t) for h, t in cid)
        breaks = [len(doc.title) + 1] if doc.title and len(doc.text) > len(doc.title) else []
        sentences = sentence_spans(doc.text, breaks=breaks)
        by_span: dict[tuple[str, int, int], list[str]] = defaultdict(list)
        for m in doc.mentions:
            if m.concept_id is not None and m.start is not None and m.end is not None and m.end > m.start:
                ids = by_span[(m.label.value, m.start, m.end)]
                if m.concept_id not in ids:
                    ids.append(m.concept_id)
        sentences, per_text = _texts(sentences, sorted(by_span, key=lambda k: (k[1], k[2], k[0])), lambda k: (k[1], k[2]), scope)
        for idx, keys in sorted(per_text.items()):
            s0, s1 = sentences[idx]
            text = doc.text[s0:s1]
            chems = [k for k in keys if k[0] == EntityType.DRUG.value]
            diseases = [k for k in keys if k[0] == EntityType.DISEASE.value]
            for c in chems:
                for d in diseases:
                    if (c[1], c[2]) == (d[1], d[2]):
                        continue
                    pairs = tuple((h, t) for h in by_span[c] for t in by_span[d])
                    cand = RelationCandidate(
                        text=text, head_start=c[1] - s0, head_end=c[2] - s0, head_label=c[0],
                        tail_start=d[1] - s0, tail_end=d[2] - s0, tail_label=d[0], task="adverse_effect",
                    )
                    label = "adverse_effect" if any(p in cid for p in pairs) else "none"
                    examples.append(Example(cand, label, doc.id, pairs))
    return RelationSet(
        corpus="bc5cdr" if scope == "sentence" else "bc5cdr-doc", task="adverse_effect", split=split, examples=tuple(examples), gold=frozenset(gold),
        score_type={"adverse_effect": "CID"}, symmetric=False, source=str(path), notes={"documents": docs}, scope=scope,
    )


def ade_set(root: str | os.PathLike[str], split: Split | None) -> RelationSet:
    """ADE v2 sentences of one side of :func:`~extractors.corpora.ade.ade_split` (by PMID; all if ``None``)."""
    examples: list[Example] = []
    gold: set[tuple[str, str, str, str]] = set()
    pmids: set[str] = set()
    for sent in read_ade(root):
        if split is not None and ade_split(sent.pmid) != split:
            continue
        pmids.add(sent.pmid)
        positives = set(sent.pairs)
        gold.update(("ADE", sent.id, d, e) for d, e in positives)
        drugs = [e for e in sent.entities if e.type == "drug"]
        effects = [e for e in sent.entities if e.type == "effect"]
        for d in drugs:
            for e in effects:
                if (d.start, d.end) == (e.start, e.end):
                    continue
                cand = RelationCandidate(
                    text=sent.text, head_start=d.start, head_end=d.end, head_label=EntityType.DRUG.value,
                    tail_start=e.start, tail_end=e.end, tail_label=EntityType.DISEASE.value, task="adverse_effect",
                )
                label = "adverse_effect" if (d.id, e.id) in positives else "none"
                examples.append(Example(cand, label, sent.id, ((d.id, e.id),)))
    return RelationSet(
        corpus="ade", task="adverse_effect", split=split or "all", examples=tuple(examples), gold=frozenset(gold),
        score_type={"adverse_effect": "ADE"}, symmetric=False, source=str(root), notes={"documents": len(pmids)},
    )


def raredis_set(folder: str | os.PathLike[str], *, scope: Literal["sentence", "document"] = "sentence") -> RelationSet:
    """RareDis brat folder (``train/`` or ``dev/``): disease x sign/symptom pairs in one sentence, or
    (``scope="document"``) in one window of consecutive sentences (:func:`document_windows`).

    Sentence scope reaches 40.0 % of the dev split's gold Produces pairs (44 % of train's: the rest
    name the disease in another sentence); document windows reach 96.5 % (train 95.9 %), at ten
    times the candidates. Windows overlap, so a pair in two windows is two training examples;
    scoring counts it once.
    """
    split: Split = "dev" if Path(folder).name == "dev" else "train"
    examples: list[Example] = []
    gold: set[tuple[str, str, str, str]] = set()
    anaphor = 0
    docs = 0
    for doc in read_brat_dir(folder):
        docs += 1
        ents = {e.id: e for e in doc.entities}
        produces: set[tuple[str, str]] = set()
        for rel in doc.relations:
            if rel.type != "Produces":
                continue
            if ents[rel.arg1].type not in RAREDIS_TYPES or ents[rel.arg2].type not in RAREDIS_TYPES:
                anaphor += 1
                continue
            produces.add((rel.arg1, rel.arg2))
        gold.update(("Produces", doc.id, h, t) for h, t in produces)
        typed = [(e, label.value) for e in sorted(doc.entities, key=lambda e: (e.start, e.end, e.id))
                 if (label := RAREDIS_TYPES.get(e.type)) is not None]
        sentences, per_text = _texts(sentence_spans(doc.text), typed, lambda x: (x[0].start, x[0].end), scope)
        for idx, ents_here in sorted(per_text.items()):
            s0, s1 = sentences[idx]
            text = doc.text[s0:s1]
            for h, hl in ents_here:
                for t, tl in ents_here:
                    if hl != EntityType.DISEASE.value or tl != EntityType.SYMPTOM.value:
                        continue
                    if (h.start, h.end) == (t.start, t.end):
                        continue
                    cand = RelationCandidate(
                        text=text, head_start=h.start - s0, head_end=h.end - s0, head_label=hl,
                        tail_start=t.start - s0, tail_end=t.end - s0, tail_label=tl, task="has_symptom",
                    )
                    label = "has_symptom" if (h.id, t.id) in produces else "none"
                    examples.append(Example(cand, label, doc.id, ((h.id, t.id),)))
    return RelationSet(
        corpus="raredis" if scope == "sentence" else "raredis-doc", task="has_symptom", split=split, examples=tuple(examples),
        gold=frozenset(gold), score_type={"has_symptom": "Produces"}, symmetric=False, source=str(folder),
        notes={"documents": docs, "produces_with_anaphor_head_excluded": anaphor}, scope=scope,
    )


CORPORA: Mapping[str, Callable[[Path, Split], RelationSet]] = {
    "ddi2013": lambda root, split: ddi_set(root / "corpora" / "ddi2013" / "Train", split),
    "bc5cdr": lambda root, split: bc5cdr_set(
        root / "corpora" / "bc5cdr" / "pubtator"
        / ("CDR_TrainingSet.PubTator.txt" if split == "train" else "CDR_DevelopmentSet.PubTator.txt"),
        split,
    ),
    "bc5cdr-doc": lambda root, split: bc5cdr_set(
        root / "corpora" / "bc5cdr" / "pubtator"
        / ("CDR_TrainingSet.PubTator.txt" if split == "train" else "CDR_DevelopmentSet.PubTator.txt"),
        split, scope="document",
    ),
    "ade": lambda root, split: ade_set(root / "corpora" / "ade-corpus-v2", split),
    "raredis": lambda root, split: raredis_set(root / "corpora" / "raredis" / split),
    "raredis-doc": lambda root, split: raredis_set(root / "corpora" / "raredis" / split, scope="document"),
}
"""Corpus name -> reader of one split under a shared-data root (``../shared/data``)."""


SENTENCE_CORPORA = ("ddi2013", "bc5cdr", "ade", "raredis")
"""The sentence-level sets (the per-pair model's training data; ``bc5cdr-doc`` is BC5CDR at document scope)."""

ONE_PASS_CORPORA = ("ddi2013", "bc5cdr", "ade", "raredis")
"""The shipped one-pass model's training sets (``medkg train re`` with no options), all at sentence
scope. Document scope was measured on dev and not shipped (BENCHMARKS.md "Relation extraction"):
``bc5cdr-doc`` measured CID 37.5 F1 against 51.2; ``raredis-doc`` trained alone gives RareDis
Produces 61.7 F1 (47.1 at sentence scope, same settings), but in the shared model with the other
three sets it diverged at ``lr`` 1e-3 and gave 48.6 at 5e-4 (CID 50.2, DDI 74.8, ADE 93.1), so
the document-scope symptom model ships as a second model, trained alone
(``medkg train re --corpora raredis-doc``: :data:`~extractors.relations.model.DEFAULT_SYMPTOM_RE_MODEL`)."""


def load_sets(data_root: str | os.PathLike[str], split: Split, *, corpora: Iterable[str] = SENTENCE_CORPORA) -> list[RelationSet]:
    """The named corpora's sets for one split, read from ``data_root`` (the shared data folder)."""
    root = Path(data_root)
    out = []
    for name in corpora:
        if name not in CORPORA:
            raise CorpusFormatError(f"unknown relation corpus {name!r}; valid: {', '.join(CORPORA)}")
        out.append(CORPORA[name](root, split))
    return out
