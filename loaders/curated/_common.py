"""Plumbing shared by the curated-source readers: TSV/CSV rows with line numbers, the load report,
stable document ids, and the records every curated fact is made of.

Curated facts are ordinary :class:`~schema.records.Document` objects (``kind="curated"``) holding
curated :class:`~schema.records.Relation` records and name :class:`~schema.records.Mention` records, so
they go through the same build/write path (content-hash idempotency, evidence aggregation) as
everything else.
"""

from __future__ import annotations

import csv
import importlib.util
import os
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schema.records import ConceptProperties, Document, EntityType, Mention, Relation
from loaders._common import OnError, encoding_advice, fatal, report
from loaders.errors import LoaderError

KIND = "curated"

SHARED_KNOWLEDGE = Path(__file__).resolve().parents[3] / "shared" / "data" / "knowledge"
"""Where the shared knowledge files live on dev/CI machines (``../shared/data/knowledge``).

Only a *default*: users pass their own path to the downloaded release.
"""


class CuratedSourceError(LoaderError):
    """Root of the curated-source errors that are not malformed rows (those raise
    :class:`~loaders.errors.MalformedInputError`, naming file and line)."""


class UnknownSourceError(CuratedSourceError, ValueError):
    """A curated source name that is not registered."""


class LicenceNotAcceptedError(CuratedSourceError, PermissionError):
    """An opt-in source (non-commercial licence) was requested without accepting its terms."""


class SourceNotFoundError(CuratedSourceError, FileNotFoundError):
    """The files of a curated source are not where they were expected."""


@dataclass
class LoadReport:
    """What a curated reader did with its input, filled in while it streams.

    A generator cannot return a summary to a ``for`` loop, so readers take ``report=`` and
    update it as they go; it is complete once the generator is exhausted.
    """

    source: str
    rows: int = 0
    documents: int = 0
    relations: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    """Rows deliberately not turned into facts, by reason (e.g. PharmacotherapyDB NOT rows)."""
    merged: int = 0
    """Rows folded into a relation already stated by another row (duplicates across references/files)."""
    unmapped: dict[str, str] = field(default_factory=dict)
    """Source id -> name of entities that could not be mapped to the target vocabulary."""
    notes: list[str] = field(default_factory=list)
    """Other things a reader did that a user should know (ids remapped...)."""

    def summary(self) -> str:
        rels = ", ".join(f"{n:,} {t}" for t, n in sorted(self.relations.items())) or "no relations"
        parts = [f"{self.source}: {self.rows:,} rows -> {self.documents:,} documents, {rels}"]
        if self.merged:
            parts.append(f"{self.merged:,} duplicate rows merged")
        for reason, n in sorted(self.skipped.items()):
            parts.append(f"{n:,} skipped ({reason})")
        parts += self.notes
        if self.unmapped:
            parts.append(f"{len(self.unmapped):,} unmapped names")
        return "; ".join(parts)


def count_document(rep: LoadReport | None, doc: Document) -> Document:
    if rep is not None:
        rep.documents += 1
        rep.relations.update(r.type for r in doc.relations)
    return doc


def package_data(package: str, *parts: str) -> Path:
    """A file inside an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SourceNotFoundError(f"package {package!r} is not installed (pip install {package})")
    return Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)


def require(path: str | os.PathLike[str], what: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise SourceNotFoundError(f"{p}: {what} not found")
    return p


def table_rows(
    path: Path,
    columns: Sequence[str],
    *,
    delimiter: str = "\t",
    on_error: OnError = None,
    comment: str | None = None,
    quoted: bool = True,
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) for each data row of a delimited file with a header line.

    The header must contain every name in ``columns`` (else a fatal error naming the missing
    ones); a row with a different number of fields than the header is a bad record. Lines
    starting with ``comment`` before the header are skipped (HPO's ``#version`` lines).
    ``quoted=False`` reads ``"`` as an ordinary character (HPO annotation files are not quoted,
    and a stray quote in a disease name must not swallow the following lines).
    """
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter, quoting=csv.QUOTE_MINIMAL if quoted else csv.QUOTE_NONE)
        header: list[str] | None = None
        try:
            for fields in reader:
                line = reader.line_num
                if header is None:
                    if comment and fields and fields[0].startswith(comment):
                        continue
                    header = [f.strip() for f in fields]
                    missing = [c for c in columns if c not in header]
                    if missing:
                        raise fatal(
                            path, f"line {line}",
                            f"header lacks column(s) {', '.join(missing)}; expected {', '.join(columns)}",
                        )
                    continue
                if not fields or (len(fields) == 1 and not fields[0].strip()):
                    continue
                if len(fields) != len(header):
                    report(path, f"line {line}", f"expected {len(header)} fields, got {len(fields)}", fields[0] or None, on_error)
                    continue
                yield line, dict(zip(header, fields))
        except UnicodeDecodeError as exc:  # a curated file saved in another encoding: say which file, not a traceback
            with path.open("rb") as raw:
                start = raw.read(4)
            raise fatal(path, "encoding",  # decoded in blocks: the failing line is not known exactly
                        f"not valid UTF-8 ({exc.reason}); {encoding_advice(start)}") from None
        if header is None:
            raise fatal(path, "line 1", f"empty file: no header with {', '.join(columns)}")


_CURIE = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*:[A-Za-z0-9_.:-]+")


def is_curie(value: str, prefix: str | None = None) -> bool:
    if not _CURIE.fullmatch(value):
        return False
    return prefix is None or value.split(":", 1)[0] == prefix


def bucket_id(source: str, curie: str, width: int) -> str:
    """Stable document id for a group of terms: ``<source>:<PREFIX>:<bucket>`` by numeric id.

    Grouping by the number in the id (not by position in the file) keeps every other
    document unchanged when a release adds or removes a term, so a re-load rewrites only the
    buckets that changed.
    """
    prefix, _, local = curie.partition(":")
    digits = re.sub(r"\D", "", local) or "0"
    return f"{source}:{prefix}:{int(digits) // width:06d}"


def name_mentions(
    label: EntityType, concept_id: str, name: str, synonyms: Sequence[str] = (), *, source: str
) -> list[Mention]:
    """The preferred name (first, so it becomes the node's ``name``) and each synonym as mentions."""
    out = [Mention(label=label, text=name, concept_id=concept_id, concept_name=name, source=source)]
    seen = {name.casefold()}
    for syn in synonyms:
        if syn and syn.casefold() not in seen:
            seen.add(syn.casefold())
            out.append(Mention(label=label, text=syn, concept_id=concept_id, concept_name=name, source=source))
    return out


def relation(
    type_: str,
    head: tuple[str, EntityType],
    tail: tuple[str, EntityType],
    *,
    source: str,
    properties: dict[str, Any] | None = None,
    evidence: str | None = None,
) -> Relation:
    """A curated relation: score 1.0, ``curated=True``; ``None`` properties are left out."""
    return Relation(
        type=type_,
        head_id=head[0],
        head_label=head[1].value,
        tail_id=tail[0],
        tail_label=tail[1].value,
        score=1.0,
        source=source,
        curated=True,
        evidence_text=evidence,
        properties={k: v for k, v in (properties or {}).items() if v is not None},
    )


def curated_document(
    doc_id: str,
    *,
    source: str,
    title: str | None = None,
    mentions: Sequence[Mention] = (),
    relations: Sequence[Relation] = (),
    metadata: dict[str, Any] | None = None,
    concepts: Sequence[ConceptProperties] = (),
) -> Document:
    return Document(
        id=doc_id,
        source_format=source,
        kind=KIND,
        title=title,
        metadata=metadata or {},
        mentions=tuple(mentions),
        relations=tuple(relations),
        concepts=tuple(concepts),
    )
