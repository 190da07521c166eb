"""The extraction pipeline: raw text -> linked, typed, assertion-aware Mentions and Relations.

This module only assembles. Each stage is a spaCy component registered by name in the module
of its algorithm, working on a spaCy ``Doc``:

``medkg_sentences`` (rule-based sentence starts, here) -> ``abbreviation_detector`` (scispacy)
-> ``medkg_ner`` (:mod:`extractors.ner.component`) -> ``medkg_assertion``
(:mod:`extractors.assertion.component`) -> ``medkg_linker`` (:mod:`extractors.linking.component`)
-> ``medkg_relations`` (:mod:`extractors.relations.component`)

:class:`ExtractionPipeline` builds that pipeline once from a typed :class:`PipelineConfig` and
turns loader :class:`~schema.records.Document` records into the same records with predicted
``mentions`` and ``relations`` added (gold annotations are never overwritten).
"""

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from spacy.language import Language
from spacy.tokens import Doc, Span

from extractors.config import PipelineConfig
from schema.records import Assertion, Document, EntityType, Mention, Relation
from schema.sentences import sentence_spans

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
        import extractors.ner.component  # noqa: F401  (registers medkg_ner)

        nlp.add_pipe("medkg_ner", config={"model_dir": ner_dir, "device": config.device, "batch_size": config.batch_size,
                                          "bf16": config.bf16})
        if config.assertion:
            import extractors.assertion  # noqa: F401  (registers medkg_assertion)

            nlp.add_pipe("medkg_assertion")
        kb = _resolve(config.kb, "")
        if config.kb is not None:
            import extractors.linking.component  # noqa: F401  (registers medkg_linker)

            nlp.add_pipe("medkg_linker", config={"kb": kb or None, "threshold": config.link_threshold,
                                                "keep_unlinked": config.keep_unlinked,
                                                "ambiguity_margin": config.link_ambiguity_margin,
                                                "senses": config.link_senses})
        re_dir = _resolve(config.re_model, _default_re())
        if re_dir is not None:
            import extractors.relations.component  # noqa: F401  (registers medkg_relations)

            nlp.add_pipe("medkg_relations", config={"model_dir": re_dir, "extra_model_dir": symptom_model_dir(config) or "",
                                                    "device": config.device, "threshold": config.re_threshold,
                                                    "batch_size": config.batch_size, "bf16": config.bf16})
    return nlp


def _default_ner() -> Path:
    from extractors.ner.model import DEFAULT_NER_MODEL

    return Path(DEFAULT_NER_MODEL)


def _default_re() -> Path:
    from extractors.relations.model import DEFAULT_RE_MODEL

    return Path(DEFAULT_RE_MODEL)


def symptom_model_dir(config: PipelineConfig) -> str | None:
    """The second relation model :attr:`PipelineConfig.re_symptom_model` names, or ``None``:
    ``"default"`` is the shipped document-scope symptom model, used only with the shipped main
    model (or none at all when relations are off)."""
    from extractors.relations.model import DEFAULT_RE_MODEL, DEFAULT_SYMPTOM_RE_MODEL

    spec, main = config.re_symptom_model, config.re_model
    if spec is None or main is None:
        return None
    if spec != "default":
        return spec
    shipped = main == "default" or Path(main).resolve() == Path(DEFAULT_RE_MODEL).resolve()
    return DEFAULT_SYMPTOM_RE_MODEL if shipped else None


class ExtractionPipeline:
    """Documents in, Documents with predicted mentions and relations out."""

    def __init__(self, config: PipelineConfig | None = None) -> None:
        self.config = config or PipelineConfig()
        self.nlp = build_nlp(self.config)

    def __call__(self, doc: Document) -> Document:
        return self.process([doc])[0]

    def process(self, docs: Sequence[Document], *, mode: Literal["auto", "always"] = "auto") -> list[Document]:
        """Run the pipeline on documents with text. ``auto`` leaves documents that already carry
        (gold or structured) annotations as they are; ``always`` adds predictions to every one."""
        todo = [i for i, d in enumerate(docs) if d.text.strip() and (mode == "always" or not (d.mentions or d.relations))]
        out = list(docs)
        spacy_docs = list(self.nlp.pipe([docs[i].text for i in todo], batch_size=self.config.batch_size))
        for i, sdoc in zip(todo, spacy_docs, strict=True):
            rels = sdoc._.relations if Doc.has_extension("relations") else []
            mentions = tuple(_mention(ent, self.config.model_name) for ent in sdoc.ents)
            out[i] = docs[i].model_copy(update={
                "mentions": docs[i].mentions + mentions,
                "relations": docs[i].relations + tuple(rels),
            })
        return out


def _mention(ent: Span, source: str) -> Mention:
    concept = ent._.concept if Span.has_extension("concept") else None
    assertion = getattr(ent._, "assertion", None) if Span.has_extension("assertion") else None
    return Mention(
        label=EntityType(ent.label_),
        text=ent.text,
        start=ent.start_char,
        end=ent.end_char,
        concept_id=concept.concept_id if concept is not None else None,
        concept_name=concept.name if concept is not None else None,
        score=float(ent._.ner_score) if Span.has_extension("ner_score") else 1.0,
        assertion=Assertion(assertion) if assertion else Assertion.PRESENT,
        source=source,
    )


__all__ = ["ExtractionPipeline", "PipelineConfig", "Relation", "build_nlp"]
