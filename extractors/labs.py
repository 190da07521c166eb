"""Laboratory values written as numbers in clinical text ("Hb 8.7 g/dL, MCV 116 fL", "K 2.8",
"platelets 62 x 10^9/L", "troponin rises from 85 to 410 ng/L") -> the abnormal findings they show.

The companion of :mod:`extractors.vitals`: a case summary that says "Na 124 mmol/L" never says
"hyponatremia". :func:`read_labs` finds the values after the usual labels and
:func:`abnormal_lab_findings` turns each value outside its adult reference limit into an HPO
finding. Normal values give nothing, and nothing is inferred from a number without its label.

Limits (adults; canonical units first; where laboratories' intervals differ, the limit is the
widest in common use, so that a value flagged here is abnormal by any usual laboratory's range):

===========  ===============================================  =============================================
analyte      finding (HPO)                                    rule and source
===========  ===============================================  =============================================
haemoglobin  Anemia (HP:0001903)                              < 13.0 g/dL men, < 12.0 g/dL women and sex
                                                              unknown (WHO anaemia thresholds, non-pregnant
                                                              adults)
MCV          Macrocytic anemia (HP:0001972) /                 > 100 fL / < 80 fL with an anemia in the same
             Microcytic anemia (HP:0001935); without an       text (reference interval 80-100 fL)
             anemia Increased / Decreased mean corpuscular
             volume (HP:0005518 / HP:0025066)
WBC          Leukocytosis (HP:0001974) / Leukopenia           > 11.0 / < 4.0 x 10^9/L (usual 4.0-11.0)
             (HP:0001882)
platelets    Thrombocytosis (HP:0001894) /                    > 450 / < 150 x 10^9/L (usual 150-450)
             Thrombocytopenia (HP:0001873)
sodium       Hypernatremia (HP:0003228) / Hyponatremia        > 145 / < 135 mmol/L (European hyponatraemia
             (HP:0002902)                                     guideline 2014: < 135)
potassium    Hyperkalemia (HP:0002153) / Hypokalemia          > 5.5 / < 3.5 mmol/L (ERC 2021 hyperkalaemia
             (HP:0002900)                                     > 5.5: 5.1-5.5 is often haemolysis)
CK           Elevated circulating creatine kinase             > 500 U/L men and sex unknown, > 300 women
             concentration (HP:0003236)                       (~1.5 x the non-Black upper limits, as the
                                                              EFNS hyperCKemia guideline; CK runs high in
                                                              Black and muscular adults)
albumin      Hypoalbuminemia (HP:0003073)                     < 3.5 g/dL (35 g/L)
ESR          Elevated erythrocyte sedimentation rate          > age/2 men, > (age+10)/2 women and sex
             (HP:0003565)                                     unknown (Miller 1983), at least 15 / 20 mm/h
                                                              (ICSH); age unknown is taken as 70
CRP          Elevated circulating C-reactive protein          > 10 mg/L (1.0 mg/dL), the usual laboratory
             concentration (HP:0011227)                       cut-off (not the 1-3 mg/L of hs-CRP risk)
glucose      Hyperglycemia (HP:0003074) / Hypoglycemia        > 7.8 mmol/L (140 mg/dL) / < 3.9 mmol/L
             (HP:0001943)                                     (70 mg/dL): ADA Standards of Care, hospital
                                                              hyperglycemia and level 1 hypoglycemia
                                                              (fasting or not is rarely written)
creatinine   Elevated circulating creatinine concentration    > 1.3 mg/dL (115 umol/L) men and sex unknown,
             (HP:0003259)                                     > 1.1 mg/dL (97 umol/L) women (usual intervals
                                                              0.7-1.3 / 0.6-1.1)
TSH          Elevated circulating thyroid-stimulating         > 5.0 / < 0.27 mU/L (assay intervals run from
             hormone concentration (HP:0002925) / Decreased   0.27-4.2 to 0.35-4.94)
             thyroid-stimulating hormone level (HP:0031098)
ferritin     Increased circulating ferritin concentration     > 300 ng/mL men and sex unknown, > 200 women
             (HP:0003281) / Decreased circulating ferritin    (EASL 2022 haemochromatosis guideline); < 15
             concentration (HP:0012343)                       ng/mL either sex (WHO 2020 iron deficiency)
calcium      Hypercalcemia (HP:0003072) / Hypocalcemia        total > 2.6 / < 2.1 mmol/L (10.5 / 8.5 mg/dL);
             (HP:0002901)                                     an uncorrected total counts only if, where the
                                                              text gives albumin, the albumin-corrected
                                                              value (Payne) is out of range the same way.
                                                              Ionised calcium is not read.
bicarbonate  Metabolic alkalosis (HP:0200114) / Metabolic     > 29 / < 22 mmol/L (usual 22-29). Either may
             acidosis (HP:0001942)                            be a respiratory compensation: the reading is
                                                              a hint, as the rest of this table
troponin     Increased circulating troponin I / T             I and unnamed: > 60 ng/L (0.06 ng/mL), above
             concentration (HP:0410173 / HP:0410174);         the 99th-percentile limit of every common I
             unnamed: Abnormal cardiac biomarker test         assay; T: > 14 ng/L (hs-cTnT 99th percentile).
             (HP:0500020: HPO has no troponin-only term)
bilirubin    Hyperbilirubinemia (HP:0002904)                  > 1.2 mg/dL (21 umol/L) total; a direct or
                                                              indirect value above it implies the total is
ALT          Elevated circulating alanine aminotransferase    > 56 U/L, the highest laboratory limit in
             concentration (HP:0031964)                       common use (ACG 2017's healthy limits, 33 men
                                                              and 25 women, are lower)
===========  ===============================================  =============================================

Patients known to be under 18 keep only sodium, potassium, glucose, CRP and CK (the other limits
are age-specific in children; children's CK upper limits, about 250-400 U/L after infancy, are below
the 500 used here for men and unknown sex); under 1 year nothing is read.

Care against false readings (a false finding is worse than a missed one): between a label and its
number only a few filler words ("of", "was", "level", "on admission", "rose from") may stand, so
"potassium chloride 20 mEq" and "calcium score 400" are no readings; a written unit that is not
the analyte's ("mEq", "mg", "%", "x ULN") rejects the number; numbers in a range ("135-145"), a
goal, a threshold, a dose given or someone else's result are skipped, and so are values in urine,
CSF or another fluid. A missing unit is guessed only where the number fits one unit, or every unit
it fits gives the same finding ("glucose 7.4" is mmol/L, "glucose 140" mg/dL, "glucose 30"
nothing). Physiologically impossible values are ignored. The text is never logged; a
:class:`LabReading` keeps the analyte, the number and the unit, never the words around them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal, cast

Analyte = Literal[
    "haemoglobin", "mcv", "wbc", "platelets", "sodium", "potassium", "ck", "albumin", "esr", "crp", "glucose",
    "creatinine", "tsh", "ferritin", "calcium", "corrected calcium", "bicarbonate", "troponin", "troponin I",
    "troponin T", "bilirubin", "alt",
]
Direction = Literal["below", "above"]

HPO_TERMS: Mapping[str, str] = {
    "HP:0001903": "Anemia",
    "HP:0001972": "Macrocytic anemia",
    "HP:0001935": "Microcytic anemia",
    "HP:0005518": "Increased mean corpuscular volume",
    "HP:0025066": "Decreased mean corpuscular volume",
    "HP:0001974": "Leukocytosis",
    "HP:0001882": "Leukopenia",
    "HP:0001894": "Thrombocytosis",
    "HP:0001873": "Thrombocytopenia",
    "HP:0003228": "Hypernatremia",
    "HP:0002902": "Hyponatremia",
    "HP:0002153": "Hyperkalemia",
    "HP:0002900": "Hypokalemia",
    "HP:0003236": "Elevated circulating creatine kinase concentration",
    "HP:0003073": "Hypoalbuminemia",
    "HP:0003565": "Elevated erythrocyte sedimentation rate",
    "HP:0011227": "Elevated circulating C-reactive protein concentration",
    "HP:0003074": "Hyperglycemia",
    "HP:0001943": "Hypoglycemia",
    "HP:0003259": "Elevated circulating creatinine concentration",
    "HP:0002925": "Elevated circulating thyroid-stimulating hormone concentration",
    "HP:0031098": "Decreased thyroid-stimulating hormone level",
    "HP:0003281": "Increased circulating ferritin concentration",
    "HP:0012343": "Decreased circulating ferritin concentration",
    "HP:0003072": "Hypercalcemia",
    "HP:0002901": "Hypocalcemia",
    "HP:0200114": "Metabolic alkalosis",
    "HP:0001942": "Metabolic acidosis",
    "HP:0410173": "Increased circulating troponin I concentration",
    "HP:0410174": "Increased circulating troponin T concentration",
    "HP:0500020": "Abnormal cardiac biomarker test",
    "HP:0002904": "Hyperbilirubinemia",
    "HP:0031964": "Elevated circulating alanine aminotransferase concentration",
}
"""Every HPO term :func:`abnormal_lab_findings` can return, with its name in HPO (2025-01-16)."""


# --- units ----------------------------------------------------------------------------------------

_COUNT = {"10^9/l": 1.0, "10^3/ul": 1.0, "10^3/mm3": 1.0, "10^3/cmm": 1.0, "k/ul": 1.0, "k/mm3": 1.0, "k": 1.0,
          "thou/ul": 1.0, "thou/mm3": 1.0, "g/l": 1.0, "/ul": 1e-3, "/mm3": 1e-3, "/cmm": 1e-3, "cells/ul": 1e-3,
          "cells/mm3": 1e-3}
"""Cell counts, to 10^9/L ("G/L" is giga per litre). Per-microlitre counts ("14,200/uL") / 1000."""
_MMOL = {"mmol/l": 1.0, "meq/l": 1.0}
_UL = {"u/l": 1.0, "iu/l": 1.0, "units/l": 1.0}
_TROPONIN = {"ng/l": 1.0, "pg/ml": 1.0, "ng/ml": 1000.0, "ug/l": 1000.0}
_PRETTY = {"g/dl": "g/dL", "g/l": "g/L", "fl": "fL", "10^9/l": "x 10^9/L", "/ul": "/uL", "mmol/l": "mmol/L",
           "u/l": "U/L", "mm/h": "mm/h", "mg/l": "mg/L", "mg/dl": "mg/dL", "umol/l": "umol/L", "mu/l": "mU/L",
           "ng/ml": "ng/mL", "ng/l": "ng/L"}
"""How :attr:`LabReading.describe` writes the units it states (limits, guessed units)."""


@dataclass(frozen=True, slots=True)
class _Analyte:
    name: str  # as describe writes it
    unit: str  # the canonical unit (a key of _PRETTY), the unit of the limits and of `plausible`
    units: Mapping[str, float]  # normalised written unit -> factor to the canonical unit
    guesses: tuple[tuple[str, float, float], ...]  # with no unit written: (unit, lo, hi) of numbers read so
    plausible: tuple[float, float]  # canonical; anything outside is not a real value


_HB = _Analyte("haemoglobin", "g/dl", {"g/dl": 1, "gm/dl": 1, "g%": 1, "gm%": 1, "g/l": 0.1, "gm/l": 0.1,
                                       "mmol/l": 1.611}, (("g/dl", 3, 20), ("g/l", 30, 200)), (2, 25))
_TROP = _Analyte("troponin", "ng/l", _TROPONIN, (("ng/l", 1, 100_000), ("ng/ml", 0.001, 500)), (0, 1_000_000))
_ANALYTES: dict[str, _Analyte] = {
    "haemoglobin": _HB,
    "mcv": _Analyte("MCV", "fl", {"fl": 1, "um3": 1}, (("fl", 50, 150),), (40, 180)),
    "wbc": _Analyte("WBC", "10^9/l", _COUNT, (("10^9/l", 0.1, 200), ("/ul", 100, 200_000)), (0.01, 1000)),
    "platelets": _Analyte("platelets", "10^9/l", _COUNT, (("10^9/l", 1, 2000), ("/ul", 1000, 2_000_000)),
                          (1, 5000)),
    "sodium": _Analyte("sodium", "mmol/l", _MMOL, (("mmol/l", 100, 180),), (90, 200)),
    "potassium": _Analyte("potassium", "mmol/l", _MMOL, (("mmol/l", 1.5, 9),), (1, 10)),
    "ck": _Analyte("CK", "u/l", _UL, (("u/l", 10, 500_000),), (5, 1_000_000)),
    "albumin": _Analyte("albumin", "g/dl", {"g/dl": 1, "gm/dl": 1, "g/l": 0.1}, (("g/dl", 1, 6.5), ("g/l", 10, 65)),
                        (0.5, 7)),
    "esr": _Analyte("ESR", "mm/h", {"mm/h": 1, "mm/hr": 1, "mm/hour": 1, "mm/1h": 1, "mm/1hr": 1, "mm": 1},
                    (("mm/h", 0, 150),), (0, 160)),
    "crp": _Analyte("CRP", "mg/l", {"mg/l": 1, "mg/dl": 10}, (("mg/l", 0, 600), ("mg/dl", 0, 60)), (0, 700)),
    "glucose": _Analyte("glucose", "mmol/l", {"mmol/l": 1, "mg/dl": 1 / 18.016, "mg%": 1 / 18.016},
                        (("mmol/l", 1, 60), ("mg/dl", 20, 1500)), (0.5, 170)),
    "creatinine": _Analyte("creatinine", "mg/dl", {"mg/dl": 1, "mg%": 1, "umol/l": 1 / 88.42},
                           (("mg/dl", 0.2, 20), ("umol/l", 20, 1800)), (0.1, 30)),
    "tsh": _Analyte("TSH", "mu/l", {"mu/l": 1, "miu/l": 1, "uu/ml": 1, "uiu/ml": 1}, (("mu/l", 0.005, 500),),
                    (0.001, 1000)),
    "ferritin": _Analyte("ferritin", "ng/ml", {"ng/ml": 1, "ug/l": 1}, (("ng/ml", 1, 100_000),), (0.5, 200_000)),
    "calcium": _Analyte("calcium", "mmol/l", {"mmol/l": 1, "mg/dl": 1 / 4.008, "meq/l": 0.5},
                        (("mmol/l", 1, 4.5), ("mg/dl", 4, 18)), (0.8, 5)),
    "bicarbonate": _Analyte("bicarbonate", "mmol/l", _MMOL, (("mmol/l", 3, 50),), (2, 60)),
    "troponin": _TROP,
    "troponin I": replace(_TROP, name="troponin I"),
    "troponin T": replace(_TROP, name="troponin T"),
    "bilirubin": _Analyte("bilirubin", "mg/dl", {"mg/dl": 1, "umol/l": 1 / 17.1},
                          (("mg/dl", 0.1, 40), ("umol/l", 2, 700)), (0.05, 60)),
    "alt": _Analyte("ALT", "u/l", _UL, (("u/l", 1, 20_000),), (1, 50_000)),
}
_ANALYTES["corrected calcium"] = replace(_ANALYTES["calcium"], name="corrected calcium")

_UNIT_WORDS = frozenset({
    "lakh", "lakhs", "lac", "lacs", "thousand", "million", "crore",  # "platelets 2.5 lakh" is 250 x 10^9/L
    "mg", "g", "gm", "gram", "grams", "ug", "ng", "pg", "kg", "meq", "mmol", "umol", "nmol", "pmol", "mol",
    "ml", "l", "dl", "cc", "u", "iu", "units", "unit", "miu", "uiu", "mu", "tab", "tabs", "tablet", "tablets",
    "cap", "caps", "capsule", "capsules", "amp", "amps", "vial", "vials", "x", "times", "fold", "mmhg", "kpa",
    "mm", "cm", "h", "hr", "hrs", "hour", "hours", "min", "mins", "d", "day", "days", "wk", "wks", "week",
    "weeks", "mo", "months", "y", "yr", "yrs", "year", "years", "percent", "pct", "uln", "iv", "po", "sc",
    "im", "sq", "daily", "bd", "bid", "tid", "qid", "od", "qd", "qds", "tds", "prn", "stat", "mcg",
})
"""A word after the number that is a unit, but not one of the analyte's, makes it no reading
("potassium 20 mEq", "ALT 3 x ULN", "calcium 500 mg"); any other word is no unit ("K 2.8 today")."""
_FLAGS = frozenset({"H", "L", "HH", "LL"})


def _unit_key(unit: str) -> str:
    u = re.sub(r"\s+", "", unit).lower().replace("µ", "u").replace("μ", "u").replace("³", "3").replace("⁹", "9")
    u = re.sub(r"(^|/)mc(?=[a-z])", r"\1u", u).replace("micromol", "umol")
    m = re.fullmatch(r"[x×*]?10(?:\^|\*\*?|e)?\(?([39])\)?/(l|ul|mm3|cmm)", u)
    return f"10^{m[1]}/{m[2]}" if m else u


# --- patterns -------------------------------------------------------------------------------------

_LABELS: dict[str, str] = {
    "haemoglobin": r"(?i:ha?emoglobin)|Hb|HB|Hgb|HGB|hgb",
    "mcv": r"MCV|(?i:mean\s+(?:corpuscular|cell)\s+volume)",
    "wbc": r"WBC|WCC|(?i:white\s+(?:blood\s+)?cells?|white\s+count|leu[ck]ocytes?)",
    "platelets": r"PLTs?|Plts?|plts?|(?i:platelets?|thrombocytes)",
    "sodium": r"Na\+?|(?i:sodium)",
    "potassium": r"K\+?|(?i:potassium)",
    "ck": r"CK|CPK|(?i:creatine\s+(?:phospho)?kinase|creatinine\s+kinase)",
    "albumin": r"(?i:albumin)|Alb|alb",
    "esr": r"ESR|(?i:(?:erythrocyte\s+)?sedimentation\s+rate|sed\s+rate)",
    "crp": r"(?:hs-?)?CRP|(?i:c-?\s?reactive\s+protein)",
    "glucose": r"(?i:glucose|blood\s+sugars?)|BGL?|BSL|CBG|FBG|FBS|FPG|RBS|RBG",
    "creatinine": r"(?i:creatinine|creat)|S?Cr|sCr",
    "tsh": r"TSH|(?i:thyrotropin|thyroid[-\s]stimulating\s+hormone)",
    "ferritin": r"(?i:ferritin)",
    "calcium": r"(?P<corr>(?i:(?:albumin[-\s])?(?:corrected|adjusted))\s+)?(?:(?i:calcium)|Ca)",
    "bicarbonate": r"(?<!(?i:sodium)\s)(?<!(?i:potassium)\s)(?i:bicarbonate|bicarb)|HCO3-?|TCO2|tCO2|(?i:total\s+)CO2"
                   r"|(?P<co2>CO2)",
    "troponin": r"(?i:(?:hs-?|high[-\s]sensitivity\s+)?(?:cardiac\s+)?troponin)(?:[ \t]?-?[ \t]?(?P<ti>I)|[ \t]?-?[ \t]?"
                r"(?P<tt>T))?\b|(?:hs-?)?c?Tn(?:(?P<ti2>I)|(?P<tt2>T))",
    "bilirubin": r"(?i:(?:total\s+)?bilirubin|t\.?\s?bili|bili)",
    "alt": r"ALT|SGPT|(?i:alanine\s+(?:amino)?transaminase|alanine\s+aminotransferase)",
}
"""The labels of each analyte; abbreviations are matched in their usual case only ("Na", not "NA",
which is "not available"; "Ca", not "CA" as in CA 19-9 and CA-125)."""

_FILLER = (
    r"of|was|were|is|are|at|on|level|levels|value|count|concentration|serum|plasma|blood|total|measured|noted|"
    r"found|to|be|been|has|had|now|initially|today|admission|presentation|arrival|repeat|initial|elevated|raised|"
    r"high|low|decreased|increased|reduced|rose|rises|rising|risen|fell|falls|falling|dropped|drops|dropping|"
    r"declined|from|peaked|peaking|peak|markedly|mildly|severely|further|only|again|then|reaching|reached|"
    r"approximately|about|around"
)
_SP = r"[ \t\xa0]"
_GAP = rf"(?:{_SP}{{0,3}}(?::|=|-|~|(?i:{_FILLER})\b)){{0,6}}{_SP}{{0,3}}"
"""Between a label and its number: only filler ("Hb: ", "hemoglobin of ", "potassium level on
admission was ", "troponin rises from "), no digits, no clause punctuation, no other words: a drug
name ("potassium chloride 20"), another test ("calcium score", "CK-MB", "Hb A1c") or a threshold
word ("Na above 130") breaks it."""
_NUM = r"\d{1,3}(?:,\d{3})+(?!\d)|\d+(?:\.\d+)?(?![.,]?\d)|\.\d+(?![.,]?\d)"
"""A number; "18,000" has a thousands separator, "8,7" (a decimal comma or a list) is not read."""
_UNIT = (
    rf"(?!(?i:to|then|and|up)\b)(?:"
    rf"(?:[x×*]{_SP}{{0,2}})?10{_SP}{{0,2}}(?:\^|\*\*?|e|E)?\(?[39⁹³]\)?{_SP}{{0,2}}/{_SP}{{0,2}}(?:[uµμ]?[lL]|mm[3³]|cmm|mcL)"
    rf"|[%A-Za-zµμ][%A-Za-zµμ³]*(?:{_SP}{{0,2}}/{_SP}{{0,2}}(?:[A-Za-zµμ][A-Za-zµμ0-9³]*|\d+{_SP}?[A-Za-z]+))?"
    rf"|/{_SP}{{0,2}}[A-Za-zµμ][A-Za-zµμ0-9³]*)"
)
"""A unit after a number: "x 10^9/L", "10^3/uL", "g/dL", "mmol/L", "U/L", "/uL", "%", or any word
(read by :func:`_reading`: the analyte's unit, another unit, or no unit at all). Never a word of
a series ("85 to 410")."""
_SERIES = rf"(?:{_SP}{{0,3}},?{_SP}{{0,3}}(?:-{{1,2}}>|→|=>|(?i:to|then|and\s+then|up\s+to)\b){_SP}{{0,3}}" \
          rf"(?:{_NUM})(?:{_SP}{{0,2}}(?:{_UNIT}))?){{0,5}}"
"""A series after the first value: "from 85 to 410", "12.1 -> 9.4 -> 8.7 g/dL"."""
_ITEM = re.compile(rf"(?P<num>{_NUM})(?:{_SP}{{0,2}}(?P<unit>{_UNIT}))?")

_PATTERNS: dict[str, re.Pattern[str]] = {
    kind: re.compile(
        rf"(?<![\w.\-/])(?:{label})(?![\w/+]|-{_SP}?[A-Za-z]){_GAP}(?P<first>(?P<num>{_NUM})(?:{_SP}{{0,2}}"
        rf"(?P<unit>{_UNIT}))?)(?P<series>{_SERIES})"
    )
    for kind, label in _LABELS.items()
}

_AFTER_NUMBER = re.compile(rf"{_SP}*(?:[-–—](?!-*>){_SP}*\d|/{_SP}*\d|[:.]\d)")
"""A number that opens a range ("135-145"), a ratio or a date ("12/03") is not a value."""
_SPECIMEN = re.compile(
    r"\b(?:(?P<other>urine(?!\s+output)|urinary|UA|CSF|cerebrospinal|pleural|ascitic|ascites|peritoneal|synovial|"
    r"pericardial|stool|fecal|faecal|sweat|dialysate|drain|BAL|vitreous|amniotic|cord\s+blood|fetal|fluid(?!\s+"
    r"(?:overload|resuscitation|restriction|balance|bolus|status|intake|challenge|retention)))|serum|plasma|blood|"
    r"venous|arterial|capillary|sera)\b",
    re.IGNORECASE,
)
"""The last specimen named before a label in its sentence decides whose value it is: "CSF glucose
40 (serum glucose 110)" has one blood glucose, "urine Na 20" none."""
_NOT_A_LEVEL = re.compile(
    r"\b(?:goal|target|keep|maintain|titrate|if|when|unless|until|threshold|cut-?off|normal|range|reference|"
    r"ref|mother|father|mom|dad|sister|brother|son|daughter|wife|husband|family|sibling|parent|ionized|ionised|"
    r"free|glycated|glycosylated|vitamin|coronary|given|give|gave|giving|start|started|starting|administer|"
    r"administered|received|receiving|replace|replaced|replacing|replacement|replete|repleted|repleting|repletion|"
    r"supplement|supplements|supplemented|supplementation|infusion|infused|drip|bolus|IV|PO|oral|orally|dose|dosed|"
    r"dosing|prescribed|less|greater|below|above|under|over|than|previous|previously|prior|baseline)\b|[<>≤≥]",
    re.IGNORECASE,
)
"""Words in a label's clause, before it, that make the number a goal, a threshold, a dose given or
someone else's result ("keep K > 4", "given IV potassium 40", "mother's Hb", "ionized calcium")."""
_CLAUSE_END = re.compile(r"[\n,;(]|[.!?](?=\s)")
_SENTENCE_END = re.compile(r"\n|[.!?](?=\s)")
_PAST_OR_ELSEWHERE = re.compile(
    r"[^,;.\n]{0,30}?\b(?:ago|last\s+(?:year|month|week|visit|time)|previously|at\s+baseline|"
    r"in\s+(?:the\s+)?(?:CSF|urine|pleural|ascitic|ascites|synovial|peritoneal|stool|fluid)|\(?\s*ioni[sz]ed)\b",
    re.IGNORECASE,
)
"""Words right after a value, in its clause, that make it a past value, a value in another fluid or
an ionised calcium ("Hb 8 two weeks ago", "K 2.9 last year", "WBC 15 in CSF", "Ca 1.1 (ionised)")."""
_BEFORE = 120
"""Characters before a label searched for a specimen (in its sentence) and a :data:`_NOT_A_LEVEL`
word (in its clause, at most 40 characters back)."""
_AFTER_A_NUMBER = re.compile(rf"\d{_SP}*$")


# --- readings -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LabReading:
    """One laboratory value: the analyte, the number as written ("18,000" -> 18000.0) and its unit as
    written (None when none was). ``limit`` is set on the readings :func:`abnormal_lab_findings`
    returns: the reference limit crossed, in the analyte's canonical unit (the table's first)."""

    kind: Analyte
    value: float
    unit: str | None
    limit: tuple[Direction, float] | None = None

    @property
    def describe(self) -> str:
        """"haemoglobin 8.7 g/dL (below 12)"; a limit in another unit than the one written is named
        ("haemoglobin 98 g/L (below 12 g/dL)"), and so is the unit a unitless number was read in
        ("WBC 14,200 (above 11 x 10^9/L, read as /uL)", "CRP 12 (above 10 mg/L, read as mg/L or mg/dL)")."""
        a = _ANALYTES[self.kind]
        value = f"{int(self.value):,}" if self.value.is_integer() and self.value >= 1000 else f"{self.value:g}"
        unit = "" if self.unit is None else self.unit if self.unit.startswith("/") else f" {self.unit}"
        text = f"{a.name} {value}{unit}"
        if self.limit is None:
            return text
        direction, limit = self.limit
        bound = f"{direction} {limit:g}"
        if self.unit is not None:
            return f"{text} ({bound})" if a.units[_unit_key(self.unit)] == 1 else f"{text} ({bound} {_PRETTY[a.unit]})"
        read_as = [u for u, _ in _readings_as(self)]
        if read_as == [a.unit]:
            return f"{text} ({bound} {_PRETTY[a.unit]})"
        return f"{text} ({bound} {_PRETTY[a.unit]}, read as {' or '.join(_PRETTY[u] for u in read_as)})"


def _readings_as(r: LabReading) -> list[tuple[str, float]]:
    """(unit, canonical value) for each unit ``r`` may be in: its own, or with none written each unit
    its number is usual in. Empty when the value is impossible or the unit not the analyte's."""
    a = _ANALYTES[r.kind]
    if r.unit is not None:
        key = _unit_key(r.unit)
        units = [key] if key in a.units else []
    else:
        units = [u for u, lo, hi in a.guesses if lo <= r.value <= hi]
    lo, hi = a.plausible
    return [(u, r.value * a.units[u]) for u in units if lo <= r.value * a.units[u] <= hi]


def read_labs(text: str) -> list[LabReading]:
    """Every plausible laboratory value in ``text``, in text order (a label followed by its number).
    A series ("rose from 85 to 410") gives one reading: its value furthest out of range."""
    found: list[tuple[int, int, LabReading]] = []  # label start, end of what the reading took, reading
    for kind, pattern in _PATTERNS.items():
        for m in pattern.finditer(text):
            read = _reading(kind, m, text)
            if read is not None:
                found.append((m.start(), *read))
    found.sort(key=lambda f: f[0])
    out: list[LabReading] = []
    taken_until = -1
    for start, end, reading in found:
        if start < taken_until:  # "WBC 14.2 K 3.0": that K is the WBC's unit
            continue
        if (reading.kind == "potassium" and _AFTER_A_NUMBER.search(text, max(0, start - 8), start)
                and (taken_until < 0 or text[taken_until:start].strip(" \t\xa0"))):
            continue  # a K right after a number is a thousand ("2 K"), unless that number was a reading's
        out.append(reading)
        taken_until = end
    return out


def _reading(kind: str, m: re.Match[str], text: str) -> tuple[int, LabReading] | None:
    """The reading of one match and where what it took ends (its last number, or that number's
    unit), or None when the match is no reading of ``kind``."""
    if _AFTER_NUMBER.match(text, m.end("num")) or not _context_ok(text, m.start()):
        return None
    if kind == "bicarbonate" and m["co2"] and not (m["unit"] and _unit_key(m["unit"]) in _ANALYTES[kind].units):
        return None  # a bare "CO2 45" (or "CO2 48 HCO3 24") may be a pCO2: only "CO2 32 mmol/L" is read
    if _PAST_OR_ELSEWHERE.match(text, m.end("num")):
        return None  # "Hb 8 two weeks ago", "K 2.9 previously", "WBC 15 in CSF", "Ca 1.1 ionized"
    if kind == "calcium" and m["corr"]:
        kind = "corrected calcium"
    elif kind == "troponin" and (m["ti"] or m["ti2"]):
        kind = "troponin I"
    elif kind == "troponin" and (m["tt"] or m["tt2"]):
        kind = "troponin T"
    analyte = _ANALYTES[kind]
    values: list[float] = []
    units: list[str] = []
    end = m.end("num")
    for item in [_ITEM.match(text, m.start("first")), *_ITEM.finditer(text, m.start("series"), m.end("series"))]:
        assert item is not None
        values.append(float(item["num"].replace(",", "")))
        end = item.end("num")
        unit = item["unit"]
        if unit and unit not in _FLAGS:
            key = _unit_key(unit)
            if key in analyte.units:
                units.append(unit)
                end = item.end("unit")
            elif key in _UNIT_WORDS or re.search(r"[/%\d]", key):
                return None  # another unit: a dose, a ratio, "x ULN"
    if len({_unit_key(u) for u in units}) > 1:
        return None
    unit = units[-1] if units else None
    readings = [LabReading(cast(Analyte, kind), v, unit) for v in values]
    if not all(_readings_as(r) for r in readings):
        return None  # impossible values
    worst = max(readings, key=_deviation)
    return end, worst if _deviation(worst) > 0 else readings[-1]


def _after_last(pattern: re.Pattern[str], text: str) -> str:
    """``text`` after the last match of ``pattern`` (all of it when none): one pass, no backtracking."""
    end = 0
    for m in pattern.finditer(text):
        end = m.end()
    return text[end:]


def _context_ok(text: str, start: int) -> bool:
    before = text[max(0, start - _BEFORE):start]
    sentence = _after_last(_SENTENCE_END, before)
    specimens = list(_SPECIMEN.finditer(sentence))
    if specimens and specimens[-1]["other"]:
        return False
    clause = _after_last(_CLAUSE_END, sentence)[-40:]
    return not _NOT_A_LEVEL.search(clause)


def _deviation(r: LabReading) -> float:
    """How far a value lies out of its sex-neutral interval, relative to the limit (0 inside)."""
    value = _readings_as(r)[0][1]
    out = 0.0
    for rule in _RULES[r.kind]:
        limit = _limit(rule, None, None)
        out = max(out, (limit - value) / limit if rule.direction == "below" else (value - limit) / limit)
    return out


# --- findings -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Rule:
    direction: Direction
    limit: float | tuple[float, float] | Literal["by age"]  # one for all, or (women, men); ESR: by age
    hpo: str


_RULES: dict[str, tuple[_Rule, ...]] = {
    "haemoglobin": (_Rule("below", (12.0, 13.0), "HP:0001903"),),
    "mcv": (_Rule("above", 100, "HP:0005518"), _Rule("below", 80, "HP:0025066")),
    "wbc": (_Rule("above", 11.0, "HP:0001974"), _Rule("below", 4.0, "HP:0001882")),
    "platelets": (_Rule("above", 450, "HP:0001894"), _Rule("below", 150, "HP:0001873")),
    "sodium": (_Rule("above", 145, "HP:0003228"), _Rule("below", 135, "HP:0002902")),
    "potassium": (_Rule("above", 5.5, "HP:0002153"), _Rule("below", 3.5, "HP:0002900")),
    "ck": (_Rule("above", (300, 500), "HP:0003236"),),
    "albumin": (_Rule("below", 3.5, "HP:0003073"),),
    "esr": (_Rule("above", "by age", "HP:0003565"),),
    "crp": (_Rule("above", 10, "HP:0011227"),),
    "glucose": (_Rule("above", 7.8, "HP:0003074"), _Rule("below", 3.9, "HP:0001943")),
    "creatinine": (_Rule("above", (1.1, 1.3), "HP:0003259"),),
    "tsh": (_Rule("above", 5.0, "HP:0002925"), _Rule("below", 0.27, "HP:0031098")),
    "ferritin": (_Rule("above", (200, 300), "HP:0003281"), _Rule("below", 15, "HP:0012343")),
    "calcium": (_Rule("above", 2.6, "HP:0003072"), _Rule("below", 2.1, "HP:0002901")),
    "corrected calcium": (_Rule("above", 2.6, "HP:0003072"), _Rule("below", 2.1, "HP:0002901")),
    "bicarbonate": (_Rule("above", 29, "HP:0200114"), _Rule("below", 22, "HP:0001942")),
    "troponin": (_Rule("above", 60, "HP:0500020"),),
    "troponin I": (_Rule("above", 60, "HP:0410173"),),
    "troponin T": (_Rule("above", 14, "HP:0410174"),),
    "bilirubin": (_Rule("above", 1.2, "HP:0002904"),),
    "alt": (_Rule("above", 56, "HP:0031964"),),
}
_CHILDREN = frozenset({"sodium", "potassium", "glucose", "crp", "ck"})
"""Analytes whose adult limits hold from 1 to 17 years."""
_ANEMIA_BY_MCV = {"HP:0005518": "HP:0001972", "HP:0025066": "HP:0001935"}
"""With an anemia in the text, an MCV out of range names its kind: Macrocytic / Microcytic anemia."""


def _limit(rule: _Rule, sex: str | None, age: int | None) -> float:
    if rule.limit == "by age":  # ESR: Miller's age/2 (men), (age + 10)/2 (women), not under ICSH's 15 / 20
        years = 70 if age is None else age
        return max(years / 2, 15.0) if sex == "male" else max((years + 10) / 2, 20.0)
    if isinstance(rule.limit, tuple):
        women, men = rule.limit
        if sex is None:  # the wider interval
            return min(women, men) if rule.direction == "below" else max(women, men)
        return women if sex == "female" else men
    return rule.limit


def _judge(r: LabReading, sex: str | None, age: int | None) -> tuple[Direction, float, str] | None:
    """The finding every unit the reading may be in agrees on, (direction, limit, HPO id); None when
    the value is normal or its units disagree ("glucose 30": 30 mmol/L is high, 30 mg/dL low)."""
    verdicts: set[tuple[Direction, float, str] | None] = set()
    for _, value in _readings_as(r):
        hit = None
        for rule in _RULES[r.kind]:
            limit = _limit(rule, sex, age)
            if (value < limit) if rule.direction == "below" else (value > limit):
                hit = (rule.direction, limit, rule.hpo)
                break
        verdicts.add(hit)
    return verdicts.pop() if len(verdicts) == 1 else None


def abnormal_lab_findings(
    text: str, *, age: int | None = None, sex: Literal["female", "male"] | None = None
) -> list[tuple[LabReading, str, str]]:
    """(reading, HPO id, HPO name) for each value of ``text`` outside its reference limit (see the
    module's table), one per HPO term (its first reading), in text order. The readings carry the
    limit they cross (:attr:`LabReading.describe`). ``sex`` picks sex-specific limits (unknown: the
    wider interval); ``age`` under 18 keeps only the analytes whose limits hold in children."""
    if sex not in (None, "female", "male"):
        raise ValueError(f"sex {sex!r}: expected 'female', 'male' or None")
    if age is not None and age < 1:
        return []
    readings = [r for r in read_labs(text) if age is None or age >= 18 or r.kind in _CHILDREN]
    albumin = next((v[0][1] for r in readings if r.kind == "albumin" and len(v := _readings_as(r)) == 1), None)
    found: dict[str, LabReading] = {}
    for r in readings:
        verdict = _judge(r, sex, age)
        if verdict is None:
            continue
        direction, limit, hpo = verdict
        if r.kind == "calcium" and albumin is not None:  # Payne: + 0.02 mmol/L per g/L of albumin under 40
            corrected = _readings_as(r)[0][1] + 0.02 * (40 - 10 * albumin)
            if not ((corrected < limit) if direction == "below" else (corrected > limit)):
                continue
        found.setdefault(hpo, replace(r, limit=(direction, limit)))
    if "HP:0001903" in found:
        found = {_ANEMIA_BY_MCV.get(hpo, hpo): r for hpo, r in found.items()}
    return [(r, hpo, HPO_TERMS[hpo]) for hpo, r in found.items()]
