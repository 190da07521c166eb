"""Build ``benchmarks/data/note_cases.yaml``: diagnosis-ranking cases from real clinical notes.

    .venv/bin/python -m benchmarks.map_note_cases [--out PATH]

Run once (and again only when the tables below change); ``benchmarks/bench_notes.py`` reads the
case file and the notes themselves at run time.

Source: ACI-Bench (Yim et al. 2023, CC BY 4.0), ``shared/data/knowledge/aci_bench/{train,valid}.csv``
with ``*_metadata.csv`` for age and sex: doctor-patient dialogues with the full clinical note
written for each. Each note is split into its sections by the headers the notes really use
(:data:`HEADERS`: ``CHIEF COMPLAINT`` / ``CC:``, ``HISTORY OF PRESENT ILLNESS`` / ``HPI:``,
``REVIEW OF SYSTEMS``, ``PHYSICAL EXAM`` / ``PHYSICAL EXAMINATION`` / ``EXAM``, ``VITALS`` /
``VITALS REVIEWED``, ``RESULTS``, ``ASSESSMENT AND PLAN`` or ``ASSESSMENT`` + ``PLAN`` or
``IMPRESSION`` + ``PLAN``, the history sections, ``INSTRUCTIONS``). A line is a header only when
it is exactly one of these (a trailing colon allowed), so sub-headers inside an exam (``MSK:``)
and one-word problem lines (``COPD.``, ``1. CHF.``) are not.

Gold: the problems listed in the assessment section (``ASSESSMENT AND PLAN``, ``ASSESSMENT`` or
``IMPRESSION``; never the plan, whose prose names tests and differentials). A problem line is a
numbered or bulleted item or a short standalone line; narrative sentences (the patient summary
that opens many assessments), the ``- Medical Reasoning:`` style sub-bullets and the patient
agreement line are not problems. Each problem line is cut into parts at commas, ``and``/``with``
and hedges (``likely``, ``possible``, ``consistent with``, ``due to``...; a hedged working
diagnosis is the clinician's diagnosis and counts), each part loses leading qualifiers
(laterality, body site, severity, course, ``newly diagnosed``) and a trailing ``of the right breast``, and
is then looked up by exact :func:`~extractors.linking.normalize.normalize` key, first in
:data:`ALIASES`, then among the Human Disease Ontology labels (``HumanDO.tsv``). No fuzzy or
partial matching: a problem that does not map is left out, never guessed. ``history of`` and
``status post`` items are left out too: they name a past event or procedure, not what the visit
diagnoses. DO's cross-references (``allXREFinDO.tsv``) were considered and not used: they carry
ids, not names, so they cannot map a phrase; the ranker's candidates are matched to the gold by
DOID or by DO name (see ``bench_notes``).

Primary: the gold mapped from the first problem line, when that line maps. When the first
listed problem does not map (``Right knee pain`` before ``Type 2 diabetes``), the case has no
primary rather than promoting a comorbidity; the primary-diagnosis figures count only cases with
one. Cases with no mapped gold at all (most injuries: DO has no fractures, sprains or strains)
are dropped.

Input: which sections ``bench_notes`` feeds the ranker (:data:`INPUT_SECTIONS`): history of
present illness, review of systems, physical exam and vitals. Left out: the chief complaint (in
the virtscribe notes it repeats the assessment list verbatim: ``Hypothyroidism. Abnormal liver
enzymes.``), past medical history (a list of known diagnoses), results (imaging and lab reads
that state diagnoses: ``shows a comminuted distal phalanx fracture``, ``mitral regurgitation is
present``) and of course the assessment and plan. The HPI of a follow-up visit still names the
chronic conditions being followed up; the benchmark reports how often a gold name appears in the
input. A note with none of the input sections is dropped.

Hand check: :data:`CHECKED` lists the encounters whose notes were read in full for this file
(is each gold a diagnosis of this visit, is the primary the first-listed problem); their cases
carry ``checked: true``. :data:`OVERRIDES` holds the gold read by hand where the assessment is
prose or the phrase is ambiguous outside its note.

The case file holds no note text (the shared data may not be copied into the repo): corpus,
split, encounter id, the input section headers, age/sex, and per gold the DOID, the DO name and
the assessment phrase it was mapped from.

MTS-Dialog (Ben Abacha et al. 2023) is not used. Its rows (``ID, section_header, section_text,
dialogue``) are single section snippets, each from a different note: ``ID`` is the row number,
no column links a ``GENHX`` row to the ``ASSESSMENT`` row of the same encounter (neighbouring
rows describe different patients: row 22 "he", row 24 "her", different problems), so no
(history -> assessment) pair can be formed. Within one ``ASSESSMENT`` row the only input is the
dialogue, in which the doctor states the diagnosis ("We are looking at blood born pathogen
exposure secondary to needlestick"), so that pairing would hand the ranker its answer. Its test
files are held out and never read.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from extractors.linking.normalize import normalize
from extractors.ner.data import data_root

CASES = Path(__file__).resolve().parent / "data" / "note_cases.yaml"
CORPUS = "aci-bench"
SPLITS = ("train", "valid")


def aci_dir() -> Path:
    return data_root() / "knowledge" / "aci_bench"


def do_dir() -> Path:
    return data_root() / "knowledge" / "disease_ontology"


HEADERS = frozenset({
    "CHIEF COMPLAINT", "CC", "HISTORY OF PRESENT ILLNESS", "HPI", "REVIEW OF SYSTEMS",
    "PHYSICAL EXAM", "PHYSICAL EXAMINATION", "EXAM", "VITALS", "VITALS REVIEWED", "RESULTS",
    "ASSESSMENT AND PLAN", "ASSESSMENT", "IMPRESSION", "PLAN", "INSTRUCTIONS", "PROCEDURE",
    "MEDICAL HISTORY", "PAST HISTORY", "PAST MEDICAL HISTORY", "PAST SURGICAL HISTORY",
    "SURGICAL HISTORY", "SOCIAL HISTORY", "FAMILY HISTORY", "BIRTH HISTORY",
    "MEDICATIONS", "CURRENT MEDICATIONS", "ALLERGIES",
})
"""Every section header the 87 ACI-Bench train/valid notes use (read off the notes)."""

INPUT_SECTIONS = ("HISTORY OF PRESENT ILLNESS", "HPI", "REVIEW OF SYSTEMS", "PHYSICAL EXAM",
                  "PHYSICAL EXAMINATION", "EXAM", "VITALS", "VITALS REVIEWED")
"""Sections given to the ranker, in note order (why these: the module docstring)."""

ASSESSMENT_SECTIONS = ("ASSESSMENT AND PLAN", "ASSESSMENT", "IMPRESSION")


def split_sections(note: str) -> dict[str, str]:
    """The note's sections by header, in note order; text before the first header is dropped.
    A header seen twice (none is, in these notes) keeps both bodies, joined."""
    out: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in note.splitlines():
        key = line.strip().rstrip(":").strip()
        if key in HEADERS:
            current = out.setdefault(key, [])
            continue
        if current is not None:
            current.append(line)
    return {k: "\n".join(v).strip() for k, v in out.items()}


def read_notes(split: str) -> dict[str, dict[str, str]]:
    """``encounter_id -> row`` of one ACI-Bench split (raises OSError when the file is absent)."""
    with (aci_dir() / f"{split}.csv").open(encoding="utf-8", newline="") as fh:
        return {r["encounter_id"]: r for r in csv.DictReader(fh)}


def read_metadata(split: str) -> dict[str, tuple[int | None, str | None]]:
    """``encounter_id -> (age in whole years, sex)``; ``22-month`` is 1 year, blanks are None."""
    out = {}
    with (aci_dir() / f"{split}_metadata.csv").open(encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh):
            raw, sex = r["patient_age"].strip(), r["patient_gender"].strip().lower() or None
            if not raw:
                age = None
            elif m := re.fullmatch(r"(\d+)-month", raw):
                age = int(m.group(1)) // 12
            else:
                age = int(float(raw))
            out[r["encounter_id"].strip()] = (age, sex if sex in ("male", "female") else None)
    return out


def read_do_labels() -> dict[str, str]:
    """``DOID -> label`` from HumanDO.tsv (one row per parent, so ids repeat)."""
    with (do_dir() / "HumanDO.tsv").open(encoding="utf-8", newline="") as fh:
        return {r["id"]: r["label"] for r in csv.DictReader(fh, delimiter="\t")}


# -- phrase -> DOID ------------------------------------------------------------------------------

ALIASES: dict[str, str] = {
    # everyday names of DO diseases, each certain
    "high blood pressure": "DOID:10763",           # hypertension
    "type 2 diabetes": "DOID:9352",                # type 2 diabetes mellitus
    "type ii diabetes": "DOID:9352",
    "diabetes type 2": "DOID:9352",
    "diabetes type ii": "DOID:9352",
    "diabetes mellitus type 2": "DOID:9352",
    "type 1 diabetes": "DOID:9744",                # type 1 diabetes mellitus
    "diabetes": "DOID:9351",                       # diabetes mellitus (no clinician means insipidus by it)
    "chf": "DOID:6000",                            # congestive heart failure
    "copd": "DOID:3083",                           # chronic obstructive pulmonary disease
    "depression": "DOID:1596",                     # depressive disorder (the problem, not a mood)
    "gerd": "DOID:8534",                           # gastroesophageal reflux disease
    "acid reflux": "DOID:8534",
    "gastroesophageal reflux": "DOID:8534",
    "kidney stone": "DOID:585",                    # nephrolithiasis
    "renal stone": "DOID:585",
    "degenerative joint disease": "DOID:8398",     # osteoarthritis
    "mitral regurgitation": "DOID:11502",          # mitral valve insufficiency
    "non small cell lung cancer": "DOID:3908",     # lung non-small cell carcinoma
    "acne vulgaris": "DOID:6543",                  # acne
    "transient tics": "DOID:2768",                 # transient tic disorder
    "iga deficiency": "DOID:11701",                # selective IgA deficiency disease
    # a named subtype DO lacks, mapped to its DO parent (correct, only less specific)
    "medial epicondylitis": "DOID:14087",          # epicondylitis
    "lateral epicondylitis": "DOID:14087",
    "stenosing tenosynovitis": "DOID:970",         # tenosynovitis
    "cervical radiculopathy": "DOID:4306",         # radiculopathy
    "peripheral neuropathy": "DOID:870",           # neuropathy (DO's peripheral-nerve neuropathy)
}
"""Phrase -> DOID (compared by normalised key), for names DO's labels do not carry. Only mappings that hold in any
clinical note; ambiguous ones ("reflux") go to :data:`OVERRIDES`, per note."""

OVERRIDES: dict[str, list[tuple[str, str]]] = {
    # the assessment is a paragraph: "presents today with newly diagnosed melanoma"
    "D2N029": [("DOID:1909", "melanoma")],
    # "Stage 0 ER/PR-positive invasive ductal carcinoma of the right breast" contradicts itself
    # and the note: stage 0 is in situ, and the HPI's biopsy and lumpectomy pathology both say
    # DCIS (chief complaint: "History of right ductal carcinoma in situ"); the label-exact
    # mapping gave invasive ductal carcinoma, corrected by hand
    "D2N031": [("DOID:0060074", "Stage 0 ductal carcinoma")],
    # "Reflux." is GERD here (HPI: gastroesophageal reflux; treated with omeprazole) but
    # not in every note (vesicoureteral reflux), so not an alias; listed third, after
    # kidney stones and migraines, so the override keeps the note's order
    "D2N003": [("DOID:585", "Kidney stones"), ("DOID:6364", "Migraines"), ("DOID:8534", "Reflux")],
}
"""Encounter -> [(DOID, assessment phrase)] read by hand from the note; replaces the mapping.
The first entry is the primary."""

_OK = "gold and primary confirmed against CC, HPI, assessment and plan"
CHECKED: dict[str, str] = {
    "D2N001": _OK + " (whole note read)",
    "D2N003": "reflux is GERD (HPI: gastroesophageal reflux, on Protonix): OVERRIDES",
    "D2N004": _OK + "; no primary: the first problem, acute lumbar strain, is not in DO",
    "D2N007": _OK + "; no primary (chronic back pain first); history of CABG rightly left out",
    "D2N010": _OK + " (hyperglycemia is the listed problem; the plan attributes it to infection)",
    "D2N011": _OK + " (chest pain and hypertension: hypertension primary)",
    "D2N013": _OK + " (newly diagnosed diabetes, type not stated: diabetes mellitus)",
    "D2N014": _OK + " (ED visit for a heart-failure exacerbation; status-post items left out)",
    "D2N019": _OK + " (lateral epicondylitis -> DO parent epicondylitis)",
    "D2N021": _OK + " (whole note read; liver enzymes, weight gain, vitamin D, hirsutism not in DO)",
    "D2N022": _OK + " (post-traumatic stenosing tenosynovitis, trigger finger -> tenosynovitis)",
    "D2N026": _OK + " (plan: 'I suspect a flare of cervical radiculopathy')",
    "D2N029": "assessment is prose ('newly diagnosed melanoma'): OVERRIDES",
    "D2N030": _OK,
    "D2N031": "mapping was wrong (invasive ductal carcinoma); the note's pathology is DCIS: OVERRIDES",
    "D2N032": _OK + " (degenerative joint disease = osteoarthritis)",
    "D2N033": _OK + " (whole note read); no primary: right knee pain first",
    "D2N037": _OK + " (whole note read)",
    "D2N046": _OK,
    "D2N053": _OK,
    "D2N055": _OK + " (eye tic in a 3-year-old)",
    "D2N058": _OK + " (post-STEMI follow-up: coronary artery disease first)",
    "D2N059": _OK + " ('Mood' is not a diagnosis: not mapped)",
    "D2N062": _OK,
    "D2N074": _OK + " (bitemporal hemianopia not in DO)",
    "D2N076": _OK + " (age 22 months -> 1 year)",
    "D2N081": _OK + " (radiation pneumonitis not in DO)",
    "D2N082": _OK + " (low IgA with frequent infections: selective IgA deficiency)",
    "D2N084": _OK + " (whole note read)",
    "D2N085": _OK,
    "D2N086": _OK + "; no primary: diabetic foot ulcer first, not in DO",
}
"""Encounters whose notes were read in full to check the gold and the primary -> what was found."""

_HEDGES = re.compile(
    r"\b(?:most likely due to|most likely|likely|possible contribution of|possible|probable|"
    r"suspicious for|suspected|consistent with|due to|secondary to|in the setting of|"
    r"rule out)\b",
    re.IGNORECASE,
)
_LEADING = re.compile(
    r"^(?:(?:right|left|bilateral|acute|chronic|subacute|mild|moderate|severe|uncontrolled|"
    r"controlled|recurrent|new|newly|diagnosed|found|reduced|worsening|stable|follow up|"
    r"stage [0-4]|stage i{1,3}|stage iv|side|a|an|the|"
    r"scalp|elbow|shoulder|wrist|hand|finger|hip|knee|ankle|foot)\s+)+"
)
_TRAILING_SITE = re.compile(r"\s+(?:of|in) (?:the )?(?:right|left|bilateral)\b.*$")
_NARRATIVE = re.compile(r"\b(?:is a|is an|presents|presented|was|were|has been|have been|will|"
                        r"understands|agrees)\b", re.IGNORECASE)
_SUB_BULLET = re.compile(r"^[-•*]\s*[A-Za-z /]{3,40}[:.]\s")
_PAST = re.compile(r"^(?:history of|status post|s/p|\d+ (?:months?|years?|weeks?) status post)\b", re.IGNORECASE)
MAX_PROBLEM_WORDS = 16
"""A problem line is a heading; the longest in these notes has 13 words, the shortest patient
summary sentence 17 (and is caught by :data:`_NARRATIVE` anyway)."""


def problem_lines(assessment: str) -> list[str]:
    """The listed problems of an assessment section, in order (numbering and bullets removed)."""
    out = []
    for raw in assessment.splitlines():
        line = raw.strip()
        if not line or _SUB_BULLET.match(line) or line.lower().startswith("patient agreements"):
            continue
        line = re.sub(r"^(?:\d+\.|[•*-])\s*", "", line).strip()
        sentences = [s for s in re.split(r"(?<=[a-z0-9)])\.\s+", line) if s.strip()]
        if len(sentences) > 1 or _NARRATIVE.search(line) or len(line.split()) > MAX_PROBLEM_WORDS:
            continue
        out.append(line.rstrip(". "))
    return out


def phrase_parts(problem: str) -> list[str]:
    """A problem line cut at commas, semicolons, ``and``/``with`` and hedges (in order)."""
    parts = []
    for chunk in re.split(r"[,;]\s*", problem):
        for piece in _HEDGES.split(chunk):
            for sub in re.split(r"\s+(?:and|with or without|with|plus)\s+", piece):
                sub = sub.strip(" .")
                if sub:
                    parts.append(sub)
    return parts


def lookup_keys(part: str) -> list[str]:
    """Normalised forms of one part to look up, most literal first."""
    key = normalize(part)
    keys = [key]
    for k in (_LEADING.sub("", key), _TRAILING_SITE.sub("", key), _TRAILING_SITE.sub("", _LEADING.sub("", key))):
        if k and k not in keys:
            keys.append(k)
    return keys


@dataclass(frozen=True)
class Gold:
    id: str
    name: str
    phrase: str
    line: int


class Mapper:
    """Assessment phrases -> DOIDs by exact normalised key (aliases, then DO labels)."""

    def __init__(self, labels: dict[str, str]) -> None:
        self.labels = labels
        by_key: dict[str, set[str]] = {}
        for doid, label in labels.items():
            by_key.setdefault(normalize(label), set()).add(doid)
        # a key two DO terms share is ambiguous: left out rather than picked
        self.by_key = {k: next(iter(v)) for k, v in by_key.items() if len(v) == 1}
        bad = {a: d for a, d in ALIASES.items() if d not in labels}
        if bad:
            raise ValueError(f"aliases with a DOID that HumanDO.tsv lacks: {bad}")
        self.aliases = {normalize(a): d for a, d in ALIASES.items()}

    def map_part(self, part: str) -> str | None:
        if _PAST.match(part.strip()):
            return None
        for key in lookup_keys(part):
            doid = self.aliases.get(key) or self.by_key.get(key)
            if doid:
                return doid
        return None

    def map_assessment(self, assessment: str) -> tuple[list[Gold], list[str]]:
        """Gold per problem line (deduplicated by DOID, first occurrence kept) and the
        problem lines that did not map (for review)."""
        gold: list[Gold] = []
        unmapped: list[str] = []
        for n, line in enumerate(problem_lines(assessment)):
            if _PAST.match(line):
                unmapped.append(line + "  [past: left out]")
                continue
            hits = 0
            for part in phrase_parts(line):
                doid = self.map_part(part)
                if doid and all(g.id != doid for g in gold):
                    gold.append(Gold(doid, self.labels[doid], part, n))
                    hits += 1
                elif doid:
                    hits += 1
            if not hits:
                unmapped.append(line)
        return gold, unmapped


def build_case(split: str, row: dict[str, str], meta: tuple[int | None, str | None],
               mapper: Mapper) -> tuple[dict[str, Any] | None, list[str]]:
    enc = row["encounter_id"]
    sections = split_sections(row["note"])
    inputs = [h for h in sections if h in INPUT_SECTIONS and sections[h]]
    where = next((h for h in ASSESSMENT_SECTIONS if h in sections), None)
    if where is None or not inputs:
        return None, [f"{enc}: no {'assessment' if where is None else 'input'} section"]
    if enc in OVERRIDES:
        gold = [Gold(d, mapper.labels[d], p, k) for k, (d, p) in enumerate(OVERRIDES[enc])]
        unmapped: list[str] = []
    else:
        gold, unmapped = mapper.map_assessment(sections[where])
    if not gold:
        return None, [f"{enc}: nothing mapped from {unmapped}"]
    age, sex = meta
    case: dict[str, Any] = {
        "id": f"{CORPUS}/{split}/{enc}",
        "corpus": CORPUS,
        "split": split,
        "encounter_id": enc,
        "note_style": row["dataset"],
        "input_sections": inputs,
        "gold_section": where,
        "age": age,
        "sex": sex,
        "gold": [
            {"id": g.id, "name": g.name, "phrase": g.phrase, "primary": k == 0 and g.line == 0}
            for k, g in enumerate(gold)
        ],
        "checked": enc in CHECKED,
    }
    return case, [f"{enc}: unmapped {u!r}" for u in unmapped]


def build_cases() -> Iterator[tuple[dict[str, Any] | None, list[str]]]:
    mapper = Mapper(read_do_labels())
    for split in SPLITS:
        meta = read_metadata(split)
        for enc, row in read_notes(split).items():
            yield build_case(split, row, meta.get(enc, (None, None)), mapper)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=CASES)
    ap.add_argument("--verbose", action="store_true", help="list the problems that did not map")
    args = ap.parse_args()
    if not aci_dir().is_dir():
        sys.exit(f"ACI-Bench not found at {aci_dir()} (set MEDKG_SHARED_DATA)")
    cases, log = [], []
    for case, notes in build_cases():
        log += notes
        if case is not None:
            cases.append(case)
    unknown = set(CHECKED) - {c["encounter_id"] for c in cases}
    if unknown:
        raise ValueError(f"CHECKED names encounters that are not cases: {sorted(unknown)}")
    header = (
        "# Generated by benchmarks/map_note_cases.py from ACI-Bench (Yim et al. 2023, CC BY 4.0) and the\n"
        "# Human Disease Ontology (CC0). Do not edit: change the script's tables and rerun it.\n"
        "# No note text here: bench_notes.py reads the sections named below from shared/data at run time.\n"
    )
    body = yaml.safe_dump({"cases": cases}, sort_keys=False, allow_unicode=True, width=120)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(header + body, encoding="utf-8")
    per = Counter(f"{c['corpus']}/{c['split']}" for c in cases)
    print(f"wrote {args.out}: {len(cases)} cases ({', '.join(f'{k} {v}' for k, v in per.items())}), "
          f"{sum(c['checked'] for c in cases)} checked, "
          f"{sum(any(g['primary'] for g in c['gold']) for c in cases)} with a primary")
    if args.verbose:
        print("\n".join(log))


if __name__ == "__main__":
    main()
