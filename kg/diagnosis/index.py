"""The diagnosis index: disease annotations, exclusions, the symptom hierarchy and information
content, built once from a graph (or from annotation records) and then queried in memory.

Built from the graph, so curated annotations (HPO, Disease Ontology, HSDN) and relations the
extraction pipeline found in literature all count, each weighted by its provenance (see
:func:`kg.diagnosis.score.effective_frequency`). Building reads the
``DIAGNOSIS_*`` queries of :mod:`kg.cypher`; rebuild explicitly (``DiagnosisIndex.from_store``) after loading
new data: the index is a snapshot.

Query-time work is vectorised over diseases: for every term a, ``posting[a]`` holds the diseases
annotated at or below a with their largest frequency ``F_D(a)`` (numpy arrays), so scoring one
finding touches only the postings of its ancestors.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

import numpy as np

from kg import cypher
from kg.diagnosis.errors import EmptyIndexError
from kg.errors import QueryError
from kg.query_guard import UNKNOWN_PROPERTY
from kg.diagnosis.prior import EMPTY, PriorVectors, Profile
from kg.diagnosis.score import effective_frequency

if TYPE_CHECKING:
    from kg.store.base import GraphStore

MIN_EXTRACTED_SCORE = 0.5
"""Extracted edges whose best evidence scores below this are left out of the index: the
relation model's own decision threshold (``PipelineConfig.re_threshold``)."""


@dataclass(frozen=True, slots=True)
class Annotation:
    """One Disease -> Symptom fact as the index uses it (a HAS_SYMPTOM or LACKS_SYMPTOM edge).

    A slotted dataclass rather than a pydantic model: a full HPO build holds ~250k of them.
    ``frequency`` is the stored fraction (None when not stated); ``absent`` marks LACKS_SYMPTOM.
    """

    disease: str
    symptom: str
    frequency: float | None = None
    weight: float | None = None
    curated: bool = True
    evidence_count: int = 1
    best_score: float = 1.0
    sources: tuple[str, ...] = ()
    absent: bool = False


@dataclass(frozen=True, slots=True)
class Edge:
    """An annotation as held for one disease: its effective frequency and provenance."""

    frequency: float
    frequency_known: bool
    curated: bool
    evidence_count: int
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Posting:
    """Diseases (index positions) annotated at or below one term, with ``F_D`` for each."""

    diseases: np.ndarray  # int32
    freqs: np.ndarray  # float64


_EMPTY = Posting(np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float64))


@dataclass
class DiagnosisIndex:
    """Everything ranking needs, in memory. Build with :meth:`from_store` or :meth:`from_annotations`."""

    diseases: tuple[str, ...]
    disease_names: dict[str, str]
    symptom_names: dict[str, str]
    annotations: list[dict[str, Edge]]
    """Per disease position: symptom id -> edge."""
    lacks: list[dict[str, Edge]]
    parents: dict[str, tuple[str, ...]]
    name_keys: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Normalised symptom name or synonym -> symptom ids (for name lookup and cross-vocabulary equivalence)."""
    profiles: list[Profile] = field(default_factory=list)
    """Per disease position: its profile (prior, age/sex, can't-miss), shared by its equivalence group."""
    group: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    """Per disease position: the position representing its equivalence group (a DOID and the
    OMIM/ORPHA/MESH ids it lists as xrefs are one candidate)."""
    _position: dict[str, int] = field(default_factory=dict, repr=False)
    _ancestors: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)
    _prop: dict[str, Posting] = field(default_factory=dict, repr=False)
    _direct: dict[str, Posting] = field(default_factory=dict, repr=False)
    _lacks: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _ic: dict[str, float] = field(default_factory=dict, repr=False)
    _base: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _population: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _prior_vectors: PriorVectors | None = field(default=None, repr=False)
    _disease_keys: dict[str, tuple[int, ...]] | None = field(default=None, repr=False)
    _defined_by: dict[str, tuple[int, ...]] | None = field(default=None, repr=False)
    _group_weights: dict[tuple[str, ...], float] = field(default_factory=dict, repr=False)
    disease_parents: dict[str, tuple[str, ...]] = field(default_factory=dict, repr=False)
    """Disease id -> its parents along the Disease IS_A edges the index was built with (the Disease
    Ontology's), for :meth:`disease_ancestors`."""
    profiles_missing: bool = False
    """The store predates disease profiles (an embedded store of an earlier schema opened
    read-only): ranked without priors, grouping or can't-miss; such an index is not cached."""

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def from_annotations(
        cls,
        annotations: Iterable[Annotation],
        *,
        is_a: Iterable[tuple[str, str]] = (),
        disease_is_a: Iterable[tuple[str, str]] = (),
        disease_names: Mapping[str, str] | None = None,
        symptom_names: Mapping[str, str] | None = None,
        symptom_synonyms: Mapping[str, Sequence[str]] | None = None,
        profiles: Mapping[str, Profile] | None = None,
        xrefs: Mapping[str, Sequence[str]] | None = None,
    ) -> DiagnosisIndex:
        """Build from annotation records and ``(child, parent)`` symptom IS_A pairs; ``disease_is_a``
        (``(child, parent)`` Disease IS_A pairs) lends subtypes and parents each other's findings
        (:func:`_add_subtype_findings`).

        ``profiles`` (disease id -> :class:`Profile`) and ``xrefs`` (disease id -> ids of the same
        disease in other vocabularies) come from Disease node properties.

        Raises :class:`EmptyIndexError` when no disease has a present annotation.
        """
        present: dict[str, list[Annotation]] = defaultdict(list)
        absent: dict[str, list[Annotation]] = defaultdict(list)
        for a in annotations:
            # HPO's 'Excluded (0%)' frequency says the same as a NOT annotation.
            (absent if a.absent or (a.frequency is not None and a.frequency <= 0) else present)[a.disease].append(a)
        if not present:
            raise EmptyIndexError("no Disease -[:HAS_SYMPTOM]-> Symptom annotations to rank on; load curated sources first")
        diseases = tuple(sorted(present))
        position = {d: i for i, d in enumerate(diseases)}
        ann_maps: list[dict[str, Edge]] = []
        for d in diseases:
            rows = present[d]
            max_weight = max((r.weight for r in rows if r.weight is not None), default=None)
            edges: dict[str, Edge] = {}
            for r in rows:
                f, known = effective_frequency(
                    frequency=r.frequency, weight=r.weight, max_weight=max_weight, curated=r.curated,
                    best_score=r.best_score, evidence_count=r.evidence_count,
                )
                old = edges.get(r.symptom)
                if old is None or f > old.frequency:
                    edges[r.symptom] = Edge(f, known, r.curated, r.evidence_count, tuple(sorted(r.sources)))
            ann_maps.append(edges)
        lack_maps: list[dict[str, Edge]] = [
            {r.symptom: Edge(0.0, r.frequency is not None, r.curated, r.evidence_count, tuple(sorted(r.sources)))
             for r in absent.get(d, ())}
            for d in diseases
        ]
        names = dict(symptom_names or {})
        index = cls(
            diseases=diseases,
            disease_names={d: (disease_names or {}).get(d) or d for d in diseases},
            symptom_names=names,
            annotations=ann_maps,
            lacks=lack_maps,
            parents=_parents_of(is_a),
            _position=position,
        )
        index.name_keys = _name_keys(names, symptom_synonyms or {})
        _add_defining_findings(index)
        index.group, index.profiles = _groups(diseases, position, xrefs or {}, profiles or {}, index.disease_names)
        disease_is_a = list(disease_is_a)
        index.disease_parents = _parents_of(disease_is_a)
        _add_subtype_findings(index, disease_is_a)
        index._build_postings()
        return index

    def disease_ancestors(self, disease: str) -> frozenset[str]:
        """``disease`` and every disease above it along the Disease IS_A edges ("purulent acute
        otitis media" -> "acute otitis media" -> "otitis media" ...); cycles tolerated."""
        from loaders.obo import below

        return frozenset(below(self.disease_parents, disease) | {disease})

    @classmethod
    def from_store(cls, store: GraphStore, *, min_extracted_score: float = MIN_EXTRACTED_SCORE) -> DiagnosisIndex:
        """Build from a graph store (embedded or Neo4j) with the ``DIAGNOSIS_*`` queries of :mod:`kg.cypher`."""
        params = {"min_score": float(min_extracted_score)}
        disease_names: dict[str, str] = {}
        rows: list[Annotation] = []
        for r in store.query(cypher.DIAGNOSIS_HAS_SYMPTOM, params):
            if r.get("disease_name"):
                disease_names[r["disease"]] = r["disease_name"]
            rows.append(_annotation(r, absent=False))
        for r in store.query(cypher.DIAGNOSIS_LACKS_SYMPTOM, params):
            rows.append(_annotation(r, absent=True))
        is_a = [(r["child"], r["parent"]) for r in store.query(cypher.DIAGNOSIS_SYMPTOM_IS_A)]
        disease_is_a = [(r["child"], r["parent"]) for r in store.query(cypher.DIAGNOSIS_DISEASE_IS_A)]
        names: dict[str, str] = {}
        synonyms: dict[str, list[str]] = {}
        for r in store.query(cypher.DIAGNOSIS_SYMPTOMS):
            names[r["id"]] = r["name"] or r["id"]
            synonyms[r["id"]] = list(r.get("synonyms") or [])
        profiles: dict[str, Profile] = {}
        xrefs: dict[str, list[str]] = {}
        profiles_missing = False
        try:
            profile_rows = store.query(cypher.DIAGNOSIS_DISEASE_PROFILES)
        except QueryError as exc:
            # only an embedded store created before Disease profiles existed, opened read-only
            # (its next write adds the columns), is ranked without them; any other failure stands
            if UNKNOWN_PROPERTY not in str(exc):
                raise
            profile_rows, profiles_missing = [], True
        for r in profile_rows:
            if r.get("xrefs"):
                xrefs[r["disease"]] = list(r["xrefs"])
            p = Profile.from_row(r)
            if p != EMPTY:
                profiles[r["disease"]] = p
        index = cls.from_annotations(
            rows, is_a=is_a, disease_is_a=disease_is_a, disease_names=disease_names, symptom_names=names, symptom_synonyms=synonyms,
            profiles=profiles, xrefs=xrefs,
        )
        index.profiles_missing = profiles_missing
        return index

    def _build_postings(self) -> None:
        prop_d: dict[str, list[int]] = defaultdict(list)
        prop_f: dict[str, list[float]] = defaultdict(list)
        direct_d: dict[str, list[int]] = defaultdict(list)
        direct_f: dict[str, list[float]] = defaultdict(list)
        lacks: dict[str, list[int]] = defaultdict(list)
        base_d: dict[str, list[int]] = defaultdict(list)
        for i, edges in enumerate(self.annotations):
            best: dict[str, float] = {}
            base: set[str] = set()
            for term, edge in edges.items():
                direct_d[term].append(i)
                direct_f[term].append(edge.frequency)
                lent = edge.sources == (SUBTYPE_SOURCE,)
                for a in self.ancestors(term):
                    if edge.frequency > best.get(a, -1.0):
                        best[a] = edge.frequency
                    if not lent:
                        base.add(a)
            for a, f in best.items():
                prop_d[a].append(i)
                prop_f[a].append(f)
            for a in base:
                base_d[a].append(i)
            for term in self.lacks[i]:
                lacks[term].append(i)
        self._prop = {t: Posting(np.asarray(prop_d[t], np.int32), np.asarray(prop_f[t], np.float64)) for t in prop_d}
        self._direct = {t: Posting(np.asarray(direct_d[t], np.int32), np.asarray(direct_f[t], np.float64)) for t in direct_d}
        self._lacks = {t: np.asarray(v, np.int32) for t, v in lacks.items()}
        population: dict[str, list[int]] = defaultdict(list)
        for i, edges in enumerate(self.annotations):
            for v in {vocabulary(t) for t, e in edges.items() if e.sources != (SUBTYPE_SOURCE,)}:
                population[v].append(i)
        # a vocabulary too small to say what is common (or none: a LOCAL or unprefixed finding)
        # is weighed over all diseases, as before per-vocabulary weights
        self._population = {v: np.asarray(ix, np.int32) for v, ix in population.items()
                            if v and v != "LOCAL" and len(ix) >= MIN_VOCABULARY_DISEASES}
        # the background counts the diseases a source describes: a parent whose findings are lent
        # by its subtypes (SUBTYPE_SOURCE) has their patients, not patients of its own
        self._base = {t: np.asarray(v, np.int32) for t, v in base_d.items()}
        self._ic = {t: math.log(max(self._annotated_by(t), len(b)) / len(b)) for t, b in self._base.items()}

    # -- lookups --------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.diseases)

    def position(self, disease: str) -> int | None:
        return self._position.get(disease)

    def ancestors(self, term: str) -> frozenset[str]:
        """``term`` and every term above it along IS_A (memoised; cycles tolerated)."""
        hit = self._ancestors.get(term)
        if hit is not None:
            return hit
        out: set[str] = {term}
        stack = [term]
        while stack:
            for p in self.parents.get(stack.pop(), ()):
                if p not in out:
                    known = self._ancestors.get(p)
                    if known is not None:
                        out |= known
                    else:
                        out.add(p)
                        stack.append(p)
        result = frozenset(out)
        self._ancestors[term] = result
        return result

    def knows(self, term: str) -> bool:
        """Whether ``term`` can take part in matching (annotated, or in the hierarchy)."""
        return term in self._prop or term in self.parents or term in self._lacks

    def _annotated_by(self, term: str) -> int:
        """How many diseases carry any annotation in ``term``'s vocabulary: the population whose
        annotations can say whether a disease has the term (see :func:`vocabulary`); all diseases
        for a vocabulary of fewer than :data:`MIN_VOCABULARY_DISEASES`, ``LOCAL`` or none."""
        ix = self._population.get(vocabulary(term))
        return len(ix) if ix is not None else len(self.diseases)

    def ic(self, term: str) -> float:
        """Information content ``-log(fraction of diseases annotated with term or a descendant)``,
        the fraction taken over the diseases annotated in the term's vocabulary at all: SYMP terms
        come from the Disease Ontology's few hundred annotated diseases, and a disease no SYMP
        annotation describes says nothing about SYMP *tenderness* (over all diseases, the sparse
        vocabulary made its terms look rare, and a disease matching three of them outranked every
        HPO match). A term no disease is annotated under gets the IC of a term annotated to one."""
        return self._ic.get(term, math.log(self._annotated_by(term)))

    def group_weight(self, ids: Sequence[str]) -> float:
        """``1 / P(q)`` for a finding given as a group of equivalent terms (HP:0100749 *Chest
        pain*, SYMP *chest pain*, MESH *Chest Pain*): the fraction of diseases annotated at or
        below *any* member, among the diseases annotated in *any* member's vocabulary, so a
        finding's background does not depend on which vocabulary a disease's annotation came in
        (a vocabulary few diseases use would otherwise make its exact matches look rare and
        strong). Memoised."""
        key = tuple(sorted(set(ids)))
        hit = self._group_weights.get(key)
        if hit is None:
            postings = [self._base.get(e, _EMPTY.diseases) for e in key]
            covered = len(np.unique(np.concatenate(postings))) if postings else 0
            vocabularies = {vocabulary(e) for e in key}
            if vocabularies and all(v in self._population for v in vocabularies):
                population = len(np.unique(np.concatenate([self._population[v] for v in vocabularies])))
            else:
                population = len(self.diseases)
            hit = max(population, covered) / max(1, covered)
            self._group_weights[key] = hit
        return hit

    def posting(self, term: str) -> Posting:
        """Diseases annotated at or below ``term`` with ``F_D(term)``."""
        return self._prop.get(term, _EMPTY)

    def direct_posting(self, term: str) -> Posting:
        """Diseases annotated with exactly ``term``, with that annotation's frequency."""
        return self._direct.get(term, _EMPTY)

    def lacking(self, term: str) -> np.ndarray:
        """Positions of diseases annotated NOT to have ``term``."""
        return self._lacks.get(term, _EMPTY.diseases)

    def background(self, term: str) -> float:
        """Mean of ``F_D(term)`` over the diseases annotated in the term's vocabulary (see
        :meth:`ic`): the chance a random disease's patient has it."""
        p = self.posting(term)
        return float(p.freqs.sum()) / max(self._annotated_by(term), len(p.freqs)) if len(p.freqs) else 0.0

    def symptom_name(self, term: str) -> str:
        return self.symptom_names.get(term, term)

    def equivalents(self, term: str) -> tuple[str, ...]:
        """``term`` plus indexed terms of other vocabularies with the same normalised primary name
        (HP:0001945 'Fever', SYMP:0000613 'fever', MESH:D005334 'Fever'): the graph links a
        finding to diseases of every source, whichever vocabulary the finding came in."""
        name = self.symptom_names.get(term)
        if not name:
            return (term,)
        from extractors.linking.normalize import normalize

        same = [t for t in self.name_keys.get(normalize(name), ()) if t != term and normalize(self.symptom_names.get(t, "")) == normalize(name)]
        return (term, *sorted(same))

    def prior_vectors(self) -> PriorVectors:
        """The profiles as arrays over disease positions (built once, memoised)."""
        if self._prior_vectors is None:
            self._prior_vectors = PriorVectors.of(self.profiles, len(self.diseases))
        return self._prior_vectors

    def disease_positions(self, name: str) -> tuple[int, ...]:
        """Positions of the diseases whose name normalises as ``name`` does (the name key map is
        built once, memoised)."""
        from extractors.linking.normalize import normalize

        if self._disease_keys is None:
            keys: dict[str, list[int]] = defaultdict(list)
            for disease, disease_name in sorted(self.disease_names.items()):
                pos = self.position(disease)
                if pos is not None:
                    keys[normalize(disease_name)].append(pos)
            self._disease_keys = {k: tuple(v) for k, v in keys.items()}
        return self._disease_keys.get(normalize(name), ())

    def defined_by(self, term: str) -> tuple[int, ...]:
        """Positions of the diseases that bear the name of finding ``term`` (see
        :func:`_add_defining_findings`): what a history naming the finding ("known GERD", linked to
        *Gastroesophageal reflux*) names as a disease."""
        return (self._defined_by or {}).get(term, ())

    def profile(self, pos: int) -> Profile:
        return self.profiles[pos] if self.profiles else EMPTY

    def members(self, pos: int) -> tuple[int, ...]:
        """Positions ranked as one candidate with ``pos`` (itself included)."""
        if not len(self.group):
            return (pos,)
        return tuple(int(i) for i in np.flatnonzero(self.group == self.group[pos]))

    def stats(self) -> dict[str, int]:
        return {
            "diseases": len(self.diseases),
            "with_prior": sum(1 for p in self.profiles if p.per_100k is not None),
            "cant_miss": sum(1 for p in self.profiles if p.cant_miss),
            "grouped": int(len(self.group) - len(set(self.group.tolist()))) if len(self.group) else 0,
            "annotations": sum(len(a) for a in self.annotations),
            "absent_annotations": sum(len(a) for a in self.lacks),
            "symptoms_in_hierarchy": len(self.parents),
        }


MIN_VOCABULARY_DISEASES = 10
"""A vocabulary annotating fewer diseases than this gets no population of its own (its terms are
weighed over all diseases): a handful of diseases cannot tell a common finding from a rare one."""


def vocabulary(term: str) -> str:
    """The vocabulary of a finding id: its CURIE prefix (``HP``, ``SYMP``, ``MESH``...); ``""``
    for an id without one."""
    head, sep, _ = term.partition(":")
    return head if sep else ""


def _annotation(row: Mapping[str, object], *, absent: bool) -> Annotation:
    def num(key: str) -> float | None:
        v = row.get(key)
        return None if v is None else float(v)  # type: ignore[arg-type]

    return Annotation(
        disease=str(row["disease"]),
        symptom=str(row["symptom"]),
        frequency=None if absent else num("frequency"),
        weight=None if absent else num("weight"),
        curated=bool(row.get("curated")),
        evidence_count=int(row.get("evidence_count") or 1),  # type: ignore[call-overload]
        best_score=num("best_score") if row.get("best_score") is not None else 1.0,  # type: ignore[arg-type]
        sources=tuple(row.get("sources") or ()),  # type: ignore[arg-type]
        absent=absent,
    )


DEFINING_SOURCE = "defining-finding"
"""Provenance of the annotation a disease gets for the finding that bears its own name."""
_DISEASE_SUFFIX = (" disease", " disorder")


def _add_defining_findings(index: DiagnosisIndex) -> None:
    """A disease has the finding that bears its name: *hypertension* (DOID:10763) has the finding
    *Hypertension* (HP:0000822) in every patient, *gastroesophageal reflux disease* the finding
    *Gastroesophageal reflux*, *anemia* *Anemia*. HPO annotates such findings to the diseases that
    cause them, never to the disease they name, so a patient with a blood pressure of 180/95 or
    "acid reflux" matched every disease except hypertension or GERD. Each disease whose name
    (normalised, with a trailing "disease"/"disorder" dropped) is the primary name of an HPO term
    the index knows gets that term as an obligate annotation (frequency 1.0, stated), marked
    :data:`DEFINING_SOURCE`; an annotation it already has is kept as it is. Synonyms do not count
    (HPO lists "Bell's palsy" under *Facial palsy*, "overweight" under obesity terms: kinds and
    neighbours, not the same thing), nor do SYMP terms (their one shallow hierarchy would relate
    every SYMP finding to the new annotations through its root). :meth:`DiagnosisIndex.defined_by`
    lists, per term, every disease that bears its name, annotated before or not."""
    from extractors.linking.normalize import normalize

    defined: dict[str, list[int]] = defaultdict(list)
    for pos, disease in enumerate(index.diseases):
        key = normalize(index.disease_names.get(disease, ""))
        keys = {key} | {key.removesuffix(s) for s in _DISEASE_SUFFIX if key.endswith(s)}
        terms = sorted({t for k in keys if k for t in index.name_keys.get(k, ())
                        if t.startswith("HP:") and normalize(index.symptom_names.get(t, "")) in keys})
        for term in terms:
            if term in index.lacks[pos]:
                continue  # annotated NOT to have it: the annotation stands
            defined[term].append(pos)
            index.annotations[pos].setdefault(term, Edge(1.0, True, True, 1, (DEFINING_SOURCE,)))
    index._defined_by = {t: tuple(v) for t, v in defined.items()}


SUBTYPE_SOURCE = "subtypes"
"""Provenance of the findings a disease described mostly through its subtypes takes from them."""
MIN_OWN_FINDINGS = 5
"""A disease with fewer findings of its own than this takes its subtypes' findings (the issue's
coverage bar for a common disease is five findings)."""


def _parents_of(pairs: Iterable[tuple[str, str]]) -> dict[str, tuple[str, ...]]:
    """``(child, parent)`` IS_A pairs as child -> its parents (sorted; self-loops dropped), for
    symptoms and diseases alike."""
    out: dict[str, set[str]] = defaultdict(set)
    for child, parent in pairs:
        if child != parent:
            out[child].add(parent)
    return {c: tuple(sorted(p)) for c, p in out.items()}


def _add_subtype_findings(index: DiagnosisIndex, disease_is_a: Iterable[tuple[str, str]]) -> None:
    """A disease described through its subtypes takes their findings (Disease Ontology IS_A).

    The Disease Ontology's *diabetes mellitus* and *arthritis* have two findings each while type 2
    diabetes, osteoarthritis or gout have dozens, so a note naming "diabetic" or "arthritis"
    matched every disease but those. A disease whose equivalence group has fewer than
    :data:`MIN_OWN_FINDINGS` findings takes, for each finding it lacks, the mixture of its indexed
    subtypes' (found transitively; one per equivalence group, its members' findings merged):
    ``sum_c w_c F_c(t) / sum_c w_c``, each subtype weighted by its stated prevalence (the rare
    default, :data:`~kg.diagnosis.prior.DEFAULT_PER_100K`, for the others), i.e. ``P(t |
    parent)`` if a patient of the parent has one of the indexed subtypes with those relative
    frequencies. A subtype that is itself described through its own subtypes is left out of the
    mixture in their favour (its patients are theirs). Mixtures under ``MIN_FREQUENCY`` are left
    out; the lent edges are marked :data:`SUBTYPE_SOURCE` and do not count in any finding's
    background (:meth:`DiagnosisIndex.ic`, :meth:`~DiagnosisIndex.group_weight`): the parent's
    patients are its subtypes'. The parent's prior is not changed.

    Only upwards: the subtypes do not take the parent's defining finding. Tried on the dev sets
    (type 2 diabetes given *Diabetes mellitus*, essential hypertension *Hypertension*): notes top-3
    43 -> 41 %, vignettes unchanged, and the Disease Ontology files some kinds by name (pulmonary
    hypertension is a *hypertension*), which would have made systemic hypertension obligate for them.
    """
    from kg.diagnosis.prior import DEFAULT_PER_100K
    from kg.diagnosis.score import MIN_FREQUENCY
    from loaders.obo import below

    children: dict[str, set[str]] = defaultdict(set)
    for child, parent in disease_is_a:
        if child != parent:
            children[parent].add(child)
    if not children:
        return

    @cache
    def subtypes_of(d: str) -> frozenset[str]:
        return frozenset(below(children, d))

    own = [dict(edges) for edges in index.annotations]
    group = index.group if len(index.group) else np.arange(len(index.diseases), dtype=np.int32)
    members: dict[int, list[int]] = defaultdict(list)
    for pos, g in enumerate(group.tolist()):
        members[g].append(pos)

    @cache
    def terms_of(g: int) -> dict[str, float]:
        merged: dict[str, float] = {}
        for m in members[g]:
            for term, edge in own[m].items():
                merged[term] = max(merged.get(term, 0.0), edge.frequency)
        return merged

    def prevalence(g: int) -> float:
        stated = [index.profile(m).per_100k for m in members[g] if index.profile(m).per_100k is not None]
        return max(stated) if stated else DEFAULT_PER_100K  # type: ignore[type-var]

    def sparse(g: int) -> bool:
        return len(terms_of(g)) < MIN_OWN_FINDINGS

    for pos, disease in enumerate(index.diseases):
        if disease not in children or not sparse(int(group[pos])):
            continue
        subtypes: dict[int, dict[str, float]] = {}
        for d in sorted(subtypes_of(disease)):
            sub = index.position(d)
            if sub is None or group[sub] == group[pos] or int(group[sub]) in subtypes:
                continue
            if d in children and sparse(int(group[sub])) and any(index.position(x) is not None for x in subtypes_of(d)):
                continue  # a middle node described through its own subtypes: they stand for it
            subtypes[int(group[sub])] = terms_of(int(group[sub]))  # cached: read, never changed
        weights = {g: prevalence(g) for g in subtypes}
        total = sum(weights.values())
        mixed: dict[str, float] = defaultdict(float)
        for g in sorted(subtypes):
            for term, f in subtypes[g].items():
                mixed[term] += weights[g] * f / total
        for term, f in sorted(mixed.items()):
            if f >= MIN_FREQUENCY and term not in own[pos] and term not in index.lacks[pos]:
                index.annotations[pos][term] = Edge(min(1.0, f), False, True, 1, (SUBTYPE_SOURCE,))


def _name_keys(names: Mapping[str, str], synonyms: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    from extractors.linking.normalize import normalize

    keys: dict[str, list[str]] = defaultdict(list)
    for term, name in names.items():
        for text in (name, *synonyms.get(term, ())):
            k = normalize(text) if text else ""
            if k and term not in keys[k]:
                keys[k].append(term)
    return {k: tuple(sorted(v)) for k, v in keys.items()}


def _groups(
    diseases: Sequence[str], position: Mapping[str, int], xrefs: Mapping[str, Sequence[str]],
    profiles: Mapping[str, Profile], names: Mapping[str, str],
) -> tuple[np.ndarray, list[Profile]]:
    """Equivalence groups, and each disease's own profile.

    An indexed non-DOID id (OMIM, ORPHA, MESH...) joins the group of an *indexed* DOID that lists
    it as an xref only when their names share a content word ("Marfan syndrome" / "Marfan
    syndrome", "migraine" / "Migraine with or without aura, susceptibility to, 1"): Disease
    Ontology xrefs hold loose and wrong matches (coronary artery disease lists OMIM:614293
    "Hydatidiform mole, recurrent, 2"), and two different diseases must never become one
    candidate. Among several DOIDs claiming an id, one with a profile wins, then the one with the
    fewest xrefs (the most specific), then the lowest id. Two DOIDs are never merged.

    Profiles are not propagated: a group member keeps its own (usually none, i.e. the rare-disease
    default), so a loose xref never lends a common disease's prior, age range or can't-miss flag
    to another entry; the group ranks by its best member's total score, the DOID's prior included.
    """
    group = np.arange(len(diseases), dtype=np.int32)
    words = {d: _name_words(names.get(d, "")) for d in diseases}
    owner: dict[str, str] = {}
    claimants = sorted((d for d in xrefs if d.startswith("DOID:") and d in position),
                       key=lambda d: (d not in profiles, len(xrefs[d]), d))
    for doid in claimants:
        for x in xrefs[doid]:
            if x in position and x not in owner and not x.startswith("DOID:") and words[x] & words[doid]:
                owner[x] = doid
    members: dict[str, list[str]] = defaultdict(list)
    for x, doid in owner.items():
        members[doid].append(x)
    for doid, ids in members.items():
        ids = sorted({*ids, doid})
        rep = min(position[i] for i in ids)
        for i in ids:
            group[position[i]] = rep
    return group, [profiles.get(d, EMPTY) for d in diseases]


_GENERIC_NAME_WORDS = frozenset("""disease disorder syndrome type form deficiency susceptibility familial hereditary
congenital autosomal dominant recessive linked primary secondary acute chronic of the and with without to in or
a an due""".split())


def _name_words(name: str) -> frozenset[str]:
    """Content words of a disease name for the xref name check (generic words like "syndrome" or
    "type" and numbers do not count)."""
    from extractors.linking.normalize import normalize

    return frozenset(w for w in normalize(name).split() if w not in _GENERIC_NAME_WORDS and not w.isdigit() and len(w) > 2)
