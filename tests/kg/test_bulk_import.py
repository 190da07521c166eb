"""Bulk load: `medkg export --format neo4j-import` CSVs, imported with neo4j-admin's importer (run
from the Maven jars by scripts/neo4j-local) into a second, throwaway Neo4j, must give exactly the
graph of the embedded store they came from and of the online UNWIND path into Neo4j.

The fixture graph is small but covers every value kind the CSVs must carry: the BC5CDR excerpt
(evidence sentences, mentions), a Synthea bundle (patients, int birth years), curated HPO/DO/SYMP/
HSDN/PharmacotherapyDB (float frequencies, hierarchy) and one hand-made note whose names, ids,
evidence text and properties hold quotes, commas, semicolons, pipes, backslashes, CR/LF and
non-ASCII text.
"""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from kg.build import build_batch
from kg.bulk import ARRAY_DELIMITER, encode_value, export_neo4j_import, finish_import, read_manifest
from kg.cli import app
from kg.errors import ExportError, StoreError
from kg.jobs import run_build
from schema.records import Document, EntityType, Mention, Relation
from kg.store.base import GraphStore
from kg.store.ladybug_store import LadybugStore
from kg.jobs.curated_job import load_curated
from schema.model import PropType
from tests.helpers import FIXTURES, LocalNeo4j, require_java_and_maven

TRICKY_TEXT = 'He said "stop", then\nleft; 5 mg|day \\ back\r\nWarfarin + ASA: "bleeding" risk, café ☕'
CURATED = {name: FIXTURES / "curated" / name for name in ("hpo", "do", "symp", "hsdn", "pharmacotherapydb")}


def _tricky_doc() -> Document:
    def drug(text: str, cid: str) -> Mention:
        return Mention(label=EntityType.DRUG, text=text, concept_id=cid, source="gold:tricky")

    return Document(
        id='note:"odd",id;1', source_format="text", kind="clinical_note", patient_id='pt "7", A|B',
        title='A "quoted", title\nwith a line break', text=TRICKY_TEXT,
        mentions=(drug('ASA; "aspirin", 81 mg', "MESH:D001241"), drug("Warfarin\\sodium", "MESH:D014859"),
                  drug("warfarin", "MESH:D014859")),
        relations=(Relation(
            type="INTERACTS_WITH", head_id="MESH:D014859", head_label="Drug", tail_id="MESH:D001241",
            tail_label="Drug", source="gold:tricky", score=0.875, evidence_text=TRICKY_TEXT,
            properties={"severity": "Major", "mechanism": 'additive "antiplatelet",\neffect'},
        ),),
    )


def build_fixture(store: GraphStore) -> None:
    run_build([FIXTURES / "bc5cdr" / "CDR_TrainingSet_excerpt.PubTator.txt",
               FIXTURES / "synthea" / "synthea_bundle_excerpt.json"], store)
    load_curated(store, list(CURATED), paths=CURATED, batch_relations=40)
    store.write(build_batch([_tricky_doc()], schema=store.schema))


def snapshot(store: GraphStore) -> dict[str, list[str]]:
    """Every node and edge with every property, canonically sorted (exact floats, lists in order)."""
    out: dict[str, list[str]] = {}
    for label in store.schema.nodes:
        out[label] = sorted(json.dumps(r, sort_keys=True) for r in store.iter_nodes(label))
    for type_ in store.schema.edges:
        out[type_] = sorted(json.dumps([h, t, r], sort_keys=True) for h, t, r in store.iter_edges(type_))
    return out


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LadybugStore]:
    st = LadybugStore(tmp_path_factory.mktemp("bulk-src") / "graph.lbug")
    build_fixture(st)
    try:
        yield st
    finally:
        st.close()


# -- the CSV encoding (no Java) -----------------------------------------------------------------
def test_encode_value_types_and_quoting() -> None:
    assert encode_value(None, PropType.STRING, "x") == ""  # unquoted empty: null
    assert encode_value("", PropType.STRING, "x") == '""'  # quoted empty: the empty string
    assert encode_value('a "b",\nc', PropType.STRING, "x") == '"a ""b"",\nc"'
    assert encode_value(0.1, PropType.FLOAT, "x") == "0.1" and float(encode_value(1 / 7, PropType.FLOAT, "x")) == 1 / 7
    assert encode_value(float("nan"), PropType.FLOAT, "x") == "NaN"
    assert encode_value(True, PropType.BOOL, "x") == "true" and encode_value(False, PropType.BOOL, "x") == "false"
    assert encode_value(3, PropType.INT, "x") == "3"
    assert encode_value(["a;b", 'c"d'], PropType.STRING_LIST, "x") == f'"a;b{ARRAY_DELIMITER}c""d"'
    assert encode_value([], PropType.STRING_LIST, "x") == ""


@pytest.mark.parametrize(("value", "ptype", "message"), [
    (["ok", "bad\x1fpart"], PropType.STRING_LIST, "contains the array delimiter"),
    ([""], PropType.STRING_LIST, "only the empty string"),
    ("7", PropType.INT, "expected an integer"),
    ("false", PropType.BOOL, "expected a boolean"),
])
def test_encode_value_refuses_what_the_importer_would_change(value: Any, ptype: PropType, message: str) -> None:
    with pytest.raises(ExportError, match=rf"Drug MESH:1 \.p: .*{message}"):
        encode_value(value, ptype, "Drug MESH:1 .p")


def _read_data(path: Path) -> list[list[str]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as fh:  # type: ignore[operator]
        return list(csv.reader(fh))


@pytest.mark.parametrize("compress", [False, True], ids=["csv", "gzip"])
def test_export_writes_typed_files_that_parse_back(embedded: LadybugStore, tmp_path: Path, compress: bool) -> None:
    out = tmp_path / "csv"
    res = export_neo4j_import(embedded, out, compress=compress)
    stats = embedded.stats()
    assert res.nodes == {label: stats[label] for label in embedded.schema.nodes}
    assert res.relationships == {t: stats[t] for t in embedded.schema.edges}
    assert res.nodes["Patient"] >= 2 and res.relationships["INTERACTS_WITH"] >= 1 and res.relationships["IS_A"] > 0
    ext = ".csv.gz" if compress else ".csv"
    header = (out / "Evidence.header.csv").read_text().strip().split(",")
    assert header[:2] == ["id:ID(Evidence)", ":LABEL"] and "span_start:long" in header and "score:double" in header
    evidence = _read_data(out / f"Evidence{ext}")
    assert len(evidence) == stats["Evidence"]
    texts = [row[header.index("text:string")] for row in evidence]
    assert TRICKY_TEXT in texts  # quotes, CR/LF, backslash and non-ASCII survive CSV quoting
    assert set(res.multiline) == {f"Evidence{ext}", f"Document{ext}", f"INTERACTS_WITH.Drug.Drug{ext}"}  # only these hold line breaks
    drug_header = (out / "Drug.header.csv").read_text().strip().split(",")
    drugs = {row[0]: row for row in _read_data(out / f"Drug{ext}")}
    syn = drugs["MESH:D001241"][drug_header.index("synonyms:string[]")].split(ARRAY_DELIMITER)
    assert 'ASA; "aspirin", 81 mg' in syn
    script = (out / "import.sh").read_text()
    for stem, n in res.counts.items():
        arg = f"--{'nodes' if stem in res.nodes else 'relationships'}={stem}.header.csv,{stem}{ext}"
        assert (arg in res.args and f"    {arg} \\\n" in script) == (n > 0), stem  # empty files are left out
    assert "--array-delimiter=U+001F" in res.args
    # gold-only edges have models == []: the importer drops empty arrays, post-import restores them
    assert "CAUSES_ADVERSE_EFFECT.models" in res.empty_list_fixups and res.lossy_lists == []
    post = (out / "post-import.cypher").read_text()
    assert post.startswith("CREATE CONSTRAINT drug_id IF NOT EXISTS") and "SET x.models = []" in post
    assert read_manifest(out)["relationships"] == res.relationships


def test_export_refuses_a_non_empty_directory(embedded: LadybugStore, tmp_path: Path) -> None:
    (tmp_path / "old.csv").write_text("stale")
    with pytest.raises(ExportError, match="not empty"):
        export_neo4j_import(embedded, tmp_path)


def test_export_names_the_row_with_a_value_it_cannot_write(tmp_path: Path) -> None:
    with LadybugStore(tmp_path / "g.lbug") as st:
        st.write(build_batch([_tricky_doc()], schema=st.schema))
        st.query("MATCH (d:Drug {id: 'MESH:D014859'}) SET d.synonyms = ['ok', 'a\x1fb']", write=True)
        with pytest.raises(ExportError, match=r"Drug MESH:D014859: synonyms: list element 'a\\x1fb' contains"):
            export_neo4j_import(st, tmp_path / "out")


def test_cli_export_prints_the_import_command(embedded: LadybugStore, tmp_path: Path) -> None:
    db = tmp_path / "g.lbug"
    with LadybugStore(db) as st:
        st.write(build_batch([_tricky_doc()], schema=st.schema))
    res = CliRunner().invoke(app, ["export", "--format", "neo4j-import", "--out", str(tmp_path / "out"), "--db", str(db)])
    assert res.exit_code == 0, res.output
    assert "neo4j-admin database import full neo4j --array-delimiter=U+001F" in res.output
    assert (tmp_path / "out" / "import.sh").stat().st_mode & 0o111


# -- the real importer and a second Neo4j --------------------------------------------------------
@pytest.fixture(scope="module")
def imported(embedded: LadybugStore, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The fixture exported, imported into a fresh DBMS home, served by a second Neo4j, finished.
    The export directory is ``<store>.csv_dir``."""
    require_java_and_maven()
    from kg.store.neo4j_store import Neo4jStore

    root = tmp_path_factory.mktemp("bulk-neo4j")
    export_neo4j_import(embedded, root / "csv")
    neo = LocalNeo4j(root / "runtime")
    neo.import_csv(root / "csv", root / "home")
    uri = neo.start(root / "home")
    try:
        res = CliRunner().invoke(app, ["finish-import", str(root / "csv"), "--neo4j-uri", uri])
        assert res.exit_code == 0, res.output
        assert "counts match the export" in res.output
        with Neo4jStore(uri) as st:
            st.csv_dir = root / "csv"  # type: ignore[attr-defined]
            yield st
    finally:
        neo.stop()


@pytest.mark.neo4j
def test_bulk_import_equals_the_embedded_store(embedded: LadybugStore, imported: GraphStore) -> None:
    want, got = snapshot(embedded), snapshot(imported)
    assert {k: len(v) for k, v in got.items()} == {k: len(v) for k, v in want.items()}
    for key in want:
        assert got[key] == want[key], key
    row = imported.query("MATCH (e:Evidence) WHERE e.text = $t RETURN e.text AS t, e.score AS s", {"t": TRICKY_TEXT})
    assert row == [{"t": TRICKY_TEXT, "s": 0.875}]
    # the schema's constraints were created after the import
    names = {r["name"] for r in imported.query("SHOW CONSTRAINTS YIELD name RETURN name")}
    assert {"drug_id", "evidence_id", "patient_id"} <= names


@pytest.mark.neo4j
def test_bulk_import_equals_the_online_path(imported: Any, tmp_path: Path) -> None:
    from tests.conftest import _neo4j_store

    online = _neo4j_store()  # the CI / test Neo4j, cleared
    try:
        build_fixture(online)
        want, got = snapshot(online), snapshot(imported)
        assert online.stats() == imported.stats()
        for key in want:
            assert got[key] == want[key], key
        # exporting from Neo4j gives the same files as exporting from the embedded store
        res = export_neo4j_import(online, tmp_path / "from-neo4j")
        for stem in res.counts:
            for suffix in (".header.csv", ".csv"):
                mine, theirs = tmp_path / "from-neo4j" / f"{stem}{suffix}", imported.csv_dir / f"{stem}{suffix}"
                assert sorted(_read_data(mine)) == sorted(_read_data(theirs)), f"{stem}{suffix}"
    finally:
        online.clear()
        online.close()


@pytest.mark.neo4j
def test_finish_import_fails_when_counts_differ_from_the_export(imported: Any, tmp_path: Path) -> None:
    for name in ("post-import.cypher", "manifest.json"):
        (tmp_path / name).write_bytes((imported.csv_dir / name).read_bytes())
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    manifest["nodes"]["Drug"] += 1
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(StoreError, match=rf"Drug: {manifest['nodes']['Drug'] - 1} in Neo4j, {manifest['nodes']['Drug']} exported"):
        finish_import(imported, tmp_path)
