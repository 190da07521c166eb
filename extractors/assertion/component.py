"""Assertion status of entity mentions (present, negated, possible, hypothetical, historical, family).

"Denies chest pain" must never become a finding and "mother had breast cancer" is not the
patient's condition. This module runs medspaCy's ConText algorithm (modifier rules with a
direction and a scope that ends at the sentence end or at a terminator such as "but") over the
entities that NER put in ``doc.ents`` and maps the modifiers each entity receives to one
:class:`schema.records.Assertion`.

Pieces, following the project style (algorithm as plain functions beside a registered component):

* :class:`AssertionEngine` holds the compiled rules (:mod:`extractors.assertion.rules`) and the
  fallback sentence splitter; :meth:`AssertionEngine.analyse` is the algorithm and changes nothing
  on the ``Doc``.
* :func:`assert_entities` (``doc -> list[Assertion]``) and :func:`assertion_for_span`
  (``text, start, end -> Assertion``, for structured inputs without NER) wrap it.
* ``@Language.factory("medkg_assertion")`` (:class:`AssertionComponent`) sets ``span._.assertion``
  (and ``span._.assertion_cues``, the modifiers that decided it) on every entity.

Priority, when several modifiers reach one entity (see :data:`PRIORITY`):
family > negated > hypothetical > possible > historical > present. Reasons: a family member's
condition is never the patient's, whatever else the sentence says ("no family history of colon
cancer" is about the family); a negation outranks hedges and time ("denies a history of
stroke" is not a past stroke); a conditional is about a future that has not happened, which outranks
uncertainty about it ("return if possible infection"); and a hedge outranks a past time ("?stroke
in the past" is not a confirmed past stroke).

Sentences: ConText scopes stop at sentence ends. If the ``Doc`` already has sentence boundaries
(``doc.has_annotation("SENT_START")``: a sentencizer, PyRuSH, a parser or the project's own
splitter ran upstream) they are used as they are. Otherwise boundaries come from a fallback
splitter (medspaCy's clinical splitter PyRuSH by default, or spaCy's ``Sentencizer``, which is
about 100x faster), computed privately; the component writes them to the ``Doc`` only when built
with ``set_sentences=True``, so it never overrides or pre-empts another component's sentences.
For large batches, put a sentence splitter before NER and the fallback never runs.

Rules are medspaCy's packaged ConText rules plus the changes in :mod:`extractors.assertion.rules`.
Measured on the labelled fixture (``benchmarks/bench_assertion.py`` writes the numbers to
BENCHMARKS.md): the additions lift held-out accuracy from 0.67 (medspaCy defaults) to 0.97.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, get_args

import warnings

from loguru import logger
from spacy.language import Language
from spacy.pipeline import Sentencizer
from spacy.tokens import Doc, Span

# medspaCy's matcher module runs `warnings.filterwarnings("ignore")` when imported, which would
# silence every warning in the process; import it (and what imports it) with the filters restored.
with warnings.catch_warnings():
    from medspacy.common.medspacy_matcher import MedspacyMatcher
    from medspacy.context import ConTextGraph, ConTextModifier, ConTextRule
    from PyRuSH import PyRuSHSentencizer

    from extractors.assertion import rules as assertion_rules
from extractors.errors import ExtractionError
from schema.records import Assertion

# PyRuSH logs one DEBUG line per token through loguru's default stderr sink; silence that
# library's logger (only PyRuSH's) so a batch job's output stays readable.
logger.disable("PyRuSH")

__all__ = [
    "PRIORITY",
    "SPLITTERS",
    "AssertionComponent",
    "AssertionConfigError",
    "AssertionEngine",
    "AssertionResult",
    "InvalidSpanError",
    "assert_entities",
    "assertion_for_span",
    "default_engine",
    "default_pipeline",
    "resolve",
]

PRIORITY: tuple[Assertion, ...] = (
    Assertion.FAMILY,
    Assertion.NEGATED,
    Assertion.HYPOTHETICAL,
    Assertion.POSSIBLE,
    Assertion.HISTORICAL,
)
"""Statuses in decreasing precedence; an entity with none of them is ``present``."""

CATEGORY_TO_ASSERTION: dict[str, Assertion] = {
    assertion_rules.FAMILY: Assertion.FAMILY,
    assertion_rules.NEGATED: Assertion.NEGATED,
    assertion_rules.HYPOTHETICAL: Assertion.HYPOTHETICAL,
    assertion_rules.POSSIBLE: Assertion.POSSIBLE,
    assertion_rules.HISTORICAL: Assertion.HISTORICAL,
}


SplitterName = Literal["pyrush", "sentencizer"]
SPLITTERS: frozenset[str] = frozenset(get_args(SplitterName))
"""Fallback sentence splitters for docs without sentences: PyRuSH (medspaCy's rule-based clinical
splitter, handles line-per-item notes; ~6 ms per short sentence in pure Python) or spaCy's
punctuation ``Sentencizer`` plus blank lines (about 100x faster, worse on unpunctuated lists)."""


class InvalidSpanError(ExtractionError, ValueError):
    """A character span does not fit its text or covers no token."""


class AssertionConfigError(ExtractionError, ValueError):
    """An assertion option has a value outside its valid choices."""


@dataclass(frozen=True)
class AssertionResult:
    """The status of one entity and the modifiers behind it (``"CATEGORY:matched text"``)."""

    assertion: Assertion
    cues: tuple[str, ...] = ()


def resolve(statuses: Iterable[Assertion]) -> Assertion:
    """The winning status among those that apply, by :data:`PRIORITY`; ``present`` if none."""
    found = set(statuses)
    for status in PRIORITY:
        if status in found:
            return status
    return Assertion.PRESENT


def _scope(rule: ConTextRule, start: int, end: int, sent_start: int, sent_end: int) -> tuple[int, int]:
    """Token scope of a modifier at ``[start, end)`` inside sentence ``[sent_start, sent_end)``.

    Same as medspaCy's ``ConTextModifier`` (sentence-bounded, cut to the rule's ``max_scope``),
    but from sentence bounds we pass in, so the ``Doc`` need not carry sentence annotation.
    """
    direction, width = rule.direction, rule.max_scope
    if direction == "FORWARD":
        lo, hi = end, sent_end
        if width is not None and hi - lo > width:
            hi = end + width
    elif direction == "BACKWARD":
        lo, hi = sent_start, start
        if width is not None and hi - lo > width:
            lo = start - width
    else:  # BIDIRECTIONAL, and TERMINATE/PSEUDO, which only need a scope to cut others
        lo, hi = sent_start, sent_end
        if width is not None:
            lo, hi = max(lo, start - width), min(hi, end + width)
    return lo, hi


class AssertionEngine:
    """Compiled ConText rules plus a fallback sentence splitter, built once per pipeline.

    ``nlp`` provides the vocabulary and the tokenizer used to compile phrase rules; build the
    engine from the pipeline whose docs it will see, so that rule phrases are tokenized like
    the text (e.g. with scispacy's tokenizer "h/o" stays one token).
    """

    def __init__(
        self, nlp: Language, *, rules: Sequence[ConTextRule] | None = None, splitter: SplitterName = "pyrush"
    ) -> None:
        if splitter not in SPLITTERS:
            raise AssertionConfigError(f"unknown sentence splitter {splitter!r}; valid: {sorted(SPLITTERS)}")
        self._vocab = nlp.vocab
        self._matcher = MedspacyMatcher(nlp, name="medkg_assertion", phrase_matcher_attr="LOWER", prune=True)
        self._matcher.add(list(rules) if rules is not None else assertion_rules.context_rules())
        self.splitter = splitter
        self._rush = PyRuSHSentencizer(nlp, name="medkg_assertion_rush") if splitter == "pyrush" else None
        # "?" is left out: in notes it mostly marks a hedged finding ("palpitations, ? AF"), and
        # ending the sentence there would cut the "?" modifier off from its target.
        self._sentencizer = Sentencizer(punct_chars=[c for c in Sentencizer.default_punct_chars if c != "?"])

    def sentence_starts(self, doc: Doc) -> list[bool]:
        """Sentence-start flag per token: the doc's own boundaries if set, else the fallback splitter's."""
        if len(doc) == 0:
            return []
        if doc.has_annotation("SENT_START"):
            flags = [bool(tok.is_sent_start) for tok in doc]
        elif self._rush is not None:
            flags = [bool(flag) for flag in self._rush.predict([doc])[0]]
        else:
            flags = [bool(flag) for flag in self._sentencizer.predict([doc])[0]]
            for i in range(1, len(doc)):  # a blank line always ends a sentence
                if doc[i - 1].is_space and doc[i - 1].text.count("\n") >= 2:
                    flags[i] = True
        flags[0] = True
        return flags

    def _rule_matches(self, doc: Doc) -> list[tuple[ConTextRule, int, int]]:
        return [(self._matcher.rule_map[self._vocab.strings[match_id]], start, end)
                for match_id, start, end in self._matcher(doc)]

    def matches(self, doc: Doc) -> list[tuple[str, str, int, int]]:
        """Modifiers found in ``doc`` (after overlap pruning) as ``(category, rule literal, start, end)`` tokens."""
        return [(rule.category, rule.literal, start, end) for rule, start, end in self._rule_matches(doc)]

    def analyse(
        self, doc: Doc, spans: Sequence[Span] | None = None, *, sent_starts: Sequence[bool] | None = None
    ) -> list[AssertionResult]:
        """Assertion of each span (default: ``doc.ents``), without modifying ``doc``.

        ``sent_starts`` overrides the sentence boundaries (one flag per token).
        """
        targets = list(doc.ents if spans is None else spans)
        if not targets:
            return []
        for span in targets:
            if span.doc is not doc:
                raise InvalidSpanError(f"a span of {len(span)} tokens belongs to another Doc")  # never the text
        flags = list(sent_starts) if sent_starts is not None else self.sentence_starts(doc)
        if len(flags) != len(doc):
            raise InvalidSpanError(f"{len(flags)} sentence flags for a doc of {len(doc)} tokens")
        bounds = _sentence_bounds(flags)
        modifiers = []
        for rule, start, end in self._rule_matches(doc):
            sent_start, sent_end = bounds[start]
            lo, hi = _scope(rule, start, end, sent_start, sent_end)
            if rule.literal in assertion_rules.CLAUSE_BOUNDED:  # back to the start of its clause only
                lo = next((i + 1 for i in range(start - 1, lo - 1, -1) if doc[i].lower_ in assertion_rules.CLAUSE_START), lo)
            modifiers.append(ConTextModifier(rule, start, end, None, scope_start=lo, scope_end=hi))
        graph = ConTextGraph(targets=targets, modifiers=modifiers, prune_on_modifier_overlap=False)
        graph.update_scopes()
        graph.apply_modifiers()
        found: list[list[ConTextModifier]] = [[] for _ in targets]
        index = {id(span): i for i, span in enumerate(targets)}
        for target, modifier in graph.edges:
            found[index[id(target)]].append(modifier)
        return [_result(doc, mods) for mods in found]


def _sentence_bounds(flags: Sequence[bool]) -> list[tuple[int, int]]:
    """For each token, the ``(start, end)`` token range of its sentence."""
    starts = [i for i, flag in enumerate(flags) if flag or i == 0]
    out: list[tuple[int, int]] = []
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(flags)
        out.extend([(start, end)] * (end - start))
    return out


def _result(doc: Doc, modifiers: Sequence[ConTextModifier]) -> AssertionResult:
    statuses = [CATEGORY_TO_ASSERTION[m.category] for m in modifiers if m.category in CATEGORY_TO_ASSERTION]
    ordered = sorted(modifiers, key=lambda m: m.modifier_span)
    cues = tuple(f"{m.category}:{doc[m.modifier_span[0]:m.modifier_span[1]].text}" for m in ordered)
    return AssertionResult(resolve(statuses), cues)


@lru_cache(maxsize=1)
def default_pipeline() -> Language:
    """A blank English pipeline with scispacy's tokenizer (what :func:`assertion_for_span` uses)."""
    import spacy
    from scispacy.custom_tokenizer import combined_rule_tokenizer

    nlp = spacy.blank("en")
    nlp.tokenizer = combined_rule_tokenizer(nlp)
    return nlp


@lru_cache(maxsize=1)
def default_engine() -> AssertionEngine:
    """The engine over :func:`default_pipeline` (built on first use: ~1 s)."""
    return AssertionEngine(default_pipeline())


def assert_entities(doc: Doc, *, engine: AssertionEngine | None = None) -> list[Assertion]:
    """Assertion of each entity in ``doc.ents``, in order; ``doc`` is not modified.

    Without ``engine`` the default one is used, whose phrase rules are tokenized by scispacy's
    tokenizer; pass an engine built from your pipeline if it tokenizes differently.
    """
    return [r.assertion for r in (engine or default_engine()).analyse(doc)]


def assertion_for_span(text: str, start: int, end: int) -> Assertion:
    """Assertion of ``text[start:end]`` in ``text`` (for structured inputs that have no NER).

    The span is widened to whole tokens. Raises :class:`InvalidSpanError` when the offsets do
    not fit ``text`` or cover only whitespace.
    """
    if not 0 <= start < end <= len(text):
        raise InvalidSpanError(f"span {start}..{end} does not fit a text of length {len(text)}")
    doc = default_pipeline().make_doc(text)
    span = doc.char_span(start, end, alignment_mode="expand")
    if span is None or not span.text.strip():
        raise InvalidSpanError(f"span {start}..{end} covers no token of the text")
    return default_engine().analyse(doc, [span])[0].assertion


def _register_extensions() -> None:
    if not Span.has_extension("assertion"):
        Span.set_extension("assertion", default=None)
    if not Span.has_extension("assertion_cues"):
        Span.set_extension("assertion_cues", default=())


@Language.factory("medkg_assertion", default_config={"set_sentences": False, "splitter": "pyrush"})
class AssertionComponent:
    """Sets ``span._.assertion`` (an :class:`Assertion`) and ``span._.assertion_cues`` on ``doc.ents``.

    Place it after NER. Docs without sentences get boundaries from ``splitter`` (see
    :data:`SPLITTERS`); ``set_sentences=True`` also writes them to the doc (leave it off when
    another component owns sentence splitting).
    """

    def __init__(
        self, nlp: Language, name: str = "medkg_assertion", *, set_sentences: bool = False,
        splitter: SplitterName = "pyrush",
    ) -> None:
        self.name = name
        self.set_sentences = set_sentences
        self.engine = AssertionEngine(nlp, splitter=splitter)
        _register_extensions()

    def __call__(self, doc: Doc) -> Doc:
        ents = doc.ents
        if not ents and not self.set_sentences:
            return doc
        flags = self.engine.sentence_starts(doc)
        if self.set_sentences and not doc.has_annotation("SENT_START"):
            for token, flag in zip(doc, flags, strict=True):
                token.is_sent_start = flag
        for span, result in zip(ents, self.engine.analyse(doc, ents, sent_starts=flags), strict=True):
            span._.assertion = result.assertion
            span._.assertion_cues = result.cues
        return doc


# ---------------------------------------------------------------- labelled examples and scoring


_register_extensions()
