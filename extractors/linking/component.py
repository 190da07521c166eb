"""The ``medkg_linker`` spaCy component: links each entity (or its abbreviation's long form) to
a KB concept (``._.concept``) and lets the KB decide Disease vs Symptom."""

# no `from __future__ import annotations`: spaCy validates factory signatures at runtime

from spacy.language import Language
from spacy.tokens import Doc, Span

if not Span.has_extension("concept"):
    Span.set_extension("concept", default=None)  # LinkCandidate | None
if not Span.has_extension("ner_score"):
    Span.set_extension("ner_score", default=1.0)


class LinkerComponent:
    """Links each entity (or its abbreviation's long form) and lets the KB decide Disease vs Symptom.
    With ``keep_unlinked=False`` an entity that links to no concept is removed from ``doc.ents``.
    Disease/Symptom mentions that name no condition (:mod:`extractors.linking.nonconcepts`) are
    never linked. With ``senses`` (default) a mention whose entry has several ids of one
    vocabulary is linked to the one a training corpus annotated its text with
    (:meth:`~extractors.linking.linker.Linker.sense`)."""

    def __init__(self, nlp: Language, name: str, kb: str | None, threshold: float | None,
                 keep_unlinked: bool = False, ambiguity_margin: float | None = None, senses: bool = True) -> None:
        from extractors.linking.linker import Linker

        self.keep_unlinked = keep_unlinked
        self.senses = senses
        kwargs: dict[str, float] = {} if threshold is None else {"threshold": threshold}
        if ambiguity_margin is not None:
            kwargs["ambiguity_margin"] = ambiguity_margin
        self.linker = Linker.load(kb, **kwargs)

    def __call__(self, doc: Doc) -> Doc:
        from extractors.linking.nonconcepts import non_concept_reason

        long_forms = _long_forms(doc)
        ents = list(doc.ents)
        # a header, a vital-sign name or a bare qualifier names no condition: never linked
        linkable = [e.label_ == "Drug" or non_concept_reason(e.text) is None for e in ents]
        to_link = [e for e, ok in zip(ents, linkable, strict=True) if ok]
        linked = iter(self.linker.best_many(
            [e.text for e in to_link], labels=[e.label_ for e in to_link],
            long_forms=[long_forms.get((e.start, e.end)) for e in to_link],
        ))
        best = [next(linked) if ok else None for ok in linkable]
        if self.senses:  # the one id the literature means by this text, where the entry has several
            best = [c if c is None else self.linker.sense(e.text, c, long_form=long_forms.get((e.start, e.end)))
                    for e, c in zip(ents, best, strict=True)]
        out = []
        for ent, cand in zip(ents, best, strict=True):
            label = str(cand.label) if cand is not None else ent.label_
            if label != ent.label_ and {label, ent.label_} <= {"Disease", "Symptom"}:
                relabelled = Span(doc, ent.start, ent.end, label=label)
                relabelled._.ner_score = ent._.ner_score
                ent = relabelled
            ent._.concept = cand if cand is not None and str(cand.label) == ent.label_ else None
            if ent._.concept is not None or self.keep_unlinked:
                out.append(ent)
        doc.ents = out
        return doc


def _long_forms(doc: Doc) -> dict[tuple[int, int], str]:
    if not Doc.has_extension("abbreviations"):
        return {}
    return {(a.start, a.end): a._.long_form.text for a in doc._.abbreviations}


@Language.factory("medkg_linker", default_config={"kb": None, "threshold": None, "keep_unlinked": False,
                                                  "ambiguity_margin": None, "senses": True})
def make_linker(nlp: Language, name: str, kb: str | None, threshold: float | None,
                keep_unlinked: bool, ambiguity_margin: float | None, senses: bool) -> LinkerComponent:
    return LinkerComponent(nlp, name, kb, threshold, keep_unlinked, ambiguity_margin, senses)
