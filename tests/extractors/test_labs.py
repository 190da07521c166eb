"""Laboratory values written as numbers -> the abnormal findings they show (extractors.labs)."""

from __future__ import annotations

import dataclasses
import logging

import pytest

from extractors.labs import HPO_TERMS, LabReading, abnormal_lab_findings, read_labs
from extractors.linking.sources import hpo_obo_path

ANEMIA, MACROCYTIC, MICROCYTIC = "HP:0001903", "HP:0001972", "HP:0001935"
HIGH_MCV, LOW_MCV = "HP:0005518", "HP:0025066"
LEUKOCYTOSIS, LEUKOPENIA, THROMBOCYTOSIS, THROMBOCYTOPENIA = "HP:0001974", "HP:0001882", "HP:0001894", "HP:0001873"
HYPERNATREMIA, HYPONATREMIA, HYPERKALEMIA, HYPOKALEMIA = "HP:0003228", "HP:0002902", "HP:0002153", "HP:0002900"
HIGH_CK, HYPOALBUMINEMIA, HIGH_ESR, HIGH_CRP = "HP:0003236", "HP:0003073", "HP:0003565", "HP:0011227"
HYPERGLYCEMIA, HYPOGLYCEMIA, HIGH_CREATININE = "HP:0003074", "HP:0001943", "HP:0003259"
HIGH_TSH, LOW_TSH, HIGH_FERRITIN, LOW_FERRITIN = "HP:0002925", "HP:0031098", "HP:0003281", "HP:0012343"
HYPERCALCEMIA, HYPOCALCEMIA, ALKALOSIS, ACIDOSIS = "HP:0003072", "HP:0002901", "HP:0200114", "HP:0001942"
TROPONIN, TROPONIN_I, TROPONIN_T = "HP:0500020", "HP:0410173", "HP:0410174"
HYPERBILIRUBINEMIA, HIGH_ALT = "HP:0002904", "HP:0031964"


def _found(text: str, **kw: object) -> dict[str, str]:
    return {hpo: r.describe for r, hpo, _ in abnormal_lab_findings(text, **kw)}  # type: ignore[arg-type]


def _read(text: str) -> list[tuple[str, float, str | None]]:
    return [(r.kind, r.value, r.unit) for r in read_labs(text)]


def test_a_lab_line_is_read_label_by_label() -> None:
    text = "Hb 8.7 g/dL, MCV 116 fL, WBC 14,200, platelets 62 x 10^9/L, Na 138 K 2.9"
    assert _read(text) == [
        ("haemoglobin", 8.7, "g/dL"), ("mcv", 116.0, "fL"), ("wbc", 14200.0, None), ("platelets", 62.0, "x 10^9/L"),
        ("sodium", 138.0, None), ("potassium", 2.9, None),
    ]
    assert _found(text) == {
        ANEMIA: "haemoglobin 8.7 g/dL (below 12)",
        MACROCYTIC: "MCV 116 fL (above 100)",
        LEUKOCYTOSIS: "WBC 14,200 (above 11 x 10^9/L, read as /uL)",
        THROMBOCYTOPENIA: "platelets 62 x 10^9/L (below 150)",
        HYPOKALEMIA: "potassium 2.9 (below 3.5 mmol/L)",
    }  # not the sodium of 138


def test_findings_carry_the_hpo_name_and_the_limit_crossed() -> None:
    [(reading, hpo, name)] = abnormal_lab_findings("haemoglobin 98 g/L")
    assert (hpo, name) == (ANEMIA, "Anemia")
    assert reading == LabReading("haemoglobin", 98.0, "g/L", ("below", 12.0))
    assert reading.describe == "haemoglobin 98 g/L (below 12 g/dL)"
    assert read_labs("haemoglobin 98 g/L")[0].describe == "haemoglobin 98 g/L"  # read, not judged: no limit


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hb 8.7 g/dL", {ANEMIA}), ("Hb 13.8 g/dL", set()),
        ("WBC 14.2", {LEUKOCYTOSIS}), ("WBC 2.1", {LEUKOPENIA}), ("WBC 7.5", set()),
        ("platelets 62 x 10^9/L", {THROMBOCYTOPENIA}), ("platelets 620", {THROMBOCYTOSIS}), ("Plt 250", set()),
        ("Na 124 mmol/L", {HYPONATREMIA}), ("sodium 152", {HYPERNATREMIA}), ("Na 140", set()),
        ("K 2.8 mmol/L", {HYPOKALEMIA}), ("potassium 6.1", {HYPERKALEMIA}), ("K 4.2", set()),
        ("K 5.3", set()),  # 5.1-5.5 is often haemolysis: not read as hyperkalemia
        ("CK 18,000 U/L", {HIGH_CK}), ("CK 150 U/L", set()),
        ("albumin 2.6 g/dL", {HYPOALBUMINEMIA}), ("albumin 4.1 g/dL", set()),
        ("ESR 48", {HIGH_ESR}), ("ESR 12 mm/h", set()),
        ("CRP 120 mg/L", {HIGH_CRP}), ("CRP 4 mg/L", set()),
        ("glucose 22 mmol/L", {HYPERGLYCEMIA}), ("blood sugar 400 mg/dL", {HYPERGLYCEMIA}),
        ("glucose 2.9 mmol/L", {HYPOGLYCEMIA}), ("glucose 5.2 mmol/L", set()),
        ("creatinine 2.1 mg/dL", {HIGH_CREATININE}), ("creatinine 0.9 mg/dL", set()),
        ("TSH 12 mU/L", {HIGH_TSH}), ("TSH 0.05 mU/L", {LOW_TSH}), ("TSH 2.1 mU/L", set()),
        ("ferritin 8 ng/mL", {LOW_FERRITIN}), ("ferritin 1,200 ng/mL", {HIGH_FERRITIN}), ("ferritin 80 ng/mL", set()),
        ("calcium 3.1 mmol/L", {HYPERCALCEMIA}), ("calcium 1.9 mmol/L", {HYPOCALCEMIA}), ("calcium 2.35 mmol/L", set()),
        ("bicarbonate 32 mmol/L", {ALKALOSIS}), ("HCO3 14", {ACIDOSIS}), ("bicarbonate 25", set()),
        ("troponin 410 ng/L", {TROPONIN}), ("troponin I 0.5 ng/mL", {TROPONIN_I}), ("hs-TnT 30 ng/L", {TROPONIN_T}),
        ("troponin T 9 ng/L", set()), ("troponin 12 ng/L", set()),
        ("bilirubin 4.2 mg/dL", {HYPERBILIRUBINEMIA}), ("bilirubin 0.8 mg/dL", set()),
        ("ALT 850 U/L", {HIGH_ALT}), ("ALT 32 U/L", set()),
        ("MCV 116 fL", {HIGH_MCV}), ("MCV 72 fL", {LOW_MCV}), ("MCV 90 fL", set()),
    ],
)
def test_each_analyte_outside_its_interval_and_inside(text: str, expected: set[str]) -> None:
    assert set(_found(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("haemoglobin 98 g/L", {ANEMIA}), ("Hb 125 g/L", set()),
        ("Hb 5.4 mmol/L", {ANEMIA}), ("Hb 8.5 mmol/L", set()),  # Dutch units: 8.7 and 13.7 g/dL
        ("albumin 26 g/L", {HYPOALBUMINEMIA}), ("albumin 38 g/L", set()),
        ("glucose 60 mg/dL", {HYPOGLYCEMIA}), ("glucose 120 mg/dL", set()),
        ("calcium 11.5 mg/dL", {HYPERCALCEMIA}), ("calcium 9.5 mg/dL", set()),
        ("creatinine 180 µmol/L", {HIGH_CREATININE}), ("creatinine 180 umol/L", {HIGH_CREATININE}),
        ("creatinine 90 μmol/L", set()),
        ("bilirubin 72 µmol/L", {HYPERBILIRUBINEMIA}), ("bilirubin 15 µmol/L", set()),
        ("CRP 3.5 mg/dL", {HIGH_CRP}), ("CRP 0.4 mg/dL", set()),
        ("troponin I 0.02 ng/mL", set()), ("troponin T 0.03 ng/mL", {TROPONIN_T}),
        ("platelets 62,000/uL", {THROMBOCYTOPENIA}), ("platelets 62 K/uL", {THROMBOCYTOPENIA}),
        ("plt 62 x10³/µL", {THROMBOCYTOPENIA}), ("platelets 620 x 10⁹/L", {THROMBOCYTOSIS}),
        ("platelets 62 x 109/L", {THROMBOCYTOPENIA}),  # the superscript lost in a copy
        ("WBC 14.2 x 10^3/uL", {LEUKOCYTOSIS}), ("WBC count of 14,200/mm3", {LEUKOCYTOSIS}),
        ("WBC 7,200/mm3", set()),
        ("ferritin 8 µg/L", {LOW_FERRITIN}), ("TSH 12 µIU/mL", {HIGH_TSH}), ("Na 124 mEq/L", {HYPONATREMIA}),
    ],
)
def test_units_are_converted(text: str, expected: set[str]) -> None:
    assert set(_found(text)) == expected


def test_a_converted_limit_names_its_unit() -> None:
    assert _found("glucose 400 mg/dL") == {HYPERGLYCEMIA: "glucose 400 mg/dL (above 7.8 mmol/L)"}
    assert _found("creatinine 180 µmol/L") == {HIGH_CREATININE: "creatinine 180 µmol/L (above 1.3 mg/dL)"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hb 8.7", {ANEMIA}), ("Hb 87", {ANEMIA}), ("Hb 125", set()),  # g/dL, g/L, g/L
        ("glucose 7.4", set()), ("glucose 11.2", {HYPERGLYCEMIA}),  # mmol/L
        ("glucose 140", set()), ("glucose 250", {HYPERGLYCEMIA}), ("glucose 65", {HYPOGLYCEMIA}),  # mg/dL
        ("glucose 30", set()),  # 30 mmol/L is high, 30 mg/dL low: nothing
        ("calcium 4.2", set()),  # high in mmol/L, low in mg/dL
        ("calcium 3.1", {HYPERCALCEMIA}), ("calcium 11.5", {HYPERCALCEMIA}),
        ("bilirubin 4.2", set()),  # high in mg/dL, normal in umol/L
        ("bilirubin 35", {HYPERBILIRUBINEMIA}),  # high in either
        ("creatinine 2.1", {HIGH_CREATININE}), ("creatinine 180", {HIGH_CREATININE}),
        ("CRP 5", set()), ("CRP 12", {HIGH_CRP}),
        ("troponin 5", set()), ("troponin 0.5", {TROPONIN}),
        ("albumin 2.6", {HYPOALBUMINEMIA}), ("albumin 26", {HYPOALBUMINEMIA}),
    ],
)
def test_a_missing_unit_is_guessed_only_where_the_number_decides(text: str, expected: set[str]) -> None:
    assert [r.unit for r in read_labs(text)] == [None]
    assert set(_found(text)) == expected


def test_a_guessed_unit_is_named() -> None:
    assert _found("Hb 87") == {ANEMIA: "haemoglobin 87 (below 12 g/dL, read as g/L)"}
    assert _found("CRP 12") == {HIGH_CRP: "CRP 12 (above 10 mg/L, read as mg/L or mg/dL)"}


def test_white_cells_per_litre_and_per_microlitre() -> None:
    assert _read("WBC 14.2") == [("wbc", 14.2, None)]
    assert _read("WBC 14,200") == [("wbc", 14200.0, None)]
    assert set(_found("WBC 14.2")) == set(_found("WBC 14,200")) == {LEUKOCYTOSIS}
    assert _found("WBC 4,200") == {}
    assert _found("WBC 3,100") == {LEUKOPENIA: "WBC 3,100 (below 4 x 10^9/L, read as /uL)"}
    assert _found("WBC 200") == {}  # 200 x 10^9/L or 200/uL: nothing


@pytest.mark.parametrize(
    "text",
    [
        "potassium chloride 20 mEq",
        "KCl 40 mEq PO",
        "K-Dur 20 mEq daily",
        "potassium 40 mmol IV",
        "potassium 20 mEq",
        "potassium 40 PO",
        "given IV potassium 40",
        "replete K to 4.0",
        "calcium carbonate 500 mg",
        "calcium gluconate 1 g IV",
        "calcium 1200 mg daily",
        "sodium bicarbonate 50 mEq",
        "sodium bicarbonate 50",
        "albumin 25% 100 mL",
        "albumin infusion 20 g",
        "glucose 50 mL of 50%",
        "oral glucose 75 g",
        "vitamin K 10 mg",
        "She was started on potassium chloride 20 mEq twice daily and calcium carbonate 500 mg.",
    ],
)
def test_a_drug_and_its_dose_is_no_serum_level(text: str) -> None:
    assert read_labs(text) == []


def test_a_dose_beside_a_level_leaves_the_level() -> None:
    assert _found("K 2.9, replaced with potassium chloride 40 mEq") == {HYPOKALEMIA: "potassium 2.9 (below 3.5 mmol/L)"}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("troponin rises from 85 to 410", 410.0),
        ("troponin I rose from 0.02 to 1.5 ng/mL", 1.5),
        ("troponin 85 -> 410 -> 380 ng/L", 410.0),
        ("Hb dropped from 12.1 to 8.7 g/dL", 8.7),
        ("K 2.8 → 3.9", 2.8),  # the value out of range, not the last
        ("troponin T from 10 to 12 ng/L", 12.0),  # none out of range: the last
    ],
)
def test_a_series_gives_its_value_furthest_out(text: str, value: float) -> None:
    [reading] = read_labs(text)
    assert reading.value == value


def test_a_rising_troponin_is_one_finding_at_its_peak() -> None:
    assert _found("troponin rises from 85 to 410") == {TROPONIN: "troponin 410 (above 60 ng/L, read as ng/L or ng/mL)"}
    assert _found("troponin rises from 85 to 410 ng/L") == {TROPONIN: "troponin 410 ng/L (above 60)"}
    assert _found("troponin T from 10 to 12 ng/L") == {}


def test_haemoglobin_and_ferritin_limits_follow_sex() -> None:
    assert _found("Hb 12.5 g/dL", sex="male") == {ANEMIA: "haemoglobin 12.5 g/dL (below 13)"}
    assert _found("Hb 12.5 g/dL", sex="female") == {}
    assert _found("Hb 12.5 g/dL") == {}  # sex unknown: the lower limit, 12
    assert set(_found("Hb 11.5 g/dL")) == {ANEMIA}
    assert set(_found("ferritin 250 ng/mL", sex="female")) == {HIGH_FERRITIN}
    assert _found("ferritin 250 ng/mL", sex="male") == _found("ferritin 250 ng/mL") == {}
    with pytest.raises(ValueError, match="'female', 'male' or None"):
        abnormal_lab_findings("Hb 8.7", sex="M")  # type: ignore[arg-type]


def test_esr_limit_follows_age_and_sex() -> None:
    assert set(_found("ESR 30", age=30, sex="female")) == {HIGH_ESR}  # limit 20
    assert _found("ESR 30", age=80, sex="male") == {}  # limit 40
    assert _found("ESR 30") == {}  # age unknown: taken as 70, limit 40


@pytest.mark.parametrize(
    "text",
    ["Hb 0.8 g/dL", "Hb 45 g/dL", "Hb 25", "K 25", "K 0.4 mmol/L", "Na 1400", "Na 40 mmol/L", "platelets 0.2",
     "glucose 0", "ESR 400", "TSH 5000", "MCV 12 fL", "creatinine 2.1 mmol/L"],
)
def test_impossible_values_are_ignored(text: str) -> None:
    assert read_labs(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "Urine Na 20, K 40",
        "urine sodium 20 mmol/L",
        "CSF glucose 20 mg/dL, protein 120",
        "pleural fluid glucose 30 mg/dL, LDH 900",
        "Ascitic fluid albumin 1.1 g/dL",
        "Her mother's Hb 9",
        "transfuse if Hb < 7",
        "keep K > 4.0; goal Na 135",
        "target glucose 140-180 mg/dL",
        "Normal range: Na 135-145",
        "Na 130-145",  # a range, not a value
        "K 3.0 - 5.0 mmol/L",
        "glucose 12/03/2024",  # a date
        "HbA1c 7.4%. Hb A1c 9. glycated haemoglobin 48 mmol/mol",
        "CK-MB 25",
        "calcium score 400",
        "ionized calcium 1.0 mmol/L",
        "creatinine clearance 40 mL/min",
        "BUN/Cr 25",
        "ALT 3x upper limit",
        "lipase 3x upper limit",
        "ALT 5 times ULN",
        "Hb 8 weeks ago",
        "K 2,8",
        "Ca 19-9 450",
        "CA-125 300",
        "NA 124",
        "CO2 45",  # a bare CO2 without its unit may be a pCO2
        "ran 2 K 3.1",
        "Ki-67 3",
        "Hb" + " " * 20_000 + "8.7",  # read at once, not backtracked over
        "ABG pH 7.31 CO2 48 HCO3 24", "CO2 45 on ABG",  # a pCO2, and HCO3 is no unit of it
        "platelet count 2.5 lakh", "platelets 1.5 lakhs",  # 250 and 150 x 10^9/L
        "Ca 1.15 mmol/L (ionised)", "Ca 1.1 ionized",  # ionised, said after the value
        "Hb was 8 last year, now 13.5 g/dL", "previous K 2.9, today K 4.1", "Hb 8 two weeks ago",
        "WBC 15 in CSF",
        "1 K 3 " * 3333, "K 1 " * 5000,  # hostile repetition: linear, not quadratic
    ],
)
def test_numbers_that_are_not_a_patients_serum_level_give_nothing(text: str) -> None:
    assert _found(text) == {}


def test_a_k_after_a_number_is_potassium_only_after_another_value() -> None:
    assert _read("Na 138 K 2.9 Cl 100") == [("sodium", 138.0, None), ("potassium", 2.9, None)]
    assert _read("WBC 14.2 K 3.0") == [("wbc", 14.2, "K")]  # K is the WBC's unit (thousands per uL)


def test_a_blood_value_after_another_specimens_value_is_read() -> None:
    assert _read("CSF glucose 40 (serum glucose 110)") == [("glucose", 110.0, None)]
    assert set(_found("Ascitic fluid albumin 1.1 g/dL; serum albumin 2.6 g/dL")) == {HYPOALBUMINEMIA}
    assert set(_found("urine output 30 mL/h, K 6.1")) == {HYPERKALEMIA}


def test_total_calcium_is_judged_with_the_albumin_beside_it() -> None:
    assert set(_found("calcium 2.0 mmol/L, albumin 2.6 g/dL")) == {HYPOALBUMINEMIA}  # corrected 2.28
    assert set(_found("calcium 1.8 mmol/L, albumin 2.6 g/dL")) == {HYPOCALCEMIA, HYPOALBUMINEMIA}  # corrected 2.08
    assert set(_found("corrected calcium 2.0 mmol/L, albumin 2.6 g/dL")) == {HYPOCALCEMIA, HYPOALBUMINEMIA}
    assert _read("corrected calcium 2.0 mmol/L") == [("corrected calcium", 2.0, "mmol/L")]


def test_mcv_names_the_anemia() -> None:
    assert set(_found("Hb 12.5 g/dL, MCV 72 fL", sex="male")) == {ANEMIA, MICROCYTIC}
    assert set(_found("Hb 12.5 g/dL, MCV 72 fL", sex="female")) == {LOW_MCV}  # no anemia: only the MCV


def test_children_keep_only_the_analytes_whose_limits_hold() -> None:
    text = "Hb 10.9 g/dL, Na 124 mmol/L, WBC 14.2, ALP 400"
    assert set(_found(text)) == {ANEMIA, HYPONATREMIA, LEUKOCYTOSIS}
    assert set(_found(text, age=10)) == {HYPONATREMIA}
    assert _found(text, age=0) == {}
    assert set(_found("waddling gait; CK 18,000 U/L", age=5)) == {HIGH_CK}  # high at any age after infancy


@pytest.mark.parametrize(
    ("text", "kw", "expected"),
    [
        ("Hb 8.7 g/dL, MCV 116 fL", {}, {ANEMIA, MACROCYTIC}),
        ("K 2.8 mmol/L, bicarbonate 32 mmol/L, Na 144 mmol/L", {}, {HYPOKALEMIA, ALKALOSIS}),
        (("A 64-year-old man with fatigue. Labs showed hemoglobin of 9.8 g/dL, MCV 72 fL, ferritin 6 ng/mL and "
          "platelets 480 x 10^9/L."), {"age": 64, "sex": "male"}, {ANEMIA, MICROCYTIC, LOW_FERRITIN, THROMBOCYTOSIS}),
        ("On admission: sodium 118 mmol/L, potassium 6.1 mmol/L, glucose 3.1 mmol/L; cortisol low.", {},
         {HYPONATREMIA, HYPERKALEMIA, HYPOGLYCEMIA}),
        ("Creatinine increased from 1.0 to 2.1 mg/dL; CK 18,000 U/L; urine myoglobin positive.", {},
         {HIGH_CREATININE, HIGH_CK}),
        ("ALT 850 U/L, AST 600 U/L, bilirubin 4.2 mg/dL, lipase 3x upper limit", {}, {HIGH_ALT, HYPERBILIRUBINEMIA}),
        ("Serum calcium 3.1 mmol/L with PTH 12 pmol/L; albumin 4.0 g/dL.", {}, {HYPERCALCEMIA}),
        ("TSH 12 mU/L, free T4 0.6 ng/dL; ESR 48, CRP 120 mg/L", {"age": 50}, {HIGH_TSH, HIGH_ESR, HIGH_CRP}),
        ("Labs: Hb 10.1, WBC 3.2, Plt 98. Glucose: 22 mmol/L. haemoglobin was 9.8", {},
         {ANEMIA, LEUKOPENIA, THROMBOCYTOPENIA, HYPERGLYCEMIA}),
        ("The potassium level on admission was 2.6 and the Hb: 13.9", {"sex": "male"}, {HYPOKALEMIA}),
    ],
)
def test_case_summaries(text: str, kw: dict[str, object], expected: set[str]) -> None:
    assert set(_found(text, **kw)) == expected


def test_one_finding_per_term_from_its_first_reading() -> None:
    assert _found("Na 128 on day 1, Na 121 on day 3") == {HYPONATREMIA: "sodium 128 (below 135 mmol/L)"}


def test_a_reading_keeps_no_text(caplog: pytest.LogCaptureFixture) -> None:
    assert [f.name for f in dataclasses.fields(LabReading)] == ["kind", "value", "unit", "limit"]
    secret = "Patient John Doe, MRN 1234567: Hb 8.7 g/dL"
    with caplog.at_level(logging.DEBUG):
        abnormal_lab_findings(secret)
    assert "John" not in caplog.text and "8.7" not in caplog.text


def test_every_hpo_term_exists_under_its_current_name() -> None:
    names: dict[str, str] = {}
    obsolete: set[str] = set()
    term = None
    for line in hpo_obo_path().read_text(encoding="utf-8").splitlines():
        if line.startswith("id: "):
            term = line[4:]
        elif line.startswith("name: ") and term:
            names[term] = line[6:]
        elif line == "is_obsolete: true" and term:
            obsolete.add(term)
        elif line.startswith("["):
            term = None
    assert {hpo: names.get(hpo) for hpo in HPO_TERMS} == dict(HPO_TERMS)
    assert not obsolete & set(HPO_TERMS)
