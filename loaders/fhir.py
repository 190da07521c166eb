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

Errors: a file that is empty, not UTF-8, not JSON (``NaN`` and nesting too deep for the parser
included), larger than ``max_bytes`` or not a Bundle is fatal. A resource missing what we need
(Patient id, code, subject, status...), or with any field we read of the wrong JSON type (a
number where a CodeableConcept is expected, a string for ``coding``...), is a record error at
``entry N`` (1-based; the message names the field and gives the ``Bundle.entry[i]`` path) with
``<resourceType>/<id>`` as record id; in skip mode the other resources are still used. A resource
we use that nests deeper than :data:`~loaders._json.MAX_JSON_DEPTH` or holds an unpaired
surrogate or infinite number is a record error too. A second Patient with an id already seen
is a record error (or, if identical, dropped with a warning), so two patients never merge.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from schema.records import Assertion, Document, EntityType, Mention
from loaders._common import (
    OnError,
    RecordProblem,
    encoding_advice,
    fatal,
    report,
    validation_problem,
    warn,
)
from loaders._json import json_problem, json_type, objects, parse_json, shown_value, typed
from loaders._seen import SeenIds

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

DEFAULT_MAX_BYTES = 256 * 1024 * 1024
"""Largest bundle file read. A bundle is parsed whole, and Python's JSON objects take about ten
times the file's size; a Synthea patient is 1-10 MB and even a long hospital history is tens of
MB, so 256 MiB (some 2.5 GB parsed) is far above real bundles and refuses a runaway export
before it exhausts memory."""

FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
"""FHIR R4's ``id`` datatype. Patient ids become document ids and pseudonyms, so nothing else
(free text, names, newlines) is accepted there."""

_SYMPTOM_TAGS = ("(finding)", "(symptom)")
_NON_FINDING_CATEGORIES = frozenset({"social-history", "survey"})
_DROP = "drop"  # handler verdict: the resource is deliberately not a mention


@dataclass
class _Patient:
    entry: int
    digest: bytes
    sex: str | None
    birth_year: int | None
    mentions: list[Mention] = field(default_factory=list)
    skipped_observations: int = 0


def _load(path: str | os.PathLike[str], max_bytes: int) -> list[Any]:
    """The bundle's entries; fatal errors for empty, oversized, undecodable, non-JSON or
    non-Bundle input."""
    with open(path, "rb") as handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise fatal(path, "byte 0", f"file is larger than max_bytes={max_bytes:,}")
    if not data.strip():
        raise fatal(path, "byte 0", "empty file: no JSON at all")
    try:
        bundle = parse_json(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise fatal(
            path, f"byte {exc.start}", f"not valid UTF-8 ({exc.reason}); {encoding_advice(data)}"
        ) from None
    except json.JSONDecodeError as exc:
        raise fatal(
            path, f"line {exc.lineno}, column {exc.colno}", f"invalid JSON: {exc.msg}"
        ) from None
    except RecordProblem as problem:
        raise fatal(path, "byte 0", problem.message) from None
    rtype = bundle.get("resourceType") if isinstance(bundle, dict) else None
    if rtype != "Bundle":
        found = (
            f"resourceType {shown_value(rtype)}"
            if rtype
            else f"a JSON {json_type(bundle)} without resourceType"
        )
        raise fatal(
            path, "byte 0", f"expected a FHIR Bundle (resourceType 'Bundle'), found {found}"
        )
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        raise fatal(path, "byte 0", "Bundle.entry is not a list")
    return entries


def _concept(
    obj: Mapping[str, Any], key: str, where: str = ""
) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """A CodeableConcept and its codings, every string field checked; ``None`` if absent."""
    concept = typed(obj, key, dict, where)
    if concept is None:
        return None
    path = f"{where}{key}."
    typed(concept, "text", str, path)
    codings = objects(concept, "coding", path)
    for number, coding in enumerate(codings):
        for name in ("system", "code", "display"):
            typed(coding, name, str, f"{path}coding[{number}].")
    return concept, codings


def _status(resource: Mapping[str, Any], key: str) -> str | None:
    """A status as a lower-case code, from a CodeableConcept (R4) or a plain code (STU3)."""
    value = resource.get(key)
    if isinstance(value, str):
        return value.lower()
    if value is not None and not isinstance(value, dict):
        raise RecordProblem(
            f"{key} must be a CodeableConcept or a code string, got {json_type(value)}"
        )
    found = _concept(resource, key)
    if found is not None:
        for coding in found[1]:
            if coding.get("code"):
                return str(coding["code"]).lower()
    return None


def _pick(
    found: tuple[dict[str, Any], list[dict[str, Any]]] | None,
    systems: tuple[tuple[str, str], ...],
    what: str,
) -> tuple[str | None, str, str | None]:
    """``(CURIE or None, display text, system)`` from a CodeableConcept, by system preference."""
    if found is None:
        raise RecordProblem(f"has no {what}")
    concept, codings = found
    for system, prefix in systems:
        for coding in codings:
            if coding.get("system") == system and coding.get("code"):
                display = coding.get("display") or concept.get("text")
                if not display:
                    raise RecordProblem(
                        f"{what} {prefix}:{shown_value(coding['code'])} has no display or text"
                    )
                return f"{prefix}:{coding['code']}", display, system
    display = concept.get("text") or next((c["display"] for c in codings if c.get("display")), None)
    if not display:
        raise RecordProblem(f"{what} has no coding we use and no text")
    return None, display, None


# -- resource handlers -------------------------------------------------------------------------


def _condition(resource: dict[str, Any], _: Mapping[str, Any]) -> Mention | str:
    verification = _status(resource, "verificationStatus")
    if verification == "entered-in-error":
        return _DROP
    concept_id, display, system = _pick(_concept(resource, "code"), CONDITION_SYSTEMS, "code")
    symptom = system == SNOMED and display.rstrip().endswith(_SYMPTOM_TAGS)
    past = _status(resource, "clinicalStatus") in HISTORICAL_CLINICAL
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
    status = typed(resource, "status", str)
    if status == "entered-in-error":
        return _DROP
    if status not in MEDICATION_STATUS:
        raise RecordProblem(
            f"has status {shown_value(status)}; expected one of {', '.join(MEDICATION_STATUS)}"
        )
    found = _concept(resource, "medicationCodeableConcept")
    what = "medication code"
    if found is None:
        link = typed(resource, "medicationReference", dict)
        reference = typed(link, "reference", str, "medicationReference.") if link else None
        if not reference:
            raise RecordProblem("has neither medicationCodeableConcept nor medicationReference")
        contained: dict[str, dict[str, Any]] = {}
        for number, item in enumerate(objects(resource, "contained")):
            item_id = typed(item, "id", str, f"contained[{number}].")
            if item_id:
                contained[f"#{item_id}"] = item
        medication = contained.get(reference) or medications.get(reference)
        if medication is None:
            raise RecordProblem(
                f"medicationReference {shown_value(reference)} is not a Medication in this bundle"
            )
        found = _concept(medication, "code", "referenced Medication ")
        what = "referenced Medication code"
    concept_id, display, _ = _pick(found, MEDICATION_SYSTEMS, what)
    return Mention(
        label=EntityType.DRUG,
        text=display,
        concept_id=concept_id,
        concept_name=display,
        assertion=MEDICATION_STATUS[status],
        source=MENTION_SOURCE,
    )


def _observation(resource: dict[str, Any], _: Mapping[str, Any]) -> Mention | str:
    code = _concept(resource, "code")
    if code is None:
        raise RecordProblem("has no code")
    status = typed(resource, "status", str)
    value = _concept(resource, "valueCodeableConcept")
    if status in ("entered-in-error", "cancelled") or value is None:
        return _DROP
    categories: set[str] = set()
    for number, category in enumerate(objects(resource, "category")):
        path = f"category[{number}]."
        typed(category, "text", str, path)
        for index, coding in enumerate(objects(category, "coding", path)):
            category_code = typed(coding, "code", str, f"{path}coding[{index}].")
            if category_code:
                categories.add(category_code)
    if categories & _NON_FINDING_CATEGORIES:
        return _DROP
    concept, codings = value
    coding = next((c for c in codings if c.get("system") == SNOMED), None)
    if coding is None or not coding.get("code"):
        return _DROP
    display = coding.get("display") or concept.get("text") or ""
    if not display or display.endswith("(qualifier value)") or NEGATIVE_RESULT.search(display):
        return _DROP
    cause_of_death = any(c.get("code") == CAUSE_OF_DEATH_LOINC for c in code[1])
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
    key = "subject" if resource.get("subject") is not None else "patient"
    subject = typed(resource, key, dict)
    reference = typed(subject, "reference", str, f"{key}.") if subject else None
    if not reference:
        raise RecordProblem("has no subject reference")
    tail = "/".join(reference.rsplit("/", 2)[-2:])  # http://host/fhir/Patient/1 -> Patient/1
    pid = patient_refs.get(reference) or patient_refs.get(tail)
    if pid is None:
        raise RecordProblem(f"subject {shown_value(reference)} is not a Patient in this bundle")
    return pid


def _birth_year(birth_date: str | None) -> int | None:
    found = re.match(r"(\d{4})", birth_date) if birth_date else None
    return int(found.group(1)) if found else None


def _digest(resource: dict[str, Any]) -> bytes:
    """Digest of a resource's content, to tell an identical repeat from a conflicting one."""
    canonical = json.dumps(resource, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return hashlib.blake2b(canonical, digest_size=16).digest()


def _resource(entry: Any) -> tuple[dict[str, Any], str, str | None, str | None]:
    """``(resource, resourceType, id, fullUrl)`` of a bundle entry, every field type-checked."""
    if not isinstance(entry, dict):
        raise RecordProblem(f"must be an object, got {json_type(entry)}")
    full_url = typed(entry, "fullUrl", str)
    resource = typed(entry, "resource", dict)
    if resource is None:
        raise RecordProblem("has no resource object")
    rtype = typed(resource, "resourceType", str)
    if not rtype:
        raise RecordProblem("has no resourceType")
    return resource, rtype, typed(resource, "id", str), full_url


def read(
    path: str | os.PathLike[str],
    *,
    on_error: OnError = None,
    seen: SeenIds | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Iterator[Document]:
    """Yield one Document per Patient in a FHIR R4 Bundle JSON file."""
    entries = _load(path, max_bytes)
    seen = SeenIds() if seen is None else seen
    patients: dict[str, _Patient] = {}
    patient_refs: dict[str, str] = {}
    medications: dict[str, Any] = {}
    resources: list[tuple[int, dict[str, Any], str]] = []

    def problem_at(index: int, entry: Any, problem: RecordProblem) -> None:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        resource = resource if isinstance(resource, dict) else {}
        rtype, rid = resource.get("resourceType"), resource.get("id")
        known = isinstance(rtype, str) and re.fullmatch(r"[A-Za-z]{1,64}", rtype) is not None
        rtype = rtype if known else "entry"
        valid_id = isinstance(rid, str) and FHIR_ID.fullmatch(rid) is not None
        record_id = f"{rtype}/{rid}" if known and valid_id else None
        message = f"{rtype} {problem.message} (Bundle.entry[{index - 1}])"
        report(path, f"entry {index}", message, record_id, on_error)

    for index, entry in enumerate(entries, start=1):
        try:
            resource, rtype, rid, full_url = _resource(entry)
            if rtype not in ("Patient", "Medication", *_HANDLERS):
                continue
            problem = json_problem(resource, what="resource")
            if problem is not None:
                raise RecordProblem(problem)
            keys = [k for k in (full_url, f"{rtype}/{rid}" if rid else None) if k]
            if rtype == "Patient":
                if not rid or not rid.strip():
                    raise RecordProblem("has no id (the patient pseudonym)")
                if not FHIR_ID.fullmatch(rid):
                    raise RecordProblem("id is not a FHIR id ([A-Za-z0-9-.]{1,64})")
                digest = _digest(resource)
                first = patients.get(rid)
                if first is not None and first.digest != digest:
                    raise RecordProblem(
                        f"is a duplicate: Patient id {rid} first at entry {first.entry}, with "
                        "different content (the first is kept)"
                    )
                if first is not None:
                    warn(
                        path,
                        f"entry {index}",
                        f"duplicate Patient {rid}: identical to entry {first.entry}; dropped",
                    )
                else:
                    gender = typed(resource, "gender", str)
                    patients[rid] = _Patient(
                        entry=index,
                        digest=digest,
                        sex=gender,
                        birth_year=_birth_year(typed(resource, "birthDate", str)),
                    )
                patient_refs.update((key, rid) for key in keys)
            elif rtype == "Medication":
                medications.update((key, resource) for key in keys)
            else:
                resources.append((index, resource, rtype))
        except RecordProblem as problem:
            problem_at(index, entry, problem)

    for index, resource, rtype in resources:
        try:
            patient = patients[_subject(resource, patient_refs)]
            try:
                verdict = _HANDLERS[rtype](resource, medications)
            except ValidationError as exc:
                raise validation_problem(exc) from None
        except RecordProblem as problem:
            problem_at(index, entries[index - 1], problem)
            continue
        if isinstance(verdict, Mention):
            patient.mentions.append(verdict)
        elif rtype == "Observation":
            patient.skipped_observations += 1

    for pid, patient in patients.items():
        try:
            doc = Document(
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
        except ValidationError as exc:
            problem_at(patient.entry, entries[patient.entry - 1], validation_problem(exc))
            continue
        if seen.admit(doc, path, f"entry {patient.entry}", on_error):
            yield doc
