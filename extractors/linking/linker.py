"""Entity linking: a mention's text (and optionally its abbreviation's long form) -> KB concepts.

Candidates come from two generators over the KB's names and aliases:

1. **Exact** match of :func:`~extractors.linking.normalize.normalize` keys (case, punctuation,
   whitespace, British spelling and plural folded). Score 1.0. When a query has an exact match,
   only exact matches are returned: every approximate neighbour would score lower anyway.
2. **Approximate**: cosine similarity of character 3-gram TF-IDF vectors
   (:class:`~extractors.linking.candidates.CharNgramIndex`), capped at ``FUZZY_CAP`` so that an
   approximate match never ties an exact one; only for texts that contain a word (see
   ``_WORDLIKE``), never for bare acronyms and codes.

The label hint selects the vocabulary group: a Drug mention is matched against drugs only, a
Disease or Symptom mention against diseases and symptoms together, because NER separates
drugs from conditions reliably but not diseases from symptoms. Within the group the KB decides
the label: "fever" tagged Disease links to HPO's Fever and comes back labelled Symptom. At
equal score, a candidate that a training corpus annotated the matched text with
(``KBEntry.annotated``) ranks first, then one whose label equals the hint, then ``SOURCE_PRIORITY``.

Abbreviations: pass ``long_form`` (e.g. from scispacy's AbbreviationDetector). The long form's
candidates are used when the best of them reaches the threshold, because the long form is the
document's own disambiguation of the short form; otherwise candidates of both are merged.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Sequence
from difflib import SequenceMatcher
from typing import NamedTuple

from extractors.linking.kb_build import default_kb, label_group
from extractors.linking.candidates import CharNgramIndex
from extractors.linking.errors import UnknownLabelError
from extractors.linking.kb import KBEntry, KnowledgeBase
from extractors.linking.normalize import fuzzy_form, normalize
from schema.records import EntityType, Mention

DEFAULT_THRESHOLD = 0.7
"""Minimum score for :meth:`Linker.best`: exact matches (1.0) always pass; approximate ones need
a 3-gram cosine of 0.7. Chosen on BC5CDR dev + NCBI-disease dev gold mentions (enhanced KB,
threshold sweep of ``benchmarks/bench_linking.py``): among approximate links whose correctness
can be judged (the concept has a MeSH/OMIM id), every score band from 0.70 up is right more
often than wrong (0.70-0.75: 55 %, 0.75-0.80: 65 %, 0.80-0.85: 75 %), while below it the bands
are mostly wrong (0.65-0.70: 39 %, 0.55-0.60: 33 %). A wrong link merges two concepts in the
graph whereas an unlinked mention only gets its own LOCAL node, hence "more often right than
wrong" as the bar. Caveat: chosen on the same dev data the benchmark reports."""

AMBIGUITY_MARGIN = 0.05
"""An approximate best match is left unlinked when a different concept scores within this margin
of it (see ``_ambiguous``): on BC5CDR dev, raw text through the pipeline (``medkg evaluate pipeline
--corpus bc5cdr --link-ambiguity-margin M``, with the KB as it was when the margin was chosen),
0 / 0.03 / 0.05 / 0.08 / 0.10 / 0.15 gave Disease concept F1 71.0 / 72.6 / 73.5 / 74.2 / 74.7 / 75.3
and CID pairs with linking bypassed 48.8 / 48.7 / 48.4 / 47.9 / 47.7 / 47.2 (ends left unlinked are
dropped). 0.05: most of the gain in precision for little loss of relations; diagnosis, which
re-resolves unlinked findings by name, uses 0 (``kg/diagnosis/findings.default_extractor``). Chosen on dev: optimistic."""

FUZZY_CAP = 0.99
"""Approximate scores are capped below 1.0, the score of an exact normalised match."""

SOURCE_PRIORITY: tuple[str, ...] = ("drugbank", "hpo", "doid", "symp", "mesh", "train-aliases", "omim", "orpha")
"""Tie-break among equally scored candidates of the same label-match: curated ontologies with
synonyms and cross-references first; the corpus-learned entries next; OMIM/ORPHA (one name per
disease, no synonyms) last."""

_WORDLIKE = re.compile(r"[a-z]{3}|[A-Za-z]{6}")
"""Approximate matching only for texts with a word in them: a run of 3 lower-case letters or 6
letters of any case. Codes and acronyms (``PB``, ``CYP``, ``NH4Ac``, ``SM-5887``, ``GVHD``) share
3-grams with unrelated names (on BC5CDR dev, ``CP`` -> ``CP-12`` scored 0.78), so without a long
form they are matched exactly or not at all."""

_GROUPS = ("drug", "condition")
_NEIGHBOUR_SLACK = 4  # several aliases of one concept can fill the top names: fetch k * slack


class LinkCandidate(NamedTuple):
    """One concept a mention may refer to, with the KB's label and the name that matched."""

    concept_id: str
    name: str
    label: EntityType
    score: float
    source: str
    xrefs: tuple[str, ...]
    matched: str


class _Group:
    """Lookup structures of one label group."""

    def __init__(self, entries: Sequence[tuple[int, KBEntry]]) -> None:
        self.exact: dict[str, list[tuple[int, str]]] = {}
        fuzzy: dict[str, list[int]] = {}
        for i, entry in entries:
            for name in entry.names:
                key = normalize(name)
                if not key:
                    continue
                hits = self.exact.setdefault(key, [])
                if all(j != i for j, _ in hits):
                    hits.append((i, name))
                owners = fuzzy.setdefault(fuzzy_form(name), [])
                if i not in owners:
                    owners.append(i)
        self.fuzzy_names = list(fuzzy)
        self.fuzzy_owners = list(fuzzy.values())
        self.index = CharNgramIndex(self.fuzzy_names) if self.fuzzy_names else None


class Linker:
    """Links mention texts to :class:`KBEntry` concepts (see module docstring).

    ``threshold`` and ``ambiguity_margin`` apply to :meth:`best` / :meth:`best_many` /
    :meth:`link_mentions` only; :meth:`link` returns the top ``k`` candidates whatever their scores.
    ``ambiguity_margin=0`` links the best approximate match however close another concept is.
    """

    def __init__(self, kb: KnowledgeBase, *, threshold: float = DEFAULT_THRESHOLD,
                 ambiguity_margin: float = AMBIGUITY_MARGIN) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], got {threshold}")
        if not 0.0 <= ambiguity_margin <= 1.0:
            raise ValueError(f"ambiguity_margin must be in [0, 1], got {ambiguity_margin}")
        t0 = time.perf_counter()
        self.kb = kb
        self.threshold = threshold
        self.ambiguity_margin = ambiguity_margin
        rank = {s: r for r, s in enumerate(SOURCE_PRIORITY)}
        self._source_rank = [rank.get(e.source, len(rank)) for e in kb]
        self._annotated = {i: frozenset(normalize(t) for t in e.annotated) for i, e in enumerate(kb) if e.annotated}
        members: dict[str, list[tuple[int, KBEntry]]] = {g: [] for g in _GROUPS}
        for i, e in enumerate(kb):
            members[label_group(e.label)].append((i, e))
        self._groups = {g: _Group(members[g]) for g in _GROUPS}
        self.index_seconds = time.perf_counter() - t0

    @classmethod
    def load(cls, kb_path: str | os.PathLike[str] | None = None, *, threshold: float = DEFAULT_THRESHOLD,
             ambiguity_margin: float = AMBIGUITY_MARGIN) -> Linker:
        """A linker over the KB file at ``kb_path``, or over the default KB (built and cached on
        first use, see :func:`~extractors.linking.kb_build.default_kb`) when ``kb_path`` is None."""
        kb = default_kb() if kb_path is None else KnowledgeBase.load(kb_path)
        return cls(kb, threshold=threshold, ambiguity_margin=ambiguity_margin)

    # -- public API ----------------------------------------------------------------------------

    def link(self, text: str, *, label: EntityType | str | None = None, long_form: str | None = None,
             k: int = 5) -> list[LinkCandidate]:
        """Up to ``k`` candidates for one mention, best first."""
        return self.link_many([text], labels=[label], long_forms=[long_form], k=k)[0]

    def best(self, text: str, *, label: EntityType | str | None = None,
             long_form: str | None = None) -> LinkCandidate | None:
        """The top candidate if its score reaches the threshold, else ``None`` (mention stays unlinked)."""
        return self.best_many([text], labels=[label], long_forms=[long_form])[0]

    def best_many(self, texts: Sequence[str], *, labels: Sequence[EntityType | str | None] | None = None,
                  long_forms: Sequence[str | None] | None = None) -> list[LinkCandidate | None]:
        """:meth:`best` for many mentions at once (batched approximate search)."""
        out: list[LinkCandidate | None] = []
        lfs = [None] * len(texts) if long_forms is None else list(long_forms)
        for t, lf, c in zip(texts, lfs, self.link_many(texts, labels=labels, long_forms=long_forms, k=_AMBIGUITY_K),
                            strict=True):
            c = [x for x in c if not adds_words(t, x, context=lf or "")]  # "PE" says what its long form says
            out.append(c[0] if c and c[0].score >= self.threshold and not _ambiguous(c, self.ambiguity_margin)
                       and not _normal_named_abnormal(t, c[0]) else None)
        return out

    def sense(self, text: str, cand: LinkCandidate, *, long_form: str | None = None) -> LinkCandidate:
        """The candidate narrowed to the one id the literature means by ``text``, where the entry
        has several ids of that vocabulary; else ``cand`` itself.

        An entry can carry several MeSH ids (DO's *hepatitis* lists *Hepatitis, Chronic* and *Chemical and
        Drug Induced Liver Injury*; *coronary artery disease* three descriptors). Grounded through
        all of them, one mention is several concepts, most of them not what the text says. When a
        training corpus annotated this very text (or its abbreviation's long form) with one of
        them (:attr:`KBEntry.senses`), the mention is linked to that id, named by its vocabulary,
        and written as its own node unless the canonical rule folds it back into the entry
        ("coronary artery disease" -> ``MESH:D003324`` -> ``DOID:3393``). The entry's own names
        are not narrowed unless the id bears the name (:func:`~extractors.linking.kb_build.build_kb`,
        step 3): BC5CDR reads "hepatitis" and "dyskinesia" as drug-induced, the words do not say so.
        BC5CDR dev end to end (``benchmarks/bench_e2e.py``): Disease concept F1 76.6 -> 77.9, CID
        pairs 38.2 -> 39.0 (narrowing own names too gave 78.4, by reading every "hepatitis" as
        drug-induced liver injury).

        Conditions only: a drug's several MeSH ids are one substance (a descriptor and the
        supplementary record of the same compound, "sorafenib"), and its mentions must stay on the
        DrugBank node that the interaction check and the canonical rule use."""
        entry = self.kb.get(cand.concept_id)
        if entry is None or not entry.senses or label_group(entry.label) == "drug":
            return cand
        senses = {t: (i, n) for t, i, n in entry.senses}
        for t in (text, long_form):
            found = senses.get(normalize(t)) if t else None
            if found is None or found[0] == entry.concept_id:
                continue
            prefix = found[0].split(":", 1)[0] + ":"
            if sum(x.startswith(prefix) for x in (entry.concept_id, *entry.xrefs)) > 1:
                return cand._replace(concept_id=found[0], name=found[1], xrefs=())
            return cand
        return cand

    def link_many(self, texts: Sequence[str], *, labels: Sequence[EntityType | str | None] | None = None,
                  long_forms: Sequence[str | None] | None = None, k: int = 5,
                  fuzzy: bool = True) -> list[list[LinkCandidate]]:
        """:meth:`link` for many mentions; ``labels``/``long_forms`` align with ``texts``.
        ``fuzzy=False``: exact (normalised) name matches only, without the approximate search."""
        n = len(texts)
        labels = [None] * n if labels is None else list(labels)
        long_forms = [None] * n if long_forms is None else list(long_forms)
        if len(labels) != n or len(long_forms) != n:
            raise ValueError(f"labels ({len(labels)}) and long_forms ({len(long_forms)}) must align with texts ({n})")
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        hints = [_hint(lab) for lab in labels]
        groups = [_GROUPS if h is None else (label_group(h),) for h in hints]
        queries = list(zip(texts, groups, strict=True))
        lf_rows = [i for i, lf in enumerate(long_forms) if lf and lf.strip()]
        lf_queries = [(long_forms[i], groups[i]) for i in lf_rows]
        scored = self._score(queries + lf_queries, k, fuzzy=fuzzy)  # type: ignore[arg-type]
        short, longs = scored[:n], dict(zip(lf_rows, scored[n:], strict=True))
        out = []
        for i in range(n):
            hits = short[i]
            if i in longs:
                from_long = longs[i]
                if from_long and max(s for s, _ in from_long.values()) >= self.threshold:
                    hits = from_long
                else:
                    hits = _merge(from_long, hits)
            out.append(self._rank(hits, hints[i], k))
        return out

    def link_mentions(self, mentions: Sequence[Mention], *, long_forms: Sequence[str | None] | None = None,
                      ) -> list[Mention]:
        """Copies of ``mentions`` with ``concept_id``/``concept_name`` set and the label the KB
        decides; mentions below the threshold come back unchanged (unlinked). ``score`` keeps
        the NER confidence."""
        best = self.best_many([m.text for m in mentions], labels=[m.label for m in mentions], long_forms=long_forms)
        return [m if c is None else m.model_copy(update={"concept_id": c.concept_id, "concept_name": c.name,
                                                         "label": c.label})
                for m, c in zip(mentions, best, strict=True)]

    # -- internals -----------------------------------------------------------------------------

    def _score(self, queries: Sequence[tuple[str, tuple[str, ...]]], k: int,
               fuzzy: bool = True) -> list[dict[int, tuple[float, str]]]:
        """Per query: entry index -> (best score, matched name)."""
        results: list[dict[int, tuple[float, str]]] = [{} for _ in queries]
        pending: dict[str, list[int]] = {g: [] for g in _GROUPS}
        for q, (text, groups) in enumerate(queries):
            key = normalize(text)
            if not key:
                continue
            for g in groups:
                for i, name in self._groups[g].exact.get(key, ()):
                    results[q][i] = (1.0, name)
            if fuzzy and not results[q] and _WORDLIKE.search(text):
                for g in groups:
                    pending[g].append(q)
        for g, rows in pending.items():
            group = self._groups[g]
            if not rows or group.index is None:
                continue
            neighbours = group.index.query([fuzzy_form(queries[q][0]) for q in rows], k=k * _NEIGHBOUR_SLACK)
            for q, nb in zip(rows, neighbours, strict=True):
                hits = results[q]
                for name_idx, cos in zip(nb.indices.tolist(), nb.scores.tolist(), strict=True):
                    score = min(float(cos), FUZZY_CAP)
                    for i in group.fuzzy_owners[name_idx]:
                        if i not in hits or hits[i][0] < score:
                            hits[i] = (score, group.fuzzy_names[name_idx])
        return results

    def _rank(self, hits: dict[int, tuple[float, str]], hint: EntityType | None, k: int) -> list[LinkCandidate]:
        kb, annotated = self.kb, self._annotated

        def for_this_text(i: int) -> bool:  # a training corpus annotated the matched text with entry i
            return i in annotated and normalize(hits[i][1]) in annotated[i]

        order = sorted(hits, key=lambda i: (-hits[i][0], not for_this_text(i), kb[i].label != hint,
                                            self._source_rank[i], i))[:k]
        return [LinkCandidate(kb[i].concept_id, kb[i].name, kb[i].label, round(hits[i][0], 4), kb[i].source,
                              kb[i].xrefs, hits[i][1]) for i in order]


_ABNORMAL_NAME = re.compile(r"^abnormal(?:ity)?\b", re.IGNORECASE)
_ABNORMAL_WORD = re.compile(r"abnorm|dys|impair|alter|defect|disorder|disturb", re.IGNORECASE)


def _normal_named_abnormal(text: str, cand: LinkCandidate) -> bool:
    """An approximate match on an "Abnormal X" / "Abnormality of X" name for a text that says
    nothing is abnormal: "apoptosis", "reflex" or "glomeruli" name the process or the structure,
    not *Abnormal apoptosis*. On BC5CDR dev (raw text through the pipeline) leaving these unlinked
    removed 15 false Disease concepts and no true one (Disease F1 74.4 -> 74.6; NCBI-disease 53.2 ->
    53.4; vignettes and notes unchanged)."""
    return cand.score < 1.0 and bool(_ABNORMAL_NAME.match(cand.matched)) and not _ABNORMAL_WORD.search(text)


_FILLER = frozenset({"of", "the", "and", "or", "in", "on", "to", "for", "at", "by", "from", "with", "a", "an",
                     "while", "when", "during", "abnormal", "abnormally", "syndrome"})
"""Words a name may add without saying more than the text: function words, "abnormal(ly)"
("heavy periods" is *abnormally heavy periods*) and "syndrome" ("wasting syndrome")."""

_SAME_SENSE = {w: g for g, words in {
    "down": ("reduced", "decreased", "diminished", "low", "lowered", "poor", "reduction", "decrease"),
    "up": ("raised", "elevated", "increased", "high", "increase", "elevation", "heightened"),
}.items() for w in words}
"""Qualifiers that say the same thing ("raised ferritin" is *increased ferritin*)."""
_ORGANS = {w: organ for organ, words in {
    "anus": ("anal",), "kidney": ("renal", "nephric"), "liver": ("hepatic",), "heart": ("cardiac",),
    "lung": ("pulmonary",), "stomach": ("gastric",), "brain": ("cerebral",), "eye": ("ocular", "ophthalmic"),
    "ear": ("otic", "aural"), "nose": ("nasal",), "mouth": ("oral",), "skin": ("cutaneous", "dermal"),
    "bladder": ("vesical",), "chest": ("thoracic",), "face": ("facial",), "vein": ("venous",),
    "vessel": ("vascular",), "tooth": ("dental",), "lip": ("labial",), "tongue": ("lingual",),
    "breast": ("mammary",), "bone": ("osseous",), "joint": ("articular",), "neck": ("cervical",),
    "skull": ("cranial",), "gum": ("gingival",),
}.items() for w in (organ, *words)}
"""An organ and its adjective, where no shared start says so ("stenosis of anus" is *Anal
stenosis*; "hepatic" and "liver" are one place). Derivable pairs (ovary / ovarian) need no entry."""
_SUBTYPE = frozenset({"type", "x", "linked", "autosomal", "dominant", "recessive", "susceptibility", "to", "form"})
"""Words of the subtype suffix OMIM and Orphanet names carry ("Spinal and bulbar muscular atrophy,
X-linked 1", "..., type 2"): a text without a number of its own ("SBMA", its long form) names
the disease, and the suffix is not held against it."""


def _same_word(a: str, b: str) -> bool:
    """One word, allowing inflection and spelling variants ("kidneys"/"kidney",
    "hypertensive"/"hypertension", "tumour"/"tumor", "diarhea"/"diarrhea")."""
    if a == b or (a in _SAME_SENSE and _SAME_SENSE[a] == _SAME_SENSE.get(b)):
        return True
    if a in _ORGANS and _ORGANS[a] == _ORGANS.get(b):
        return True
    if a.removesuffix("s") == b.removesuffix("s") or a.removesuffix("es") == b.removesuffix("es"):
        return True  # plurals normalize leaves alone ("ears")
    if not (a.isalpha() and b.isalpha()):
        return False  # "type 1" is not "type 2", "cd4" not "cd8"
    short = min(len(a), len(b))
    prefix = len(os.path.commonprefix([a, b]))
    if short >= 4 and prefix >= max(4, short - 2):
        return True  # an inflection: "hypertensive" / "hypertension", "tumour" / "tumor"
    # a letter dropped or doubled after a shared start ("diarhea"); never a substituted letter
    # ("dysphagia" / "dysphasia") or a changed start ("hypertension" / "hypotension")
    return short >= 5 and prefix >= 4 and len(a) != len(b) and SequenceMatcher(None, a, b).ratio() >= 0.85


def _numeral(word: str) -> bool:
    """A number, a single letter or a Roman numeral (a subtype's name: "1", "a", "iv")."""
    return word.isdigit() or len(word) == 1 or bool(re.fullmatch(r"[ivx]+", word))


def adds_words(text: str, cand: LinkCandidate, *, context: str = "") -> bool:
    """An approximate match on a name that says more than the text: a word of the matched name,
    other than :data:`_FILLER` and a trailing subtype suffix, that the text lacks in any spelling.
    "tenderness" is not *Scalp tenderness*, "effusion" not *Pleural effusion*, "thyroid" not
    *Thyroid cyst*, "pitting edema" not *Non-pitting edema*: the character 3-grams of the text
    are all in the longer name, so it scores high, but the extra word names a place, a kind or
    the opposite the text never stated. A text more specific than the name ("joint pain in his
    right knee" -> *Knee pain*) is kept. Exact matches are never affected. ``context``: words
    around the mention that count as said (a span cut short, "epigastric" of "epigastric pain")."""
    if cand.score >= 1.0:
        return False
    said = [w for w in normalize(f"{text} {context}").split() if w]
    words = normalize(cand.matched).split()
    if cand.label is EntityType.DISEASE and not any(_numeral(w) for w in said):
        while words and (words[-1] in _SUBTYPE or _numeral(words[-1])):
            words.pop()  # ", X-linked 1", ", type 2": a disease's subtype the text does not narrow down
    for word in words:
        if word in _FILLER:
            continue
        if not any(_same_word(word, w) for w in said):
            return True  # including a number, a letter or a code the text lacks ("type 2", "l5")
    return False


def qualifier_variants(text: str) -> list[str]:
    """``text`` with its leading qualifier replaced by each other word of the same sense
    (:data:`_SAME_SENSE`): "low hemoglobin" -> "reduced hemoglobin", "decreased hemoglobin"...;
    ``[]`` when it does not start with one. Vocabularies name a finding with one of them only
    (*Decreased haemoglobin*), so an exact lookup of each variant finds it."""
    words = normalize(text).split()
    if len(words) < 2 or words[0] not in _SAME_SENSE:
        return []
    sense = _SAME_SENSE[words[0]]
    return [" ".join([w, *words[1:]]) for w, g in _SAME_SENSE.items() if g == sense and w != words[0]]


_AMBIGUITY_K = 4
"""Candidates looked at to find the best one of a *different* concept."""


def _ambiguous(candidates: Sequence[LinkCandidate], margin: float) -> bool:
    """An approximate best match that another concept matches about as well (within ``margin``):
    the text names none of them in particular ("stenosis" is as close to *Anal stenosis* as to
    *Spinal canal stenosis*), so it is not linked. Exact matches are never ambiguous; candidates
    that share an id (one lists the other, or both list the same MeSH/UMLS/... id) are one concept
    in two vocabularies, and the comparison is with the best candidate of another concept."""
    if margin <= 0 or len(candidates) < 2 or candidates[0].score >= 1.0:
        return False
    top = candidates[0]
    ids = {top.concept_id, *top.xrefs}
    for other in candidates[1:]:
        if ids.isdisjoint((other.concept_id, *other.xrefs)):
            return top.score - other.score < margin
    return False


def _merge(a: dict[int, tuple[float, str]], b: dict[int, tuple[float, str]]) -> dict[int, tuple[float, str]]:
    out = dict(b)
    for i, v in a.items():
        if i not in out or out[i][0] < v[0]:
            out[i] = v
    return out


def _hint(label: EntityType | str | None) -> EntityType | None:
    if label is None:
        return None
    try:
        return EntityType(label)
    except ValueError:
        valid = ", ".join(t.value for t in EntityType)
        raise UnknownLabelError(f"unknown label hint {label!r}; expected one of: {valid}, or None") from None
