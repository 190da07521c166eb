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
    method: Literal["exact", "fuzzy", "curie", "patient", "graph_name"]
    equivalent_ids: tuple[str, ...]
    alternatives: tuple[str, ...] = ()


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

    def resolve(self, inputs: Sequence[str]) -> list[ResolvedDrug | UnresolvedDrug]:
        """One result per input, in order."""
        out: list[ResolvedDrug | UnresolvedDrug | None] = [None] * len(inputs)
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
        if names:
            cands = self.linker.link_many([t for _, t in names], labels=[EntityType.DRUG] * len(names), k=5)
            retry: list[tuple[int, str, str]] = []
            for (i, text), cs in zip(names, cands, strict=True):
                out[i] = result = self._name(text, cs)
                stripped = strip_dose(text)
                if isinstance(result, UnresolvedDrug) and stripped != text:
                    retry.append((i, text, stripped))
            if retry:
                again = self.linker.link_many([s for _, _, s in retry], labels=[EntityType.DRUG] * len(retry), k=5)
                for (i, text, stripped), cs in zip(retry, again, strict=True):
                    result = self._name(stripped, cs)
                    if isinstance(result, ResolvedDrug):
                        out[i] = result.model_copy(update={"input": text})
        return [r for r in out if r is not None]

    def resolve_one(self, text: str) -> ResolvedDrug | UnresolvedDrug:
        return self.resolve([text])[0]

    def equivalents(self, curie: str) -> tuple[str, ...]:
        """``curie`` plus the other Drug CURIEs the KB knows for the same concept."""
        kb = self.linker.kb
        ids = [curie]
        entry = kb.get(curie)
        if entry is not None:
            ids += [x for x in entry.xrefs if _is_drug_curie(x)]
        else:
            carriers = [e for e in kb.resolve(curie) if e.label is EntityType.DRUG]
            if len(carriers) == 1:  # a MeSH id shared by several drugs is a class, not this drug
                ids += [carriers[0].concept_id, *(x for x in carriers[0].xrefs if _is_drug_curie(x))]
        return tuple(dict.fromkeys(ids))

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
        suggestions = tuple(Suggestion(curie=c.concept_id, name=c.name, score=c.score) for c in cands[:SUGGESTIONS])
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
        else:
            return UnresolvedDrug(
                input=text,
                reason=f"best match {top.name!r} ({top.concept_id}) scored {top.score:.2f}, below the linker "
                       f"threshold {self.linker.threshold} and not a likely typo",
                suggestions=suggestions,
                name_like=True,
            )
        return ResolvedDrug(input=text, curie=best.concept_id, name=best.name, score=best.score, method=method,
                            equivalent_ids=self.equivalents(best.concept_id), alternatives=alternatives)


def _is_drug_curie(x: str) -> bool:
    parsed = parse_curie(x)
    return parsed is not None and parsed[0] in drug_prefixes()
