"""Public drug-drug interaction lists, DrugBank-mapped (Ayvaz et al., J Biomed Inform 2015).

``merged_pddi_public_subset.tsv`` (see its README in the shared data) holds four lists, each row a
pair of DrugBank ids (bio2rdf URIs) with the source's drug names:

| list | registered as | licence | severity on the graph's scale |
|---|---|---|---|
| ONC high-priority (Phansalkar 2012: should interrupt) | ``pddi`` | public | Major |
| VA NDF-RT (2014), ``Critical`` / ``Significant`` | ``pddi`` | public domain | Major / Moderate |
| ONC non-interruptive (Phansalkar 2013: should not interrupt) | ``pddi`` | public | Minor |
| DrugBank 4.0 pairs (no severity) | ``pddi-drugbank`` (opt-in) | non-commercial | Unknown |

The graph's severity scale is :func:`schema.model.severity_scale` (Contraindicated > Major >
Moderate > Minor > Unknown). The ONC high-priority list is by definition "should interrupt" but
does not grade contraindication (Major); NDF-RT's two levels map to the two grades below
contraindicated; the non-interruptive list is what should not interrupt (Minor); DrugBank 4.0
states no severity (Unknown). A pair named by several lists keeps the most severe level on its
evidence (``severity``) and every list's own category in the evidence property ``lists``
(``{"ONC-HighPriority": "Major", ...}``; the interaction check ranks ONC high-priority pairs as
interrupting alerts from it), and its evidence sentence names every list, so a reader sees which
source said what.

The lists use DrugBank 4.0 (2014) ids; some drugs have other ids in today's vocabulary (verapamil
DB00661 -> DB14063, irinotecan DB00762 -> DB05482). With ``drug_index`` (the vocabulary's names ->
ids, :func:`loaders.curated.ddinter.build_drug_index`), an id the vocabulary does not hold is
replaced by the id its name has there (counted in the load report), so the list's pairs land on
the nodes that names, extraction and the other sources use.

Pairs appear in both orders in the file; they are deduplicated as unordered pairs. Documents group
pairs by the lower DrugBank number, :data:`BUCKET_WIDTH` numbers per document
(``pddi:DB:000006`` holds pairs whose lower id is DB00600..DB00699), so a re-load is idempotent.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path

from loaders._common import OnError, report
from loaders.curated.ddinter import DrugIndex, name_key
from loaders.curated._common import (
    SHARED_KNOWLEDGE,
    LoadReport,
    count_document,
    curated_document,
    name_mentions,
    relation,
    require,
    table_rows,
)
from schema.model import severity_scale
from schema.records import Document, EntityType, Mention

FILE = "merged_pddi_public_subset.tsv"
BUCKET_WIDTH = 100
PUBLIC_LICENCE = "ONC lists: US government-funded publications (facts); NDF-RT: US government work (public domain)"
DRUGBANK_LICENCE = "DrugBank 4.0: free for non-commercial use only"

LISTS: dict[str, tuple[str, dict[str, str]]] = {
    "ONC-HighPriority": ("ONC high-priority list (should interrupt)", {"None": "Major"}),
    "NDF-RT": ("VA NDF-RT", {"Critical": "Major", "Significant": "Moderate"}),
    "ONC-NonInteruptive": ("ONC non-interruptive list (should not interrupt)", {"None": "Minor"}),
    "Drugbank": ("DrugBank 4.0", {"None": "Unknown"}),
}
"""Source list -> (how evidence names it, its severity column value -> the graph's severity)."""

PUBLIC = ("ONC-HighPriority", "NDF-RT", "ONC-NonInteruptive")
NONCOMMERCIAL = ("Drugbank",)
_COLUMNS = ("drug1", "object", "drug2", "precipitant", "severity", "source")
_DRUGBANK = re.compile(r"(?:http://bio2rdf\.org/drugbank:)?(DB\d{5})")


def default_path() -> Path:
    return SHARED_KNOWLEDGE / "public_pddi"


def read_public(path: str | os.PathLike[str] | None = None, *, on_error: OnError = None,
                report_to: LoadReport | None = None, drug_index: DrugIndex | None = None) -> Iterator[Document]:
    """The public lists (ONC high-priority, NDF-RT, ONC non-interruptive) as source ``pddi``."""
    return read(path, lists=PUBLIC, source="pddi", on_error=on_error, report_to=report_to, drug_index=drug_index)


def read_drugbank(path: str | os.PathLike[str] | None = None, *, on_error: OnError = None,
                  report_to: LoadReport | None = None, drug_index: DrugIndex | None = None) -> Iterator[Document]:
    """The DrugBank 4.0 rows (non-commercial) as source ``pddi-drugbank``."""
    return read(path, lists=NONCOMMERCIAL, source="pddi-drugbank", on_error=on_error, report_to=report_to,
                drug_index=drug_index)


def read(
    path: str | os.PathLike[str] | None = None,
    *,
    lists: Sequence[str],
    source: str,
    on_error: OnError = None,
    report_to: LoadReport | None = None,
    width: int = BUCKET_WIDTH,
    drug_index: DrugIndex | None = None,
) -> Iterator[Document]:
    """Stream bucketed INTERACTS_WITH documents for the rows of ``lists`` (see the module docstring).

    ``path`` is the folder or the TSV itself. Rows of other lists are skipped (and counted).
    """
    root = require(Path(path) if path else default_path(), "public PDDI table")
    file = root / FILE if root.is_dir() else root
    require(file, "public PDDI table")
    names: dict[str, str] = {}
    pairs: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)  # pair -> list -> severity
    known = {curie for curie, _ in drug_index.values()} if drug_index else set()

    def current(curie: str, name: str) -> str:
        """Today's id of a DrugBank 4.0 drug: its own if the vocabulary holds it, else its name's."""
        if not drug_index or curie in known:
            return curie
        hit = drug_index.get(name_key(name))
        if hit is None or not hit[0].startswith("DRUGBANK:"):
            return curie
        remapped.add(curie)
        return hit[0]

    remapped: set[str] = set()
    for line, row in table_rows(file, _COLUMNS, on_error=on_error):
        if report_to is not None:
            report_to.rows += 1
        listed = row["source"].strip()
        if listed not in lists:
            if listed not in LISTS:
                report(file, f"line {line}", f"unknown source list {listed[:40]!r}", None, on_error)
            elif report_to is not None:
                report_to.skipped[f"{listed} rows (another registered source)"] += 1
            continue
        a, b = _DRUGBANK.fullmatch(row["drug1"].strip()), _DRUGBANK.fullmatch(row["drug2"].strip())
        severity = LISTS[listed][1].get(row["severity"].strip())
        problem = None
        if a is None or b is None:
            problem = "drug1/drug2 must be DrugBank ids (DB00000 or their bio2rdf URIs)"
        elif a.group(1) == b.group(1):
            problem = "a drug interacts with itself"
        elif severity is None:
            problem = f"severity {row['severity'][:20]!r} is not one of {', '.join(LISTS[listed][1])} for {listed}"
        elif not row["object"].strip() or not row["precipitant"].strip():
            problem = "empty drug name"
        if problem is not None or a is None or b is None or severity is None:
            report(file, f"line {line}", problem or "bad row", None, on_error)
            continue
        ida = current(f"DRUGBANK:{a.group(1)}", _display(row["object"]))
        idb = current(f"DRUGBANK:{b.group(1)}", _display(row["precipitant"]))
        if ida == idb:  # two DrugBank 4.0 entries that are one drug today: nothing to state
            if report_to is not None:
                report_to.skipped["pairs whose two DrugBank 4.0 ids are one drug in the vocabulary"] += 1
            continue
        names.setdefault(ida, _display(row["object"]))
        names.setdefault(idb, _display(row["precipitant"]))
        key = (ida, idb) if ida < idb else (idb, ida)
        old = pairs[key].get(listed)
        if old is not None and report_to is not None:
            report_to.merged += 1
        if old is None or severity_scale().index(severity) < severity_scale().index(old):
            pairs[key][listed] = severity
    if report_to is not None and remapped:
        report_to.notes.append(f"{len(remapped)} DrugBank 4.0 ids not in the drug vocabulary mapped to the "
                               "vocabulary's id for the same name")
    buckets: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for key in pairs:
        buckets[int(key[0].removeprefix("DRUGBANK:DB")) // width].append(key)
    for bucket in sorted(buckets):
        yield count_document(report_to, _document(f"{source}:DB:{bucket:06d}", sorted(buckets[bucket]), pairs,
                                                  names, source=source))


def _display(name: str) -> str:
    """The source's drug name with its underscores as spaces (``Calcium_Acetate``)."""
    return " ".join(name.replace("_", " ").split())


def _document(doc_id: str, keys: list[tuple[str, str]], pairs: dict[tuple[str, str], dict[str, str]],
              names: dict[str, str], *, source: str) -> Document:
    mentions: dict[str, list[Mention]] = {}
    relations = []
    for a, b in keys:
        said = pairs[(a, b)]
        scale = severity_scale()
        level = min(said.values(), key=scale.index)
        ordered = sorted(said.items(), key=lambda kv: (scale.index(kv[1]), kv[0]))
        statements = "; ".join(f"{LISTS[name][0]}: {sev}" for name, sev in ordered)
        relations.append(relation("INTERACTS_WITH", (a, EntityType.DRUG), (b, EntityType.DRUG), source=source,
                                  properties={"severity": level, "lists": dict(ordered)},
                                  evidence=f"{names[a]} and {names[b]}: {statements}"))
        for curie in (a, b):
            if curie not in mentions:
                mentions[curie] = name_mentions(EntityType.DRUG, curie, names[curie], source=source)
    return curated_document(doc_id, source=source, title=f"public DDI lists {doc_id.rsplit(':', 1)[-1]}",
                            mentions=[m for ms in mentions.values() for m in ms], relations=relations)
