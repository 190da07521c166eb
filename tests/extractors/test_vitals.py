"""Vital signs written as numbers -> the abnormal findings they show (extractors.vitals)."""

from __future__ import annotations

import pytest

from extractors.vitals import abnormal_findings, read_vitals


def _found(text: str, **kw: object) -> dict[str, str]:
    return {f.concept_id: f.describe for f in abnormal_findings(text, **kw)}  # type: ignore[arg-type]


def test_a_vitals_block_is_read_label_by_label() -> None:
    text = "BP: 169/74.\nHR: 88 bpm.\nSpO2: 98%.\nTemp 101.2 F, RR 24, BMI 34.5"
    assert [(r.kind, r.values) for r in read_vitals(text)] == [
        ("bp", (169.0, 74.0)), ("hr", (88.0,)), ("spo2", (98.0,)), ("temp", (38.4,)), ("rr", (24.0,)), ("bmi", (34.5,)),
    ]
    assert set(_found(text)) == {"HP:0000822", "HP:0001945", "HP:0002789", "HP:0001513"}  # not HR 88, not SpO2 98
    assert _found(text)["HP:0000822"] == "blood pressure 169/74 mmHg (hypertension range)"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("His blood pressure was noted to be 180/95 mmHg in the emergency room.", {"HP:0000822"}),
        ("blood pressure is 120/80 today", set()),
        ("BP 138/92", {"HP:0000822"}),  # the diastolic alone is enough
        ("BP 84/50 on arrival", {"HP:0002615"}),
        ("heart rate of 112", {"HP:0001649"}),
        ("pulse 44", {"HP:0001662"}),
        ("temperature of 38.0 C", {"HP:0001945"}),
        ("temperature 37.9", set()),
        ("oxygen saturation 89% on room air", {"HP:0012418"}),
        ("O2 sat 95 %", set()),
        ("SpO2 88 on RA", {"HP:0012418"}),
        ("HR 110/min, RR 24/min", {"HP:0001649", "HP:0002789"}),
        ("Temp not taken, HR 110", {"HP:0001649"}),  # the 110 is the heart rate's, not a temperature
        ("Pulse: thready, temp 38.2", {"HP:0001945"}),  # the 38 is the temperature's, not a pulse
    ],
)
def test_reference_ranges(text: str, expected: set[str]) -> None:
    assert set(_found(text)) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Bilateral extremities 2+ radial pulses.",  # a pulse grade, not a rate
        "BP 12/8",  # not a blood pressure
        "pulse 400",
        "temperature 60",
        "Grade 3/6 systolic murmur. T-score -2.6. P 120",  # no label: nothing guessed
        "",
        "surgery lasted 2 hr 40 min; insulin 2 units/hr 30 min later",  # hours
        "Pulse pressure 30. Heart rate variability 40 ms. Fetal heart rate 170.",
        "relative risk (RR) 22; RR 25.1 (95% CI 1.2-3.4)",
        "Call if temp > 100.4. Goal SpO2 > 88%. Titrate O2 to sats of 88%. Hold if HR < 45.",
        "BMI < 30 or BMI less than 35 required; BP goal below 140/90; target BP 140/90",
        "Her mother's BP 180/100.",
        "temp 37" + " " * 20_000,  # no unit after a long run of blanks: read at once, not backtracked over
        "T 38.2 without its unit; t 38 c in lower case; T3 38 C; CT 38 C",  # a bare "T" needs its unit
        "Troponin T 40 C-terminal; T\n38 C",  # troponin T is no temperature; the unit is on the same line
        "T" + " " * 20_000,  # read at once, not backtracked over
    ],
)
def test_implausible_or_unlabelled_numbers_give_nothing(text: str) -> None:
    assert _found(text) == {}


def test_children_keep_only_fever() -> None:
    text = "HR 130, RR 32, temperature 38.9 C, BP 110/70"
    assert set(_found(text)) == {"HP:0001649", "HP:0002789", "HP:0001945"}
    assert set(_found(text, age=3)) == {"HP:0001945"}  # a 3-year-old's heart and breathing rates are their own


@pytest.mark.parametrize("text", ["T 38.2 C, WBC 14.2", "T: 39.1C", "T 101.3 F", "afebrile yesterday, T 38.6°C today",
                                  "Vitals T 38.2 C HR 90"])
def test_a_capital_t_with_the_temperature_unit_is_a_temperature(text: str) -> None:
    assert set(_found(text)) == {"HP:0001945"}
