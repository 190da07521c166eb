"""Turn what a user gives (CURIEs, names, free text) into the finding ids the index knows.

* A CURIE is used as given (prefix case-folded to the vocabulary's: ``hp:0001166`` -> ``HP:0001166``).
* A name is looked up exactly (normalised) among the graph's symptom names and synonyms, then
  through the extraction linker (:class:`extractors.linking.Linker`, which knows HPO synonyms,
  misspellings within its approximate threshold, and cross-references); a linked concept counts
  when it, or one of its xrefs, is a symptom the index holds.
* Free text runs through the extraction pipeline (NER, ConText assertion, linking): present
  Symptom and Disease mentions become findings (a disease named as a finding, e.g. 'ectopia
  lentis', is looked up as a symptom), negated ones become exclusions; possible, hypothetical,
  historical and family mentions are left out and said so in the report's notes. Vital signs
  written as numbers ("BP: 169/74", "SpO2 89%") outside the adult reference ranges become
  findings too (:mod:`extractors.vitals`: Hypertension, Fever, Tachycardia...), and so do
  laboratory values outside their reference limits (:mod:`extractors.labs`: "Hb 8.7 g/dL" ->
  Anemia, "K 2.8 mmol/L" -> Hypokalemia).

Nothing is dropped silently: whatever cannot be resolved is returned as :class:`Unresolved`.
The text itself is never logged.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from functools import cache
from typing import TYPE_CHECKING

from kg.diagnosis import wording
from kg.diagnosis.index import DiagnosisIndex
from kg.diagnosis.report import FindingRole, ResolvedFinding, Unresolved
from kg.diagnosis.resolution import Deadline, Resolution, add, listed, prefer
from kg.diagnosis.untagged import UntaggedFindings
from schema.records import Assertion, Document, EntityType, Extractor

if TYPE_CHECKING:
    from extractors.linking import Linker


CURIE = re.compile(r"^([A-Za-z][A-Za-z0-9_.]*):(\S+)$")
_PREFIXES = {p.lower(): p for p in ("HP", "SYMP", "MESH", "SNOMEDCT", "UMLS", "LOCAL", "DOID", "OMIM", "ORPHA")}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


_LOADING = threading.Lock()
"""One model load at a time: two first callers (the API's warm-up and a request) wait for one
build instead of both building."""


def default_linker() -> Linker:
    """The linker over the default KB (built from installed packages on first use, then cached)."""
    with _LOADING:
        return _default_linker()


@cache
def _default_linker() -> Linker:
    from extractors.linking import Linker

    return Linker.load()


def default_extractor() -> Extractor:
    """The shipped extraction pipeline without relation extraction (findings need mentions only),
    built once per process and run once on a word, so its models are loaded here and not inside
    the first ranking's time limit (:func:`~kg.diagnosis.rank_diagnoses` asks for it before its
    clock starts)."""
    with _LOADING:
        return _default_extractor()


@cache
def _default_extractor() -> Extractor:
    from extractors.config import PipelineConfig
    from extractors.pipeline import ExtractionPipeline

    # findings the linker finds ambiguous are still linked: the user sees (and can correct) each
    # finding, and an unlinked one would be re-resolved by name anyway
    process = ExtractionPipeline(PipelineConfig(re_model=None, keep_unlinked=True, link_ambiguity_margin=0.0,
                                                link_senses=False)).process
    process([Document(id="warm-up", source_format="text", kind="clinical_note", text="Fever.")])
    return process


def _linker_of(extractor: object) -> Linker | None:
    """Reuse the linker inside an ExtractionPipeline (or its bound ``process``) when given one."""
    owner = getattr(extractor, "__self__", extractor)
    nlp = getattr(owner, "nlp", None)
    if nlp is not None and "medkg_linker" in getattr(nlp, "pipe_names", ()):
        return nlp.get_pipe("medkg_linker").linker  # type: ignore[no-any-return]
    return None


def clean(value: str) -> str:
    return " ".join(_CONTROL.sub(" ", value).split())


def canonical_curie(value: str) -> str | None:
    m = CURIE.match(value)
    if m is None or " " in value:
        return None
    prefix = _PREFIXES.get(m.group(1).lower(), m.group(1))
    return f"{prefix}:{m.group(2)}"


def _canonical_symptom(curie: str) -> str:
    """The id the canonical concept rule (:mod:`extractors.linking.canonical`) writes a Symptom under."""
    from extractors.linking.canonical import default_canonical_ids

    return default_canonical_ids().resolve("Symptom", curie)


class Resolver(UntaggedFindings):
    """Resolves inputs against one index; the linker is loaded only when a name needs it."""

    def __init__(self, index: DiagnosisIndex, *, linker: Linker | None = None,
                 deadline: Deadline | None = None) -> None:
        self.index = index
        self._linker = linker
        self.deadline = deadline or Deadline()

    @property
    def linker(self) -> Linker:
        if self._linker is None:
            self._linker = default_linker()
        return self._linker

    def resolve(self, value: str, role: FindingRole, *, via_text: bool = False) -> ResolvedFinding | Unresolved:
        self.deadline.check()
        curie = canonical_curie(value)
        if curie is not None:
            if self.index.knows(curie):
                return self._found(value, role, curie, "text" if via_text else "curie")
            folded = _canonical_symptom(curie)  # an id the graph keeps under another (MESH:D014717 -> HP:0002321)
            if folded != curie and self.index.knows(folded):
                return self._found(value, role, folded, "text" if via_text else "curie")
            return Unresolved(input=value, role=role, reason=f"{curie} is not a symptom annotated or placed in the graph's hierarchy")
        return self.resolve_name(value, role, via_text=via_text)

    def resolve_name(self, value: str, role: FindingRole, *, via_text: bool = False,
                     context: str = "") -> ResolvedFinding | Unresolved:
        """A name as a symptom of the index: the name itself, then without leading modifiers
        ("bilateral", "severe", "sudden"...: :data:`~extractors.linking.nonconcepts.MODIFIERS`), then
        without what follows its head, cut at each word of :data:`wording.POSTMODIFIER` from the last to
        the first ("shortness of breath on exertion" -> "shortness of breath", "pitting edema of the
        bilateral lower extremities" -> "pitting edema", "effusion noted around the right knee" ->
        "effusion"), then the trailing words of the shortest such head, then each stretch between
        two such words ("a band of grouped vesicles on a red base" -> "grouped vesicles"), then the
        trailing words of the whole name
        ("ankle edema" -> "edema", "petechial rash on both legs" -> "petechial rash", "episodes of
        vomiting" -> "vomiting"), so a modifier never pulls a finding to another concept and an
        unknown qualifier falls back to the broader finding, marked ``via`` ``*-broader``. A name
        that holds such a word ("shortness of breath", "loss of appetite") is tried whole, with
        and without its modifiers, before any cut."""
        from extractors.linking.nonconcepts import MODIFIERS
        from extractors.linking.normalize import normalize

        words = normalize(value).split()
        if not words:  # "?": nothing to look up
            return self._resolve_name(value, role, via_text=via_text, context=context)
        core = list(words)
        while len(core) > 1 and core[0] in MODIFIERS:
            core.pop(0)
        # "pain in the right lower quadrant" -> "right lower quadrant pain"; never for a denial ("no RLQ
        # pain" is no sign) nor an excluded finding (denying pain at one site denies no region)
        reordered = wording.site_first(core) if wording.POLARITY.isdisjoint(words) else None  # "ulcer on his foot" -> "foot ulcer"
        present = role is FindingRole.PRESENT and wording.POLARITY.isdisjoint(words)
        sited = reordered if present and core[0] in wording.SITED else None
        regional = (wording.regional(core, whole=True) or (wording.regional(sited, whole=True) if sited else None)) if present else None
        if regional is not None or sited:  # "RLQ pain": the site's own name exactly, else its region's finding
            for name in (value, " ".join(sited or ())):
                exact = self._resolve_name(name, role, via_text=via_text, min_score=1.0, context=context) if name else None
                if isinstance(exact, ResolvedFinding):
                    return exact.model_copy(update={"input": value})
            found = (self._resolve_name(regional, role, via_text=via_text, min_score=1.0, context=context)
                     if regional else None)
            if isinstance(found, ResolvedFinding):
                return found.model_copy(update={"input": value, "via": found.via + "-broader"})
        ending = wording.phrase_ending(core)  # "2 mm horizontal ST depression" is ST segment depression, not Depression
        if ending is not None:
            exact = self._resolve_name(value, role, via_text=via_text, min_score=1.0, context=context)
            if isinstance(exact, ResolvedFinding):
                return exact  # a name of its own first ("penetrating foot ulcers")
            found = self._resolve_name(ending, role, via_text=via_text, min_score=1.0, context=context)
            if isinstance(found, ResolvedFinding):
                return found.model_copy(update={"input": value, "via": found.via + "-broader"})
        if not wording.NOT_THE_FINDING.isdisjoint(words):  # "fear of gaining weight" is no weight gain: its own name only
            return self._resolve_name(value, role, via_text=via_text, min_score=1.0, context=context)
        first = self._resolve_name(value, role, via_text=via_text, context=context)
        if not isinstance(first, Unresolved):
            return first
        core = wording.plain(core)
        whole = " ".join(core)
        tries = [whole] if core != words else []
        tries += [" ".join(reordered)] if reordered else []
        cuts = [k for k, w in enumerate(core) if k and w in wording.POSTMODIFIER]
        heads = [core[:k] for k in reversed(cuts)]
        tries += [" ".join(h) for h in heads]  # the head without what is said about it
        tries += [" ".join(heads[-1][k:]) for k in range(1, len(heads[-1]))] if heads else []  # its closest words
        for a, b in zip(cuts, [*cuts[1:], len(core)]):  # "band of [grouped vesicles] on a red base"
            part = core[a + 1:b]
            while part and (part[0] in wording.DETERMINERS or part[0] in MODIFIERS):
                part = part[1:]
            tries += [" ".join(part)] if part else []
        tries += [" ".join(core[k:]) for k in range(1, len(core))]  # then trailing words anywhere
        for attempt in dict.fromkeys(tries):
            found = self._resolve_name(attempt, role, via_text=via_text, context=context)
            if isinstance(found, ResolvedFinding):
                broader = attempt != whole
                return found.model_copy(update={"input": value, "via": found.via + ("-broader" if broader else "")})
        return first

    def _resolve_name(self, value: str, role: FindingRole, *, via_text: bool = False,
                      min_score: float | None = None, context: str = "") -> ResolvedFinding | Unresolved:
        """The graph's own names, then the linker's candidates down to ``min_score`` (default: the
        linker's threshold; 1.0 takes exact matches only). A candidate whose name says more than
        the text (:func:`~extractors.linking.linker.adds_words`; ``context`` = the words next to
        the mention, which may complete a span cut short) is passed over."""
        from extractors.linking.linker import adds_words, qualifier_variants
        from extractors.linking.normalize import normalize

        self.deadline.check()
        key = normalize(value)
        if not key:
            return Unresolved(input=value, role=role, reason="no letters or digits to look up")
        # "elevated blood sugar levels" is named as "elevated blood sugar" (Hyperglycemia)
        short = key.rsplit(" ", 1)[0] if key.endswith(" level") else None
        variants = qualifier_variants(short or value)  # "low hemoglobin" is named "decreased haemoglobin"

        def keys() -> Iterator[tuple[str, bool]]:
            """Exact lookups in order, lazily: (name key, HPO terms only)."""
            yield key, False
            if short is not None:
                yield short, False
            phrase = wording.phrases().get(key) or wording.phrases().get(short or "")  # "thyromegaly" is HPO's Goiter
            if phrase is not None:
                yield normalize(phrase), False
            said = value.split()
            if said and said[-1].lower().endswith(wording.SIBILANT_PLURALS):  # "rashes": normalize keeps "rashe"
                yield normalize(" ".join([*said[:-1], said[-1][:-2]])), False  # the singular is the same finding
            if said and len(said[-1]) > 5 and said[-1].lower().endswith("ies"):  # "allergies": normalize keeps "allergie"
                yield normalize(" ".join([*said[:-1], said[-1][:-3] + "y"])), False
            # "wheezes" is named "wheezing"; HPO terms only: a form-made match on a generic term of
            # another vocabulary ("tender" -> SYMP's 'tenderness') matches no disease's more specific
            # HPO annotation and only lowered the vignettes' ranks (cellulitis 18 -> 40)
            yield from ((normalize(form), True) for form in wording.word_forms(value))
            yield from ((variant, False) for variant in variants)

        for name_key, hp_only in keys():
            hits = [t for t in self.index.name_keys.get(name_key, ())
                    if (not hp_only or t.startswith("HP:")) and self.index.knows(t)]
            if hits:
                return self._found(value, role, prefer(hits), "text" if via_text else "name")
        for cands in (self.linker.link_many(variants, labels=[EntityType.SYMPTOM] * len(variants), k=3, fuzzy=False)
                      if variants else ()):
            for cand in cands:
                known = [cid for cid in (cand.concept_id, *cand.xrefs) if self.index.knows(cid)]
                if cand.score >= 1.0 and known:
                    return self._found(value, role, known[0], "text" if via_text else "linker")
        linked_elsewhere = None
        bar = self.linker.threshold if min_score is None else min_score
        for cand in self.linker.link_many([value], labels=[EntityType.SYMPTOM], k=10, fuzzy=bar < 1.0)[0]:
            if cand.score < bar:
                break
            if adds_words(value, cand, context=context):  # "tenderness" is not Scalp tenderness
                continue
            if self._word_acronym(value, cand.concept_id, normalize(cand.matched)):  # "odd taste" is not ODD
                continue
            for cid in (cand.concept_id, *cand.xrefs):
                if self.index.knows(cid):
                    return self._found(value, role, cid, "text" if via_text else "linker")
            if linked_elsewhere is None and cand.label is EntityType.SYMPTOM:
                linked_elsewhere = f"{cand.concept_id} ({cand.name})"
        reason = (
            f"linked to {linked_elsewhere}, which no disease in the graph is annotated with"
            if linked_elsewhere else "no symptom concept matches this name"
        )
        return Unresolved(input=value, role=role, reason=reason)

    def _completed(self, text: str, start: int | None, end: int | None, role: FindingRole) -> ResolvedFinding | None:
        """The longest exact finding name made of the mention and up to :data:`wording.NEIGHBOURS` words
        next to it (:func:`wording.neighbours`), tried whole, then without leading modifiers and
        "positive", with clinical shorthand spelled out (:data:`wording.CLINICAL_PHRASES`): the tagger cut
        "CVA tenderness" to "tenderness" or "Positive CVA". Never through a word of absence or
        normality (:data:`wording.POLARITY`: "Negative CVA tenderness" is no sign). ``None`` when no such
        longer name exists (the mention is resolved as is)."""
        from extractors.linking.nonconcepts import MODIFIERS
        from extractors.linking.normalize import normalize

        if start is None or end is None:
            return None
        before, after = wording.neighbours(text, start, end)
        mention = text[start:end]
        size = len(normalize(mention).split())
        tries = sorted(((i, j) for i in range(len(before) + 1) for j in range(len(after) + 1) if i or j),
                       key=lambda ij: -(ij[0] + ij[1]))
        regional: str | None = None
        for i, j in tries:
            words = normalize(" ".join([*before[len(before) - i:], mention, *after[:j]])).split()
            if wording.POLARITY.intersection(words):
                continue  # "Negative CVA tenderness", "normal JVD": not a present sign
            core = list(words)
            while len(core) > 1 and (core[0] in wording.LEADING or core[0] in MODIFIERS):
                core.pop(0)
            # a modifier never pulls a finding to another concept ("progressive weakness" is
            # weakness), so a phrase is tried whole only when it does not start with one
            # ("decreased breath sounds"), else without them ("Positive CVA tenderness")
            phrase = " ".join(core)
            phrase = wording.phrases().get(phrase, phrase)
            if phrase in wording.CLINICAL_PHRASES.values() or len(core) > size:
                found = self._exact(phrase, role)
                if found is not None:
                    return found.model_copy(update={"input": mention})
                if size == 1 and not j and role is FindingRole.PRESENT:  # a bare "pain" and the words before it
                    regional = regional or wording.regional(words)  # core is a suffix of words: no other site
        # "periumbilical pain" cut to "pain": the region's finding (Abdominal pain), once no exact
        # name was found ("has epigastric pain" is Epigastric pain, a name of its own); not for an
        # exclusion ("no RLQ pain" denies no region)
        found = self._exact(regional, role) if regional else None
        return found.model_copy(update={"input": mention, "via": found.via + "-broader"}) if found is not None else None

    def _exact(self, value: str, role: FindingRole) -> ResolvedFinding | None:
        """``value`` as a finding the index knows, by an exact (normalised) name only: the graph's
        own names, then an exact match of the linker, then the same for its :func:`wording.plain` words;
        ``None`` otherwise."""
        from extractors.linking.normalize import normalize

        found = self._resolve_name(value, role, via_text=True, min_score=1.0)
        if not isinstance(found, ResolvedFinding):
            words = normalize(value).split()
            plain = wording.plain(words, sides=False)  # an exact name keeps its side ("right bundle branch block")
            if plain != words:
                found = self._resolve_name(" ".join(plain), role, via_text=True, min_score=1.0)
                found = found.model_copy(update={"input": value}) if isinstance(found, ResolvedFinding) else None
        return found if isinstance(found, ResolvedFinding) else None

    def _word_acronym(self, text: str, concept_id: str, key: str | None = None) -> bool:
        """Whether ``concept_id`` was reached from ``text`` only by an acronym of it that the text
        writes in lower case as an ordinary English word (:data:`wording.WORD_ACRONYMS`: "odd taste" ->
        ODD, "put it all down" -> ALL), and by no other of its names; ``key``: only the acronyms
        that normalise to it (the name a linker candidate matched). "copd" keeps its link."""
        from extractors.linking.normalize import normalize

        entry = self.linker.kb.get(concept_id)
        if entry is None:
            return False
        said = normalize(text)
        if any(normalize(n) == said for n in entry.names if not wording.ACRONYM.fullmatch(n)):
            return False  # the text is one of its full names
        if key is not None and any(normalize(n) == key and not wording.ACRONYM.fullmatch(n) for n in entry.names):
            return False  # the candidate matched a full name too
        written = set(re.findall(r"[\w-]+", text))
        return any(wording.ACRONYM.fullmatch(n) and (key is None or normalize(n) == key) and n.lower() in wording.WORD_ACRONYMS
                   and n.lower() in written and n not in written for n in entry.names)

    def _disease_named(self, text: str, concept_id: str | None, *, historical: bool = False) -> tuple[int, ...]:
        """The index positions of the disease a mention names: its linked concept or one of the
        concept's xrefs in the linker's KB (loaded if need be) where the index ranks that id,
        else, for a ``historical`` mention, the diseases that bear the name of the finding it is
        linked to (:meth:`DiagnosisIndex.defined_by`) with those whose name is the mention's text,
        else the latter alone (normalised); ``()`` when none. A present mention of a finding is
        not a disease named: it counts through the finding (the defining annotation)."""
        from extractors.linking.normalize import normalize

        ids: tuple[str, ...] = ()
        if concept_id is not None:
            entry = self.linker.kb.get(concept_id)
            ids = (concept_id, *(entry.xrefs if entry is not None else ()))
            for cid in ids:
                pos = self.index.position(cid)
                if pos is not None:
                    return (pos,)
        by_name = self.index.disease_positions(text)
        if historical:  # "history of reflux" -> Gastroesophageal reflux -> GERD (a present finding counts as one)
            for cid in (*ids, *self.index.name_keys.get(normalize(text), ())):
                defined = self.index.defined_by(cid)
                if defined:
                    return tuple(dict.fromkeys((*defined, *by_name)))
        return by_name

    def _coordinated(self, text: str) -> list[str]:
        """The conjuncts of a mention the tagger took as one span, unless the whole is a name the
        graph knows ("nausea and vomiting" is one finding)."""
        from extractors.linking.normalize import normalize

        parts = wording.coordinated_parts(text)
        if not parts or any(self.index.knows(t) for t in self.index.name_keys.get(normalize(text), ())):
            return []
        return parts

    def _found(self, value: str, role: FindingRole, cid: str, via: str) -> ResolvedFinding:
        eq = self.index.equivalents(cid)
        return ResolvedFinding(
            input=value, role=role, concept_id=cid, name=self.index.symptom_name(cid), via=via,
            equivalents=tuple(t for t in eq if t != cid and self.index.knows(t)),
        )

    def resolve_text(self, text: str, extractor: Extractor, out: Resolution, *, age: int | None = None,
                     sex: str | None = None) -> None:
        self.deadline.check()  # the model pass is not interrupted: not started when the time is spent
        doc = Document(id="diagnosis-query", source_format="text", kind="clinical_note", text=text)
        (processed,) = extractor([doc])
        from extractors.linking.nonconcepts import non_concept_reason

        ignored: list[str] = []
        for m in processed.mentions:
            if m.label is EntityType.DRUG:
                continue
            self.deadline.check()
            why = non_concept_reason(m.text, maneuvers=True)
            role = {Assertion.PRESENT: FindingRole.PRESENT, Assertion.NEGATED: FindingRole.EXCLUDED}.get(m.assertion)
            completed = self._completed(text, m.start, m.end, role) if why is None and role is not None else None
            if (completed is None and why is None and role is not None and m.end is not None
                    and m.text.strip().lower() in wording.SITED):  # "[pain] in her right hip"
                sites = [f.model_copy(update={"input": m.text}) for f in self._site_after(text, m.end, role)]
                completed = sites[0] if sites else None
                for other in sites[1:]:
                    add(out, other)
            # "PR depression": the words around the mention make it a sign that names no disease
            sign = completed is not None and not self.index.defined_by(completed.concept_id)
            acronym = m.concept_id is not None and self._word_acronym(m.text, m.concept_id)  # "odd" -> ODD
            named = False
            if why is None and not sign and not acronym and m.assertion in (Assertion.PRESENT, Assertion.HISTORICAL):
                for pos in self._disease_named(m.text, m.concept_id, historical=m.assertion is Assertion.HISTORICAL):
                    out.named.setdefault(pos, []).append(f"{m.text} ({m.assertion.value})")
                    named = True
            if why is None and wording.feared(text, m.start, m.end):
                why = "feared or at risk, not had"  # "fear of [gaining weight]", "risk of [falls]"
            if why is not None:  # "Sudden" alone, "Elevated", "Gastrointestinal:", "Blood Pressure"
                ignored.append(f"{m.text!r} ({why})")
                continue
            if role is None:
                ignored.append(f"{m.text!r} ({m.assertion.value})")
                continue
            result: ResolvedFinding | Unresolved | None = completed
            absent = wording.absent_function(m.text) if role is FindingRole.EXCLUDED else None
            if absent is not None:  # "no periods for 4 months": Amenorrhea
                result = self._exact(absent, FindingRole.PRESENT)
                result = result.model_copy(update={"input": m.text}) if result is not None else None
            if result is None and why is None:  # a clinical phrase said whole wins over the tagger's link
                result = self._phrased(m.text, role)  # ("right eye twitch" is eyelid twitching, not *Tetany*)
            if (result is None and m.concept_id is not None and m.label is EntityType.SYMPTOM
                    and self.index.knows(m.concept_id) and not acronym
                    and wording.NOT_THE_FINDING.isdisjoint(m.text.lower().split())):  # "fear of gaining weight"
                result = self._found(m.text, role, m.concept_id, "text")
            if result is None and m.concept_id is None:
                # "slowness of movement and small handwriting": two findings, not one; only conjuncts
                # that name a finding exactly are used (a loose match of a leftover word such as
                # "feet" in "pain in hands and feet" would be some other finding)
                parts = self._coordinated(m.text)
                exact = [self._exact(p, role) for p in parts]
                if any(r is not None for r in exact):
                    for part, r in zip(parts, exact, strict=True):
                        add(out, r if r is not None else Unresolved(
                            input=part, role=role, reason="a conjunct of a coordinated mention that names no finding exactly"))
                    continue
            if result is None:
                result = self.resolve_name(m.text, role, via_text=True, context=wording.around(text, m.start, m.end))
            if (role is FindingRole.EXCLUDED and isinstance(result, ResolvedFinding)
                    and self.index.defined_by(result.concept_id) and wording.history_negated(text, m.start, m.end)):
                # "no prior kidney stones" says the patient never had the disease before, not that
                # this episode is not one: the finding that names a disease is not excluded
                ignored.append(f"{m.text!r} (negated history of a finding that names a disease)")
                continue
            if (named and m.label is EntityType.DISEASE and isinstance(result, ResolvedFinding)
                    and result.via.endswith("-broader")):
                # "lung cancer" counts as the disease named; only a word of it is a finding
                # (*Neoplasm*), which every tumour syndrome has
                ignored.append(f"{m.text!r} (a disease named; only part of its name is a finding)")
                continue
            add(out, result)
        if ignored:
            out.notes.append("not used as findings: " + listed(ignored))
        self.resolve_untagged(text, [(m.start, m.end) for m in processed.mentions if m.start is not None and m.end is not None], out)
        self.resolve_vitals(text, out, age=age)
        self.resolve_labs(text, out, age=age, sex=sex)

    def resolve_labs(self, text: str, out: Resolution, *, age: int | None = None, sex: str | None = None) -> None:
        """Laboratory values of the text outside their reference limits ("Hb 8.7 g/dL", "K 2.8
        mmol/L") as present findings (:mod:`extractors.labs`), ``via`` ``labs``; the input shown is
        the value, not the text. ``sex`` other than female/male reads with the limits for either."""
        from extractors.labs import abnormal_lab_findings

        for reading, concept_id, _name in abnormal_lab_findings(
                text, age=age, sex=sex if sex in ("female", "male") else None):  # type: ignore[arg-type]
            self._add_reading(out, concept_id, reading.describe, "labs")

    def resolve_vitals(self, text: str, out: Resolution, *, age: int | None = None) -> None:
        """Abnormal vital-sign readings of the text ("BP: 169/74") as present findings
        (:mod:`extractors.vitals`), ``via`` ``vitals``; the input shown is the reading, not the text."""
        from extractors.vitals import abnormal_findings

        for v in abnormal_findings(text, age=age):
            self._add_reading(out, v.concept_id, v.describe, "vitals")

    def _add_reading(self, out: Resolution, concept_id: str, describe: str, via: str) -> None:
        found = self.resolve(concept_id, FindingRole.PRESENT)
        update = {"input": describe, "via": via} if isinstance(found, ResolvedFinding) else {"input": describe}
        add(out, found.model_copy(update=update))


def resolve_all(
    index: DiagnosisIndex,
    *,
    text: str | None,
    findings: Sequence[str],
    excluded: Sequence[str],
    extractor: Extractor | None,
    age: int | None = None,
    sex: str | None = None,
    deadline: Deadline | None = None,
) -> Resolution:
    """Resolve everything, then drop duplicates and findings given both present and excluded.
    Raises :class:`DiagnosisTimeoutError` once ``deadline`` is spent."""
    out = Resolution()
    linker = _linker_of(extractor) if extractor is not None else None
    resolver = Resolver(index, linker=linker, deadline=deadline)
    for values, role in ((findings, FindingRole.PRESENT), (excluded, FindingRole.EXCLUDED)):
        for value in values:
            add(out, resolver.resolve(value, role))
    if text:
        resolver.resolve_text(text, extractor or default_extractor(), out, age=age, sex=sex)
    present = {f.concept_id for f in out.findings}
    absent = {f.concept_id for f in out.excluded}
    conflict = present & absent
    if conflict:
        out.notes.append(
            "given both present and absent, so not used: " + ", ".join(sorted(conflict))
        )
    out.findings = _dedupe([f for f in out.findings if f.concept_id not in conflict])
    out.excluded = _dedupe([f for f in out.excluded if f.concept_id not in conflict])
    return out


def _dedupe(items: list[ResolvedFinding]) -> list[ResolvedFinding]:
    seen: set[str] = set()
    kept = []
    for f in items:
        if f.concept_id not in seen:
            seen.add(f.concept_id)
            kept.append(f)
    return kept
