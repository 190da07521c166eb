"""medkg's common-disease profiles: typical findings of common diseases, and the diagnosis prior.

HPO annotates thousands of rare diseases with dozens of findings each, while the diseases people
usually present with (pneumonia, cystitis, migraine, heart failure...) have few or no
disease-finding links in HPO, the Disease Ontology or HSDN. This source fills that gap. It is
**hand-curated for medkg** from standard clinical descriptions (textbook and guideline
knowledge), not copied from a published table, and ships with the package
(``loaders/curated/data/``, CC0 1.0). Review it before clinical use; corrections are welcome.

Two tab-separated files (``path`` may be the folder holding them):

* ``common_diseases.tsv`` (``doid, name, presentation_per_100k, basis, sex, age_min, age_max,
  cant_miss, reference``): one row per disease, keyed by its Disease Ontology id. Becomes the
  Disease node's concept properties: ``prevalence_per_100k`` (new cases per 100,000 per year for
  ``basis = incidence``, people living with it for ``prevalence``; an order of magnitude),
  ``prevalence_basis``, ``prevalence_source`` (the reference the curator gives for the figure,
  or "curator estimate"), ``typical_sex`` (female/male when (almost) only one sex has it),
  ``onset_age_min``/``onset_age_max`` (the age range it typically presents in) and
  ``cant_miss`` (serious and time-critical: listed separately by diagnosis when it fits).
* ``common_disease_findings.tsv`` (``doid, hpo_id, hpo_name, frequency``): ``HAS_SYMPTOM``
  Disease -> Symptom (HPO) with ``frequency`` from HPO's frequency classes (``obligate``,
  ``very_frequent``, ``frequent``, ``occasional``, ``very_rare``; midpoints as in
  :data:`loaders.curated.hpo.FREQUENCY_TERMS`).

One document per disease (``common:DOID:552``), holding its profile and findings.
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schema.records import ConceptProperties, Document, EntityType
from loaders._common import OnError, fatal, report
from loaders.curated._common import (
    LoadReport,
    count_document,
    curated_document,
    is_curie,
    name_mentions,
    relation,
    require,
    table_rows,
)
from loaders.curated.hpo import FREQUENCY_TERMS

SOURCE = "common"
LICENCE = "CC0 1.0 (hand-curated for medkg)"
DISEASES_FILE = "common_diseases.tsv"
FINDINGS_FILE = "common_disease_findings.tsv"
_DISEASE_COLUMNS = ("doid", "name", "presentation_per_100k", "basis", "sex", "age_min", "age_max", "cant_miss", "reference")
_FINDING_COLUMNS = ("doid", "hpo_id", "hpo_name", "frequency")

FREQUENCY_CLASSES: dict[str, float] = {
    "obligate": FREQUENCY_TERMS["HP:0040280"],
    "very_frequent": FREQUENCY_TERMS["HP:0040281"],
    "frequent": FREQUENCY_TERMS["HP:0040282"],
    "occasional": FREQUENCY_TERMS["HP:0040283"],
    "very_rare": FREQUENCY_TERMS["HP:0040284"],
}
_CLASS_PERCENT = {"obligate": "100%", "very_frequent": "80-99%", "frequent": "30-79%", "occasional": "5-29%", "very_rare": "1-4%"}
BASES = ("incidence", "prevalence")
SEXES = ("any", "female", "male")
MAX_AGE = 150


def default_path() -> Path:
    return Path(__file__).resolve().parent / "data"


@dataclass
class _Disease:
    name: str
    properties: dict[str, Any]
    findings: list[tuple[str, str, str]] = field(default_factory=list)


def _parse_disease(row: dict[str, str]) -> tuple[str, _Disease]:
    doid, name = row["doid"].strip(), row["name"].strip()
    if not is_curie(doid, "DOID"):
        raise ValueError(f"doid {doid!r} is not a Disease Ontology id like DOID:552")
    if not name:
        raise ValueError("empty disease name")
    try:
        per_100k = float(row["presentation_per_100k"])
        age_min, age_max = int(row["age_min"]), int(row["age_max"])
    except ValueError:
        raise ValueError(
            f"presentation_per_100k {row['presentation_per_100k']!r}, age_min {row['age_min']!r} and "
            f"age_max {row['age_max']!r} must be numbers"
        ) from None
    if not math.isfinite(per_100k) or not 0 < per_100k <= 100_000:
        raise ValueError(f"presentation_per_100k {per_100k} must be in (0, 100000]")
    if not 0 <= age_min <= age_max <= MAX_AGE:
        raise ValueError(f"age range {age_min}..{age_max} must satisfy 0 <= age_min <= age_max <= {MAX_AGE}")
    basis, sex, cant_miss = row["basis"].strip(), row["sex"].strip(), row["cant_miss"].strip()
    if basis not in BASES:
        raise ValueError(f"basis {basis!r} must be one of {', '.join(BASES)}")
    if sex not in SEXES:
        raise ValueError(f"sex {sex!r} must be one of {', '.join(SEXES)}")
    if cant_miss not in ("yes", "no"):
        raise ValueError(f"cant_miss {cant_miss!r} must be yes or no")
    props: dict[str, Any] = {
        "prevalence_per_100k": per_100k,
        "prevalence_basis": basis,
        "prevalence_source": row["reference"].strip() or "curator estimate",
        "typical_sex": None if sex == "any" else sex,
        "onset_age_min": age_min,
        "onset_age_max": age_max,
        "cant_miss": cant_miss == "yes",
    }
    return doid, _Disease(name, props)


def read(
    path: str | os.PathLike[str] | None = None, *, on_error: OnError = None, report_to: LoadReport | None = None
) -> Iterator[Document]:
    """Stream one document per disease (profile + findings); see the module docstring.

    ``path`` is the folder holding both files (default: the copy shipped with medkg).
    """
    folder = require(Path(path) if path else default_path(), "common-disease profile folder")
    if not folder.is_dir():
        raise fatal(folder, "path", f"expected the folder holding {DISEASES_FILE} and {FINDINGS_FILE}")
    diseases_file = require(folder / DISEASES_FILE, "common-disease table")
    findings_file = require(folder / FINDINGS_FILE, "common-disease findings table")
    diseases: dict[str, _Disease] = {}
    for line, row in table_rows(diseases_file, _DISEASE_COLUMNS, on_error=on_error):
        if report_to is not None:
            report_to.rows += 1
        try:
            doid, disease = _parse_disease(row)
            if doid in diseases:
                raise ValueError(f"{doid} is listed twice")
        except ValueError as exc:
            report(diseases_file, f"line {line}", str(exc), row["doid"] or None, on_error)
            continue
        diseases[doid] = disease
    seen: dict[str, set[str]] = defaultdict(set)
    for line, row in table_rows(findings_file, _FINDING_COLUMNS, on_error=on_error):
        if report_to is not None:
            report_to.rows += 1
        doid, hpo_id, hpo_name, freq = (row[c].strip() for c in _FINDING_COLUMNS)
        problem = None
        if doid not in diseases:
            problem = f"disease {doid!r} has no row in {DISEASES_FILE}"
        elif not is_curie(hpo_id, "HP"):
            problem = f"hpo_id {hpo_id!r} is not an HPO id like HP:0001945"
        elif freq not in FREQUENCY_CLASSES:
            problem = f"frequency {freq!r} must be one of {', '.join(FREQUENCY_CLASSES)}"
        elif hpo_id in seen[doid]:
            problem = f"{doid} lists {hpo_id} twice"
        if problem:
            report(findings_file, f"line {line}", problem, doid or None, on_error)
            continue
        seen[doid].add(hpo_id)
        diseases[doid].findings.append((hpo_id, hpo_name or hpo_id, freq))
    for doid in sorted(diseases):
        d = diseases[doid]
        mentions = name_mentions(EntityType.DISEASE, doid, d.name, source=SOURCE)
        relations = []
        for hpo_id, hpo_name, freq in d.findings:
            mentions += name_mentions(EntityType.SYMPTOM, hpo_id, hpo_name, source=SOURCE)
            relations.append(relation(
                "HAS_SYMPTOM", (doid, EntityType.DISEASE), (hpo_id, EntityType.SYMPTOM), source=SOURCE,
                properties={"frequency": FREQUENCY_CLASSES[freq]},
                evidence=f"medkg common-disease profile: {hpo_name} in {_CLASS_PERCENT[freq]} of patients with {d.name}",
            ))
        # every profile property is stated, None included, so a changed row clears an old value
        profile = ConceptProperties(label=EntityType.DISEASE, concept_id=doid, properties=dict(d.properties))
        yield count_document(report_to, curated_document(
            f"{SOURCE}:{doid}", source=SOURCE, title=d.name, mentions=mentions, relations=relations, concepts=(profile,),
        ))
