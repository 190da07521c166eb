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

import bz2
import pickle
import re
import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any, Literal

from extractors.errors import ExtractionError
from extractors.linking import KnowledgeBase, LinkCandidate, Linker, default_kb
from extractors.linking.normalize import normalize
from kg.errors import MedkgError
from schema.model import load_schema
from schema.records import EntityType, Record

MAX_INPUT_CHARS = 200
"""Longest input linked as a drug name. The longest DrugBank name is well under this; a longer
string is not a drug name (a pasted note, an attack) and is reported unresolved without
spending time on it."""

MIN_TYPO_SCORE = 0.5
"""Floor on the 3-gram score for the typo rule: below it the candidate shares too little of its
spelling with the input to be the same word with a slip (checked on warfrin 0.68, aspirine,
omeprazol); it keeps the edit-distance rule from rescuing an unrelated short name."""

SUGGESTIONS = 3
"""Candidates returned with an unresolved name, so a user (or UI) can pick one."""

MAX_INGREDIENTS = 8
"""Most drugs one input may name (``A/B/C``): the largest labelled combinations have 4-5; more
is a pasted list, which belongs in separate items (and would get round :data:`MAX_DRUGS`)."""

CANDIDATES = 10
"""Linker candidates considered per name (the typo rule and the suggestions pick among them)."""

SUGGESTION_MIN_SCORE = 0.63
"""Lowest edit similarity (:func:`edit_similarity`, 1 - edits / length) at which a candidate is
offered as a suggestion: below it a suggestion is wrong more often than right. Set from
``benchmarks/bench_drug_names.py`` (typed misspellings of common drugs and non-drug words; the
lowest value at which the first suggestion's precision reaches 50 % on the tuning half,
reported on the other half in BENCHMARKS.md). The 3-gram score is not used for this: among
unresolved names it separates right from wrong suggestions poorly (9-38 % right in every band
from 0.5 to 0.65 in the same benchmark)."""

HYDRATE_WORDS = frozenset("""hydrate monohydrate dihydrate trihydrate tetrahydrate pentahydrate hexahydrate
heptahydrate hemihydrate sesquihydrate anhydrous""".split())
SALT_WORDS = frozenset("""hydrochloride hcl dihydrochloride hydrobromide hydroiodide chloride bromide iodide
sulfate bisulfate acetate diacetate citrate carbonate bicarbonate tartrate bitartrate
maleate fumarate hemifumarate succinate mesylate mesilate dimesylate besylate besilate tosylate napsylate
edisylate esylate lactate gluconate glucoheptonate malate oxalate nitrate stearate palmitate pamoate embonate
propionate dipropionate valerate butyrate furoate cypionate enanthate decanoate undecanoate benzoate xinafoate
tromethamine trometamol meglumine hyclate lysine cation ion anion disodium dipotassium monosodium
sodium potassium calcium magnesium aluminum zinc ammonium""".split())
"""Counter-ions, esters and salt-form words (normalised spelling: ``sulfate``, ``aluminum``) that do
not change which substance a drug name means for interaction checking. Kept short of
pharmacologically distinct derivatives: ``salicylate``, ``oxide``, ``hydroxide`` are not here,
nor ``phosphate``/``diphosphate`` (metabolites such as zidovudine diphosphate or pyridoxal
phosphate are not their parent)."""

_FORM_WORDS = {
    "topical": "topical", "cream": "topical", "ointment": "topical", "gel": "topical", "lotion": "topical",
    "shampoo": "topical", "foam": "topical", "transdermal": "transdermal", "patch": "transdermal",
    "eye": "ophthalmic", "ophthalmic": "ophthalmic", "ear": "otic", "otic": "otic", "nasal": "nasal",
    "inhaler": "inhaled", "inhalation": "inhaled", "inhaled": "inhaled", "nebulizer": "inhaled",
    "injection": "parenteral", "injectable": "parenteral", "iv": "parenteral", "im": "parenteral",
    "subcutaneous": "parenteral", "vaginal": "vaginal", "rectal": "rectal", "suppository": "rectal",
    "sublingual": "sublingual", "oral": "oral", "tablet": "oral", "tab": "oral", "capsule": "oral", "cap": "oral",
    "caplet": "oral", "syrup": "oral", "elixir": "oral", "suspension": "oral", "chewable": "oral", "odt": "oral",
}
"""Dose-form and route words removed from a name that does not resolve whole, with the route
each implies (kept on the result: a topical or ophthalmic product still reaches the alerts, with
its route shown)."""
_MODIFIER_WORDS = frozenset("""er xr xl sr cr la dr ec ir extended delayed immediate release drops drop spray
solution liquid powder pen vial prefilled syringe kit dose pack""".split())

_DOSE = re.compile(r"\s+\d.*$", re.S)
"""From the first number on: strength, unit and dose form of a medication line ("Tylenol 500 mg",
RxNorm's "Warfarin Sodium 5 MG Oral Tablet"). Tried only when the whole text does not resolve."""

_CURIE = re.compile(r"^([A-Za-z][A-Za-z0-9_.]*):(\S+)$")
_DRUGBANK_LOCAL = re.compile(r"^DB\d{5}$")


class DrugResolveError(MedkgError):
    """Root of drug-resolution errors (the knowledge base cannot be loaded...)."""



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


# -- pure helpers -------------------------------------------------------------------------------


def auto_fuzziness(length: int) -> int:
    """Edits allowed for a word of ``length`` characters (Elasticsearch ``AUTO``: 0 / 1 / 2)."""
    return 0 if length <= 2 else 1 if length <= 5 else 2


def edit_distance(a: str, b: str, *, limit: int | None = None) -> int:
    """Optimal-string-alignment (restricted Damerau-Levenshtein) distance: insertions,
    deletions, substitutions and adjacent transpositions cost 1. Returns ``limit + 1`` early
    once the distance is known to exceed ``limit``."""
    if a == b:
        return 0
    if limit is not None and abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            cost = 0 if ca == cb else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if limit is not None and min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


def is_typo(text: str, matched: str) -> bool:
    """True when ``matched`` is within :func:`auto_fuzziness` edits of ``text`` (normalised)."""
    a, b = normalize(text), normalize(matched)
    if not a or not b:
        return False
    allowed = auto_fuzziness(min(len(a), len(b)))
    return allowed > 0 and edit_distance(a, b, limit=allowed) <= allowed


def strip_dose(text: str) -> str:
    """``text`` without a trailing strength/dose-form part (see ``_DOSE``); ``text`` if none."""
    return _DOSE.sub("", text).strip() or text


def strip_form(text: str) -> tuple[str, str | None]:
    """``text`` without dose-form, route and release words (``nitroglycerin patch`` ->
    ``nitroglycerin``) and the route they imply (the first route word wins)."""
    words = normalize(text).split()
    route = next((_FORM_WORDS[w] for w in words if w in _FORM_WORDS), None)
    kept = [w for w in words if w not in _FORM_WORDS and w not in _MODIFIER_WORDS]
    return (" ".join(kept) if kept else text), route


def substance_key(name: str) -> str:
    """The active moiety's name key of a drug name: normalised, hydrate words and *trailing*
    salt/ester words (:data:`SALT_WORDS`) removed (``Warfarin sodium`` -> ``warfarin``,
    ``Lithium carbonate`` -> ``lithium``, ``methylprednisolone sodium succinate`` ->
    ``methylprednisolone``). A name made only of salt words (``potassium chloride``) and the
    hydrogen halides key as themselves; leading words are never removed (``zinc protoporphyrin``)."""
    words = [w for w in normalize(name).split() if w not in HYDRATE_WORDS]
    core = list(words)
    while core and core[-1] in SALT_WORDS:  # trailing counter-ions only: "zinc protoporphyrin" stays
        core.pop()
    if not core or core == ["hydrogen"]:  # "potassium chloride", "hydrogen iodide": their own substance
        return " ".join(words)
    return " ".join(core)


_SEPARATORS = re.compile(r"\s*(?:/|\+|&|,|;|\n|\band\b|\bwith\b)\s*", re.I)
_HYPHEN = re.compile(r"\s*-\s*")


def split_ingredients(text: str) -> list[str]:
    """The parts of a name written as a combination or a list in one field (``A/B``, ``A + B``,
    ``A and B``, ``A with B``, ``A, B``, ``A; B``), split *before* strengths are removed (``A 10 mg/B
    325 mg``), each without its strength; ``[text]`` when it has no such separator. Hyphens are
    tried separately (they also join parts of single names)."""
    parts = [strip_dose(p.strip()) for p in _SEPARATORS.split(text) if p and p.strip()]
    parts = [p for p in parts if any(ch.isalpha() for ch in p)]  # "5/325": strengths, not parts
    return parts if len(parts) > 1 else [text]


@lru_cache(maxsize=1)
def combination_products() -> dict[str, tuple[str, tuple[str, ...]]]:
    """``combination_products.tsv``: normalised product name -> (name, ingredient names). Rows
    with one ingredient are brands the drug dictionary lacks (``Imdur``)."""
    from importlib import resources

    out: dict[str, tuple[str, tuple[str, ...]]] = {}
    text = resources.files("kg.interactions").joinpath("combination_products.tsv").read_text(encoding="utf-8")
    rows = [line.split("\t") for line in text.splitlines() if line.strip() and not line.startswith("#")]
    for cells in rows[1:]:  # header first
        name, ingredients = cells[0].strip(), tuple(i.strip() for i in cells[1].split("+") if i.strip())
        if name and ingredients:
            out.setdefault(normalize(name), (name, ingredients))
    return out


def parse_curie(text: str) -> tuple[str, str] | None:
    """``(PREFIX, local)`` with the prefix upper-cased if ``text`` looks like a CURIE, else None."""
    m = _CURIE.match(text)
    return (m.group(1).upper(), m.group(2)) if m else None


@lru_cache(maxsize=1)
def drug_prefixes() -> tuple[str, ...]:
    return tuple(load_schema().node("Drug").curie_prefixes)


# -- drug classes from MeSH tree numbers ---------------------------------------------------------

MIN_CLASS_DEPTH = 4
"""A drug's classes are the MeSH tree nodes one level above each of its tree numbers (its
structural parent) plus its own nodes (so a drug is in the class of its derivatives: omeprazole
D03.383.725.024.500 and esomeprazole D03.383.725.024.500.500). Nodes with fewer than 4 levels
are dropped: at depth 3 they are broad chemical families (D04.615.638 Naphthalenes holds
naproxen and simvastatin; D03.383.725 Pyridines), at depth 4 they start being drug families
(D03.383.725.024: lansoprazole, omeprazole, pantoprazole, rabeprazole; D02.241.223.701:
fenoprofen, ibuprofen, ketoprofen...)."""

MAX_CLASS_MEMBERS = 20
"""Classes with more DrugBank members than this are not used: the largest depth-4 nodes (26-31
members) are chemical families, not groups whose members share interactions. Only 1,904 of the
12,279 DrugBank drugs in the dictionary carry tree numbers, so class alerts are incomplete by
construction."""


class DrugClasses:
    """DrugBank id -> class keys (``MESH_TREE:<number>``) and class key -> member DrugBank ids."""

    def __init__(self, trees: dict[str, Iterable[str]], names: dict[str, str] | None = None) -> None:
        self.names = dict(names or {})
        members: dict[str, set[str]] = defaultdict(set)
        keys_of: dict[str, set[str]] = defaultdict(set)
        for curie, numbers in trees.items():
            for t in numbers:
                for key in (t, t.rsplit(".", 1)[0]):
                    if key.count(".") + 1 >= MIN_CLASS_DEPTH:
                        members[key].add(curie)
                        keys_of[curie].add(key)
        self._members = {k: frozenset(v) for k, v in members.items() if 1 < len(v) <= MAX_CLASS_MEMBERS}
        self._keys = {c: frozenset(k for k in ks if k in self._members) for c, ks in keys_of.items()}

    def classes(self, curie: str) -> frozenset[str]:
        return self._keys.get(curie, frozenset())

    def members(self, key: str) -> frozenset[str]:
        return self._members.get(key, frozenset())

    def shared(self, a: Iterable[str], b: Iterable[str]) -> list[str]:
        """Class keys shared by any id of ``a`` and any id of ``b``, most specific first."""
        ka = {k for c in a for k in self.classes(c)}
        kb = {k for c in b for k in self.classes(c)}
        return sorted(ka & kb, key=lambda k: (-k.count("."), k))


@lru_cache(maxsize=1)
def drug_classes() -> DrugClasses:
    """Classes from the installed drug dictionary (loaded once, ~1 s)."""
    from extractors.linking.sources import drug_dictionary_path

    path = drug_dictionary_path()
    try:
        with bz2.open(path, "rb") as handle:  # trusted: ships inside an installed dependency
            data: dict[str, Any] = pickle.load(handle)  # noqa: S301
        canonical: dict[str, dict[str, Any]] = data["drug_canonical_to_data"]
    except (OSError, EOFError, KeyError, TypeError, pickle.UnpicklingError) as exc:
        raise DrugResolveError(f"{path}: not a drug-named-entity-recognition dictionary ({exc!r})") from exc
    trees: dict[str, set[str]] = defaultdict(set)
    names: dict[str, str] = {}
    for info in canonical.values():
        if info.get("drugbank_id") and info.get("mesh_tree"):
            curie = f"DRUGBANK:{info['drugbank_id']}"
            trees[curie].update(info["mesh_tree"])
            names.setdefault(curie, info.get("name") or curie)
    return DrugClasses(trees, names)


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
        for i, text in names:
            hit = next((products[k] for k in _product_keys(text) if k in products), None)
            if hit is not None and len(hit[1]) == 1:  # a brand of one ingredient
                brand = self._link_texts([hit[1][0]])[0]
                out[i] = brand.model_copy(update={"input": text, "method": "brand_table"}) \
                    if isinstance(brand, ResolvedDrug) else brand.model_copy(update={"input": text})
            elif hit is not None:
                out[i] = self._product(text, hit[0], hit[1], "product_table")
            else:
                plain.append((i, text))
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

    def parent_of(self, curie: str) -> tuple[str, str] | None:
        """``(curie, name)`` of the parent substance of a salt/ester entry, None if ``curie`` is
        itself the parent or has none in the KB."""
        entry = self.linker.kb.get(curie)
        if entry is None:
            return None
        key = substance_key(entry.name)
        parent = next((m for m in self._substances().get(key, ()) if normalize(m.name) == key), None)
        return None if parent is None or parent.concept_id == curie else (parent.concept_id, parent.name)

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


def edit_similarity(text: str, matched: str) -> float:
    """1 - edit distance / longer length, on normalised strings: the suggestion score."""
    a, b = normalize(text), normalize(matched)
    if not a or not b:
        return 0.0
    return 1.0 - edit_distance(a, b) / max(len(a), len(b))


def _nearest_typo(text: str, cands: list[LinkCandidate]) -> LinkCandidate | None:
    """The candidate whose matched name is within a typo's distance (:func:`is_typo`) of ``text``,
    closest first; None when there is none or two different concepts tie at the closest."""
    key = normalize(text)
    close = [(edit_distance(key, normalize(c.matched)), c) for c in cands
             if c.score >= MIN_TYPO_SCORE and is_typo(text, c.matched)]
    if not close:
        return None
    best = min(d for d, _ in close)
    winners = {c.concept_id: c for d, c in close if d == best}
    return next(iter(winners.values())) if len(winners) == 1 else None


def _is_exact(result: ResolvedDrug | UnresolvedDrug) -> bool:
    return isinstance(result, ResolvedDrug) and result.method == "exact"


def _product_keys(text: str) -> list[str]:
    """Keys a product name is looked up under: as written, without strength, without form words."""
    keys = [normalize(text), normalize(strip_dose(text)), normalize(strip_form(strip_dose(text))[0])]
    return list(dict.fromkeys(k for k in keys if k))


def _is_drug_curie(x: str) -> bool:
    parsed = parse_curie(x)
    return parsed is not None and parsed[0] in drug_prefixes()
