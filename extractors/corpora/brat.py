"""Reader for brat standoff annotations (``name.txt`` + ``name.ann``), as RareDis ships them.

The format (https://brat.nlplab.org/standoff.html), one annotation per line of the ``.ann``::

    T8<TAB>SYMPTOM 514 526;528 555<TAB>asymptomatic during infancy or childhood
    R2<TAB>Produces Arg1:T1 Arg2:T30

* ``T`` lines are text-bound entities. Offsets are Unicode character offsets into the ``.txt``
  (read as UTF-8). A *discontinuous* entity lists several ``start end`` fragments separated by
  ``;``; its text field joins the fragments with single spaces, which is how we check it.
* ``R`` lines are binary relations ``Arg1:ID Arg2:ID``. An argument may name an entity defined
  further down the file (RareDis does this), so relations are resolved after the whole file.
* Other annotation kinds (``E`` events, ``A``/``M`` attributes, ``N`` normalisations, ``*``
  equivalences, ``#`` notes) are skipped: RareDis has none, and nothing downstream uses them.

Every entity's text is checked against the document, so a wrong offset fails loudly instead of
training on shifted spans. The one tolerated difference is double quotes: the public RareDis
release has 16 entities whose text field went through CSV quoting (``"low-pitched ""growling""
cry..."`` for ``low-pitched "growling" cry...``); their offsets are right, so texts are compared
with ``"`` removed and :attr:`CorpusEntity.text` is always taken from the document. Problems
raise :class:`~extractors.errors.CorpusFormatError` naming the file and line.

:data:`RAREDIS_TYPES` maps RareDis entity types onto the graph's entity types; it is the one
place that decides that SIGN and SYMPTOM are both ``Symptom`` and the disease types ``Disease``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from extractors.corpora.entities import CorpusEntity
from extractors.errors import CorpusFormatError
from schema.records import EntityType

__all__ = ["RAREDIS_TYPES", "BratDocument", "CorpusEntity", "BratRelation", "read_brat", "read_brat_dir"]

RAREDIS_TYPES: Mapping[str, EntityType] = {
    "RAREDISEASE": EntityType.DISEASE,
    "SKINRAREDISEASE": EntityType.DISEASE,
    "DISEASE": EntityType.DISEASE,
    "SIGN": EntityType.SYMPTOM,
    "SYMPTOM": EntityType.SYMPTOM,
}
"""RareDis types kept as graph entity types; ``ANAPHOR`` ("it", "the disorder") is not an entity."""


@dataclass(frozen=True, slots=True)
class BratRelation:
    """A binary relation ``type(arg1 -> arg2)`` between two entity ids of the same document."""

    id: str
    type: str
    arg1: str
    arg2: str


@dataclass(frozen=True, slots=True)
class BratDocument:
    """A ``.txt`` with its annotations; ``id`` is the file stem (e.g. ``Alkaptonuria``)."""

    id: str
    text: str
    entities: tuple[CorpusEntity, ...]
    relations: tuple[BratRelation, ...]
    path: str
    dangling_relations: tuple[BratRelation, ...] = ()
    """Relations with an argument that names no entity of the file (kept out of ``relations``)."""

    def entity(self, entity_id: str) -> CorpusEntity:
        """The entity with this id (``KeyError`` naming the document if there is none)."""
        for entity in self.entities:
            if entity.id == entity_id:
                return entity
        raise KeyError(f"{self.path}: no entity {entity_id!r}")


def _problem(path: Path, line_no: int, message: str) -> CorpusFormatError:
    return CorpusFormatError(f"{path}: line {line_no}: {message}")


def _parse_entity(path: Path, line_no: int, fields: list[str], text: str) -> CorpusEntity:
    if len(fields) != 3:
        raise _problem(path, line_no, f"entity line needs 3 tab-separated fields, found {len(fields)}")
    ann_id, type_and_spans, ann_text = fields
    etype, _, spans = type_and_spans.partition(" ")
    fragments: list[tuple[int, int]] = []
    for piece in spans.split(";"):
        bounds = piece.split()
        if len(bounds) != 2 or not all(b.isdigit() for b in bounds):
            raise _problem(path, line_no, f"entity {ann_id}: bad span {piece!r}, expected 'START END'")
        start, end = int(bounds[0]), int(bounds[1])
        if not 0 <= start <= end <= len(text):
            raise _problem(path, line_no, f"entity {ann_id}: span {start}..{end} outside text of length {len(text)}")
        fragments.append((start, end))
    if not etype or not fragments:
        raise _problem(path, line_no, f"entity {ann_id}: missing type or span")
    found = " ".join(text[s:e] for s, e in fragments)
    if found != ann_text and found.replace('"', "") != ann_text.replace('"', ""):
        raise _problem(
            path, line_no, f"entity {ann_id}: text {ann_text!r} does not match the document at {spans} ({found!r})"
        )
    return CorpusEntity(
        id=ann_id,
        type=etype,
        start=min(s for s, _ in fragments),
        end=max(e for _, e in fragments),
        text=found,
        fragments=tuple(fragments),
    )


def _parse_relation(path: Path, line_no: int, fields: list[str]) -> BratRelation:
    parts = fields[1].split() if len(fields) >= 2 else []
    args = dict(p.split(":", 1) for p in parts[1:] if ":" in p)
    if len(parts) != 3 or set(args) != {"Arg1", "Arg2"}:
        raise _problem(path, line_no, f"relation line must be 'ID<TAB>TYPE Arg1:ID Arg2:ID', got {fields[1:]!r}")
    return BratRelation(id=fields[0], type=parts[0], arg1=args["Arg1"], arg2=args["Arg2"])


def read_brat(txt_path: str | os.PathLike[str], *, strict: bool = False) -> BratDocument:
    """Read one document from its ``.txt`` path; the ``.ann`` beside it must exist.

    A relation whose argument names no entity of the file (the public RareDis release has a
    few dozen, e.g. ``ACTH-Deficiency.ann`` R12 -> T160) cannot be used, but the rest of the file
    is fine: by default it goes to :attr:`BratDocument.dangling_relations`; ``strict=True``
    raises :class:`CorpusFormatError` instead.
    """
    txt = Path(txt_path)
    ann = txt.with_suffix(".ann")
    if not txt.is_file():
        raise CorpusFormatError(f"{txt}: brat text file not found")
    if not ann.is_file():
        raise CorpusFormatError(f"{txt}: no annotation file {ann.name} beside it")
    # newline="" keeps "\r\n" as two characters: brat counts offsets over the raw file.
    with txt.open(encoding="utf-8-sig", newline="") as handle:
        text = handle.read()
    entities: list[CorpusEntity] = []
    relations: list[tuple[int, BratRelation]] = []
    with ann.open(encoding="utf-8-sig", newline="") as handle:
        for line_no, raw in enumerate(handle, start=1):
            line = raw.rstrip("\r\n")
            if not line.strip():
                continue
            fields = line.split("\t")
            kind = fields[0][:1]
            if kind == "T":
                entities.append(_parse_entity(ann, line_no, fields, text))
            elif kind == "R":
                relations.append((line_no, _parse_relation(ann, line_no, fields)))
    ids = {e.id for e in entities}
    if len(ids) != len(entities):
        raise CorpusFormatError(f"{ann}: duplicate entity ids")
    kept: list[BratRelation] = []
    dangling: list[BratRelation] = []
    for line_no, rel in relations:
        missing = [a for a in (rel.arg1, rel.arg2) if a not in ids]
        if missing and strict:
            raise _problem(ann, line_no, f"relation {rel.id} refers to unknown entity {', '.join(missing)}")
        (dangling if missing else kept).append(rel)
    return BratDocument(
        id=txt.stem,
        text=text,
        entities=tuple(entities),
        relations=tuple(kept),
        path=str(txt),
        dangling_relations=tuple(dangling),
    )


def read_brat_dir(path: str | os.PathLike[str], *, strict: bool = False) -> Iterator[BratDocument]:
    """Stream the documents of a brat folder (every ``*.txt`` with its ``.ann``), in name order.

    ``path`` may also be a single ``.txt`` file. Sub-folders are not walked: brat corpora keep
    one split per folder (RareDis: ``train/``, ``dev/``). ``strict`` as in :func:`read_brat`.
    """
    root = Path(path)
    if root.is_file():
        yield read_brat(root, strict=strict)
        return
    if not root.is_dir():
        raise CorpusFormatError(f"{root}: not a brat file or folder")
    files = sorted(p for p in root.glob("*.txt") if not p.name.startswith("."))
    if not files:
        raise CorpusFormatError(f"{root}: no .txt files (expected brat name.txt + name.ann pairs)")
    for txt in files:
        yield read_brat(txt, strict=strict)
