"""The extraction pipeline: raw text -> linked, typed, assertion-aware Mentions and Relations.

Each stage is a spaCy component registered by name, working on a spaCy ``Doc``:

``medkg_sentences`` (rule-based sentence starts) -> ``abbreviation_detector`` (scispacy)
-> ``medkg_ner`` (transformer token classifier) -> ``medkg_assertion`` (ConText)
-> ``medkg_linker`` (KB + char-3-gram TF-IDF) -> ``medkg_relations`` (entity-marker RE)

:class:`ExtractionPipeline` builds that pipeline once from a typed :class:`PipelineConfig` and
turns loader :class:`~schema.records.Document` records into the same records with predicted
``mentions`` and ``relations`` added (gold annotations are never overwritten).
"""


import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from spacy.language import Language
from spacy.tokens import Doc, Span

from extractors.config import PipelineConfig
from schema.records import Assertion, Document, EntityType, Mention, Relation
from schema.sentences import sentence_spans

if not Span.has_extension("concept"):
    Span.set_extension("concept", default=None)  # LinkCandidate | None
if not Span.has_extension("ner_score"):
    Span.set_extension("ner_score", default=1.0)
if not Doc.has_extension("relations"):
    Doc.set_extension("relations", default=[])  # list[Relation]


# Two harmless warnings that every build would otherwise print: scispacy's abbreviation detector
# has an empty global matcher until it sees a definition, and scispacy's tokenizer regex trips a
# Python FutureWarning about a character class. Neither affects results.
warnings.filterwarnings("ignore", message=r"\[W036\] The component 'matcher' does not have any patterns", category=UserWarning)
warnings.filterwarnings("ignore", message="Possible set union", category=FutureWarning)


def _resolve(spec: str | None, default: Any) -> str | None:
    if spec is None:
        return None
    return str(default) if spec == "default" else spec


# -- components -------------------------------------------------------------------------------
@Language.component("medkg_sentences")
def sentences_component(doc: Doc) -> Doc:
    """Sentence starts from :func:`schema.sentences.sentence_spans` (the splitter gold evidence uses)."""
    starts = {s for s, _ in sentence_spans(doc.text)}
    for tok in doc:
        tok.is_sent_start = tok.i == 0 or tok.idx in starts
    return doc


class NerComponent:
    """Runs a :class:`~extractors.ner.model.NerModel` per sentence and sets ``doc.ents``."""

    def __init__(self, nlp: Language, name: str, model_dir: str, device: str, batch_size: int) -> None:
        from extractors.ner.model import NerModel

        self.model = NerModel.load(model_dir, device=device)
        self.batch_size = batch_size
        self.name = name

    def __call__(self, doc: Doc) -> Doc:
        return next(iter(self.pipe([doc])))

    def pipe(self, docs: Iterable[Doc], batch_size: int | None = None) -> Iterable[Doc]:
        docs = list(docs)
        sents = [(d, s) for d in docs for s in d.sents if s.text.strip()]
        preds = self.model.predict([s.text for _, s in sents], batch_size=batch_size or self.batch_size)
        spans: dict[int, list[Span]] = {id(d): [] for d in docs}
        for (doc, sent), found in zip(sents, preds, strict=True):
            for p in found:
                span = doc.char_span(sent.start_char + p.start, sent.start_char + p.end, label=p.label, alignment_mode="expand")
                if span is not None:
                    span._.ner_score = p.score
                    spans[id(doc)].append(span)
        for doc in docs:
            doc.ents = _non_overlapping(spans[id(doc)])
            yield doc


def _non_overlapping(spans: list[Span]) -> list[Span]:
    """Keep the higher-scoring (then longer) span where predictions overlap."""
    chosen: list[Span] = []
    taken: set[int] = set()
    for span in sorted(spans, key=lambda s: (-s._.ner_score, -(s.end - s.start), s.start)):
        if taken.isdisjoint(range(span.start, span.end)):
            chosen.append(span)
            taken.update(range(span.start, span.end))
    return sorted(chosen, key=lambda s: s.start)


@Language.factory("medkg_ner", default_config={"model_dir": "", "device": "auto", "batch_size": 32})
def make_ner(nlp: Language, name: str, model_dir: str, device: str, batch_size: int) -> NerComponent:
    return NerComponent(nlp, name, model_dir, device, batch_size)


class LinkerComponent:
    """Links each entity (or its abbreviation's long form) and lets the KB decide Disease vs Symptom."""

    def __init__(self, nlp: Language, name: str, kb: str | None, threshold: float | None) -> None:
        from extractors.linking.linker import Linker

        kwargs = {} if threshold is None else {"threshold": threshold}
        self.linker = Linker.load(kb, **kwargs)

    def __call__(self, doc: Doc) -> Doc:
        long_forms = _long_forms(doc)
        ents = list(doc.ents)
        best = self.linker.best_many(
            [e.text for e in ents], labels=[e.label_ for e in ents],
            long_forms=[long_forms.get((e.start, e.end)) for e in ents],
        )
        out = []
        for ent, cand in zip(ents, best, strict=True):
            label = str(cand.label) if cand is not None else ent.label_
            if label != ent.label_ and {label, ent.label_} <= {"Disease", "Symptom"}:
                relabelled = Span(doc, ent.start, ent.end, label=label)
                relabelled._.ner_score = ent._.ner_score
                ent = relabelled
            ent._.concept = cand if cand is not None and str(cand.label) == ent.label_ else None
            out.append(ent)
        doc.ents = out
        return doc


def _long_forms(doc: Doc) -> dict[tuple[int, int], str]:
    if not Doc.has_extension("abbreviations"):
        return {}
    return {(a.start, a.end): a._.long_form.text for a in doc._.abbreviations}


@Language.factory("medkg_linker", default_config={"kb": None, "threshold": None})
def make_linker(nlp: Language, name: str, kb: str | None, threshold: float | None) -> LinkerComponent:
    return LinkerComponent(nlp, name, kb, threshold)


# -- the pipeline --------------------------------------------------------------------------------
def build_nlp(config: PipelineConfig) -> Language:
    """A blank English pipeline with scispacy's tokenizer and the configured components."""
    import spacy
    from scispacy.custom_tokenizer import combined_rule_tokenizer

    nlp = spacy.blank("en")
    nlp.tokenizer = combined_rule_tokenizer(nlp)
    nlp.add_pipe("medkg_sentences")
    if config.abbreviations:
        import scispacy.abbreviation  # noqa: F401  (registers the factory)

        nlp.add_pipe("abbreviation_detector")
    ner_dir = _resolve(config.ner_model, _default_ner())
    if ner_dir is not None:
        nlp.add_pipe("medkg_ner", config={"model_dir": ner_dir, "device": config.device, "batch_size": config.batch_size})
        if config.assertion:
            import extractors.assertion  # noqa: F401  (registers medkg_assertion)

            nlp.add_pipe("medkg_assertion")
        kb = _resolve(config.kb, "")
        if config.kb is not None:
            nlp.add_pipe("medkg_linker", config={"kb": kb or None, "threshold": config.link_threshold})
    return nlp


def _default_ner() -> Path:
    from extractors.ner.model import DEFAULT_NER_MODEL

    return Path(DEFAULT_NER_MODEL)


def _default_re() -> Path:
    from extractors.relations.model import DEFAULT_RE_MODEL

    return Path(DEFAULT_RE_MODEL)


class ExtractionPipeline:
    """Documents in, Documents with predicted mentions and relations out."""

    def __init__(self, config: PipelineConfig | None = None) -> None:
        self.config = config or PipelineConfig()
        self.nlp = build_nlp(self.config)
        self.relations = None
        re_dir = _resolve(self.config.re_model, _default_re())
        if self.config.re_model is not None and self.config.ner_model is not None:
            from extractors.relate import RelationExtractor

            self.relations = RelationExtractor.load(
                re_dir, device=self.config.device, threshold=self.config.re_threshold, batch_size=self.config.batch_size
            )

    def __call__(self, doc: Document) -> Document:
        return self.process([doc])[0]

    def process(self, docs: Sequence[Document], *, mode: Literal["auto", "always"] = "auto") -> list[Document]:
        """Run the pipeline on documents with text. ``auto`` leaves documents that already carry
        (gold or structured) annotations as they are; ``always`` adds predictions to every one."""
        todo = [i for i, d in enumerate(docs) if d.text.strip() and (mode == "always" or not (d.mentions or d.relations))]
        out = list(docs)
        spacy_docs = list(self.nlp.pipe([docs[i].text for i in todo], batch_size=self.config.batch_size))
        rels_per_doc = self.relations.extract(spacy_docs) if self.relations is not None else [[] for _ in spacy_docs]
        for i, sdoc, rels in zip(todo, spacy_docs, rels_per_doc, strict=True):
            mentions = tuple(_mention(ent, self.config.model_name) for ent in sdoc.ents)
            out[i] = docs[i].model_copy(update={
                "mentions": docs[i].mentions + mentions,
                "relations": docs[i].relations + tuple(rels),
            })
        return out


def _mention(ent: Span, source: str) -> Mention:
    concept = ent._.concept
    assertion = getattr(ent._, "assertion", None) if Span.has_extension("assertion") else None
    return Mention(
        label=EntityType(ent.label_),
        text=ent.text,
        start=ent.start_char,
        end=ent.end_char,
        concept_id=concept.concept_id if concept is not None else None,
        concept_name=concept.name if concept is not None else None,
        score=float(ent._.ner_score),
        assertion=Assertion(assertion) if assertion else Assertion.PRESENT,
        source=source,
    )


__all__ = ["ExtractionPipeline", "PipelineConfig", "Relation", "build_nlp"]
