"""DDInter drug-drug interactions (Xiong et al. 2022). LICENCE: CC BY-NC-SA 4.0 (non-commercial),
so this source is OPT-IN: the registry and the CLI refuse it unless the user accepts the terms.

The download is one CSV per ATC letter (``ddinter_downloads_code_<L>.csv``: ``DDInterID_A``,
``Drug_A``, ``DDInterID_B``, ``Drug_B``, ``Level``). The same pair appears in the file of each
drug's ATC letter, so pairs are deduplicated across files (222k rows -> 160k pairs).

Rows become ``INTERACTS_WITH`` (symmetric) with ``severity`` Major | Moderate | Minor | Unknown.
Drug names are mapped to ``DRUGBANK:`` CURIEs by exact, case-insensitive match on the drug
vocabulary's names (primary names first, then synonyms/brands that name exactly one drug; see
:func:`build_drug_index`). Unmapped drugs stay as ``DDINTER:DDInter123`` nodes and are listed
in :attr:`LoadReport.unmapped`. When two DDInter drugs map to one DrugBank drug, their pairs
merge (keeping the most severe level) and a pair of the drug with itself is dropped.

Documents group pairs by the lower DDInter id of the pair, :data:`BUCKET_WIDTH` ids per
document (``ddinter:DDInter:000012`` holds pairs whose lower id is DDInter120..129), so a
re-load is idempotent and a changed pair rewrites one document.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from schema.records import Document, EntityType, Mention
from loaders._common import OnError, report
from loaders.curated._common import (
    SHARED_KNOWLEDGE,
    LoadReport,
    SourceNotFoundError,
    count_document,
    curated_document,
    name_mentions,
    relation,
    require,
    table_rows,
)

SOURCE = "ddinter"
LICENCE = "CC BY-NC-SA 4.0 (non-commercial use only)"
BUCKET_WIDTH = 10
"""Lower DDInter ids per document: ~200 documents of ~800 pairs for the 1,939-drug release."""
SEVERITY_ORDER = ("Major", "Moderate", "Minor", "Unknown")
"""DDInter's own levels, most to least severe: the graph's scale (:func:`schema.model.severity_scale`)
without Contraindicated, which DDInter does not grade; they map onto it unchanged."""
_COLUMNS = ("DDInterID_A", "Drug_A", "DDInterID_B", "Drug_B", "Level")
_ID = re.compile(r"DDInter(\d+)")
_SPACES = re.compile(r"\s+")

DrugIndex = Mapping[str, tuple[str, str]]
"""Normalised name -> (DrugBank CURIE, preferred name)."""


def default_path() -> Path:
    return SHARED_KNOWLEDGE / "ddinter"


def name_key(name: str) -> str:
    """Case-insensitive, whitespace-collapsed key: the only normalisation an exact match allows."""
    return _SPACES.sub(" ", name).strip().casefold()


def build_drug_index(entries: Iterable[tuple[str, str, Sequence[str]]]) -> dict[str, tuple[str, str]]:
    """Name index from (CURIE, preferred name, synonyms) entries.

    A primary name always wins over a synonym (brands and salts are synonyms in the drug
    vocabulary, and "Insulin" must not resolve through some brand's synonym list). A key that
    is the primary name of two drugs, or a synonym of two drugs and nobody's primary name, is
    ambiguous and left out, so it never maps to an arbitrary one of them.
    """
    primary: dict[str, set[tuple[str, str]]] = defaultdict(set)
    synonym: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for curie, name, synonyms in entries:
        primary[name_key(name)].add((curie, name))
        for s in synonyms:
            synonym[name_key(s)].add((curie, name))
    index = {k: next(iter(v)) for k, v in synonym.items() if len({c for c, _ in v}) == 1}
    for k in [k for k, v in synonym.items() if len({c for c, _ in v}) > 1]:
        index.pop(k, None)
    for k, v in primary.items():
        if len({c for c, _ in v}) == 1:
            index[k] = next(iter(v))
        else:
            index.pop(k, None)
    return index


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    files = sorted(path.glob("ddinter_downloads_code_*.csv"))
    if not files:
        raise SourceNotFoundError(f"{path}: no ddinter_downloads_code_*.csv files in the DDInter folder")
    return files


def _severity(level: str) -> str | None:
    value = level.strip().capitalize()
    return value if value in SEVERITY_ORDER else None


def read(
    path: str | os.PathLike[str] | None = None,
    *,
    on_error: OnError = None,
    report_to: LoadReport | None = None,
    drug_index: DrugIndex | None = None,
    width: int = BUCKET_WIDTH,
) -> Iterator[Document]:
    """Stream bucketed INTERACTS_WITH documents (see the module docstring).

    ``path`` is the DDInter folder or one of its CSV files; ``drug_index`` (name key -> (CURIE,
    name), :func:`build_drug_index`) maps DDInter's names to the drug vocabulary: the caller builds
    it (``kg.jobs.curated_job.default_drug_index`` does so from the linker's drug dictionary), so
    this reader depends on no extractor. All files are read before the first document is emitted:
    deduplicating pairs across the per-ATC-letter files needs all of them (160k pairs).
    """
    root = require(Path(path) if path else default_path(), "DDInter download")
    if drug_index is None:
        raise TypeError("ddinter.read needs drug_index= (names -> DrugBank ids); see build_drug_index")
    index = drug_index
    names: dict[str, str] = {}
    pairs: dict[tuple[str, str], str] = {}
    for file in _files(root):
        for line, row in table_rows(file, _COLUMNS, delimiter=",", on_error=on_error):
            if report_to is not None:
                report_to.rows += 1
            a, b = row["DDInterID_A"].strip(), row["DDInterID_B"].strip()
            level = _severity(row["Level"])
            problem = None
            if not (_ID.fullmatch(a) and _ID.fullmatch(b)):
                problem = f"drug ids {a!r}, {b!r} must look like DDInter123"
            elif a == b:
                problem = f"drug {a} interacts with itself"
            elif level is None:
                problem = f"Level {row['Level']!r} must be one of {', '.join(SEVERITY_ORDER)}"
            elif not row["Drug_A"].strip() or not row["Drug_B"].strip():
                problem = "empty drug name"
            if problem or level is None:
                report(file, f"line {line}", problem or "bad row", a or None, on_error)
                continue
            for did, name in ((a, row["Drug_A"].strip()), (b, row["Drug_B"].strip())):
                names.setdefault(did, name)
            key = (a, b) if _num(a) < _num(b) else (b, a)
            old = pairs.get(key)
            if old is not None:
                if report_to is not None:
                    report_to.merged += 1
                if SEVERITY_ORDER.index(old) <= SEVERITY_ORDER.index(level):
                    continue
            pairs[key] = level
    mapped = {did: _map(did, name, index, report_to) for did, name in names.items()}
    buckets: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for a, b in pairs:
        buckets[_num(a) // width].append((a, b))
    for bucket in sorted(buckets):
        doc = _bucket_document(f"{SOURCE}:DDInter:{bucket:06d}", sorted(buckets[bucket], key=_pair_order),
                               pairs, names, mapped, report_to)
        if doc is not None:
            yield count_document(report_to, doc)


def _num(ddinter_id: str) -> int:
    return int(ddinter_id[len("DDInter"):])


def _pair_order(pair: tuple[str, str]) -> tuple[int, int]:
    return _num(pair[0]), _num(pair[1])


def _map(did: str, name: str, index: DrugIndex, report_to: LoadReport | None) -> tuple[str, str]:
    hit = index.get(name_key(name))
    if hit is not None:
        return hit
    if report_to is not None:
        report_to.unmapped[f"DDINTER:{did}"] = name
    return f"DDINTER:{did}", name


def _bucket_document(
    doc_id: str,
    keys: list[tuple[str, str]],
    pairs: Mapping[tuple[str, str], str],
    names: Mapping[str, str],
    mapped: Mapping[str, tuple[str, str]],
    report_to: LoadReport | None,
) -> Document | None:
    best: dict[tuple[str, str], tuple[str, str, str]] = {}
    mentions: dict[str, list[Mention]] = {}
    for a, b in keys:
        level = pairs[(a, b)]
        (ca, _), (cb, _) = mapped[a], mapped[b]
        if ca == cb:
            if report_to is not None:
                report_to.skipped["both drugs map to the same DrugBank drug"] += 1
            continue
        key = (ca, cb) if ca < cb else (cb, ca)
        old = best.get(key)
        if old is not None:
            if report_to is not None:
                report_to.merged += 1
            if SEVERITY_ORDER.index(old[0]) <= SEVERITY_ORDER.index(level):
                continue
        best[key] = (level, names[a], names[b])
        for did in (a, b):
            curie, preferred = mapped[did]
            if curie not in mentions:
                mentions[curie] = name_mentions(EntityType.DRUG, curie, preferred, [names[did]], source=SOURCE)
    if not best:
        return None
    relations = [
        relation("INTERACTS_WITH", (ca, EntityType.DRUG), (cb, EntityType.DRUG), source=SOURCE,
                 properties={"severity": level},
                 evidence=f"DDInter: {na} and {nb}: {level} interaction")
        for (ca, cb), (level, na, nb) in sorted(best.items())
    ]
    return curated_document(doc_id, source=SOURCE, title=f"DDInter pairs {doc_id.rsplit(':', 1)[-1]}",
                            mentions=[m for ms in mentions.values() for m in ms], relations=relations)
