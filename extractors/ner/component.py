"""The ``medkg_ner`` spaCy component: a :class:`~extractors.ner.model.NerModel` per sentence,
setting ``doc.ents`` and each entity's ``._.ner_score``."""

# no `from __future__ import annotations`: spaCy validates factory signatures at runtime

import re
from bisect import bisect_right
from collections.abc import Iterable
from typing import Optional

from spacy.language import Language
from spacy.tokens import Doc, Span

from extractors.ner.decode import abbreviation_consistency

if not Span.has_extension("ner_score"):
    Span.set_extension("ner_score", default=1.0)


class NerComponent:
    """Runs a :class:`~extractors.ner.model.NerModel` per sentence and sets ``doc.ents``."""

    def __init__(self, nlp: Language, name: str, model_dir: str, device: str, batch_size: int,
                 bf16: Optional[bool] = None) -> None:
        from extractors.ner.model import NerModel

        self.model = NerModel.load(model_dir, device=device, bf16=bf16)
        self.batch_size = batch_size
        self.name = name

    def __call__(self, doc: Doc) -> Doc:
        return next(iter(self.pipe([doc])))

    def pipe(self, docs: Iterable[Doc], batch_size: int | None = None) -> Iterable[Doc]:
        docs = list(docs)
        sents = [(d, s) for d in docs for s in d.sents if s.text.strip()]
        preds = self.model.predict([s.text for _, s in sents], batch_size=batch_size or self.batch_size)
        found: dict[int, list[tuple[int, int, str, float]]] = {id(d): [] for d in docs}
        for (doc, sent), spans in zip(sents, preds, strict=True):
            found[id(doc)] += [(sent.start_char + p.start, sent.start_char + drug_end(sent.text, p.start, p.end, p.label),
                                p.label, p.score) for p in spans]
        for doc in docs:
            spans = found[id(doc)]
            if self.model.postprocess:
                # the model sees one sentence at a time: an abbreviation defined in one sentence
                # ("hormone therapy (HT)") must decide its later uses in the others too
                spans = abbreviation_consistency(doc.text, spans)
            split_at_boundaries(doc, [b for start, end, _, _ in spans for b in (start, end)])
            ents = []
            for start, end, label, score in spans:
                span = doc.char_span(start, end, label=label, alignment_mode="expand")
                if span is not None:
                    span = without_leading_cues(span)
                    span._.ner_score = score
                    ents.append(span)
            doc.ents = non_overlapping(ents)
            yield doc


_DRUG_SUFFIX = re.compile(
    r"-(?:induced|associated|related|treated|exposed|dependent|mediated|naive|resistant|sensitive|responsive|"
    r"refractory|containing|based|loaded|eluting|free|using|abusing)$", re.IGNORECASE)
"""What follows a drug in ``famotidine-associated delirium`` or ``cocaine-induced``: the drug is
the part before the hyphen. Only Drug spans are trimmed (``drug-induced hepatitis`` is one
disease), and only when something is left before the hyphen."""


def drug_end(text: str, start: int, end: int, label: str) -> int:
    """The end of a predicted span, a Drug span ending in ``-induced``/``-associated``/... cut
    back to the drug itself."""
    if label != "Drug":
        return end
    m = _DRUG_SUFFIX.search(text, start, end)
    return m.start() if m is not None and m.end() == end and m.start() > start else end


def split_at_boundaries(doc: Doc, offsets: Iterable[int]) -> None:
    """Split tokens so that every character offset in ``offsets`` is a token boundary.

    The tokenizer keeps ``famotidine-associated`` or ``cocaine-induced`` as one token while the
    model (which works on word pieces) finds the drug alone; without the split the entity would
    expand to the whole token, be linked as ``famotidine-associated`` (to nothing) and carry the
    wrong offsets into the graph.
    """
    cuts: dict[int, list[int]] = {}
    offsets = set(offsets)
    if not offsets:
        return
    starts = [t.idx for t in doc]
    for offset in offsets:
        i = bisect_right(starts, offset) - 1  # the last token starting at or before the offset
        if i >= 0:
            token = doc[i]
            if token.idx < offset < token.idx + len(token.text):
                cuts.setdefault(i, []).append(offset - token.idx)
    if not cuts:
        return
    # Span objects hold token indices, which a split shifts: re-anchor the spans earlier
    # components left on the doc (scispacy's abbreviations) by their character offsets.
    abbreviations = [
        (a.start_char, a.end_char, a._.long_form.start_char, a._.long_form.end_char)
        for a in doc._.abbreviations
    ] if Doc.has_extension("abbreviations") else None
    with doc.retokenize() as retokenizer:
        for i, points in cuts.items():
            token = doc[i]
            bounds = [0, *sorted(set(points)), len(token.text)]
            orths = [token.text[a:b] for a, b in zip(bounds, bounds[1:]) if b > a]
            retokenizer.split(token, orths, heads=[(token, 0)] * len(orths))
    # the pieces of a split token are inside its sentence: say so, or a one-token document
    # ("http://...guanethidine_od.htm" split at the drug) is left without sentence boundaries
    for tok in doc[1:]:
        if tok.sent_start == 0:
            tok.is_sent_start = False
    if abbreviations is not None:
        rebuilt = []
        for start, end, long_start, long_end in abbreviations:
            short, long_form = doc.char_span(start, end), doc.char_span(long_start, long_end)
            if short is not None and long_form is not None:  # a split only adds boundaries: always found
                short._.long_form = long_form
                rebuilt.append(short)
        doc._.abbreviations = rebuilt


NEGATION_CUES = frozenset({"no", "not", "denies", "denied", "deny", "denying", "without", "never", "nor"})
"""Words that are never part of an entity but a statement about it ("denies nipple discharge").
A span the model starts with one of them loses them, so the assertion step sees the cue before
the entity (negated) instead of inside it (present)."""
_CUE_WITH_OF = frozenset({"absence", "free", "negative", "neg"})
"""Cues only when followed by "of"/"for" ("absence of", "negative for"): alone they begin real
names ("absence seizures", "Absent thumb" is not touched at all, "negative symptoms")."""
_CUE_FOLLOWERS = frozenset({"of", "for", "any", "evidence", "signs", "sign", "history"})
"""Words trimmed too when they follow a cue ("no evidence of", "without any")."""


def without_leading_cues(span: Span) -> Span:
    """``span`` without leading negation cues (see :data:`NEGATION_CUES`); at least one token stays."""
    doc, i, trimmed = span.doc, span.start, False
    while i < span.end - 1:
        word = doc[i].lower_
        if word in NEGATION_CUES or (trimmed and word in _CUE_FOLLOWERS):
            i, trimmed = i + 1, True
        elif word in _CUE_WITH_OF and i + 1 < span.end - 1 and doc[i + 1].lower_ in ("of", "for"):
            i, trimmed = i + 2, True
        else:
            break
    return span if i == span.start else Span(doc, i, span.end, label=span.label_)


def non_overlapping(spans: list[Span]) -> list[Span]:
    """Keep the higher-scoring (then longer) span where predictions overlap."""
    chosen: list[Span] = []
    taken: set[int] = set()
    for span in sorted(spans, key=lambda s: (-s._.ner_score, -(s.end - s.start), s.start)):
        if taken.isdisjoint(range(span.start, span.end)):
            chosen.append(span)
            taken.update(range(span.start, span.end))
    return sorted(chosen, key=lambda s: s.start)


@Language.factory("medkg_ner", default_config={"model_dir": "", "device": "auto", "batch_size": 32, "bf16": None})
def make_ner(nlp: Language, name: str, model_dir: str, device: str, batch_size: int, bf16: Optional[bool]) -> NerComponent:
    return NerComponent(nlp, name, model_dir, device, batch_size, bf16)
