"""FHIR R4 Bundle loader: a trimmed real Synthea bundle plus hand-built edge-case bundles."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from schema.records import Assertion, EntityType
from loaders import fhir
from loaders.errors import MalformedInputError, RecordError

Collector = tuple[list[RecordError], Callable[[RecordError], None]]

PATIENT_ID = "948e608d-e408-4788-8cf2-8157c49c2940"


@pytest.fixture
def excerpt(fixtures: Path) -> Path:
    return fixtures / "synthea" / "synthea_bundle_excerpt.json"


def test_synthea_patient_document(excerpt: Path) -> None:
    (doc,) = fhir.read(excerpt)
    assert doc.id == f"fhir:Patient/{PATIENT_ID}"
    assert (doc.patient_id, doc.kind, doc.text, doc.source_format) == (
        PATIENT_ID,
        "record",
        "",
        "fhir",
    )
    # 6 Observations: 1 finding kept; never-smoker, qualifier value, negative result,
    # a numeric and a component (blood pressure) observation skipped
    assert doc.metadata == {"sex": "male", "birth_year": 1971, "skipped_observations": 5}
    got = [(m.label, m.concept_id, m.text, m.assertion) for m in doc.mentions]
    assert got == [
        (EntityType.DISEASE, "SNOMEDCT:128613002", "Seizure disorder", Assertion.PRESENT),
        (
            EntityType.DISEASE,
            "SNOMEDCT:703151001",
            "History of single seizure (situation)",
            Assertion.HISTORICAL,
        ),
        (
            EntityType.DRUG,
            "RXNORM:308971",
            "Carbamazepine[Tegretol]",
            Assertion.HISTORICAL,
        ),  # stopped
        (EntityType.DRUG, "RXNORM:308971", "Carbamazepine[Tegretol]", Assertion.PRESENT),  # active
        (
            EntityType.DISEASE,
            "SNOMEDCT:444814009",
            "Viral sinusitis (disorder)",
            Assertion.HISTORICAL,
        ),  # resolved
        (
            EntityType.SYMPTOM,
            "SNOMEDCT:162864005",
            "Body mass index 30+ - obesity (finding)",
            Assertion.PRESENT,
        ),
        (EntityType.DISEASE, "SNOMEDCT:38341003", "Hypertension", Assertion.PRESENT),
        (EntityType.SYMPTOM, "SNOMEDCT:7766007", "Cloudy urine (finding)", Assertion.PRESENT),
    ]
    assert all(m.start is None and m.end is None and m.source == "fhir" for m in doc.mentions)


def test_nothing_identifying_is_kept(excerpt: Path) -> None:
    (doc,) = fhir.read(excerpt)
    dumped = doc.model_dump_json()
    for identifying in (
        "Kuhlman",
        "Dirk",
        "Sipes",
        "Taunton",
        "555-787",
        "999-",
        "1971-12-07",
        "02718",
    ):
        assert identifying not in dumped


def _entry(resource: dict[str, Any]) -> dict[str, Any]:
    return {"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource}


def _coded(system: str, code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


def _status(code: str) -> dict[str, Any]:
    return {"coding": [{"code": code}]}


SUBJECT = {"reference": "urn:uuid:p1"}
ICD = "http://hl7.org/fhir/sid/icd-10-cm"


def _bundle() -> dict[str, Any]:
    entries = [
        {
            "resourceType": "Patient",
            "id": "p1",
            "gender": "female",
            "birthDate": "1980-02-03",
            "name": [{"family": "Doe"}],
        },
        {
            "resourceType": "Condition",
            "id": "c1",
            "subject": SUBJECT,
            "code": {
                "coding": [
                    {"system": ICD, "code": "J45.909", "display": "Asthma"},
                    {"system": "http://example.org/local", "code": "A"},
                ]
            },
        },
        {
            "resourceType": "Condition",
            "id": "c2",
            "subject": {"reference": "Patient/p1"},
            "verificationStatus": _status("refuted"),
            "code": _coded(fhir.SNOMED, "195967001", "Asthma"),
        },
        {
            "resourceType": "Condition",
            "id": "c3",
            "subject": SUBJECT,
            "verificationStatus": _status("provisional"),
            "code": _coded(fhir.SNOMED, "49727002", "Cough (finding)"),
        },
        {
            "resourceType": "Condition",
            "id": "c4",
            "subject": SUBJECT,
            "verificationStatus": _status("entered-in-error"),
            "code": _coded(fhir.SNOMED, "1", "Wrong"),
        },
        {"resourceType": "Condition", "id": "c5", "subject": SUBJECT},  # no code
        {
            "resourceType": "Condition",
            "id": "c6",
            "subject": {"reference": "urn:uuid:nobody"},
            "code": _coded(fhir.SNOMED, "38341003", "Hypertension"),
        },
        {
            "resourceType": "Medication",
            "id": "m1",
            "code": _coded(fhir.RXNORM, "197361", "Amlodipine 5 MG Oral Tablet"),
        },
        {
            "resourceType": "MedicationStatement",
            "id": "s1",
            "status": "completed",
            "subject": SUBJECT,
            "medicationReference": {"reference": "urn:uuid:m1"},
        },
        {
            "resourceType": "MedicationRequest",
            "id": "r1",
            "status": "on-hold",
            "subject": SUBJECT,
            "contained": [
                {
                    "resourceType": "Medication",
                    "id": "med",
                    "code": _coded(fhir.RXNORM, "860975", "Metformin 500 MG"),
                }
            ],
            "medicationReference": {"reference": "#med"},
        },
        {
            "resourceType": "MedicationRequest",
            "id": "r2",
            "status": "entered-in-error",
            "subject": SUBJECT,
            "medicationCodeableConcept": _coded(fhir.RXNORM, "1", "Wrong"),
        },
        {
            "resourceType": "MedicationRequest",
            "id": "r3",
            "status": "bogus",
            "subject": SUBJECT,
            "medicationCodeableConcept": _coded(fhir.RXNORM, "2", "X"),
        },
        {
            "resourceType": "Observation",
            "id": "o1",
            "status": "final",
            "subject": SUBJECT,
            "code": _coded("http://loinc.org", fhir.CAUSE_OF_DEATH_LOINC, "Cause of Death"),
            "valueCodeableConcept": _coded(fhir.SNOMED, "22298006", "Myocardial Infarction"),
        },
        {
            "resourceType": "Observation",
            "id": "o2",
            "status": "final",
            "subject": SUBJECT,
            "code": _coded("http://loinc.org", "8867-4", "Heart rate"),
            "valueQuantity": {"value": 80},
        },
    ]
    return {"resourceType": "Bundle", "type": "collection", "entry": [_entry(r) for r in entries]}


def _write(tmp_path: Path, bundle: Any, name: str = "bundle.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(bundle, indent=1), encoding="utf-8")
    return path


def test_hand_built_bundle_in_skip_mode(tmp_path: Path, collect: Collector) -> None:
    errors, on_error = collect
    (doc,) = fhir.read(_write(tmp_path, _bundle()), on_error=on_error)
    assert doc.metadata == {"sex": "female", "birth_year": 1980, "skipped_observations": 1}
    got = [(m.label, m.concept_id, m.text, m.assertion) for m in doc.mentions]
    assert got == [
        (EntityType.DISEASE, "ICD10CM:J45.909", "Asthma", Assertion.PRESENT),
        (EntityType.DISEASE, "SNOMEDCT:195967001", "Asthma", Assertion.NEGATED),
        (EntityType.SYMPTOM, "SNOMEDCT:49727002", "Cough (finding)", Assertion.POSSIBLE),
        (EntityType.DRUG, "RXNORM:197361", "Amlodipine 5 MG Oral Tablet", Assertion.HISTORICAL),
        (EntityType.DRUG, "RXNORM:860975", "Metformin 500 MG", Assertion.PRESENT),
        (EntityType.DISEASE, "SNOMEDCT:22298006", "Myocardial Infarction", Assertion.PRESENT),
    ]
    assert [(e.position, e.record_id) for e in errors] == [
        ("entry 6", "Condition/c5"),
        ("entry 7", "Condition/c6"),
        ("entry 12", "MedicationRequest/r3"),
    ]
    assert errors[0].message == "Condition has no code (Bundle.entry[5])"
    assert "not a Patient in this bundle" in errors[1].message
    assert "has status 'bogus'; expected one of active" in errors[2].message
    assert "Doe" not in doc.model_dump_json()


def test_strict_mode_raises_on_first_bad_resource(tmp_path: Path) -> None:
    with pytest.raises(MalformedInputError) as raised:
        list(fhir.read(_write(tmp_path, _bundle())))
    assert (raised.value.error.position, raised.value.fatal) == ("entry 6", False)


def test_patient_without_id_is_a_record_error(tmp_path: Path, collect: Collector) -> None:
    bundle = {
        "resourceType": "Bundle",
        "entry": [{"resource": {"resourceType": "Patient"}}, {"fullUrl": "x"}],
    }
    errors, on_error = collect
    assert list(fhir.read(_write(tmp_path, bundle), on_error=on_error)) == []
    assert [e.position for e in errors] == ["entry 1", "entry 2"]
    assert "Patient has no id" in errors[0].message and "no resource object" in errors[1].message


def test_invalid_json_is_fatal(excerpt: Path, tmp_path: Path, collect: Collector) -> None:
    data = excerpt.read_text(encoding="utf-8")
    path = tmp_path / "truncated.json"
    path.write_text(data[: len(data) // 2], encoding="utf-8")
    errors, on_error = collect
    with pytest.raises(MalformedInputError) as raised:
        list(fhir.read(path, on_error=on_error))
    assert raised.value.fatal is True and errors == []
    assert raised.value.error.position.startswith("line ")
    assert ", column " in raised.value.error.position
    assert raised.value.error.message.startswith("invalid JSON")


def test_non_bundle_is_fatal(tmp_path: Path, collect: Collector) -> None:
    path = _write(tmp_path, {"resourceType": "Patient", "id": "p1"})
    errors, on_error = collect
    with pytest.raises(MalformedInputError, match="found resourceType 'Patient'") as raised:
        list(fhir.read(path, on_error=on_error))
    assert raised.value.fatal is True and errors == []


def test_all_shared_synthea_bundles_load(shared_data: Path) -> None:
    bundles = sorted((shared_data / "knowledge" / "synthea_fhir_r4").glob("*.json"))
    assert len(bundles) == 12
    docs = [doc for path in bundles for doc in fhir.read(path)]
    assert len(docs) == 12
    assert sum(len(d.mentions) for d in docs) == 294
    assert {m.label for d in docs for m in d.mentions} == set(EntityType)
