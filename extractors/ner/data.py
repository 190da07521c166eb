"""NER training/evaluation data: corpus specs, gold documents, sentences, token features.

The corpora annotate different type sets (BC5CDR: chemicals + diseases; NCBI-disease: diseases;
RareDis: rare diseases, diseases, signs, symptoms), so each corpus keeps its own label set and
trains its own head (see :mod:`extractors.ner.model`); nothing here merges them. A word that a
corpus does not annotate is a true negative *for that corpus's head only*.

Two corpus-specific decisions live here:

* **Nesting.** BIO cannot encode nested or overlapping gold entities (RareDis has
  ``progressive arthritis`` DISEASE inside ``progressive arthritis of the spine`` SIGN, and
  ``hypoadrenalism`` as both DISEASE and SIGN). Training keeps the longest span, then the
  spec's preferred label (:func:`extractors.ner.decode.longest_first`); evaluation keeps all
  gold, so nesting costs recall honestly.
* **Discontinuous entities** (RareDis: 15% of SIGNs, e.g. ``sclera ... discolored``). A
  contiguous tagger cannot output them. Training neither teaches them as entities nor as
  "outside": words in their extent are masked from the loss unless a contiguous entity covers
  them. Evaluation counts them by their extent (first to last character), see
  :func:`load_gold`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from extractors.corpora.brat import RAREDIS_TYPES, read_brat_dir
from extractors.errors import CorpusFormatError
from extractors.ner.decode import longest_first, windows, word_tags
from schema.sentences import sentence_spans

IGNORE_INDEX = -100
"""Label of sub-tokens and masked words: ``torch.nn.CrossEntropyLoss`` skips it."""


@dataclass(frozen=True, slots=True)
class CorpusSpec:
    """What a corpus annotates and where its splits live under the shared data folder."""

    name: str
    format: Literal["pubtator", "brat"]
    labels: tuple[str, ...]
    splits: Mapping[str, str]
    type_map: Mapping[str, str] = field(default_factory=dict)
    prefer: tuple[str, ...] = ()
    licence: str = ""


CORPORA: Mapping[str, CorpusSpec] = {
    "bc5cdr": CorpusSpec(
        name="bc5cdr",
        format="pubtator",
        labels=("Drug", "Disease"),
        splits={
            "train": "corpora/bc5cdr/pubtator/CDR_TrainingSet.PubTator.txt",
            "dev": "corpora/bc5cdr/pubtator/CDR_DevelopmentSet.PubTator.txt",
        },
        licence="BioCreative V CDR, public (cite Li et al. 2016); Chemical -> Drug, Disease -> Disease",
    ),
    "ncbi-disease": CorpusSpec(
        name="ncbi-disease",
        format="pubtator",
        labels=("Disease",),
        splits={
            "train": "corpora/ncbi-disease/original/NCBItrainset_corpus.txt",
            "dev": "corpora/ncbi-disease/original/NCBIdevelopset_corpus.txt",
        },
        licence="NCBI disease corpus, US public domain (cite Dogan et al. 2014)",
    ),
    "raredis": CorpusSpec(
        name="raredis",
        format="brat",
        labels=("Disease", "Symptom"),
        splits={"train": "corpora/raredis/train", "dev": "corpora/raredis/dev"},
        type_map={k: v.value for k, v in RAREDIS_TYPES.items()},
        prefer=("Symptom",),
        licence="RareDis (NLP4RARE), BSD-3 (cite Martinez-deMiguel et al. 2021); "
        "SIGN, SYMPTOM -> Symptom; RAREDISEASE, SKINRAREDISEASE, DISEASE -> Disease",
    ),
}
"""The corpora the NER trainer knows; a head is named after its corpus."""


def data_root(root: str | os.PathLike[str] | None = None) -> Path:
    """The shared data folder: ``root``, else ``$MEDKG_SHARED_DATA``, else ``../shared/data``."""
    if root is not None:
        return Path(root)
    env = os.environ.get("MEDKG_SHARED_DATA")
    return Path(env) if env else (Path(__file__).resolve().parents[3] / "shared" / "data")


def display_path(path: str | os.PathLike[str]) -> str:
    """A path as recorded in metadata and reports: relative to the shared data folder when inside it."""
    try:
        return "shared/data/" + str(Path(path).resolve().relative_to(data_root().resolve()))
    except ValueError:
        return Path(path).name


def corpus_spec(name: str) -> CorpusSpec:
    try:
        return CORPORA[name]
    except KeyError:
        raise CorpusFormatError(f"unknown NER corpus {name!r}; known: {', '.join(CORPORA)}") from None


def split_path(name: str, split: str, *, root: str | os.PathLike[str] | None = None) -> Path:
    """Path of ``split`` (``train`` / ``dev``) of a known corpus under the shared data folder."""
    spec = corpus_spec(name)
    if split not in spec.splits:
        raise CorpusFormatError(f"corpus {name!r} has no split {split!r}; splits: {', '.join(spec.splits)}")
    return data_root(root) / spec.splits[split]


@dataclass(frozen=True, slots=True)
class GoldDocument:
    """A document with the gold entities of its corpus's label set.

    ``spans`` are ``(start, end, label)``, all of them (nested and discontinuous entities
    included, the latter by extent); ``discontinuous`` lists the extents that are
    discontinuous; ``breaks`` are forced sentence boundaries (title | abstract).
    """

    id: str
    text: str
    spans: tuple[tuple[int, int, str], ...]
    discontinuous: tuple[tuple[int, int], ...] = ()
    breaks: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class NerSentence:
    """One training sentence: ``spans`` are sentence-relative and non-overlapping."""

    doc_id: str
    text: str
    offset: int
    spans: tuple[tuple[int, int, str], ...]
    masked: tuple[tuple[int, int], ...] = ()


def load_gold(spec: CorpusSpec, path: str | os.PathLike[str]) -> list[GoldDocument]:
    """Gold documents of ``path`` (a corpus file or folder) with ``spec``'s labels."""
    path = Path(path)
    if not path.exists():
        raise CorpusFormatError(f"{path}: corpus path does not exist (corpus {spec.name!r})")
    if spec.format == "brat":
        return [_brat_gold(spec, doc) for doc in read_brat_dir(path)]
    from loaders import read_documents

    docs: list[GoldDocument] = []
    for doc in read_documents(path, format="pubtator"):
        spans = sorted(
            {(m.start, m.end, m.label.value) for m in doc.mentions if m.start is not None and m.end is not None}
        )
        kept = tuple((s, e, lab) for s, e, lab in spans if lab in spec.labels)
        breaks = (len(doc.title) + 1,) if doc.title and len(doc.text) > len(doc.title) else ()
        docs.append(GoldDocument(id=doc.id, text=doc.text, spans=kept, breaks=breaks))
    return docs


def _brat_gold(spec: CorpusSpec, doc: Any) -> GoldDocument:
    spans: set[tuple[int, int, str]] = set()
    gaps: set[tuple[int, int]] = set()
    for ent in doc.entities:
        label = spec.type_map.get(ent.type)
        if label is None or label not in spec.labels:
            continue
        spans.add((ent.start, ent.end, label))
        if ent.discontinuous:
            gaps.add((ent.start, ent.end))
    return GoldDocument(id=doc.id, text=doc.text, spans=tuple(sorted(spans)), discontinuous=tuple(sorted(gaps)))


def to_sentences(doc: GoldDocument, spec: CorpusSpec) -> list[NerSentence]:
    """Split a gold document into training sentences.

    Entities crossing a sentence boundary (a handful per corpus, from splitter errors) are
    dropped from training, as are discontinuous ones (masked instead, see the module docstring).
    """
    gaps = set(doc.discontinuous)
    contiguous = [s for s in doc.spans if (s[0], s[1]) not in gaps]
    flat = longest_first(contiguous, prefer=spec.prefer)
    out: list[NerSentence] = []
    for start, end in sentence_spans(doc.text, breaks=doc.breaks):
        inside = tuple((s - start, e - start, lab) for s, e, lab in flat if start <= s and e <= end)
        masked = tuple(
            (max(s, start) - start, min(e, end) - start) for s, e in doc.discontinuous if s < end and start < e
        )
        out.append(NerSentence(doc.id, doc.text[start:end], start, inside, masked))
    return out


def to_document(doc: GoldDocument, spec: CorpusSpec) -> list[NerSentence]:
    """The whole document as one training unit (``context="document"`` in the trainer).

    Same gold handling as :func:`to_sentences` (longest span of nested gold, discontinuous
    entities masked), but no sentence split: the encoder sees the title and the neighbouring
    sentences, which is what tells ``MI`` or ``toxicity`` apart in an abstract. Long documents
    are windowed by :func:`encode` like long sentences. No entity is dropped at a boundary.
    """
    if not doc.text.strip():
        return []
    gaps = set(doc.discontinuous)
    flat = longest_first([s for s in doc.spans if (s[0], s[1]) not in gaps], prefer=spec.prefer)
    return [NerSentence(doc.id, doc.text, 0, tuple(flat), tuple(doc.discontinuous))]


@dataclass(frozen=True, slots=True)
class Features:
    """One encoder input: token ids with [CLS]/[SEP], labels on first sub-tokens of words,
    and per-token ids of the model's input features (0 on [CLS]/[SEP])."""

    input_ids: tuple[int, ...]
    labels: tuple[int, ...]
    head: str
    features: Mapping[str, tuple[int, ...]] = field(default_factory=dict)


def encode(
    sentences: Iterable[NerSentence],
    tokenizer: Any,
    *,
    head: str,
    labels: Sequence[str],
    max_length: int,
    overlap: int,
    featurizer: Any = None,
) -> list[Features]:
    """Tokenize sentences and attach word-level BIO labels for ``head`` (long ones windowed).

    Only a word's first sub-token carries its tag; the rest get :data:`IGNORE_INDEX`, as do
    words in masked (discontinuous) regions not covered by a contiguous entity.
    ``featurizer`` (a :class:`extractors.ner.features.TokenFeaturizer`) adds input features.
    """
    sents = list(sentences)
    if not sents:
        return []
    index = {lab: i for i, lab in enumerate(labels)}
    enc = tokenizer([s.text for s in sents], add_special_tokens=False, return_offsets_mapping=True, verbose=False)
    out: list[Features] = []
    for i, sent in enumerate(sents):
        ids: list[int] = enc["input_ids"][i]
        offsets: list[tuple[int, int]] = enc["offset_mapping"][i]
        word_ids = enc.word_ids(i)
        firsts = first_subtokens(word_ids)
        word_spans = [(offsets[f][0], offsets[last][1]) for f, last in firsts]
        gold = [(s, e, index[lab]) for s, e, lab in sent.spans if lab in index]
        tags = word_tags(word_spans, gold)
        token_labels = [IGNORE_INDEX] * len(ids)
        for (first, _), tag, (ws, we) in zip(firsts, tags, word_spans):
            hidden = tag == 0 and any(ws < me and ms < we for ms, me in sent.masked)
            token_labels[first] = IGNORE_INDEX if hidden else tag
        extra = featurizer(sent.text, offsets, word_ids) if featurizer else {}
        for win in windows(len(ids), size=max_length - 2, overlap=overlap):
            out.append(
                Features(
                    input_ids=(tokenizer.cls_token_id, *ids[win.start : win.end], tokenizer.sep_token_id),
                    labels=(IGNORE_INDEX, *token_labels[win.start : win.end], IGNORE_INDEX),
                    head=head,
                    features={k: (0, *v[win.start : win.end], 0) for k, v in extra.items()},
                )
            )
    return out


def first_subtokens(word_ids: Sequence[int | None]) -> list[tuple[int, int]]:
    """``(first_token, last_token)`` of each word, in order, from a fast tokenizer's ``word_ids``."""
    spans: list[tuple[int, int]] = []
    previous: int | None = None
    for tok, wid in enumerate(word_ids):
        if wid is None:
            previous = None
            continue
        if wid != previous:
            spans.append((tok, tok))
        else:
            spans[-1] = (spans[-1][0], tok)
        previous = wid
    return spans
