"""The critical interaction rules: the reader on a fixture and on bad rows, the shipped table's
integrity against the real drug dictionary, and an end-to-end check on the embedded store."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest

from extractors.linking.sources import drug_entries
from kg.interactions import DrugResolver, check_interactions
from kg.interactions.report import SourceStatement
from kg.jobs.curated_job import load_curated
from kg.store.base import GraphStore
from loaders.curated import CURATED_SOURCES, critical_interactions, default_sources, read_curated
from loaders.curated._common import LoadReport
from loaders.errors import MalformedInputError, RecordError
from schema.model import severity_scale
from schema.records import Relation
from tests.helpers import FIXTURES

FIXTURE = FIXTURES / "curated" / "critical"
SILDENAFIL, NITROGLYCERIN = "DRUGBANK:DB00203", "DRUGBANK:DB00727"
AMIODARONE, DRONEDARONE = "DRUGBANK:DB01118", "DRUGBANK:DB04855"
HEADER = "\t".join(critical_interactions.COLUMNS)
GOOD = ["PDE5I-NITRATE", "PDE5 inhibitors", "DRUGBANK:DB00203 Sildenafil", "organic nitrates",
        "DRUGBANK:DB00727 Nitroglycerin", "Contraindicated", "effect", "vasodilation", "hypotension", "do not combine",
        "FDA: Viagra prescribing information"]


def _relations(docs: list) -> dict[tuple[str, str], Relation]:
    return {(r.head_id, r.tail_id): r for d in docs for r in d.relations}


def _table(tmp_path: Path, *rows: list[str]) -> Path:
    path = tmp_path / critical_interactions.FILE
    path.write_text("# comment\n" + HEADER + "\n" + "".join("\t".join(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _shipped_rows() -> list[dict[str, str]]:
    with critical_interactions.default_path().open(encoding="utf-8", newline="") as handle:
        lines = [line for line in handle if not line.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE))


def test_each_rule_states_every_pair_once_most_severe_first() -> None:
    report = LoadReport("critical")
    docs = list(critical_interactions.read(FIXTURE, report_to=report))
    rels = _relations(docs)
    # 2 x 2 nitrate pairs + 6 pairs within the 4 QT drugs + warfarin/amiodarone; the 2 dronedarone
    # pairs of DRONEDARONE-QT are QT-COMBINATION pairs too, so they merge
    assert len(rels) == 11 and report.rows == 4 and report.merged == 2
    assert all(a < b for a, b in rels) and all(r.curated and r.source == "critical" for r in rels.values())
    both = rels[(AMIODARONE, DRONEDARONE)]
    assert both.properties == {"severity": "Contraindicated", "interaction_type": "effect",
                               "mechanism": "additive QT prolongation", "rules": ["DRONEDARONE-QT", "QT-COMBINATION"]}
    assert both.evidence_text.startswith("Amiodarone and Dronedarone: Contraindicated (critical rule DRONEDARONE-QT: ")
    assert " | Major (critical rule QT-COMBINATION: " in both.evidence_text
    nitrate = rels[(SILDENAFIL, NITROGLYCERIN)]
    assert nitrate.properties["severity"] == "Contraindicated" and "FDA prescribing information" in nitrate.evidence_text
    names = {m.concept_id: m.text for d in docs for m in d.mentions}
    assert names[SILDENAFIL] == "Sildenafil" and names[NITROGLYCERIN] == "Nitroglycerin"
    # one document per 100 DrugBank numbers of the pair's lower id (DB002xx: sildenafil, citalopram)
    assert [(d.id, len(d.relations)) for d in docs] == [
        ("critical:DB:000002", 5), ("critical:DB:000004", 2), ("critical:DB:000006", 1), ("critical:DB:000007", 1),
        ("critical:DB:000008", 1), ("critical:DB:000011", 1)]


def test_shipped_table_is_a_default_cc0_source() -> None:
    assert "critical" in default_sources() and CURATED_SOURCES["critical"].licence.startswith("CC0")
    report = LoadReport("critical")
    docs = list(read_curated("critical", report_to=report))
    assert 40 <= report.rows <= 100 and report.relations["INTERACTS_WITH"] > 1_000
    assert {r.properties["severity"] for d in docs for r in d.relations} == set(critical_interactions.SEVERITIES)


def test_shipped_rules_have_unique_ids_and_valid_grades() -> None:
    rows = _shipped_rows()
    ids = [row["rule_id"] for row in rows]
    assert len(ids) == len(set(ids))
    assert set(critical_interactions.SEVERITIES) <= set(severity_scale())
    assert {row["severity"] for row in rows} <= set(critical_interactions.SEVERITIES)
    assert {row["interaction_type"] for row in rows} <= set(critical_interactions.INTERACTION_TYPES)
    assert len(critical_interactions.read_rules()) == len(rows)


def test_every_member_is_in_the_drug_dictionary_under_its_name() -> None:
    names = {e.concept_id: {e.name.casefold(), *(a.casefold() for a in e.aliases)} for e in drug_entries()}
    members = {m for rule in critical_interactions.read_rules() for m in (*rule.members_a, *rule.members_b)}
    missing = sorted(curie for curie, _ in members if curie not in names)
    misnamed = sorted((curie, name) for curie, name in members if curie in names and name.casefold() not in names[curie])
    assert missing == [] and misnamed == []


@pytest.mark.parametrize(("change", "message"), [
    ({5: "Severe"}, "severity 'Severe' is not one of Contraindicated, Major, Moderate"),
    ({6: "advise"}, "interaction_type 'advise' is not one of mechanism, effect"),
    ({2: "DB00203 Sildenafil"}, "members_a item 'DB00203 Sildenafil' is not 'DRUGBANK:DB00000 name'"),
    ({4: "DRUGBANK:DB00727 Nitroglycerin; DRUGBANK:DB00727 Nitroglycerin"}, "members_b lists DRUGBANK:DB00727 twice"),
    ({7: " "}, "empty mechanism"),
    ({0: "pde5i nitrate"}, "rule_id 'pde5i nitrate' must be upper-case"),
    ({4: "DRUGBANK:DB00203 Sildenafil"}, "states no pair"),
    ({4: "DRUGBANK:DB00203 Viagra; DRUGBANK:DB00727 Nitroglycerin"},
     "DRUGBANK:DB00203 is named 'Viagra' here but 'Sildenafil' on line 3"),  # two names within one row
])
def test_a_bad_row_is_named_with_its_file_and_line(tmp_path: Path, change: dict[int, str], message: str) -> None:
    row = [change.get(i, v) for i, v in enumerate(GOOD)]
    path = _table(tmp_path, row)
    with pytest.raises(MalformedInputError, match=message) as exc:
        list(critical_interactions.read(path))
    assert str(path) in str(exc.value) and "line 3" in str(exc.value)


def test_table_wide_rules_name_the_earlier_line_and_skip_mode_goes_on(tmp_path: Path) -> None:
    renamed = GOOD[:1] + ["x", "DRUGBANK:DB00203 Viagra"] + GOOD[3:]
    renamed[0] = "PDE5I-NITRATE-2"
    path = _table(tmp_path, GOOD, GOOD, renamed)
    with pytest.raises(MalformedInputError, match="rule_id PDE5I-NITRATE is already used on line 3"):
        list(critical_interactions.read(path))
    errors: list[RecordError] = []
    docs = list(critical_interactions.read(path, on_error=errors.append))
    assert [e.position for e in errors] == ["line 4", "line 5"]
    assert "named 'Viagra' here but 'Sildenafil' on line 3" in errors[1].message
    assert list(_relations(docs)) == [(SILDENAFIL, NITROGLYCERIN)]


# -- end to end: load into the embedded store, check a medication list ----------------------------


@pytest.fixture(scope="module")
def resolver() -> DrugResolver:
    return DrugResolver().warm()


@pytest.fixture
def graph(ladybug_store: GraphStore) -> Iterator[GraphStore]:
    run = load_curated(ladybug_store, ["critical"])
    assert run.sources[0].read.relations["INTERACTS_WITH"] == ladybug_store.stats()["INTERACTS_WITH"]
    yield ladybug_store


def test_check_interactions_raises_critical_alerts(graph: GraphStore, resolver: DrugResolver) -> None:
    report = check_interactions(graph, ["Viagra", "nitroglycerin patch", "warfarin", "Cordarone", "simvastatin",
                                        "amlodipine"], resolver=resolver)
    found = {frozenset((x.drug_a.name, x.drug_b.name)): x for x in report.interactions}
    nitrate = found[frozenset(("Sildenafil", "Nitroglycerin"))]
    assert (nitrate.tier, nitrate.severity, nitrate.severity_basis) == ("interrupt", "Contraindicated", "curated")
    assert nitrate.said == (SourceStatement(source="critical", severity="Contraindicated"),)
    assert nitrate.sources == ("critical",) and nitrate.mechanism == "additive cGMP-mediated vasodilation"
    assert nitrate.why.startswith("Contraindicated (interrupt): critical: Contraindicated; mechanism: ")
    assert nitrate.evidence[0].source == "critical" and "PDE5I-NITRATE" in (nitrate.evidence[0].text or "")
    warfarin = found[frozenset(("Warfarin", "Amiodarone"))]
    assert (warfarin.tier, warfarin.severity) == ("interrupt", "Major")
    statin = found[frozenset(("Simvastatin", "Amlodipine"))]
    assert (statin.tier, statin.severity) == ("warn", "Moderate")
    assert frozenset(("Simvastatin", "Amiodarone")) in found
    assert frozenset(("Sildenafil", "Warfarin")) not in found  # no rule: nothing stated


def test_a_table_in_another_encoding_is_named_with_advice_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "critical_interactions.tsv"
    path.write_bytes(HEADER.encode() + b"\n" + "\t".join(GOOD).encode("utf-16"))
    with pytest.raises(MalformedInputError, match="not valid UTF-8") as exc:
        list(critical_interactions.read(path))
    assert str(exc.value).startswith(f"{path}:encoding: not valid UTF-8") and "convert the file to UTF-8" in str(exc.value)
