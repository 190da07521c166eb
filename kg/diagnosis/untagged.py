"""The resolver's part for findings said around or outside the tagger's mentions: a pain said
before its sites ("pain in her right hip and groin region"), a clinical phrase said whole, and the
scan of the words no mention covers (:mod:`kg.diagnosis.scan`). Mixed into
:class:`kg.diagnosis.findings.Resolver`, whose exact lookups (``_exact``, ``_found``,
``_word_acronym``), ``index`` and ``deadline`` it uses."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING

from kg.diagnosis import scan, wording
from kg.diagnosis.report import FindingRole, ResolvedFinding
from kg.diagnosis.resolution import Deadline, Resolution, add, listed, prefer
from schema.records import Assertion

if TYPE_CHECKING:
    from kg.diagnosis.index import DiagnosisIndex


class UntaggedFindings:
    """Mixin of :class:`~kg.diagnosis.findings.Resolver`."""

    index: DiagnosisIndex
    deadline: Deadline

    def _exact(self, value: str, role: FindingRole) -> ResolvedFinding | None:
        raise NotImplementedError

    def _found(self, value: str, role: FindingRole, cid: str, via: str) -> ResolvedFinding:
        raise NotImplementedError

    def _word_acronym(self, text: str, concept_id: str, key: str | None = None) -> bool:
        raise NotImplementedError

    def resolve_untagged(self, text: str, tagged: Sequence[tuple[int, int]], out: Resolution) -> None:
        """Findings in the words no mention covers (``tagged``: the mentions' offsets), by an exact
        name only (:mod:`kg.diagnosis.scan`), ``via`` ``scan`` (``scan-broader`` for a pain's
        region), with their assertion from the ConText rules over the pipeline's own sentences
        (:func:`schema.sentences.sentence_spans`: "Denies:\nmurmur" is one); those neither present
        nor negated are listed in the notes. At most :data:`scan.MAX_FOUND` matches are used."""
        from extractors.assertion.component import default_engine, default_pipeline
        from schema.sentences import sentence_spans

        found: list[tuple[scan.Stretch, ResolvedFinding]] = []
        end = -1  # where the last match ends: stretches come in start order, each start's longest first
        for run in scan.runs(text, tagged):
            for stretch in scan.stretches(run, edge_words=_edge_words()):
                if stretch.start < end:
                    continue  # inside a longer match already made
                self.deadline.check()
                if len(found) >= scan.MAX_FOUND:
                    break
                results = self._scanned(text, stretch)
                if results and not wording.feared(text, stretch.start, stretch.end):
                    found.extend((stretch, r) for r in results)
                    end = stretch.end
        if not found:
            return
        self.deadline.check()
        doc = default_pipeline().make_doc(text)
        starts = {s for s, _ in sentence_spans(text)}
        flags = [t.i == 0 or t.idx in starts for t in doc]
        spans = [doc.char_span(s.start, s.end, alignment_mode="expand") for s, _ in found]
        kept = [(f, span) for f, span in zip(found, spans, strict=True) if span is not None]
        results = default_engine().analyse(doc, [span for _, span in kept], sent_starts=flags) if kept else []
        ignored: list[str] = []
        for ((stretch, result), _), res in zip(kept, results, strict=True):
            said = " ".join(stretch.words)
            role = {Assertion.PRESENT: FindingRole.PRESENT, Assertion.NEGATED: FindingRole.EXCLUDED}.get(res.assertion)
            if said in wording.ABSENT_FUNCTIONS:  # the function itself is no finding; its absence is
                if role is FindingRole.EXCLUDED:
                    add(out, result)
                continue
            if role is None:
                ignored.append(f"{said!r} ({res.assertion.value})")
            elif role is FindingRole.EXCLUDED and result.via.endswith("-broader"):
                ignored.append(f"{said!r} (negated at one site: no region is denied)")
            elif (role is FindingRole.EXCLUDED and self.index.defined_by(result.concept_id)
                  and wording.history_negated(text, stretch.start, stretch.end)):
                ignored.append(f"{said!r} (negated history of a finding that names a disease)")  # "denies prior cataract"
            else:
                add(out, result.model_copy(update={"role": role}))
        if ignored:
            out.notes.append("found by the scan of untagged words, not used: " + listed(ignored))

    def _scanned(self, text: str, stretch: scan.Stretch) -> list[ResolvedFinding]:
        """A stretch of untagged words as the findings the index knows it by, by exact names only
        (a pain said before its sites may give two: :meth:`_site_after`); ``[]`` when none."""
        from extractors.linking.nonconcepts import non_concept_reason

        said = " ".join(stretch.words)
        if non_concept_reason(said, maneuvers=True) is not None:
            return []
        words = list(stretch.words)
        absent = wording.ABSENT_FUNCTIONS.get(said)
        if absent is not None:  # "no periods": present Amenorrhea once the assertion says negated
            found = self._exact(absent, FindingRole.PRESENT)
            return [found.model_copy(update={"input": said, "via": "scan"})] if found is not None else []
        if stretch.verb() or "normal" in (stretch.before, *stretch.words):
            return []  # "nystagmus that fatigues"; "Normal CVA tenderness" is no sign (no ConText cue)
        if words[0] in wording.SITED and len(words) >= 3:  # "pain in her right hip (and groin)"
            sites = self._site_after(text, stretch.start + len(words[0]), FindingRole.PRESENT)
            return [f.model_copy(update={"input": said, "via": f.via.replace("text", "scan", 1)}) for f in sites]
        if len(words) == 1:  # its own name; other word forms of a plural only ("mouth" is not *Hyperorality*)
            found = None if words[0] in scan.GENERIC else self._single(words[0])
            if found is not None and self.index.defined_by(found.concept_id):
                return []  # one word naming a disease the tagger left alone is no clinical use ("heat stroke prevention")
        else:
            found = self._exact(said, FindingRole.PRESENT)
        if found is None or self._word_acronym(said, found.concept_id):
            return []
        return [found.model_copy(update={"input": said, "via": found.via.replace("text", "scan", 1)})]

    def _phrased(self, said: str, role: FindingRole) -> ResolvedFinding | None:
        """A mention that is a clinical phrase (:data:`wording.CLINICAL_PHRASES`) once its sides
        and determiners are dropped, as the phrase's finding; else ``None``."""
        from extractors.linking.normalize import normalize

        key = " ".join(wording.plain(normalize(said).split()))
        phrase = wording.phrases().get(key) or wording.phrases().get(" ".join(w for w in key.split() if w not in wording.SIDES))
        found = self._exact(phrase, role) if phrase else None
        return found.model_copy(update={"input": said}) if found is not None else None

    def _single(self, word: str) -> ResolvedFinding | None:
        """One untagged word as a finding: its own name (or a clinical phrase's), its singular,
        and for a plural the "-ing" noun ("wheezes" -> *Wheezing*); no other word form ("mouth" is
        not *Hyperorality*, "sleeps" not *Drowsiness*)."""
        from extractors.linking.normalize import normalize

        forms = dict.fromkeys([word, wording.singular(word)])
        if word.endswith("s") and not word.endswith("ss"):
            forms[wording.singular(word).removesuffix("e") + "ing"] = None
        for form in forms:
            key = normalize(form)
            key = normalize(wording.phrases().get(key, form))
            hits = [t for t in self.index.name_keys.get(key, ()) if self.index.knows(t)]
            if hits:
                return self._found(word, FindingRole.PRESENT, prefer(hits), "text")
        return None

    def _sited(self, words: Sequence[str], role: FindingRole) -> ResolvedFinding | None:
        """"pain in her right hip" as the site's own finding said site first (*Hip pain*), else,
        for a present one, the region's (``-broader``); ``None`` when the words are no such phrase."""
        site = wording.site_first([w for w in words if w not in wording.SIDES])
        if site is None:
            return None
        found = self._exact(" ".join(site), role)
        if found is None and wording.singular(site[-2]) != site[-2]:  # "pain in the hands": Hand pain
            site = [*site[:-2], wording.singular(site[-2]), site[-1]]
            found = self._exact(" ".join(site), role)
        if found is None and role is FindingRole.PRESENT:
            regional = wording.regional(site, whole=True)
            found = self._exact(regional, role) if regional else None
            found = found.model_copy(update={"via": found.via + "-broader"}) if found is not None else None
        return found

    def _site_after(self, text: str, end: int, role: FindingRole) -> list[ResolvedFinding]:
        """A bare "pain" the tagger cut from its site ("[pain] in her right hip"): the longest run
        of up to four words after it that makes a sited finding (:meth:`_sited`); sites joined by
        "and" / "or" give one finding each ("pain in her right hip and groin region": Hip pain,
        Groin pain), or none unless each does ("pain in the hands and feet" is not the hands' pain
        alone). ``[]`` when none."""
        from extractors.linking.normalize import normalize

        after = normalize(re.match(r"[^\n.;:,()?!]*", text[end:end + 80]).group()).split()  # type: ignore[union-attr]
        if len(after) < 2:
            return []
        for n in range(min(4, len(after)), 1, -1):
            if n < len(after) and after[n] in ("and", "or"):
                continue
            found = self._sited(["pain", *after[:n]], role)
            if found is not None:
                return [found]
        if "and" not in after[:5] and "or" not in after[:5]:
            return []
        k = next(i for i, w in enumerate(after[:5]) if w in ("and", "or"))
        first = self._sited(["pain", *after[:k]], role)
        if first is None:
            return []
        if k == len(after) - 1:  # "hip and, at times, groin": the clause ends after "and"
            return [first]
        for m in range(min(3, len(after) - k - 1), 0, -1):  # the second site, longest first: "groin region"
            second = self._sited(["pain", after[0], *after[k + 1:k + 1 + m]], role)
            if second is not None:
                return self._joined(first, second)
        return []

    def _joined(self, first: ResolvedFinding, second: ResolvedFinding) -> list[ResolvedFinding]:
        """Two sites' pains said together: their closest common findings below the bare *Pain*
        ("hands and feet": *Limb pain*), *Arthralgia* for two joints ("knees and wrists"), else
        both ("hip and groin")."""
        if first.concept_id == second.concept_id:
            return [first]
        if first.role is not FindingRole.PRESENT:  # "denies pain in the knees or wrists" denies those two only
            return [first, second]
        if all(f.name.lower().split()[0] in wording.JOINTS for f in (first, second)):  # "knees and wrists"
            joints = self._exact("joint pain", first.role)
            if joints is not None:
                return [joints.model_copy(update={"input": first.input, "via": "text-broader"})]
        bare = self._exact("pain", first.role)
        if bare is None:
            return [first, second]
        # pains below Pain only: "back and knees" share *Abnormality of the musculoskeletal system* too
        common = {c for c in self.index.ancestors(first.concept_id) & self.index.ancestors(second.concept_id)
                  if c != bare.concept_id and bare.concept_id in self.index.ancestors(c)}
        if not common:
            return [first, second]
        above = {a for c in common for a in self.index.ancestors(c) if a != c}
        closest = sorted(common - above)  # "knees and wrists": Arthralgia and Limb pain, both as close
        return [self._found(first.input, first.role, c, "text-broader") for c in closest]


@cache
def _edge_words() -> frozenset[str]:
    """Words a scanned stretch neither starts nor ends on: spaCy's English stop words and the
    determiners ("the pain" is "pain")."""
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(STOP_WORDS) | wording.DETERMINERS
