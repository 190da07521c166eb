"""HSDN (Zhou et al. 2014): symptom-disease co-occurrence weights mined from PubMed MeSH terms.

``symptoms-DO.tsv`` (the Disease-Ontology-mapped release) has one row per (MeSH symptom, MeSH
disease) with ``cooccurs`` (number of articles) and ``tfidf_score``; the MeSH disease is mapped
to a DOID (``doid_code``). Rows become ``HAS_SYMPTOM`` Disease (``DOID:...``) -> Symptom
(``MESH:D...``) with ``weight = tfidf_score``.

Several MeSH diseases map to one DOID (Myocardial Ischemia, Coronary Artery Disease and Coronary
Disease all -> DOID:3393), so a (DOID, symptom) pair can have several rows (219 in the release).
They become ONE relation carrying the highest TF-IDF weight (the MeSH disease for which the
symptom is most characteristic) and its ``cooccurs``, with the MeSH diseases listed in
``mesh_diseases``. ``cooccurs`` and ``mesh_diseases`` are kept on the evidence record only: the
schema declares ``weight`` and ``frequency`` as the HAS_SYMPTOM edge properties.

One document per DOID (``hsdn:DOID:3393``). The file is sorted by symptom, not disease, so it
is read whole (10k rows) before documents are emitted.
"""

from __future__ import annotations

import math
import os
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from schema.records import Document, EntityType
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

SOURCE = "hsdn"
_COLUMNS = ("symptom_name", "cooccurs", "tfidf_score", "disease_id", "symptom_id", "doid_code", "doid_name")
_MESH = re.compile(r"[CD]\d{6,9}")


def default_path() -> Path:
    return SHARED_KNOWLEDGE / "hsdn_symptom_disease" / "symptoms-DO.tsv"


@dataclass
class _Row:
    symptom: str
    symptom_name: str
    weight: float
    cooccurs: int
    mesh_disease: str


def _parse(row: dict[str, str]) -> _Row:
    if not is_curie(row["doid_code"], "DOID"):
        raise ValueError(f"doid_code {row['doid_code']!r} is not a DOID")
    if not _MESH.fullmatch(row["symptom_id"]):
        raise ValueError(f"symptom_id {row['symptom_id']!r} is not a MeSH id like D005334")
    try:
        weight, cooccurs = float(row["tfidf_score"]), int(row["cooccurs"])
    except ValueError:
        raise ValueError(f"tfidf_score {row['tfidf_score']!r} / cooccurs {row['cooccurs']!r} are not numbers") from None
    if not math.isfinite(weight) or weight < 0 or cooccurs < 0:
        raise ValueError(f"tfidf_score {weight} and cooccurs {cooccurs} must be finite and >= 0")
    return _Row(f"MESH:{row['symptom_id']}", row["symptom_name"].strip(), weight, cooccurs, row["disease_id"])


def read(
    path: str | os.PathLike[str] | None = None, *, on_error: OnError = None, report_to: LoadReport | None = None
) -> Iterator[Document]:
    """Stream one document per DOID with its HSDN symptoms (see the module docstring).

    ``path`` is ``symptoms-DO.tsv`` or the folder holding it.
    """
    file = Path(path) if path else default_path()
    if file.is_dir():
        file = file / "symptoms-DO.tsv"
    file = require(file, "HSDN symptom-disease file (symptoms-DO.tsv)")
    names: dict[str, str] = {}
    pairs: dict[str, dict[str, list[_Row]]] = defaultdict(lambda: defaultdict(list))
    for line, row in table_rows(file, _COLUMNS, on_error=on_error):
        if report_to is not None:
            report_to.rows += 1
        try:
            parsed = _parse(row)
        except ValueError as exc:
            report(file, f"line {line}", str(exc), row["doid_code"] or None, on_error)
            continue
        names.setdefault(row["doid_code"], row["doid_name"].strip() or row["doid_code"])
        rows = pairs[row["doid_code"]][parsed.symptom]
        if rows and report_to is not None:
            report_to.merged += 1
        rows.append(parsed)
    for doid in sorted(pairs):
        name = names[doid]
        mentions = name_mentions(EntityType.DISEASE, doid, name, source=SOURCE)
        relations = []
        for symptom, rows in sorted(pairs[doid].items()):
            best = max(rows, key=lambda r: (r.weight, r.cooccurs))
            mentions += name_mentions(EntityType.SYMPTOM, symptom, best.symptom_name, source=SOURCE)
            relations.append(
                relation("HAS_SYMPTOM", (doid, EntityType.DISEASE), (symptom, EntityType.SYMPTOM), source=SOURCE,
                         properties={"weight": best.weight, "cooccurs": best.cooccurs,
                                     "mesh_diseases": sorted({f"MESH:{r.mesh_disease}" for r in rows})},
                         evidence=f"HSDN: {best.symptom_name} co-occurs with {name} in {best.cooccurs} "
                                  f"PubMed articles (TF-IDF {best.weight:.2f})")
            )
        yield count_document(report_to, curated_document(f"{SOURCE}:{doid}", source=SOURCE, title=name,
                                                         mentions=mentions, relations=relations))
