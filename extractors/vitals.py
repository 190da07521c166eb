"""Vital signs written as numbers in clinical text ("BP: 169/74", "blood pressure was 180/95 mmHg",
"Temp 38.6 C", "SpO2 89%") -> the abnormal findings they show.

NER tags words, not readings: a note that says "BP: 169/74" never says "hypertension", and the
reading is often the only sign of it. :func:`read_vitals` finds the readings with patterns over
the usual labels and :func:`abnormal_findings` turns each reading outside the adult reference
range into an HPO finding. Normal readings give nothing (a normal temperature today does not
exclude the fever of last week), and nothing is inferred from a number without its label.

Reference ranges (adults; readings of patients known to be under 18 are only used for fever):

========================  ======================  =====================================================
reading                   finding                 rule and source
========================  ======================  =====================================================
blood pressure            Hypertension            systolic >= 140 or diastolic >= 90 mmHg (office
                          (HP:0000822)            hypertension: 2018 ESC/ESH guideline; ACC/AHA 2017
                                                  stage 2)
blood pressure            Hypotension             systolic < 90 mmHg
                          (HP:0002615)
heart rate / pulse        Tachycardia             > 100 beats/min
                          (HP:0001649)
heart rate / pulse        Bradycardia             < 50 beats/min (below the 60 of the textbook
                          (HP:0001662)            definition: rates of 50-59 are common in healthy
                                                  and treated adults)
temperature               Fever (HP:0001945)      >= 38.0 C / 100.4 F
respiratory rate          Tachypnea (HP:0002789)  > 20 breaths/min
oxygen saturation         Hypoxemia (HP:0012418)  SpO2 < 92 %
BMI                       Obesity (HP:0001513)    >= 30 kg/m2 (WHO)
========================  ======================  =====================================================

Readings outside physiological limits (a "pulse" of 2 in "2+ radial pulses", a BP of 12/8) are
ignored, not guessed at. The text is never logged; a :class:`Reading` keeps only the label's
kind and the numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_GAP = r"[^0-9\n,;.()<>=]{0,30}?"
"""Between a label and its number: "BP: ", "blood pressure was noted to be ", "Temp of ". No
digit (the number must be the first after the label), no line break, no clause punctuation (in
"Temp not taken, HR 110" the 110 is not a temperature) and no comparison sign."""

_NOT_A_RATE = r"(?!\s+(?:pressure|variability|ox\b|oximetry|deficit|grade))"
""""pulse pressure 30", "heart rate variability 40 ms", "pulse ox 94", "pulse deficit" are not rates."""
_NOT_AFTER_NUMBER = r"(?<![\d/])(?<![\d/]\s)"
"""An "hr" right after a number or a slash is hours ("2 hr 40 min", "units/hr")."""
_INTEGER_END = r"\b(?![.,]\d)(?!\s*(?:[+%]|/(?!\s*min)))"
"""A rate is a whole number, maybe "/min": not "25.1" (a ratio), "2+" (a pulse grade) or "3/6"."""

_PATTERNS: dict[str, re.Pattern[str]] = {
    "bp": re.compile(rf"\b(?:BP|B/P|blood\s+pressures?)\b{_GAP}(\d{{2,3}})\s*/\s*(\d{{2,3}})\b(?![.,]\d)", re.IGNORECASE),
    "hr": re.compile(rf"{_NOT_AFTER_NUMBER}(?<!fetal\s)\b(?:HR|heart\s+rate|pulse(?:\s+rate)?)\b{_NOT_A_RATE}{_GAP}"
                     rf"(\d{{2,3}}){_INTEGER_END}", re.IGNORECASE),
    "temp": re.compile(rf"\b(?:temp(?:erature)?|Tmax)\b{_GAP}(\d{{2,3}}(?:\.\d{{1,2}})?)(?:\s?°)?\s?([CF])?\b"
                       r"|(?<![\w/.])(?<!troponin )(?-i:T)[ \t]{0,3}[:=]?[ \t]{0,3}(\d{2,3}(?:\.\d{1,2})?)[ \t]?°?[ \t]?"
                       r"(?-i:([CF]))\b",
                       re.IGNORECASE),
    "rr": re.compile(rf"\b(?:RR|resp(?:iratory)?\s+rate|respirations?|resp)\b{_GAP}(\d{{1,2}}){_INTEGER_END}", re.IGNORECASE),
    "spo2": re.compile(rf"\b(?:SpO2|SaO2|O2\s*sat(?:uration)?s?|oxygen\s+saturations?|saturations?|pulse\s+ox(?:imetry)?)\b"
                       rf"{_GAP}(\d{{2,3}})\s*(?:%|percent\b)?(?![.,]\d)|\bsats?\b{_GAP}(\d{{2,3}})\s*(?:%|percent\b)",
                       re.IGNORECASE),
    "bmi": re.compile(rf"\b(?:BMI|body\s+mass\s+index)\b{_GAP}(\d{{2}}(?:\.\d+)?)\b", re.IGNORECASE),
}
"""One pattern per reading. The one-letter labels of vitals lines ("P 88", "T 38.2") are not
read: "P" and "T" are too many other things in clinical text; a capital "T" is read only with
the temperature's unit after the number ("T 38.2 C", "T 101.3 F", "T 38.6°C")."""

_NOT_A_READING = re.compile(
    r"\b(?:goal|target|if|keep|titrate|hold|call|maintain|less|greater|below|above|under|over|than|"
    r"mother|father|sister|brother|son|daughter|wife|husband|family|fetal)\b|[<>≤≥]",
    re.IGNORECASE,
)
"""Words that make a number a threshold, a goal or someone else's reading ("call if temp >
100.4", "goal SpO2 > 88%", "BMI < 30 required", "mother's BP 180/100"): looked for between the
label and the number and in the few words before the label."""
_BEFORE = 25
"""Characters before a label searched for :data:`_NOT_A_READING` (within its line)."""


@dataclass(frozen=True, slots=True)
class Reading:
    """One vital-sign reading: ``kind`` (bp, hr, temp, rr, spo2, bmi), its value(s) in the unit
    the rules use (mmHg, /min, degrees C, %, kg/m2) and where it is in the text."""

    kind: str
    values: tuple[float, ...]
    start: int
    end: int

    def describe(self) -> str:
        v = self.values
        return {
            "bp": lambda: f"blood pressure {v[0]:.0f}/{v[1]:.0f} mmHg",
            "hr": lambda: f"heart rate {v[0]:.0f}/min",
            "temp": lambda: f"temperature {v[0]:.1f} C",
            "rr": lambda: f"respiratory rate {v[0]:.0f}/min",
            "spo2": lambda: f"oxygen saturation {v[0]:.0f} %",
            "bmi": lambda: f"BMI {v[0]:.1f}",
        }[self.kind]()


@dataclass(frozen=True, slots=True)
class VitalFinding:
    """An abnormal reading as a finding: the HPO id and name, and the reading behind it."""

    concept_id: str
    name: str
    reading: Reading

    @property
    def describe(self) -> str:
        return f"{self.reading.describe()} ({self.name.lower()} range)"


_PLAUSIBLE = {
    "hr": (20, 250),
    "rr": (4, 70),
    "spo2": (50, 100),
    "bmi": (10, 90),
}


def read_vitals(text: str) -> list[Reading]:
    """Every plausible reading in ``text``, in text order (a label followed by its number)."""
    out: list[Reading] = []
    for kind, pattern in _PATTERNS.items():
        for m in pattern.finditer(text):
            before = text[max(0, m.start() - _BEFORE):m.start()].rsplit("\n", 1)[-1]  # within its line
            if _NOT_A_READING.search(before) or _NOT_A_READING.search(m.group(0)):
                continue
            reading = _reading(kind, m)
            if reading is not None:
                out.append(reading)
    return sorted(out, key=lambda r: r.start)


def _reading(kind: str, m: re.Match[str]) -> Reading | None:
    if kind == "bp":
        sys_, dia = float(m.group(1)), float(m.group(2))
        if not (50 <= sys_ <= 300 and 20 <= dia <= 200 and dia < sys_):
            return None
        return Reading("bp", (sys_, dia), m.start(), m.end())
    value = float(next(g for g in m.groups() if g is not None))
    if kind == "temp":
        unit = (m.group(2) or m.group(4) or "").upper()
        if unit == "F" or (not unit and 90 <= value <= 110):
            value = (value - 32) * 5 / 9
        if not 30 <= value <= 45:
            return None
        return Reading("temp", (round(value, 1),), m.start(), m.end())
    low, high = _PLAUSIBLE[kind]
    if not low <= value <= high:
        return None
    return Reading(kind, (value,), m.start(), m.end())


def abnormal_findings(text: str, *, age: int | None = None) -> list[VitalFinding]:
    """The findings the readings of ``text`` show (see the module's table), one per concept
    (the first reading that shows it). ``age`` under 18 keeps only fever: children's heart rate,
    breathing rate, blood pressure and BMI have age-specific ranges this table does not hold."""
    child = age is not None and age < 18
    out: dict[str, VitalFinding] = {}
    for r in read_vitals(text):
        if child and r.kind != "temp":
            continue
        for cid, name in _rules(r):
            out.setdefault(cid, VitalFinding(cid, name, r))
    return list(out.values())


def _rules(r: Reading) -> list[tuple[str, str]]:
    v = r.values
    if r.kind == "bp":
        if v[0] >= 140 or v[1] >= 90:
            return [("HP:0000822", "Hypertension")]
        if v[0] < 90:
            return [("HP:0002615", "Hypotension")]
    elif r.kind == "hr":
        if v[0] > 100:
            return [("HP:0001649", "Tachycardia")]
        if v[0] < 50:
            return [("HP:0001662", "Bradycardia")]
    elif r.kind == "temp" and v[0] >= 38.0:
        return [("HP:0001945", "Fever")]
    elif r.kind == "rr" and v[0] > 20:
        return [("HP:0002789", "Tachypnea")]
    elif r.kind == "spo2" and v[0] < 92:
        return [("HP:0012418", "Hypoxemia")]
    elif r.kind == "bmi" and v[0] >= 30:
        return [("HP:0001513", "Obesity")]
    return []
