"""Reader for the ADE corpus v2 drug -> adverse-effect relations (``DRUG-AE.rel``).

The format, one relation per line, ``|``-separated::

    PMID|sentence|adverse effect|ae_start|ae_end|drug|drug_start|drug_end

The offsets are **not** sentence offsets: they count from the start of the PubMed abstract
(which the corpus does not ship), end-exclusive. Within one line the two spans keep their true
distance, and every line of the same sentence shares one sentence start, so we locate the
entities by finding the occurrences of both texts in the sentence whose distance equals
``drug_start - ae_start`` and, when a text occurs more than once, keep the sentence start
that explains every line of that sentence. All 6,821 lines of the public release resolve to
exactly one placement this way; a line that does not raises
:class:`~extractors.errors.CorpusFormatError` naming the file and line.

A sentence occurring on several lines (several pairs) becomes one :class:`ADESentence` whose
entities are de-duplicated by span; pairs of its drugs and effects that no line names are the
negatives for pair classification. ``ADE-NEG.txt`` (sentences without any ADE) carries no
entity annotations, so it gives no candidate pairs and is not read; ``DRUG-DOSE.rel`` is not
used either.

The corpus has no splits: :func:`ade_split` makes a deterministic one by PMID.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from extractors.errors import CorpusFormatError

__all__ = ["ADEEntity", "ADESentence", "ade_split", "read_ade"]

DEV_PERCENT = 20
"""Share of PMIDs that :func:`ade_split` sends to dev (~330 abstracts, ~1,350 pairs): large
enough that one error moves F1 by < 0.1 point, small enough to leave 80 % for training."""


@dataclass(frozen=True, slots=True)
class ADEEntity:
    """A ``drug`` or ``effect`` mention; offsets are into :attr:`ADESentence.text`, end-exclusive."""

    id: str
    type: Literal["drug", "effect"]
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class ADESentence:
    """One annotated sentence; ``pairs`` are ``(drug id, effect id)`` gold ADE relations.

    ``offset`` is where the sentence starts in its (unshipped) abstract, as implied by the
    corpus offsets; ``line`` is the first line of the file that names it.
    """

    pmid: str
    text: str
    offset: int
    entities: tuple[ADEEntity, ...]
    pairs: tuple[tuple[str, str], ...]
    line: int

    @property
    def id(self) -> str:
        return f"{self.pmid}@{self.offset}"

    def entity(self, entity_id: str) -> ADEEntity:
        for entity in self.entities:
            if entity.id == entity_id:
                return entity
        raise KeyError(f"ADE sentence {self.id}: no entity {entity_id!r}")


@dataclass(frozen=True, slots=True)
class _Row:
    line: int
    pmid: str
    text: str
    ae: str
    ae_start: int
    drug: str
    drug_start: int


def _parse_line(path: Path, line_no: int, line: str) -> _Row:
    fields = line.split("|")
    if len(fields) < 8:
        raise CorpusFormatError(f"{path}: line {line_no}: expected 8 '|'-separated fields, found {len(fields)}")
    pmid, sentence, tail = fields[0], "|".join(fields[1:-6]), fields[-6:]
    ae, ae_start, ae_end, drug, drug_start, drug_end = tail
    if not pmid.isdigit():
        raise CorpusFormatError(f"{path}: line {line_no}: PMID must be digits, got {pmid!r}")
    try:
        a0, a1, d0, d1 = int(ae_start), int(ae_end), int(drug_start), int(drug_end)
    except ValueError:
        raise CorpusFormatError(f"{path}: line {line_no}: offsets must be integers") from None
    if a1 - a0 != len(ae) or d1 - d0 != len(drug):
        raise CorpusFormatError(f"{path}: line {line_no}: offset span lengths do not match the entity texts")
    return _Row(line=line_no, pmid=pmid, text=sentence, ae=ae, ae_start=a0, drug=drug, drug_start=d0)


def _occurrences(text: str, needle: str) -> list[int]:
    return [m.start() for m in re.finditer(re.escape(needle), text)] if needle else []


def _sentence_starts(row: _Row) -> set[int]:
    """Abstract offsets at which the sentence could start, given one line's two spans."""
    delta = row.drug_start - row.ae_start
    drugs = set(_occurrences(row.text, row.drug))
    return {row.ae_start - i for i in _occurrences(row.text, row.ae) if i + delta in drugs}


def _build(path: Path, rows: list[_Row]) -> ADESentence:
    first = rows[0]
    common = set.intersection(*(_sentence_starts(r) for r in rows))
    if len(common) != 1:
        why = "no placement" if not common else f"{len(common)} placements"
        raise CorpusFormatError(
            f"{path}: line {first.line}: PMID {first.pmid}: cannot place the entities in the sentence "
            f"({why} agree with the offsets of its {len(rows)} line(s))"
        )
    base = common.pop()
    spans: dict[tuple[str, int, int], str] = {}
    pairs: list[tuple[tuple[str, int, int], tuple[str, int, int]]] = []
    for row in rows:
        drug = ("drug", row.drug_start - base, row.drug_start - base + len(row.drug))
        effect = ("effect", row.ae_start - base, row.ae_start - base + len(row.ae))
        spans.setdefault(drug, row.drug)
        spans.setdefault(effect, row.ae)
        pairs.append((drug, effect))
    ordered = sorted(spans, key=lambda k: (k[1], k[2], k[0]))
    ids = {key: f"{'D' if key[0] == 'drug' else 'E'}{n}" for n, key in enumerate(ordered)}
    entities = tuple(
        ADEEntity(id=ids[k], type=k[0], start=k[1], end=k[2], text=spans[k])  # type: ignore[arg-type]
        for k in ordered
    )
    unique_pairs = tuple(dict.fromkeys((ids[d], ids[e]) for d, e in pairs))
    return ADESentence(
        pmid=first.pmid, text=first.text, offset=base, entities=entities, pairs=unique_pairs, line=first.line
    )


def read_ade(path: str | os.PathLike[str]) -> Iterator[ADESentence]:
    """Sentences of ``DRUG-AE.rel`` (the file, or the corpus folder holding it), in file order.

    The whole file is grouped by (PMID, sentence) before yielding, since one sentence's lines
    need not be adjacent; at ~1.4 MB that is cheap.
    """
    file = Path(path)
    if file.is_dir():
        file = file / "DRUG-AE.rel"
    if not file.is_file():
        raise CorpusFormatError(f"{file}: ADE file not found (expected DRUG-AE.rel of ADE corpus v2)")
    groups: dict[tuple[str, str], list[_Row]] = {}
    with file.open(encoding="utf-8") as handle:
        for line_no, raw in enumerate(handle, start=1):
            line = raw.rstrip("\r\n")
            if not line.strip():
                continue
            row = _parse_line(file, line_no, line)
            groups.setdefault((row.pmid, row.text), []).append(row)
    for rows in groups.values():
        yield _build(file, rows)


def ade_split(pmid: str) -> Literal["train", "dev"]:
    """Deterministic train/dev assignment by PMID: dev when SHA-1(pmid) mod 100 < :data:`DEV_PERCENT`.

    Splitting by PMID keeps all sentences of one case report on the same side (they share
    drugs and effects, so a sentence split would leak); hashing makes the split independent of
    file order and of which lines were read.
    """
    digest = int(hashlib.sha1(pmid.encode("utf-8")).hexdigest(), 16)
    return "dev" if digest % 100 < DEV_PERCENT else "train"
