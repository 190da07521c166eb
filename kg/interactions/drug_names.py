"""Resolve what a user types as a drug (name, brand, misspelling or CURIE) to a Drug CURIE.

Names go through the extraction linker (:class:`extractors.linking.Linker`) over the drug part
of the same default knowledge base, so "Coumadin" in a medication list and in an abstract end
up on the same node (``DRUGBANK:DB00682``). On top of the linker's own rule two things are
added because the input here is a typed medication name, not a mention found by NER:

* **Typo rule.** A misspelt name scores low on character 3-grams (``warfrin`` -> Warfarin
  0.68) while a garbage word can score just as high on an unrelated name (``xyzzy`` -> Xyzal
  0.68), so the linker's cosine threshold alone cannot tell them apart. An approximate
  candidate below the linker threshold is also accepted when its matched name is within a
  small Damerau-Levenshtein distance of the input: Elasticsearch's ``AUTO`` fuzziness (0 edits
  for 1-2 characters, 1 for 3-5, 2 for 6 and more, on the shorter of the two normalised
  strings), the usual bound for "one or two slips of the keyboard". ``warfrin`` (1 edit from
  ``warfarin``) passes; ``xyzzy`` (2 edits from ``xyzal``, 5 letters) does not.
* **Exact-name preference.** The drug dictionary lists some related drugs as each other's
  variants (``escitalopram`` is an alias of Citalopram *and* the name of Escitalopram), so
  several exact matches can tie; the one whose own name is the input wins, the others are
  returned as ``alternatives``.

* **Salts and esters are the parent substance** (:func:`substance_key`): ``lithium``,
  ``Lithium cation`` (DrugBank's lithium), ``Lithium carbonate`` and ``lithium citrate`` share the
  key ``lithium``; every KB drug with the same key as an entry whose own name is that key
  (the parent exists) is an equivalent id, so a name resolved in one vocabulary reaches every
  node of the same active moiety. Inorganic salts whose every word is a salt word
  (``potassium chloride``, ``sodium bicarbonate``) are their own substance.
* **Combination products** (:class:`ResolvedProduct`): a brand or abbreviation listed in
  ``combination_products.tsv`` (``Bactrim``, ``SMX-TMP``, ``Percocet``; FDA-labelled
  ingredients) or a name written as ingredients (``sulfamethoxazole/trimethoprim``,
  ``amoxicillin + clavulanate``, ``hydrocodone-acetaminophen``) resolves to all of its
  ingredients, each checked; a part that does not resolve makes the whole unresolved rather
  than silently dropping it.
* **Dose forms and routes** (``nitroglycerin patch``, ``timolol eye drops``, ``Tylenol 500 mg``):
  strength, form and route words are removed when the whole text does not resolve; the route
  is kept on the result (``route``) and shown with the alerts.
* **Suggestions** for an unresolved name are offered only at or above
  :data:`SUGGESTION_MIN_SCORE`, the score from which a suggestion is right more often than
  wrong (measured by ``benchmarks/bench_drug_names.py``).

CURIEs pass through when their prefix is a Drug prefix of the schema; equivalent ids (the KB
entry's MESH/other Drug xrefs, or the DrugBank entry carrying a MeSH id) travel along so a
graph holding both ``MESH:D014859`` (corpus annotation) and ``DRUGBANK:DB00682`` (linker) is
searched under both.

Drug classes (:func:`drug_classes`) come from the MeSH tree numbers that the
``drug-named-entity-recognition`` dictionary stores per drug (see :data:`MIN_CLASS_DEPTH`).
"""

from __future__ import annotations

import re
import threading
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, Literal

from extractors.errors import ExtractionError
from extractors.linking import KnowledgeBase, LinkCandidate, Linker, default_kb
from extractors.linking.normalize import normalize
from kg.interactions.drug_classes import MAX_CLASS_MEMBERS, MIN_CLASS_DEPTH, DrugClasses, drug_classes
from kg.interactions.errors import DrugResolveError
from kg.interactions.name_rules import (
    HYDRATE_WORDS,
    SALT_WORDS,
    _HYPHEN,
    auto_fuzziness,
    combination_products,
    drug_prefixes,
    edit_distance,
    edit_similarity,
    is_typo,
    parse_curie,
    product_keys,
    split_ingredients,
    strip_dose,
    strip_form,
    substance_key,
)
from schema.records import EntityType, Record

__all__ = [  # the rules and classes are re-exported: callers import them from here
    "CANDIDATES", "HYDRATE_WORDS", "MAX_CLASS_MEMBERS", "MAX_INGREDIENTS", "MAX_INPUT_CHARS", "MIN_CLASS_DEPTH",
    "MIN_TYPO_SCORE", "SALT_WORDS", "SUGGESTIONS", "SUGGESTION_MIN_SCORE", "DrugClasses", "DrugResolveError",
    "DrugResolver", "ResolvedDrug", "ResolvedProduct", "Suggestion", "UnresolvedDrug", "auto_fuzziness",
    "combination_products", "drug_classes", "drug_prefixes", "edit_distance", "edit_similarity", "is_typo",
    "parse_curie", "product_keys", "shared_linker", "split_ingredients", "strip_dose", "strip_form",
    "substance_key",
]

MAX_INPUT_CHARS = 200
"""Longest input linked as a drug name. The longest DrugBank name is well under this; a longer
string is not a drug name (a pasted note, an attack) and is reported unresolved without
spending time on it."""

MIN_TYPO_SCORE = 0.5
"""Floor on the 3-gram score for the typo rule: below it the candidate shares too little of its
spelling with the input to be the same word with a slip (checked on warfrin 0.68, aspirine,
omeprazol); it keeps the edit-distance rule from rescuing an unrelated short name."""

NEAREST_TYPO_MIN_SCORE = 0.45
"""3-gram floor for the typo rule applied to any of the :data:`CANDIDATES` (not only the best).
Without a floor an unrelated brand within two edits of some alias was accepted ("Humulin" ->
Paromomycin via "humatin", 3-gram 0.36). On the inputs of ``benchmarks/bench_drug_names.py``
(400 misspelled drugs, 400 non-drug words; its "typo-rule floor" table in BENCHMARKS.md), floors 0.5 / 0.45 / 0.4 / 0.0 resolve 135 / 178 /
207 / 274 misspellings right with 8 / 8 / 7 / 8 wrong, and 0 / 0 / 1 / 2 non-drug words to a
drug: 0.45 is the lowest that resolves no non-drug word (a development choice on those inputs)."""

SUGGESTIONS = 3
"""Candidates returned with an unresolved name, so a user (or UI) can pick one."""

MAX_INGREDIENTS = 8
"""Most drugs one input may name (``A/B/C``): the largest labelled combinations have 4-5; more
is a pasted list, which belongs in separate items (and would get round :data:`MAX_DRUGS`)."""

CANDIDATES = 10
"""Linker candidates considered per name (the typo rule and the suggestions pick among them)."""

SUGGESTION_MIN_SCORE = 0.64
"""Lowest edit similarity (:func:`edit_similarity`, 1 - edits / length) at which a candidate is
offered as a suggestion: below it a suggestion is wrong more often than right. Set from
``benchmarks/bench_drug_names.py`` (typed misspellings of common drugs and non-drug words; the
lowest value at which the first suggestion's precision reaches 50 % on the tuning half,
reported on the other half in BENCHMARKS.md). The 3-gram score is not used for this: among
unresolved names it separates right from wrong suggestions poorly (9-38 % right in every band
from 0.5 to 0.65 in the same benchmark)."""

_DRUGBANK_LOCAL = re.compile(r"^DB\d{5}$")


class Suggestion(Record):
    """A candidate offered for an input that could not be resolved confidently."""

    curie: str
    name: str
    score: float


class ResolvedDrug(Record):
    """An input resolved to one Drug concept.

    ``equivalent_ids`` are the other CURIEs of the same concept (always including ``curie``)
    that the graph is searched under; ``alternatives`` are other concepts that matched equally
    well (ambiguous names), never used silently.
    """

    input: str
    curie: str
    name: str | None
    score: float
    method: Literal["exact", "fuzzy", "curie", "patient", "graph_name", "brand_table"]
    equivalent_ids: tuple[str, ...]
    alternatives: tuple[str, ...] = ()
    route: str | None = None
    """Route implied by a dose-form word of the input (``topical`` for a cream), else None."""
    product: str | None = None
    """For an ingredient of a combination product: the product's name (``input`` is the text as
    written, ``Bactrim DS 800/160``)."""
    labelled_product: bool = False
    """The product is a labelled combination (see :class:`ResolvedProduct`)."""


class ResolvedProduct(Record):
    """An input naming several drugs: a combination product (``Bactrim``) or ingredients written
    in one field (``sulfamethoxazole/trimethoprim``, ``warfarin and aspirin``). The check treats
    each ingredient as a drug of the list. ``labelled``: the ingredient set is a product of
    ``combination_products.tsv`` (or a coded record's combination), taken together by design, so
    its ingredients are not reported against each other; any other set is checked pair by pair
    (two drugs typed in one field still interact). Parts that do not resolve are in
    ``unresolved`` and reported; the resolved parts are still checked."""

    input: str
    name: str
    method: Literal["product_table", "ingredients"]
    ingredients: tuple[ResolvedDrug, ...]
    unresolved: tuple["UnresolvedDrug", ...] = ()
    labelled: bool = False
    route: str | None = None


class UnresolvedDrug(Record):
    """An input that is reported back instead of being dropped.

    ``name_like``: the input could still be a drug name (it was searched and not found), as
    opposed to empty, over-long, or a CURIE of the wrong kind.
    """

    input: str
    reason: str
    suggestions: tuple[Suggestion, ...] = ()
    name_like: bool = False


# -- the resolver ---------------------------------------------------------------------------------

_LINKERS: dict[str, Linker] = {}
_LINKERS_LOCK = threading.Lock()


def _drug_kb(kb: KnowledgeBase) -> KnowledgeBase:
    """The Drug entries of a KB: a Drug hint only ever searches them, so indexing the rest
    (HPO, diseases) would triple the start-up time for nothing."""
    return KnowledgeBase([e for e in kb if e.label is EntityType.DRUG], metadata=kb.metadata)


def shared_linker(kb_path: str | None = None) -> Linker:
    """One drug linker per KB file per process (the default KB when ``kb_path`` is None); the
    first call loads and indexes it (~5 s), later calls return the same object."""
    key = kb_path or "<default>"
    with _LINKERS_LOCK:
        if key not in _LINKERS:
            try:
                kb = default_kb() if kb_path is None else KnowledgeBase.load(kb_path)
            except (ExtractionError, OSError) as exc:  # KB errors come from extractors; surface them as ours
                raise DrugResolveError(f"cannot load the drug knowledge base {key}: {exc}") from exc
            _LINKERS[key] = Linker(_drug_kb(kb))
        return _LINKERS[key]


class DrugResolver:
    """Resolves user strings to Drug CURIEs; reusable and thread-safe after the first call.

    ``linker``: an already loaded linker (e.g. the extraction pipeline's); otherwise the
    process-wide drug linker of ``kb_path`` (default KB) is loaded on first use.
    """

    def __init__(self, linker: Linker | None = None, *, kb_path: str | None = None) -> None:
        self._linker = linker
        self._kb_path = kb_path

    @property
    def linker(self) -> Linker:
        if self._linker is None:
            self._linker = shared_linker(self._kb_path)
        return self._linker

    def warm(self) -> "DrugResolver":
        """Load the linker now (API start-up) instead of on the first request: the KB, and the
        exact and approximate matchers' lazily built parts (one exact and one misspelled name)."""
        self.resolve(["aspirin", "asprin"])
        return self

    def resolve(self, inputs: Sequence[str]) -> list[ResolvedDrug | ResolvedProduct | UnresolvedDrug]:
        """One result per input, in order (a combination product is one :class:`ResolvedProduct`)."""
        out: list[ResolvedDrug | ResolvedProduct | UnresolvedDrug | None] = [None] * len(inputs)
        names: list[tuple[int, str]] = []
        for i, raw in enumerate(inputs):
            text = raw.strip() if isinstance(raw, str) else ""
            if not isinstance(raw, str):
                out[i] = UnresolvedDrug(input=repr(raw)[:MAX_INPUT_CHARS], reason="not a string")
            elif not text:
                out[i] = UnresolvedDrug(input=raw, reason="empty name")
            elif len(text) > MAX_INPUT_CHARS:
                out[i] = UnresolvedDrug(input=text[:MAX_INPUT_CHARS] + "...",
                                        reason=f"longer than {MAX_INPUT_CHARS} characters ({len(text)}); not a drug name")
            elif (curie := parse_curie(text)) is not None:
                out[i] = self._curie(text, *curie)
            elif not normalize(text):
                out[i] = UnresolvedDrug(input=text, reason="no letters or digits to match")
            else:
                names.append((i, text))
        products = combination_products()
        plain: list[tuple[int, str]] = []
        brands: list[tuple[int, str, str]] = []  # a brand of one ingredient: (position, input, ingredient)
        for i, text in names:
            hit = next((products[k] for k in product_keys(text) if k in products), None)
            if hit is not None and len(hit[1]) == 1:
                brands.append((i, text, hit[1][0]))
            elif hit is not None:
                out[i] = self._product(text, hit[0], hit[1], "product_table")
            else:
                plain.append((i, text))
        for (i, text, _), brand in zip(brands, self._link_texts([b for _, _, b in brands]), strict=True):
            out[i] = brand.model_copy(update={"input": text, "method": "brand_table"}) \
                if isinstance(brand, ResolvedDrug) else brand.model_copy(update={"input": text})
        # several drugs in one field ("A 10 mg/B 325 mg", "A and B"): split unless the text as
        # written is a vocabulary name (a dose-stripped match would drop B silently)
        split = {i: parts for i, t in plain if len(parts := split_ingredients(t)) > 1}
        if split:
            raw = self.linker.link_many([t for i, t in plain if i in split], labels=[EntityType.DRUG] * len(split),
                                        k=CANDIDATES)
            for (i, text), cands in zip([(i, t) for i, t in plain if i in split], raw, strict=True):
                whole = self._name(text, cands)
                out[i] = whole if _is_exact(whole) else self._product(text, text, tuple(split[i]), "ingredients")
        plain = [(i, t) for i, t in plain if i not in split]
        wholes = self._link_texts([t for _, t in plain])
        for (i, text), whole in zip(plain, wholes, strict=True):
            out[i] = whole
            exact = isinstance(whole, ResolvedDrug) and whole.method == "exact"
            if not exact and len(hyphen := [p for p in _HYPHEN.split(strip_dose(text)) if p]) > 1 \
                    and all(len(p) >= 3 for p in hyphen):
                product = self._product(text, text, tuple(hyphen), "ingredients")
                if isinstance(product, ResolvedProduct) and all(x.method == "exact" for x in product.ingredients):
                    out[i] = product
        return [r for r in out if r is not None]

    def _product(self, text: str, name: str, ingredients: tuple[str, ...],
                 method: Literal["product_table", "ingredients"]) -> ResolvedProduct | UnresolvedDrug:
        """``text`` as the drugs ``ingredients``. Parts that do not resolve are kept as unresolved
        (reported, never dropped silently) while the others are checked; unresolved as a whole
        only when no part resolves or there are more than :data:`MAX_INGREDIENTS` parts."""
        if len(ingredients) > MAX_INGREDIENTS:
            return UnresolvedDrug(input=text, reason=f"{len(ingredients)} parts; at most {MAX_INGREDIENTS} drugs "
                                                     "per input (give a list, one drug per item)")
        _, route = strip_form(strip_dose(text))
        parts = self._link_texts(list(ingredients))
        resolved = [p for p in parts if isinstance(p, ResolvedDrug)]
        missing = [p for p in parts if isinstance(p, UnresolvedDrug)]
        if not resolved:
            return UnresolvedDrug(input=text, name_like=True,
                                  reason=f"none of its {len(parts)} parts resolves (first: {missing[0].reason})",
                                  suggestions=missing[0].suggestions)
        labelled = method == "product_table" or self._is_labelled(resolved)
        return ResolvedProduct(
            input=text, name=name, method=method, route=route, labelled=labelled,
            ingredients=tuple(p.model_copy(update={"input": text, "product": name, "route": route,
                                                   "labelled_product": labelled}) for p in resolved),
            unresolved=tuple(missing),
        )

    def _is_labelled(self, drugs: Sequence[ResolvedDrug]) -> bool:
        """True when ``drugs`` are exactly the ingredients of a product of the table."""
        sets = getattr(self.linker, "_medkg_product_sets", None)
        if sets is None:
            sets = []
            for _, ingredients in combination_products().values():
                if len(ingredients) > 1:
                    linked = self._link_texts(list(ingredients))
                    if all(isinstance(x, ResolvedDrug) for x in linked):
                        sets.append([set(x.equivalent_ids) | {x.curie} for x in linked])  # type: ignore[union-attr]
            self.linker._medkg_product_sets = sets  # type: ignore[attr-defined]  # cached with the linker
        ids = [set(d.equivalent_ids) | {d.curie} for d in drugs]
        return any(len(product) == len(ids) and all(any(p & i for i in ids) for p in product)
                   and all(any(p & i for p in product) for i in ids) for product in sets)

    def _link_texts(self, texts: list[str]) -> list[ResolvedDrug | UnresolvedDrug]:
        """Link drug names: the whole text, then without its strength (``Tylenol 500 mg``), then
        without dose-form/route words (``nitroglycerin patch``); the first that resolves wins."""
        if not texts:
            return []
        cands = self.linker.link_many(texts, labels=[EntityType.DRUG] * len(texts), k=CANDIDATES)
        out = [self._name(t, cs) for t, cs in zip(texts, cands, strict=True)]
        for step, variant in enumerate((lambda t: (strip_dose(t), None), lambda t: strip_form(strip_dose(t)))):
            # without its strength, a name replaces only an unresolved result ("iodine 131" stays
            # Iodide I-131); without form/route words, it also replaces an approximate one when it
            # resolves exactly ("nitroglycerin patch")
            retry = [(i, *variant(t)) for i, t in enumerate(texts)
                     if isinstance(out[i], UnresolvedDrug) or (step == 1 and not _is_exact(out[i]))]
            before = [texts[i] if step == 0 else strip_dose(texts[i]) for i, _, _ in retry]
            retry = [(i, v, route) for (i, v, route), b in zip(retry, before, strict=True)
                     if v and normalize(v) != normalize(b)]  # the variant removed something
            if not retry:
                continue
            again = self.linker.link_many([v for _, v, _ in retry], labels=[EntityType.DRUG] * len(retry), k=CANDIDATES)
            for (i, v, route), cs in zip(retry, again, strict=True):
                result = self._name(v, cs)
                if isinstance(result, ResolvedDrug) and (_is_exact(result) or isinstance(out[i], UnresolvedDrug)):
                    out[i] = result.model_copy(update={"input": texts[i], "route": route})
        return out

    def resolve_one(self, text: str) -> ResolvedDrug | ResolvedProduct | UnresolvedDrug:
        return self.resolve([text])[0]

    def equivalents(self, curie: str) -> tuple[str, ...]:
        """``curie`` plus the other Drug CURIEs of the same substance: the KB entry's Drug xrefs
        (or the one entry carrying ``curie`` as an xref), and every entry of the same active
        moiety (:func:`substance_key`: the parent and its salts/esters) with their xrefs."""
        kb = self.linker.kb
        ids = [curie]
        entry = kb.get(curie)
        if entry is None:
            carriers = [e for e in kb.resolve(curie) if e.label is EntityType.DRUG]
            entry = carriers[0] if len(carriers) == 1 else None  # a MeSH id shared by several drugs is a class
        if entry is not None:
            for member in [entry, *self._substances().get(substance_key(entry.name), ())]:
                ids += [member.concept_id, *(x for x in member.xrefs if _is_drug_curie(x))]
        return tuple(dict.fromkeys(ids))

    def _substances(self) -> dict[str, tuple[Any, ...]]:
        """substance key -> the Drug entries sharing it, only for keys that are some entry's own
        name (the parent exists) and hold more than one entry. Built once per linker."""
        index = getattr(self.linker, "_medkg_substances", None)
        if index is None:
            groups: dict[str, list[Any]] = defaultdict(list)
            for e in self.linker.kb:
                if e.label is EntityType.DRUG:
                    groups[substance_key(e.name)].append(e)
            index = {k: tuple(v) for k, v in groups.items()
                     if len(v) > 1 and any(normalize(e.name) == k for e in v)}
            self.linker._medkg_substances = index  # type: ignore[attr-defined]  # cached with the linker
        return index

    def name_of(self, curie: str) -> str | None:
        entry = self.linker.kb.get(curie)
        if entry is None:
            carriers = [e for e in self.linker.kb.resolve(curie) if e.label is EntityType.DRUG]
            entry = carriers[0] if len(carriers) == 1 else None
        return entry.name if entry is not None else None

    # -- internals -----------------------------------------------------------------------------

    def _curie(self, text: str, prefix: str, local: str) -> ResolvedDrug | UnresolvedDrug:
        prefixes = drug_prefixes()
        if prefix not in prefixes:
            return UnresolvedDrug(input=text, reason=f"CURIE prefix {prefix!r} is not a Drug prefix "
                                                     f"(expected one of: {', '.join(prefixes)})")
        if prefix == "DRUGBANK":
            local = local.upper()
        if prefix == "DRUGBANK" and not _DRUGBANK_LOCAL.match(local):
            return UnresolvedDrug(input=text, reason=f"malformed DrugBank id {local!r} (expected DB followed by 5 digits)")
        curie = f"{prefix}:{local}"
        return ResolvedDrug(input=text, curie=curie, name=self.name_of(curie), score=1.0, method="curie",
                            equivalent_ids=self.equivalents(curie))

    def _name(self, text: str, cands: list[LinkCandidate]) -> ResolvedDrug | UnresolvedDrug:
        if not cands:
            return UnresolvedDrug(input=text, reason="no drug name in the vocabulary resembles it", name_like=True)
        top = cands[0]
        if top.score >= 1.0:
            exact = [c for c in cands if c.score >= 1.0]
            key = normalize(text)
            exact.sort(key=lambda c: normalize(c.name) != key)  # stable: the linker's order otherwise
            best, method = exact[0], "exact"
            alternatives = tuple(c.concept_id for c in exact[1:])
        elif top.score >= self.linker.threshold or (top.score >= MIN_TYPO_SCORE and is_typo(text, top.matched)):
            best, method = top, "fuzzy"
            alternatives = tuple(c.concept_id for c in cands[1:] if c.score == top.score)
        elif (typo := _nearest_typo(text, cands)) is not None:
            best, method, alternatives = typo, "fuzzy", ()
        else:
            ranked = sorted(((edit_similarity(text, c.matched), c) for c in cands), key=lambda sc: -sc[0])
            seen: set[str] = set()
            suggestions = []
            for sim, c in ranked:
                if sim >= SUGGESTION_MIN_SCORE and c.concept_id not in seen and len(suggestions) < SUGGESTIONS:
                    seen.add(c.concept_id)
                    suggestions.append(Suggestion(curie=c.concept_id, name=c.name, score=round(sim, 4)))
            return UnresolvedDrug(
                input=text,
                reason=f"no drug name in the vocabulary is close enough (best 3-gram match scored {top.score:.2f}, "
                       f"below the linker threshold {self.linker.threshold}, and none is within a typo's distance)",
                suggestions=tuple(suggestions),
                name_like=True,
            )
        return ResolvedDrug(input=text, curie=best.concept_id, name=best.name, score=best.score, method=method,
                            equivalent_ids=self.equivalents(best.concept_id), alternatives=alternatives)


def _nearest_typo(text: str, cands: list[LinkCandidate]) -> LinkCandidate | None:
    """The candidate whose matched name is within a typo's distance (:func:`is_typo`) of ``text``,
    closest first; None when there is none or two different concepts tie at the closest."""
    key = normalize(text)
    close = [(edit_distance(key, normalize(c.matched)), c) for c in cands
             if c.score >= NEAREST_TYPO_MIN_SCORE and is_typo(text, c.matched)]
    if not close:
        return None
    best = min(d for d, _ in close)
    winners = {c.concept_id: c for d, c in close if d == best}
    return next(iter(winners.values())) if len(winners) == 1 else None


def _is_exact(result: ResolvedDrug | UnresolvedDrug) -> bool:
    return isinstance(result, ResolvedDrug) and result.method == "exact"


def _is_drug_curie(x: str) -> bool:
    parsed = parse_curie(x)
    return parsed is not None and parsed[0] in drug_prefixes()
