"""Human Disease Ontology reports: DOID names, parents (IS_A), xrefs, and disease-symptom links.

Read from the folder of DO's tabular reports (``../shared/data/knowledge/disease_ontology``):

* ``HumanDO.tsv`` (``id``, ``label``, ``subClassOf``): one row per (term, parent); a term with
  several parents has several rows. The report gives the parent's *label*, not its id; labels
  are unique in DO, so parents are resolved through the labels of ``HumanDO.tsv`` plus those of
  ``allXREFinDO.tsv`` (the root ``DOID:4 disease`` has no row of its own in ``HumanDO.tsv``).
  A parent label that resolves to nothing is counted in the report, not guessed.
* ``allXREFinDO.tsv`` (``id``, ``label``, ``xref``): cross-references, normalised to the
  prefixes the graph uses (``MIM:`` -> ``OMIM:``, ``ORDO:`` -> ``ORPHA:``, ``UMLS_CUI:`` ->
  ``UMLS:``, ``SNOMEDCT_US_<date>:`` -> ``SNOMEDCT:``). They become the Disease node's
  ``xrefs`` list (a concept property; diagnosis ranks a DOID and the OMIM/ORPHA/MESH ids it
  lists as one candidate), also kept in each document's ``metadata`` and available to callers
  through :func:`read_xrefs` (e.g. to map HPO's OMIM/ORPHA diseases onto DOIDs).
* ``disease-symptom.tsv`` (``disease_id``, ``disease_label``, ``symptom_id``,
  ``symptom_label``): ``HAS_SYMPTOM`` Disease (DOID) -> Symptom (SYMP), no frequency.

Terms are grouped into documents by numeric DOID bucket of :data:`BUCKET_WIDTH`
(``do:DOID:000012`` holds DOID:1200 to DOID:1299), each holding the bucket's names, IS_A
relations and disease-symptom relations.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from schema.records import ConceptProperties, Document, EntityType, Mention
from loaders.xrefs import normalize_xref
from loaders._common import OnError, report
from loaders.curated._common import (
    SHARED_KNOWLEDGE,
    LoadReport,
    bucket_id,
    count_document,
    curated_document,
    is_curie,
    name_mentions,
    relation,
    require,
    table_rows,
)

SOURCE = "do"
TERMS_FILE = "HumanDO.tsv"
XREFS_FILE = "allXREFinDO.tsv"
SYMPTOMS_FILE = "disease-symptom.tsv"
BUCKET_WIDTH = 100
"""DOIDs 1..15000 are dense, so 100 ids per document gives ~200 documents of ~60 terms."""



def default_path() -> Path:
    return SHARED_KNOWLEDGE / "disease_ontology"


def read_xrefs(path: str | os.PathLike[str] | None = None, *, on_error: OnError = None) -> dict[str, tuple[str, ...]]:
    """DOID -> normalised xref CURIEs (``OMIM:...``, ``ORPHA:...``, ``MESH:...``...), from ``allXREFinDO.tsv``.

    ``path`` is the DO folder or the xref report itself.
    """
    folder = Path(path) if path else default_path()
    return _read_xref_report(folder / XREFS_FILE if folder.is_dir() else folder, on_error)[0]


def _read_xref_report(path: Path, on_error: OnError) -> tuple[dict[str, tuple[str, ...]], dict[str, str]]:
    """(DOID -> xrefs, DOID -> label) from the xref report."""
    file = require(path, "DO xref report (allXREFinDO.tsv)")
    out: dict[str, list[str]] = defaultdict(list)
    labels: dict[str, str] = {}
    for line, row in table_rows(file, ("id", "label", "xref"), on_error=on_error):
        curie = normalize_xref(row["xref"])
        if not is_curie(row["id"], "DOID") or curie is None:
            report(file, f"line {line}", f"expected a DOID and a PREFIX:id xref, got {row['id']!r}, {row['xref']!r}", row["id"] or None, on_error)
            continue
        labels.setdefault(row["id"], row["label"].strip())
        if curie not in out[row["id"]]:
            out[row["id"]].append(curie)
    return {k: tuple(v) for k, v in out.items()}, labels


@dataclass
class _Bucket:
    names: dict[str, str] = field(default_factory=dict)
    parents: dict[str, list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))
    symptoms: dict[str, list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))


def read(
    path: str | os.PathLike[str] | None = None,
    *,
    on_error: OnError = None,
    report_to: LoadReport | None = None,
    width: int = BUCKET_WIDTH,
) -> Iterator[Document]:
    """Stream bucketed DO documents (names, IS_A, HAS_SYMPTOM; xrefs in metadata).

    The three reports are small (12k terms) and the parents must be resolved by label, so
    they are read whole before the first document is emitted.
    """
    folder = require(Path(path) if path else default_path(), "Disease Ontology folder")
    terms_file = require(folder / TERMS_FILE, "DO term report (HumanDO.tsv)")
    xrefs_file = folder / XREFS_FILE
    symptoms_file = folder / SYMPTOMS_FILE
    names: dict[str, str] = {}
    parent_labels: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for line, row in table_rows(terms_file, ("id", "label", "subClassOf"), on_error=on_error):
        if report_to is not None:
            report_to.rows += 1
        if not is_curie(row["id"], "DOID") or not row["label"].strip():
            report(terms_file, f"line {line}", f"expected a DOID and a label, got {row['id']!r}, {row['label']!r}", row["id"] or None, on_error)
            continue
        names.setdefault(row["id"], row["label"].strip())
        if row["subClassOf"].strip():
            parent_labels[row["id"]].append((line, row["subClassOf"].strip()))
    xrefs, xref_labels = _read_xref_report(xrefs_file, on_error) if xrefs_file.exists() else ({}, {})
    by_label = {label: doid for doid, label in names.items()}
    for doid, label in xref_labels.items():
        by_label.setdefault(label, doid)
    buckets: dict[str, _Bucket] = defaultdict(_Bucket)
    for doid, name in names.items():
        buckets[bucket_id(SOURCE, doid, width)].names[doid] = name
    for doid, parents in parent_labels.items():
        for _line, label in parents:
            parent = by_label.get(label)
            if parent is None:
                if report_to is not None:
                    report_to.skipped["parent label not found"] += 1
                continue
            if parent not in names:  # the root DOID:4: named only in the xref report
                buckets[bucket_id(SOURCE, parent, width)].names.setdefault(parent, label)
            buckets[bucket_id(SOURCE, doid, width)].parents[doid].append((parent, label))
    if symptoms_file.exists():
        cols = ("disease_id", "disease_label", "symptom_id", "symptom_label")
        for line, row in table_rows(symptoms_file, cols, on_error=on_error):
            if report_to is not None:
                report_to.rows += 1
            if not is_curie(row["disease_id"], "DOID") or not is_curie(row["symptom_id"], "SYMP"):
                report(symptoms_file, f"line {line}", f"expected DOID and SYMP ids, got {row['disease_id']!r}, {row['symptom_id']!r}", row["disease_id"] or None, on_error)
                continue
            bucket = buckets[bucket_id(SOURCE, row["disease_id"], width)]
            bucket.names.setdefault(row["disease_id"], row["disease_label"].strip())
            bucket.symptoms[row["disease_id"]].append((row["symptom_id"], row["symptom_label"].strip()))
    for doc_id in sorted(buckets):
        yield count_document(report_to, _bucket_document(doc_id, buckets[doc_id], xrefs))


def _bucket_document(doc_id: str, bucket: _Bucket, xrefs: dict[str, tuple[str, ...]]) -> Document:
    mentions: list[Mention] = []
    relations = []
    ids = sorted(bucket.names)
    for doid in ids:
        name = bucket.names[doid]
        mentions += name_mentions(EntityType.DISEASE, doid, name, source=SOURCE)
        for parent, parent_name in dict.fromkeys(bucket.parents.get(doid, ())):
            relations.append(relation("IS_A", (doid, EntityType.DISEASE), (parent, EntityType.DISEASE), source=SOURCE,
                                      evidence=f"Disease Ontology: {name} is a {parent_name}"))
        seen: set[str] = set()
        for symp, symp_name in bucket.symptoms.get(doid, ()):
            if symp in seen:
                continue
            seen.add(symp)
            if symp_name:
                mentions += name_mentions(EntityType.SYMPTOM, symp, symp_name, source=SOURCE)
            relations.append(relation("HAS_SYMPTOM", (doid, EntityType.DISEASE), (symp, EntityType.SYMPTOM), source=SOURCE,
                                      evidence=f"Disease Ontology: {name} has symptom {symp_name or symp}"))
    meta = {"xrefs": {d: list(xrefs[d]) for d in ids if d in xrefs}}
    concepts = [ConceptProperties(label=EntityType.DISEASE, concept_id=d, properties={"xrefs": list(xrefs[d])})
                for d in ids if xrefs.get(d)]
    return curated_document(doc_id, source=SOURCE, title=f"Disease Ontology {ids[0]}..{ids[-1]}",
                            mentions=mentions, relations=relations, metadata=meta, concepts=concepts)
