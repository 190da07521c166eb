"""Pure rules for reading drug names as people write them: typo distance, strengths, dose forms
and routes, salt/ester words, ingredient separators, the product/brand table, CURIEs.

No knowledge base here: :mod:`kg.interactions.drug_names` applies these rules with the linker.
"""

from __future__ import annotations

import re
from functools import lru_cache

from extractors.linking.normalize import normalize
from schema.model import load_schema

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
"""Hyphen between parts of a name (tried only when every part resolves exactly)."""


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



def edit_similarity(text: str, matched: str) -> float:
    """1 - edit distance / longer length, on normalised strings: the suggestion score."""
    a, b = normalize(text), normalize(matched)
    if not a or not b:
        return 0.0
    return 1.0 - edit_distance(a, b) / max(len(a), len(b))



def product_keys(text: str) -> list[str]:
    """Keys a product name is looked up under: as written, without strength, without form words."""
    keys = [normalize(text), normalize(strip_dose(text)), normalize(strip_form(strip_dose(text))[0])]
    return list(dict.fromkeys(k for k in keys if k))
