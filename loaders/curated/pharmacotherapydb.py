"""PharmacotherapyDB (Himmelstein et al., v1.0): physician-curated drug-disease indications.

``indications.tsv`` has one row per (DOID disease, DrugBank drug) with ``category``:

* ``DM`` disease-modifying: the drug treats the disease's cause or course;
* ``SYM`` symptomatic: the drug relieves symptoms of the disease without modifying it;
* ``NOT`` non-indication: the curators judged the drug is *not* indicated for the disease
  (it appeared as a candidate indication in one of the mined resources, e.g. MEDI or
  LabeledIn, but was rejected).

``DM`` and ``SYM`` rows become ``TREATS`` Drug (``DRUGBANK:DB...``) -> Disease (``DOID:...``)
with ``indication_type`` set to the category code (``DM`` / ``SYM``); ``n_curators`` and
``n_resources`` are kept on the evidence record. ``NOT`` rows are NOT loaded as TREATS (that
would assert the opposite of what the curators concluded) and the schema has no
"not indicated" edge, so they are counted in the report's ``skipped`` instead.

One document per disease (``pharmacotherapydb:DOID:10652``).
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

from schema.records import Document, EntityType, Mention, Relation
from loaders._common import OnError, report
from loaders.curated._common import (
    SHARED_KNOWLEDGE,
    LoadReport,
    count_document,
    curated_document,
    is_curie,
    name_mentions,
    relation,
    require,
    table_rows,
)

SOURCE = "pharmacotherapydb"
INDICATION_TYPES = {"DM": "disease-modifying", "SYM": "symptomatic"}
NOT_INDICATED = "NOT"
_COLUMNS = ("doid_id", "drugbank_id", "disease", "drug", "category", "n_curators", "n_resources")
_DRUGBANK = re.compile(r"DB\d{5}")


def default_path() -> Path:
    return SHARED_KNOWLEDGE / "pharmacotherapydb" / "indications.tsv"


def read(
    path: str | os.PathLike[str] | None = None, *, on_error: OnError = None, report_to: LoadReport | None = None
) -> Iterator[Document]:
    """Stream one document per disease with its DM/SYM indications as TREATS relations.

    ``path`` is ``indications.tsv`` or the folder holding it. The file (1.4k rows) is read
    whole, since it is not guaranteed to be grouped by disease.
    """
    file = Path(path) if path else default_path()
    if file.is_dir():
        file = file / "indications.tsv"
    file = require(file, "PharmacotherapyDB indications (indications.tsv)")
    diseases: dict[str, str] = {}
    mentions: dict[str, list[Mention]] = defaultdict(list)
    relations: dict[str, dict[str, Relation]] = defaultdict(dict)
    for line, row in table_rows(file, _COLUMNS, on_error=on_error):
        if report_to is not None:
            report_to.rows += 1
        doid, db, category = row["doid_id"].strip(), row["drugbank_id"].strip(), row["category"].strip()
        problem = None
        if not is_curie(doid, "DOID"):
            problem = f"doid_id {doid!r} is not a DOID"
        elif not _DRUGBANK.fullmatch(db):
            problem = f"drugbank_id {db!r} is not a DrugBank id like DB00682"
        elif category not in INDICATION_TYPES and category != NOT_INDICATED:
            problem = f"category {category!r} must be one of {', '.join([*INDICATION_TYPES, NOT_INDICATED])}"
        if problem:
            report(file, f"line {line}", problem, doid or None, on_error)
            continue
        diseases.setdefault(doid, row["disease"].strip() or doid)
        if category == NOT_INDICATED:
            if report_to is not None:
                report_to.skipped["NOT: curated non-indication"] += 1
            continue
        drug = f"DRUGBANK:{db}"
        if drug in relations[doid]:
            if report_to is not None:
                report_to.merged += 1
            continue
        drug_name = row["drug"].strip() or drug
        mentions[doid] += name_mentions(EntityType.DRUG, drug, drug_name, source=SOURCE)
        relations[doid][drug] = relation(
            "TREATS", (drug, EntityType.DRUG), (doid, EntityType.DISEASE), source=SOURCE,
            properties={"indication_type": category, "n_curators": _int(row["n_curators"]),
                        "n_resources": _int(row["n_resources"])},
            evidence=f"PharmacotherapyDB: {drug_name} is a {INDICATION_TYPES[category]} treatment "
                     f"for {diseases[doid]}",
        )
    for doid in sorted(relations):
        name = diseases[doid]
        yield count_document(report_to, curated_document(
            f"{SOURCE}:{doid}", source=SOURCE, title=name,
            mentions=[*name_mentions(EntityType.DISEASE, doid, name, source=SOURCE), *mentions[doid]],
            relations=[relations[doid][k] for k in sorted(relations[doid])],
        ))


def _int(value: str) -> int | None:
    return int(value) if value.strip().isdigit() else None
