"""Words that name no condition on their own, shared by the linker and diagnosis.

NER trained on literature and rare-disease texts tags, in clinical notes, the headers of a review
of systems ("Gastrointestinal: endorses abdominal pain"), vital-sign names ("Blood Pressure:
Elevated") and bare qualifiers ("Elevated", "Sudden" in "Sudden severe headache"). Linked on
their own they land on unrelated concepts (*Abnormality of the digestive system*, *Hypotension*,
*High palate*, *Sudden death*). The linker leaves such a mention unlinked (so extraction drops it
by default), and diagnosis lists it as "not used as a finding" with the reason.
"""

from __future__ import annotations

from functools import cache

from extractors.linking.normalize import normalize

__all__ = ["EXAM_MANEUVERS", "MODIFIERS", "NOT_FINDINGS", "QUALIFIERS", "non_concept_reason"]

MODIFIERS = frozenset("""bilateral unilateral left right severe mild moderate sudden acute chronic subacute
symmetric symmetrical asymmetric progressive intermittent persistent recurrent new worsening constant
occasional diffuse generalized localized focal mild-to-moderate significant marked slight""".split())
"""Leading qualifiers of a finding that do not change which finding it is (laterality, severity,
onset, course, distribution)."""


QUALIFIERS = MODIFIERS | frozenset("""elevated raised increased decreased reduced low high abnormal normal
positive negative prolonged heavy profound""".split())
"""Words that, alone, qualify a finding without naming one ("Blood pressure: Elevated"): linked on
their own they land on unrelated terms (*High palate*, *Profound* hearing loss)."""

NOT_FINDINGS = (
    "constitutional", "HEENT", "eyes", "ears", "nose", "throat", "head", "neck", "cardiovascular", "respiratory",
    "pulmonary", "gastrointestinal", "genitourinary", "musculoskeletal", "neurological", "neurologic", "psychiatric",
    "integumentary", "skin", "endocrine", "hematologic", "lymphatic", "allergic", "immunologic", "extremities",
    "abdomen", "chest", "blood pressure", "heart rate", "pulse", "temperature", "respiratory rate",
    "oxygen saturation", "weight", "height", "BMI", "vitals", "vital signs",
)
"""Review-of-systems and exam headers ("Gastrointestinal: endorses abdominal pain") and vital-sign
names without a value: what a finding is about, not a finding. Matched on the whole mention."""


EXAM_MANEUVERS = ("palpation", "flexion", "extension", "flexion and extension", "pronation", "supination",
                  "abduction", "adduction", "rotation", "internal rotation", "external rotation", "dorsiflexion",
                  "plantar flexion", "ambulation", "auscultation", "percussion", "inspection")
"""What an examiner does, not what is found ("pain with flexion", "tender to palpation"): tagged
alone in a clinical note, diagnosis lists such a word as not used, not as an unresolved finding."""


@cache
def _not_findings() -> frozenset[str]:
    return frozenset(normalize(p) for p in NOT_FINDINGS)


@cache
def _maneuvers() -> frozenset[str]:
    return frozenset(normalize(p) for p in EXAM_MANEUVERS)


def non_concept_reason(text: str, *, maneuvers: bool = False) -> str | None:
    """Why a Disease/Symptom mention names no condition at all, or ``None`` when it may. With
    ``maneuvers`` (diagnosis on clinical notes; the extraction linker leaves them as they are), an
    examination manoeuvre (:data:`EXAM_MANEUVERS`) and a lone common word are ones too."""
    key = normalize(text)
    words = key.split()
    if words and all(w in QUALIFIERS for w in words):
        return "a qualifier without its finding"
    if key in _not_findings():
        return "a body system or measurement, not a finding"
    if maneuvers and key in _maneuvers():
        return "an examination manoeuvre, not a finding"
    if maneuvers and text.strip().islower() and text.strip() in _common_words():
        return "a common word, not a finding"
    return None


@cache
def _common_words() -> frozenset[str]:
    """spaCy's English stop words ("down" of "put it down to", "no", "back"), as written: tagged
    alone and in lower case in a clinical note, such a word is the tagger's slip, not a finding or
    a disease named (the linker reads "down" as *Down syndrome*); "Down's" or "ALL" (acute
    lymphoblastic leukaemia) are names."""
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(STOP_WORDS)


