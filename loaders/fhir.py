"""Reader for FHIR R4 Bundle JSON (e.g. Synthea exports): one Document per Patient.

A bundle is loaded whole (bundles are per patient and a few MB) but only one at a time. Each
Patient becomes a Document with ``id`` ``fhir:Patient/<id>``, ``patient_id`` ``<id>``, ``kind``
``record`` and no text; its coded facts become Mentions with no span and ``source="fhir"``.

Privacy: the Patient resource's ``id`` is taken as the pseudonym the source gives. Nothing else
that identifies a person is kept: no names, addresses, telecom, identifiers (SSN, MRN...), exact
birth or death dates, and not the file name (Synthea names files after the patient).
``metadata`` holds only ``sex`` (``gender``), ``birth_year`` and ``skipped_observations``.

Mapping (see the constants below for the exact code lists):

* **Condition** -> code preferring SNOMED CT (``SNOMEDCT:<code>``), then ICD-10(-CM)
  (``ICD10CM:<code>``); label Disease, or Symptom when the SNOMED display carries the
  ``(finding)`` / ``(symptom)`` semantic tag. Assertion: verificationStatus ``refuted`` ->
  negated; ``provisional``/``differential``/``unconfirmed`` -> possible; clinicalStatus
  ``inactive``/``remission``/``resolved`` or a ``History of ...`` display -> historical;
  otherwise present. ``entered-in-error`` resources are dropped.
* **MedicationRequest / MedicationStatement** -> RxNorm (``RXNORM:<code>``) from
  ``medicationCodeableConcept`` or the referenced (bundle or contained) Medication's ``code``;
  label Drug; assertion from ``status`` (:data:`MEDICATION_STATUS`).
* **Observation** with a SNOMED ``valueCodeableConcept`` -> a finding (Symptom), except
  results recognisably negative or normal (:data:`NEGATIVE_RESULT`), qualifier values (colours,
  clarity), and social-history/survey answers (smoking status is not a symptom). A
  cause-of-death observation (LOINC 69453-9) names a disease, so it is labelled Disease.
  Numeric and component observations are not facts about concepts; all observations not
  turned into mentions are counted in ``metadata["skipped_observations"]``.

Errors: a file that is not JSON, or not a Bundle, is fatal. A resource missing what we need
(Patient id, code, subject, status...) is a record error at ``entry N`` (1-based; the message
also gives the ``Bundle.entry[i]`` path) with ``<resourceType>/<id>`` as record id.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from kg.records import Assertion, Document, EntityType, Mention
from loaders._common import OnError, RecordProblem, fatal, report

SOURCE_FORMAT = "fhir"
MENTION_SOURCE = "fhir"

SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ICD10 = ("http://hl7.org/fhir/sid/icd-10-cm", "http://hl7.org/fhir/sid/icd-10")
CONDITION_SYSTEMS = ((SNOMED, "SNOMEDCT"), *((system, "ICD10CM") for system in ICD10))
MEDICATION_SYSTEMS = ((RXNORM, "RXNORM"),)
CAUSE_OF_DEATH_LOINC = "69453-9"

HISTORICAL_CLINICAL = frozenset({"inactive", "remission", "resolved"})
POSSIBLE_VERIFICATION = frozenset({"provisional", "differential", "unconfirmed"})
MEDICATION_STATUS: Mapping[str, Assertion] = {
    "active": Assertion.PRESENT,
    "on-hold": Assertion.PRESENT,
    "draft": Assertion.PRESENT,
    "completed": Assertion.HISTORICAL,
    "stopped": Assertion.HISTORICAL,
    "cancelled": Assertion.HISTORICAL,
    "intended": Assertion.HYPOTHETICAL,
    "not-taken": Assertion.NEGATED,
    "unknown": Assertion.POSSIBLE,
}
"""MedicationRequest/MedicationStatement status -> assertion (``entered-in-error`` is dropped)."""

NEGATIVE_RESULT = re.compile(
    r"\b(negative|normal|never|absent|none|no|not (detected|present))\b", re.I
)
"""Coded results that state the absence of a finding ("Urine nitrite negative", "Normal size
prostate"): a keyword test is crude but errs towards dropping, and a missed finding costs
less than asserting one the patient does not have."""

_SYMPTOM_TAGS = ("(finding)", "(symptom)")
_NON_FINDING_CATEGORIES = frozenset({"social-history", "survey"})
_DROP = "drop"  # handler verdict: the resource is deliberately not a mention


@dataclass
class _Patient:
    sex: str | None
    birth_year: int | None
    mentions: list[Mention] = field(default_factory=list)
    skipped_observations: int = 0


def _load(path: str | os.PathLike[str]) -> list[Any]:
    """The bundle's entries; fatal errors for undecodable, non-JSON or non-Bundle input."""
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        bundle = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise fatal(path, f"byte {exc.start}", f"not valid UTF-8 ({exc.reason})") from None
    except json.JSONDecodeError as exc:
        raise fatal(
            path, f"line {exc.lineno}, column {exc.colno}", f"invalid JSON: {exc.msg}"
        ) from None
    rtype = bundle.get("resourceType") if isinstance(bundle, dict) else None
    if rtype != "Bundle":
        found = (
            f"resourceType {rtype!r}"
            if rtype
            else f"a JSON {type(bundle).__name__} without resourceType"
        )
        raise fatal(
            path, "byte 0", f"expected a FHIR Bundle (resourceType 'Bundle'), found {found}"
        )
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        raise fatal(path, "byte 0", "Bundle.entry is not a list")
    return entries


def _status(value: Any) -> str | None:
    """A status as a lower-case code, from a CodeableConcept (R4) or a plain code (STU3)."""
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, dict):
        for coding in value.get("coding") or []:
            if isinstance(coding, dict) and coding.get("code"):
                return str(coding["code"]).lower()
    return None


def _pick(
    concept: Any, systems: tuple[tuple[str, str], ...], what: str
) -> tuple[str | None, str, str | None]:
    """``(CURIE or None, display text, system)`` from a CodeableConcept, by system preference."""
    if not isinstance(concept, dict):
        raise RecordProblem(f"has no {what}")
    codings = [c for c in concept.get("coding") or [] if isinstance(c, dict)]
    for system, prefix in systems:
        for coding in codings:
            if coding.get("system") == system and coding.get("code"):
                display = coding.get("display") or concept.get("text")
                if not display:
                    raise RecordProblem(f"{what} {prefix}:{coding['code']} has no display or text")
                return f"{prefix}:{coding['code']}", str(display), system
    display = concept.get("text") or next((c["display"] for c in codings if c.get("display")), None)
    if not display:
        raise RecordProblem(f"{what} has no coding we use and no text")
    return None, str(display), None


def _condition(resource: dict[str, Any], _: Mapping[str, Any]) -> Mention | str:
    verification = _status(resource.get("verificationStatus"))
    if verification == "entered-in-error":
        return _DROP
    concept_id, display, system = _pick(resource.get("code"), CONDITION_SYSTEMS, "code")
    symptom = system == SNOMED and display.rstrip().endswith(_SYMPTOM_TAGS)
    past = _status(resource.get("clinicalStatus")) in HISTORICAL_CLINICAL
    if verification == "refuted":
        assertion = Assertion.NEGATED
    elif verification in POSSIBLE_VERIFICATION:
        assertion = Assertion.POSSIBLE
    elif past or display.lower().startswith("history of "):
        assertion = Assertion.HISTORICAL
    else:
        assertion = Assertion.PRESENT
    return Mention(
        label=EntityType.SYMPTOM if symptom else EntityType.DISEASE,
        text=display,
        concept_id=concept_id,
        concept_name=display,
        assertion=assertion,
        source=MENTION_SOURCE,
    )


def _medication(resource: dict[str, Any], medications: Mapping[str, Any]) -> Mention | str:
    status = resource.get("status")
    if status == "entered-in-error":
        return _DROP
    if not isinstance(status, str) or status not in MEDICATION_STATUS:
        raise RecordProblem(
            f"has status {status!r}; expected one of {', '.join(MEDICATION_STATUS)}"
        )
    concept = resource.get("medicationCodeableConcept")
    if concept is None:
        link = resource.get("medicationReference")
        reference = link.get("reference") if isinstance(link, dict) else None
        if not isinstance(reference, str) or not reference:
            raise RecordProblem("has neither medicationCodeableConcept nor medicationReference")
        contained = {
            f"#{c.get('id')}": c for c in resource.get("contained") or [] if isinstance(c, dict)
        }
        medication = contained.get(reference) or medications.get(reference)
        if medication is None:
            raise RecordProblem(
                f"medicationReference {reference!r} is not a Medication in this bundle"
            )
        concept = medication.get("code")
    concept_id, display, _ = _pick(concept, MEDICATION_SYSTEMS, "medication code")
    return Mention(
        label=EntityType.DRUG,
        text=display,
        concept_id=concept_id,
        concept_name=display,
        assertion=MEDICATION_STATUS[status],
        source=MENTION_SOURCE,
    )


def _observation(resource: dict[str, Any], _: Mapping[str, Any]) -> Mention | str:
    code = resource.get("code")
    if not isinstance(code, dict):
        raise RecordProblem("has no code")
    value = resource.get("valueCodeableConcept")
    if resource.get("status") in ("entered-in-error", "cancelled") or not isinstance(value, dict):
        return _DROP
    categories = {
        str(coding.get("code"))
        for category in resource.get("category") or []
        if isinstance(category, dict)
        for coding in category.get("coding") or []
        if isinstance(coding, dict)
    }
    if categories & _NON_FINDING_CATEGORIES:
        return _DROP
    coding = next(
        (c for c in value.get("coding") or [] if isinstance(c, dict) and c.get("system") == SNOMED),
        None,
    )
    if coding is None or not coding.get("code"):
        return _DROP
    display = str(coding.get("display") or value.get("text") or "")
    if not display or display.endswith("(qualifier value)") or NEGATIVE_RESULT.search(display):
        return _DROP
    cause_of_death = any(
        isinstance(c, dict) and c.get("code") == CAUSE_OF_DEATH_LOINC
        for c in code.get("coding") or []
    )
    return Mention(
        label=EntityType.DISEASE if cause_of_death else EntityType.SYMPTOM,
        text=display,
        concept_id=f"SNOMEDCT:{coding['code']}",
        concept_name=display,
        source=MENTION_SOURCE,
    )


_HANDLERS = {
    "Condition": _condition,
    "MedicationRequest": _medication,
    "MedicationStatement": _medication,
    "Observation": _observation,
}


def _subject(resource: dict[str, Any], patient_refs: Mapping[str, str]) -> str:
    """Id of the bundle Patient a resource is about (``urn:uuid:``, relative or absolute URL)."""
    subject = resource.get("subject") or resource.get("patient")
    reference = subject.get("reference") if isinstance(subject, dict) else None
    if not isinstance(reference, str) or not reference:
        raise RecordProblem("has no subject reference")
    tail = "/".join(reference.rsplit("/", 2)[-2:])  # http://host/fhir/Patient/1 -> Patient/1
    pid = patient_refs.get(reference) or patient_refs.get(tail)
    if pid is None:
        raise RecordProblem(f"subject {reference!r} is not a Patient in this bundle")
    return pid


def _birth_year(birth_date: Any) -> int | None:
    found = re.match(r"(\d{4})", birth_date) if isinstance(birth_date, str) else None
    return int(found.group(1)) if found else None


def read(path: str | os.PathLike[str], *, on_error: OnError = None) -> Iterator[Document]:
    """Yield one Document per Patient in a FHIR R4 Bundle JSON file."""
    entries = _load(path)
    patients: dict[str, _Patient] = {}
    patient_refs: dict[str, str] = {}
    medications: dict[str, Any] = {}
    resources: list[tuple[int, dict[str, Any], str]] = []

    def problem_at(index: int, resource: Any, problem: RecordProblem) -> None:
        rtype = resource.get("resourceType", "resource") if isinstance(resource, dict) else "entry"
        rid = resource.get("id") if isinstance(resource, dict) else None
        record_id = f"{rtype}/{rid}" if isinstance(rid, str) and rid else None
        message = f"{rtype} {problem.message} (Bundle.entry[{index - 1}])"
        report(path, f"entry {index}", message, record_id, on_error)

    for index, entry in enumerate(entries, start=1):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        full_url = entry.get("fullUrl") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            problem_at(index, entry, RecordProblem("has no resource object"))
            continue
        rtype, rid = resource.get("resourceType"), resource.get("id")
        keys = [k for k in (full_url, f"{rtype}/{rid}" if rid else None) if isinstance(k, str)]
        if rtype == "Patient":
            if not isinstance(rid, str) or not rid.strip():
                problem_at(index, resource, RecordProblem("has no id (the patient pseudonym)"))
                continue
            gender = resource.get("gender")
            patients[rid] = _Patient(
                sex=gender if isinstance(gender, str) else None,
                birth_year=_birth_year(resource.get("birthDate")),
            )
            patient_refs.update((key, rid) for key in keys)
        elif rtype == "Medication":
            medications.update((key, resource) for key in keys)
        elif rtype in _HANDLERS:
            resources.append((index, resource, rtype))

    for index, resource, rtype in resources:
        try:
            patient = patients[_subject(resource, patient_refs)]
            verdict = _HANDLERS[rtype](resource, medications)
        except RecordProblem as problem:
            problem_at(index, resource, problem)
            continue
        if isinstance(verdict, Mention):
            patient.mentions.append(verdict)
        elif rtype == "Observation":
            patient.skipped_observations += 1

    for pid, patient in patients.items():
        yield Document(
            id=f"fhir:Patient/{pid}",
            source_format=SOURCE_FORMAT,
            text="",
            kind="record",
            patient_id=pid,
            metadata={
                "sex": patient.sex,
                "birth_year": patient.birth_year,
                "skipped_observations": patient.skipped_observations,
            },
            mentions=tuple(patient.mentions),
        )
