"""DDI-2013 label/literature text as a build input: opt-in (CC BY-NC 4.0), read as text to
extract from, and the interactions the shipped models find there reach the interaction check
as extracted evidence with their sentences (fixture: real DDI-2013 Train files)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from kg.cli import app
from kg.config import StoreConfig
from kg.interactions import DrugResolver, check_interactions
from kg.store import open_store
from loaders import FORMATS, detect_format
from loaders.errors import LoaderError, MalformedInputError
from tests.helpers import FIXTURES

DDI = FIXTURES / "ddi2013" / "Train"
ALTRETAMINE = DDI / "DrugBank" / "Altretamine_ddi.xml"


def test_ddi2013_files_are_text_documents_without_annotations() -> None:
    assert detect_format(ALTRETAMINE) == "ddi2013"
    (doc,) = list(FORMATS["ddi2013"](ALTRETAMINE))
    assert doc.id == "ddi2013:DDI-DrugBank.d188" and doc.kind == "literature" and doc.title == "Altretamine"
    assert "Cimetidine" in doc.text and doc.mentions == () and doc.relations == ()
    assert "CC BY-NC" in doc.metadata["licence"]


def test_malformed_ddi2013_file_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad_ddi.xml"
    bad.write_text('<document id="DDI-DrugBank.d1"><sentence id="DDI-DrugBank.d1.s0"/></document>', encoding="utf-8")
    with pytest.raises(MalformedInputError, match="no text attribute"):
        list(FORMATS["ddi2013"](bad))
    assert list(FORMATS["ddi2013"](bad, on_error=lambda e: None)) == []
    broken = tmp_path / "broken_ddi.xml"
    broken.write_text('<document id="x"><sentence text="a"', encoding="utf-8")
    with pytest.raises(LoaderError, match="broken_ddi.xml"):
        list(FORMATS["ddi2013"](broken))


def test_build_refuses_ddi2013_without_the_licence_opt_in(tmp_path: Path) -> None:
    db = tmp_path / "g.lbug"
    res = CliRunner().invoke(app, ["build", str(DDI), "--db", str(db), "--extract", "none", "-q"])
    assert res.exit_code != 0 and "--accept-noncommercial" in res.output and "Traceback" not in res.output
    assert not db.exists()  # refused before any store was created


def test_extracted_interactions_from_label_text_join_the_check(tmp_path: Path) -> None:
    db = tmp_path / "g.lbug"
    res = CliRunner().invoke(app, ["build", str(DDI / "DrugBank"), "--db", str(db), "--accept-noncommercial",
                                   "--device", "cpu", "-q"])
    assert res.exit_code == 0, res.output
    with open_store(StoreConfig.resolve(kind="ladybug", path=str(db)), read_only=True, must_exist=True) as store:
        rows = store.query("MATCH (a:Drug)-[r:INTERACTS_WITH]->(b:Drug) RETURN a.name AS a, b.name AS b, "
                           "r.curated AS curated, r.best_score AS score")
        assert rows and not any(r["curated"] for r in rows)
        # "Phospholine Iodide potentiates other cholinesterase inhibitors such as succinylcholine ..."
        report = check_interactions(store, ["succinylcholine", "echothiophate"], resolver=DrugResolver())
    (x,) = report.interactions
    assert (x.severity_basis, x.curated, x.tier) == ("model", False, "warn")
    assert x.evidence and not x.evidence[0].curated and "succinylcholine" in (x.evidence[0].text or "").lower()
    assert x.evidence[0].doc_id == "ddi2013:DDI-DrugBank.d377" and "extracted from text" in x.why
