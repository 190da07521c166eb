"""String normalisation shared by the knowledge base (alias keys) and the linker (queries).

Both sides go through the same :func:`normalize`, so a rule only has to map two spellings of
one name onto the same key; it never has to produce a "correct" word. The rules are the ones
that separate otherwise-identical names in BC5CDR / NCBI-disease dev mentions and vocabulary
names:

* Unicode compatibility folding and accent stripping (``Sjögren`` = ``Sjogren``), case folding,
  Greek letters spelled out (``β-blocker`` = ``beta-blocker``).
* Punctuation becomes a space (``beta-blocker`` = ``beta blocker``, ``Abdomen, Acute`` keeps
  its word order but loses the comma); apostrophes and the possessive ``'s`` are dropped
  (``Parkinson's disease`` = ``Parkinsons disease`` = ``Parkinson disease``).
* British spellings common in medicine become American (``anaemia`` = ``anemia``,
  ``oedema`` = ``edema``, ``tumour`` = ``tumor``, ``diarrhoea`` = ``diarrhea``).
* A trailing ``s`` is removed from words of 5 or more letters not ending in ``ss``/``us``/``is``
  (``seizures`` = ``seizure``, ``statins`` = ``statin``). Shorter words keep it, so
  abbreviations such as ``AIDS`` or ``ADHS`` never collapse onto other acronyms.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_BRITISH = (
    ("oesophag", "esophag"),
    ("oestr", "estr"),
    ("oedema", "edema"),
    ("aemia", "emia"),
    ("haem", "hem"),
    ("ischaem", "ischem"),
    ("paed", "ped"),
    ("foet", "fet"),
    ("caesar", "cesar"),
    ("tumour", "tumor"),
    ("colour", "color"),
    ("behaviour", "behavior"),
    ("rhoea", "rhea"),
    ("dyspnoea", "dyspnea"),
    ("apnoea", "apnea"),
    ("sulph", "sulf"),
    ("aluminium", "aluminum"),
    ("isation", "ization"),
    ("anaesthe", "anesthe"),
    ("leucocyt", "leukocyt"),
)
_BRITISH_RE = re.compile("|".join(b for b, _ in _BRITISH))
_BRITISH_MAP = dict(_BRITISH)
_APOSTROPHES = re.compile(r"(?<=\w)['\u2019]s\b|['\u2019`]")  # possessive 's first, then any apostrophe
_NON_WORD = re.compile(r"[^0-9a-z]+")
_PLURAL_MIN_LEN = 5
_GREEK = str.maketrans({
    ch: f" {name} "
    for ch, name in zip(
        "αβγδεζηθικλμνξοπρστυφχψω",
        "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau "
        "upsilon phi chi psi omega".split(),
        strict=True,
    )
})
"""Greek letters are spelled out (``β-blocker`` = ``beta-blocker``), not dropped as punctuation."""


def _singular(word: str) -> str:
    if len(word) >= _PLURAL_MIN_LEN and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _fold(text: str) -> list[str]:
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text.casefold().translate(_GREEK))
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _BRITISH_RE.sub(_american, _APOSTROPHES.sub("", text.casefold()))
    return _NON_WORD.split(text)


def _american(match: re.Match[str]) -> str:
    return _BRITISH_MAP[match.group(0)]


@lru_cache(maxsize=1 << 18)
def normalize(text: str) -> str:
    """The lookup key of a name: folded, punctuation-free, American-spelled, singular words.

    Returns ``""`` for text without letters or digits; callers treat that as "nothing to link".
    """
    return " ".join([_singular(w) for w in _fold(text) if w])


@lru_cache(maxsize=1 << 18)
def fuzzy_form(text: str) -> str:
    """The string the character 3-gram index sees: :func:`normalize` without the plural rule.

    Character n-grams already tolerate a missing ``s``; keeping words whole keeps short
    names (``MI``, ``PD``) distinct from their neighbours in n-gram space.
    """
    return " ".join([w for w in _fold(text) if w])
