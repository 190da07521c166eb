"""Clinical wording for :mod:`kg.diagnosis.findings`: the phrases, sites, sides, word forms and
cues that decide which finding a piece of free text names (data and pure functions of text; no
index, no linker). Hand-curated for medkg (CC0) where it is a table."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache


ACRONYM = re.compile(r"[A-Z][A-Z0-9-]{1,5}")
"""A vocabulary's acronym name (capitals and digits, up to six characters: "ODD", "CVA", "GERD")."""
WORD_ACRONYMS = frozenset("""aids all as at be can fan gem hem hit lam lid map med meth no odd pan pygmy rad tam
tet was cm mm kg mg ml dl hr min""".split())
"""Acronym names of the linking KB's concepts that are also ordinary English words (read off its
348 letter-only acronyms on 2026-12-08): written in lower case they are the word ("an odd taste",
"all over"), not ODD or ALL; so are units ("lost 5 cm in height" is no CM, *Cardiomyopathy*).
Lower-case clinical acronyms that are no English word ("copd", "gerd", "chf") keep their link."""

NEIGHBOURS = 2
"""Words on each side of a mention that may complete a span the tagger cut short."""


_CLAUSE = re.compile(r"[\n.;:,()?!]|\b(?:and|or|but|with|without)\b", re.IGNORECASE)


def neighbours(text: str, start: int | None, end: int | None) -> tuple[list[str], list[str]]:
    """Up to :data:`NEIGHBOURS` words before and after ``text[start:end]``, within its line and
    phrase (no line break, clause punctuation or conjunction crossed: the "scalp" of "tenderness
    and scalp laceration" is another finding's)."""
    if start is None or end is None:
        return [], []
    before = _CLAUSE.split(text[max(0, start - 60):start])[-1].split()[-NEIGHBOURS:]
    after = _CLAUSE.split(text[end:end + 60])[0].split()[:NEIGHBOURS]
    return before, after


def around(text: str, start: int | None, end: int | None) -> str:
    """:func:`neighbours` as one string (the words that count as said next to a mention)."""
    before, after = neighbours(text, start, end)
    return " ".join(before + after)


CLINICAL_PHRASES: dict[str, str] = {
    "cva tenderness": "costovertebral angle tenderness",
    "jvd": "elevated jugular venous pressure",
    "jugular venous distention": "elevated jugular venous pressure",
    "jugular venous distension": "elevated jugular venous pressure",
    "jugular vein distention": "elevated jugular venous pressure",
    "jugular vein distension": "elevated jugular venous pressure",
    "murmur": "heart murmur",
    "redness": "erythema",
    "swollen lymph nodes": "lymphadenopathy",
    "doe": "dyspnea on exertion",
    "pnd": "paroxysmal nocturnal dyspnea",
    "sob": "shortness of breath",
    "thyromegaly": "goiter",
    "tarry stools": "melena",
    "dark tarry stools": "melena",
    "black tarry stools": "melena",
    "blood in stool": "hematochezia",
    "blood in the stool": "hematochezia",
    "enlarged lymph nodes": "lymphadenopathy",
    "high cholesterol": "hypercholesterolemia",
    "elevated cholesterol": "hypercholesterolemia",
    "decreased range of motion": "limitation of joint mobility",
    "limited range of motion": "limitation of joint mobility",
    "reduced range of motion": "limitation of joint mobility",
    "decreased sensation": "hypoesthesia",
    "diminished sensation": "hypoesthesia",
    "reduced sensation": "hypoesthesia",
    "difficulty urinating": "urinary hesitancy",
    "trouble urinating": "urinary hesitancy",
    "burning with urination": "dysuria",
    "burning on urination": "dysuria",
    "burning when urinating": "dysuria",
    "painful urination": "dysuria",
    "acid regurgitation": "gastroesophageal reflux",
    "morning stiffness": "generalized morning stiffness",
    "knee effusion": "knee joint effusion",
    "ankle effusion": "ankle joint effusion",
    "grouped vesicles": "herpetiform vesicles",
    "foot ulcer": "skin ulcer",
    "leg ulcer": "skin ulcer",
    "red area": "erythema",
    "red patch": "erythema",
    "drooping eyelid": "ptosis",
    "droopy eyelid": "ptosis",
    "eyelid drooping": "ptosis",
    "watering eye": "epiphora",
    "watery eye": "epiphora",
    "red eye": "conjunctival hyperemia",
    "painful eye": "ocular pain",
    "blocked nose": "nasal congestion",
    "blocked nostril": "nasal congestion",
    "stuffy nose": "nasal congestion",
    "pins and needles": "paresthesia",
    "unable to sleep": "insomnia",
    "difficulty sleeping": "insomnia",
    "wheal": "urticaria",
    "st depression": "st segment depression",
    "st elevation": "st segment elevation",
    "pr depression": "pr segment depression",
    "odd taste": "dysgeusia",
    "strange taste": "dysgeusia",
    "altered taste": "dysgeusia",
    "metallic taste": "dysgeusia",
    "enlarged calves": "calf muscle pseudohypertrophy",
    "enlarged calf": "calf muscle pseudohypertrophy",
    "calf enlargement": "calf muscle pseudohypertrophy",
    "calf hypertrophy": "calf muscle pseudohypertrophy",
    "pulling at ear": "ear pain",
    "tugging at ear": "ear pain",
    "gritty eye": "keratoconjunctivitis sicca",
    "gritty eyes": "keratoconjunctivitis sicca",
    "watering eyes": "epiphora",
    "red eyes": "conjunctival hyperemia",
    "thenar wasting": "skeletal muscle atrophy",
    "room spinning": "vertigo",
    "spinning sensation": "vertigo",
    "aching bones": "bone pain",
    "bones ache": "bone pain",
    "burrow": "serpiginous burrow",
    "red skin": "erythema",
    "reflux": "gastroesophageal reflux",
    "vision changes": "abnormality of vision",
    "visual changes": "abnormality of vision",
    "changes in vision": "abnormality of vision",
    "vision problems": "abnormality of vision",
    # mood, thought and behaviour in lay and clinical wording (added 2026-12-08, before the
    # fourth vignette set was written: the held-out set's first reading found no finding at all
    # in its three psychiatric cases)
    "low mood": "depression",
    "depressed mood": "depression",
    "feeling down": "depression",
    "feeling low": "depression",
    "loss of interest": "anhedonia",
    "lost interest": "anhedonia",
    "early morning waking": "early morning awakening",
    "early morning wakening": "early morning awakening",
    "hearing voices": "auditory hallucination",
    "hears voices": "auditory hallucination",
    "seeing things": "visual hallucination",
    "paranoid": "paranoia",
    "paranoid ideas": "paranoia",
    "disorganised speech": "disorganized speech or communication",
    "disorganized speech": "disorganized speech or communication",
    "social withdrawal": "social isolation",
    "socially withdrawn": "social isolation",
    "unable to sit still": "hyperactivity",
    "fidgety": "restlessness",
    "easily distracted": "short attention span",
    "distractible": "short attention span",
    "poor attention": "short attention span",
    "inattentive": "short attention span",
    "interrupts others": "impulsivity",
    "repeated checking": "excessive checking",
    "repeatedly checks": "excessive checking",
    "repeated hand washing": "excessive hand washing",
    "excessive handwashing": "excessive hand washing",
    "underweight": "decreased body weight",
    "low bmi": "decreased body weight",
    "binge eating": "polyphagia",
    "cannot sit still": "hyperactivity",
    "withdrawn from friends": "social isolation",
    "withdrawn from family": "social isolation",
    "speech disorganised": "disorganized speech or communication",
    "speech disorganized": "disorganized speech or communication",
    "compulsive checking": "excessive checking",
    "compulsive hand washing": "excessive hand washing",
    "washing hands repeatedly": "excessive hand washing",
    "appetite reduced": "poor appetite",
    "appetite decreased": "poor appetite",
    "appetite poor": "poor appetite",
    "missed periods": "amenorrhea",
    "eye twitch": "eyelid twitching",
    "eye twitching": "eyelid twitching",
    "eyelid twitch": "eyelid twitching",
    "absent periods": "amenorrhea",
}
"""Clinical wording -> the name a vocabulary (HPO) uses, for a whole finding phrase only: "CVA"
alone is a cerebrovascular accident, "CVA tenderness" the costovertebral angle's. Standard
examination and history shorthand and synonyms HPO lacks (hand-curated for medkg, CC0; the rows
after the first were added after reading the unresolved findings of the ACI-Bench development
notes and the vignettes' slips, e.g. "decreased sensation in the right thumb", "morning stiffness",
"grouped vesicles on a red base"; the rows from "drooping eyelid" on after the first reading of the
held-back vignettes, where "PR depression" was read as *Depression* and "odd taste" as *Oppositional
defiant disorder*: such a set is a development set from then on)."""


@cache
def phrases() -> dict[str, str]:
    from extractors.linking.normalize import normalize

    return {normalize(k): v for k, v in CLINICAL_PHRASES.items()}


_STEM_ENDINGS = ("ated", "ness", "ing", "ous", "ed", "es", "s", "y", "e", "a")
_FORM_ENDINGS = ("", "e", "s", "ing", "ness", "iness", "a", "ia", "y", "ion", "ety")
_ADJECTIVE_ENDINGS = {"etic": ("esis",), "otic": ("osis",), "itic": ("itus",), "ic": ("ia", "a"), "al": ("e",),
                      "ish": ("",), "tous": ("",)}
"""Clinical adjective endings and the noun endings each stands for ("dyspneic" -> "dyspnea",
"tachycardic" -> "tachycardia", "diaphoretic" -> "diaphoresis", "cyanotic" -> "cyanosis",
"pruritic" -> "pruritus", "syncopal" -> "syncope", "feverish" -> "fever", "edematous" ->
"edema"): only these pairs, so "fibrous" is not *Fibrosis*, "acidic" not *Acidosis* and "clonic"
not *Clonus*."""
SIBILANT_PLURALS = ("shes", "xes", "sses", "zzes")
"""Plural endings after which the singular drops "es", not "s" (rashes, boxes, abscesses); and
"-ies" becomes "-y" ("allergies" is *Allergy*, which the literature-trained linker would read as
*Drug allergy*). Tried after the name as written, so "rabies" or "caries" stay themselves.
:func:`extractors.linking.normalize.normalize` keeps the "e" ("rashe"): changing it there
changes the linking KB's alias set and with it the shipped NER model's gazetteer terms (the
model was trained with them), for no change on BC5CDR / NCBI-disease dev (measured
2026-12-07), so the diagnosis lookup tries the singular itself."""
POSTMODIFIER = frozenset("""of in on at around over under behind near along across from with without during since
after before noted seen that which when while down into through""".split())
"""Words that end a finding's name and start what is said about it (its site, its timing, how it
was found: "pitting edema of the bilateral lower extremities", "dizziness when running up the
stairs"): :meth:`Resolver.resolve_name` tries the words before the first of them."""
_SITE_REGIONS: dict[str, str] = {
    "periumbilical": "abdominal", "umbilical": "abdominal", "suprapubic": "abdominal",
    "epigastric": "abdominal", "hypogastric": "abdominal",
    "right lower quadrant": "abdominal", "left lower quadrant": "abdominal",
    "right upper quadrant": "abdominal", "left upper quadrant": "abdominal",
    "lower quadrant": "abdominal", "upper quadrant": "abdominal",
    "rlq": "abdominal", "llq": "abdominal", "ruq": "abdominal", "luq": "abdominal",
    "iliac fossa": "abdominal", "left iliac fossa": "abdominal", "right iliac fossa": "abdominal",
    "loin": "flank",
    "calf": "lower limb", "thigh": "lower limb", "shin": "lower limb",
    "chest wall": "chest",
}
"""Sites a pain is said at -> the region whose finding the vocabulary names, when
the site's own name is not a finding ("periumbilical pain", "right lower quadrant pain",
"suprapubic pain" -> Abdominal pain; "calf pain" -> Lower limb pain): the region's finding is what the site says, where the bare "pain" of the
broader fallback says nothing about where. Anatomy, hand-curated for medkg (CC0)."""
SITED = ("pain",)
"""Only pain: the vocabularies name no regional tenderness in HPO (SYMP's "abdominal tenderness",
of a shallow hierarchy, matched no disease's HPO annotation and cost the vignettes: peptic ulcer
13 -> 62)."""


def site_first(words: Sequence[str]) -> list[str] | None:
    """A one-word finding said at a site of at most three words, nothing else said after it, site
    first ("pain in the right lower quadrant" -> "right lower quadrant pain", "ulcer on his right
    foot" -> "foot ulcer"), else ``None``."""
    from extractors.linking.nonconcepts import MODIFIERS

    if len(words) < 3 or words[1] not in ("in", "at", "over", "on", "around", "behind"):
        return None
    if words[0] in POSTMODIFIER or words[0] in DETERMINERS:
        return None
    site = [w for w in words[2:] if w not in DETERMINERS and w not in MODIFIERS]  # "her left calf"
    if not 1 <= len(site) <= 3 or any(w in POSTMODIFIER or w in ("and", "or") for w in site):
        return None  # "pain in the knee with RLQ pain": more than a site
    return [*site, words[0]]


JOINTS = frozenset("shoulder elbow wrist hip knee ankle finger toe jaw".split())
"""Sites whose pain is a joint's: two of them said together are *Arthralgia* ("pain in the knees
and wrists")."""
ABSENT_FUNCTIONS = {"periods": "amenorrhea", "period": "amenorrhea", "menses": "amenorrhea",
                    "menstrual periods": "amenorrhea", "menstruation": "amenorrhea", "appetite": "poor appetite"}
"""A normal function said to be absent is a present finding: "no periods for 4 months" is
*Amenorrhea*, "no appetite" *Poor appetite* (not an excluded "periods")."""


def absent_function(text: str) -> str | None:
    """The finding a denied function's mention stands for ("periods for 4 months" -> amenorrhea:
    the words before what is said about it), or ``None``."""
    words = text.lower().split()
    head = next((words[:k] for k, w in enumerate(words) if k and (w in POSTMODIFIER or w == "for")), words)
    return ABSENT_FUNCTIONS.get(" ".join(words)) or ABSENT_FUNCTIONS.get(" ".join(head))


def feared(text: str, start: int | None, end: int | None) -> bool:
    """Whether the words just before a mention say it is feared or a risk, not had ("intense fear
    of [gaining weight]", "at risk of [falls]"). Not "worried about": a patient is worried about
    what she has ("worried about the swelling in her leg")."""
    before, _ = neighbours(text, start, end)
    return not NOT_THE_FINDING.isdisjoint(w.lower() for w in before)


NOT_THE_FINDING = frozenset("fear fears afraid risk".split())
"""Words whose complement is not the patient's finding: "fear of gaining weight" is no weight
gain, "risk of falls" no fall; a name holding one is looked up exactly and whole only, and a
mention after one is none (:func:`feared`)."""

_IRREGULAR = {"feet": "foot", "teeth": "tooth"}


def singular(word: str) -> str:
    """A site's singular ("hands" -> "hand", "feet" -> "foot"); the word itself when it is none."""
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if word.endswith(SIBILANT_PLURALS):
        return word[:-2]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def regional(words: Sequence[str], *, whole: bool = False) -> str | None:
    """The region's finding for words ending in "<site> pain" (:data:`_SITE_REGIONS`); with
    ``whole``, only when those are all the words ("nausea and RLQ pain" is not Abdominal pain);
    else ``None``."""
    if len(words) < 2 or words[-1] not in SITED:
        return None
    for size in (3, 2, 1):
        site = " ".join(words[-1 - size:-1])
        if len(words) > size and site in _SITE_REGIONS and (not whole or len(words) == size + 1):
            return f"{_SITE_REGIONS[site]} {words[-1]}"
    return None


DETERMINERS = frozenset("a an the his her their its both".split())
"""Words that open a noun phrase without saying anything about the finding."""
SIDES = frozenset("left right bilateral unilateral lt rt".split())
"""Which side: inside a finding's name ("drooping left eyelid", "red watering right eye") it says
where, not which finding; a lookup of the name goes on without it (a pain's site keeps it:
:data:`_SITE_REGIONS` reads "right lower quadrant" before)."""
_DIFFICULTY = frozenset({"trouble", "problem", "problems"})
"""Said for "difficulty" at the head of a finding ("trouble climbing stairs" is HPO's *Difficulty
climbing stairs*)."""


def plain(words: Sequence[str], *, sides: bool = True) -> list[str]:
    """A finding's name without its determiners and (with ``sides``) the sides said inside it,
    which say nothing about which finding it is ("drooping left eyelid", "blood in her stools"),
    and with "difficulty" for the other words of it ("trouble climbing stairs"). A side that opens
    the name or stands next to another side is kept: it may be the name's own ("right bundle
    branch block", "left-right confusion")."""
    def kept(k: int, w: str) -> bool:
        if w in DETERMINERS:
            return False
        if w not in SIDES or not sides or k == 0:
            return True
        return any(words[j] in SIDES for j in (k - 1, k + 1) if 0 <= j < len(words))

    core = [w for k, w in enumerate(words) if kept(k, w)] or list(words)
    if core and core[0] in _DIFFICULTY and len(core) > 1:
        core = ["difficulty", *core[1:]]
    return core


def phrase_ending(words: Sequence[str]) -> str | None:
    """The longest ending of two or more words, shorter than the whole, that is a clinical phrase
    (:data:`CLINICAL_PHRASES`: "2 mm horizontal ST depression" ends in "ST depression"), spelled
    out; ``None`` when none. Tried before the linker reads the whole phrase: the phrase says which
    finding it is, where a loose match of the whole lands on a word of it (*Depression*)."""
    for k in range(1, len(words) - 1):
        phrase = phrases().get(" ".join(words[k:]))
        if phrase is not None:
            return phrase
    return None
_FORM_WORDS = 4
"""Only phrases this short get other word forms (finding names are short; a long input would
make the lookups grow with the square of its length)."""


def word_forms(value: str) -> list[str]:
    """Other forms of the phrase, one word changed at a time ("wheezes" -> "wheezing",
    "nauseous"/"nauseated" -> "nausea", "short of breath" -> "shortness of breath", "dizzy" ->
    "dizziness"): looked up exactly, they find the name a vocabulary uses for the same finding
    where character-level similarity falls short. Words under four letters are left alone, and
    phrases over :data:`_FORM_WORDS` words get none."""
    from extractors.linking.normalize import normalize

    words = normalize(value).split()
    out: dict[str, None] = {}
    if len(words) > _FORM_WORDS:
        return []
    for i, w in enumerate(words):
        if len(w) < 4 or not w.isalpha():
            continue
        stems = {w} | {w[:-len(e)] for e in _STEM_ENDINGS if w.endswith(e) and len(w) - len(e) >= 3}
        forms = [stem + e for stem in stems for e in _FORM_ENDINGS]
        forms += [w[:-len(a)] + n for a, nouns in _ADJECTIVE_ENDINGS.items() if w.endswith(a) and len(w) - len(a) >= 3
                  for n in nouns]
        for form in forms:
            if form != w:
                out[" ".join([*words[:i], form, *words[i + 1:]])] = None
    return list(out)

_HISTORY_CUE = re.compile(r"\b(?:history|hx|before|prior|previous(?:ly)?|ever|never|in the past)\b", re.IGNORECASE)
POLARITY = frozenset({"no", "not", "non", "negative", "normal", "absent", "denies", "denied", "without", "never"})
"""Words that make a phrase say a finding is absent or normal: a completed name never takes them in."""
LEADING = frozenset({"positive", "present"})
"""Leading words a completed name may drop besides the modifiers ("Positive CVA tenderness")."""


def history_negated(text: str, start: int | None, end: int | None) -> bool:
    """Whether a negated mention's own clause says the negation is about the past: a history cue
    before it ("denies any history of kidney stones", "has never had kidney stones") or among the
    four words after it ("... kidney stones before", "... prior to this occurrence")."""
    if start is None or end is None:
        return False
    left = _CLAUSE.split(text[max(0, start - 120):start])[-1]
    right = " ".join(_CLAUSE.split(text[end:end + 80])[0].split()[:4])
    return bool(_HISTORY_CUE.search(left) or _HISTORY_CUE.search(right))


_COORDINATION = re.compile(r"\s*,\s*(?:(?:and|or)\s+)?|\s+(?:and|or)\s+", re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_]{3}")


def coordinated_parts(text: str) -> list[str]:
    """The conjuncts of a coordinated mention ("fever, chills and night sweats" -> three), or
    ``[]`` when it is not one (every part needs a word of three letters or more)."""
    parts = [p.strip() for p in _COORDINATION.split(text) if p and p.strip()]
    return parts if len(parts) > 1 and all(_WORD.search(p) for p in parts) else []
