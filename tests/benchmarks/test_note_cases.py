"""Integrity of ``benchmarks/data/note_cases.yaml`` (built by ``benchmarks/map_note_cases.py``).

The file checks run everywhere; the checks against the sources (every DOID is a Disease Ontology
term, every encounter and section is in its ACI-Bench note) skip where ``../shared/data`` is absent.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from benchmarks.map_note_cases import (
    ASSESSMENT_SECTIONS,
    CASES,
    INPUT_SECTIONS,
    OVERRIDES,
    SPLITS,
    split_sections,
)
from tests.helpers import REPO, shared_data

CASE_KEYS = {"id", "corpus", "split", "encounter_id", "note_style", "input_sections", "gold_section",
             "age", "sex", "gold", "checked"}
GOLD_KEYS = {"id", "name", "phrase", "primary"}
MAX_PHRASE_WORDS = 8
"""A gold phrase is a problem heading ("Chronic congestive heart failure"), never note prose."""


@pytest.fixture(scope="module")
def cases() -> list[dict[str, Any]]:
    return yaml.safe_load(CASES.read_text(encoding="utf-8"))["cases"]


@pytest.fixture(scope="module")
def notes() -> dict[str, dict[str, str]]:
    """``split/encounter_id -> note`` for both ACI-Bench splits."""
    folder = shared_data("knowledge", "aci_bench")
    out = {}
    for split in SPLITS:
        with (folder / f"{split}.csv").open(encoding="utf-8", newline="") as fh:
            out.update({f"{split}/{r['encounter_id']}": r["note"] for r in csv.DictReader(fh)})
    return out


def test_cases_are_well_formed(cases: list[dict[str, Any]]) -> None:
    assert len(cases) >= 50
    assert len({c["id"] for c in cases}) == len(cases)
    for c in cases:
        assert set(c) == CASE_KEYS, c["id"]
        assert c["corpus"] == "aci-bench" and c["split"] in SPLITS
        assert c["id"] == f"{c['corpus']}/{c['split']}/{c['encounter_id']}"
        assert c["input_sections"] and set(c["input_sections"]) <= set(INPUT_SECTIONS), c["id"]
        assert c["gold_section"] in ASSESSMENT_SECTIONS
        assert c["sex"] in (None, "male", "female")
        assert c["age"] is None or 0 <= c["age"] <= 120
        assert c["gold"], c["id"]
        assert len({g["id"] for g in c["gold"]}) == len(c["gold"]), c["id"]
        assert sum(g["primary"] for g in c["gold"]) <= 1, c["id"]
        assert all(g["primary"] is False for g in c["gold"][1:]), f"{c['id']}: the primary is the first-listed"
        for g in c["gold"]:
            assert set(g) == GOLD_KEYS
            assert re.fullmatch(r"DOID:\d+", g["id"]), g
            assert 0 < len(g["phrase"].split()) <= MAX_PHRASE_WORDS, g


def test_enough_cases_were_checked_by_hand(cases: list[dict[str, Any]]) -> None:
    assert sum(c["checked"] for c in cases) >= 20


def test_no_test_set_is_referenced() -> None:
    """The MTS-Dialog test files are held out: neither the case file nor the scripts name them."""
    for path in (CASES, REPO / "benchmarks" / "map_note_cases.py", REPO / "benchmarks" / "bench_notes.py"):
        assert "testset" not in path.read_text(encoding="utf-8").lower(), path


def test_every_doid_is_a_disease_ontology_term(cases: list[dict[str, Any]]) -> None:
    with shared_data("knowledge", "disease_ontology", "HumanDO.tsv").open(encoding="utf-8", newline="") as fh:
        labels = {r["id"]: r["label"] for r in csv.DictReader(fh, delimiter="\t")}
    for c in cases:
        for g in c["gold"]:
            assert g["id"] in labels, f"{c['id']}: {g['id']} is not in HumanDO.tsv"
            assert g["name"] == labels[g["id"]], f"{c['id']}: {g['id']} is {labels[g['id']]!r}, not {g['name']!r}"


def test_every_encounter_and_section_is_in_its_note(cases: list[dict[str, Any]], notes: dict[str, str]) -> None:
    for c in cases:
        key = f"{c['split']}/{c['encounter_id']}"
        assert key in notes, f"{c['id']}: encounter not in {c['split']}.csv"
        sections = split_sections(notes[key])
        for header in [*c["input_sections"], c["gold_section"]]:
            assert sections.get(header), f"{c['id']}: no {header} section"
        if c["encounter_id"] not in OVERRIDES:  # hand-read gold may paraphrase a prose assessment
            assessment = sections[c["gold_section"]].lower()
            for g in c["gold"]:
                assert g["phrase"].lower() in assessment, f"{c['id']}: {g['phrase']!r} not in its assessment"


def test_case_file_holds_no_note_text(cases: list[dict[str, Any]], notes: dict[str, str]) -> None:
    """The shared data may not be copied into the repo: no sentence of a note is in the file."""
    text = CASES.read_text(encoding="utf-8").lower()
    for c in cases:
        note = notes[f"{c['split']}/{c['encounter_id']}"]
        for sentence in re.split(r"(?<=[.!?])\s+|\n", note):
            words = sentence.split()
            if len(words) >= MAX_PHRASE_WORDS + 2:
                assert sentence.strip().lower() not in text, f"{c['id']}: note text copied into {Path(CASES).name}"
