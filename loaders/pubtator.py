"""Streaming reader for PubTator files (BC5CDR, BioRED, NCBI-disease).

The format, one block per abstract, blocks separated by blank lines::

    227508|t|Naloxone reverses the antihypertensive effect of clonidine.
    227508|a|In unanesthetized, spontaneously hypertensive rats ...
    227508<TAB>0<TAB>8<TAB>Naloxone<TAB>Chemical<TAB>D009270
    227508<TAB>CID<TAB>D008750<TAB>D007022

Mention offsets count over ``title + one separator character + abstract``; we use a space, so
``Document.text[start:end]`` is the mention text (checked for every mention). A title line
without an abstract line gives a title-only document. Lines are read one at a time and only
the current block is held in memory.

A record is one document: any problem in a block (span mismatch, non-integer offset, a line
carrying another PMID, a truncated or unrecognised line) is reported once, naming the file,
line and PMID, and the whole block is skipped in skip mode. Entity and id mapping rules are in
:mod:`loaders._gold`. A PMID already read (in this file, or in the build: see
:mod:`loaders._seen`) is refused at the later block, or dropped with a warning if identical.
A file with no document at all (empty, or blank lines only) is a record error at ``byte 0``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from pydantic import ValidationError

from schema.records import Document, Mention
from loaders._common import (
    DEFAULT_MAX_CHARS,
    OnError,
    RecordProblem,
    encoding_advice,
    guess_corpus,
    read_lines,
    report,
    validation_problem,
)
from loaders._gold import RelationSpec, check_span, gold_document, gold_mentions, gold_source
from loaders._seen import SeenIds

SOURCE_FORMAT = "pubtator"

MAX_LINE_BYTES = DEFAULT_MAX_CHARS * 4 + 1024
"""Longest line read: a title or abstract of ``DEFAULT_MAX_CHARS`` characters at UTF-8's 4 bytes
per character, plus the ``PMID|a|`` prefix. A longer line is a record error, read past in
bounded chunks, so a binary file or a file without newlines cannot exhaust memory."""

_TEXT_LINE = re.compile(r"(\w[\w.-]{0,40})\|([ta])\|(.*)", re.DOTALL)
_ID_LIKE = re.compile(r"\w{1,20}")
_NUMERIC = re.compile(r"[\s\d.+-]+")


@dataclass
class _Block:
    """Lines of one document collected until its terminating blank line."""

    pmid: str | None
    line_no: int
    title: str | None = None
    abstract: str | None = None
    mentions: list[tuple[int, list[str]]] = field(default_factory=list)
    relations: list[tuple[int, list[str]]] = field(default_factory=list)
    problem: RecordProblem | None = None

    def fail(self, line_no: int, message: str) -> None:
        """Remember the first problem; later lines of a bad block are not worth checking."""
        if self.problem is None:
            self.problem = RecordProblem(message, f"line {line_no}")


def _is_mention_line(fields: list[str]) -> bool:
    """Mention lines have numeric offsets in column 2; relation lines have a type name there.

    A line with 6+ fields is a mention line even when its offset is garbage, so that a bad
    offset is reported as such rather than as an unknown relation.
    """
    return len(fields) >= 6 or bool(_NUMERIC.fullmatch(fields[1]))


def _id_or_none(value: str) -> str | None:
    """``value`` if it looks like a document id; keeps stray text out of error records."""
    return value if _ID_LIKE.fullmatch(value) else None


def _wrong_pmid(found: str, expected: str | None) -> str:
    """Message for a line of another document; the found value is quoted only if id-like."""
    shown = f" {found}" if _ID_LIKE.fullmatch(found) else ""
    return f"line carries PMID{shown} but belongs to the block of PMID {expected}"


def _build(block: _Block, *, corpus: str | None, source: str) -> Document:
    """Turn a complete, well-formed block into a Document (or raise RecordProblem)."""
    if block.title is None:
        raise RecordProblem("document has no title line (PMID|t|...)", f"line {block.line_no}")
    title = block.title
    text = title if block.abstract is None else f"{title} {block.abstract}"
    mentions: list[Mention] = []
    for line_no, f in block.mentions:
        where = f"line {line_no}"
        if len(f) < 5:
            raise RecordProblem(
                f"mention line has {len(f)} tab-separated fields, expected at least 5 "
                "(PMID, start, end, text, type[, concept id])",
                where,
            )
        try:
            start, end = int(f[1]), int(f[2])
        except ValueError:
            raise RecordProblem(
                "mention offsets are not integers (columns 2-3 must be start and end)", where
            ) from None
        try:
            span = check_span(text, start, end, f[3])
            mentions.extend(
                gold_mentions(
                    corpus_type=f[4].strip(),
                    text=span,
                    start=start,
                    end=end,
                    raw_id=f[5] if len(f) > 5 else "",
                    source=source,
                )
            )
        except RecordProblem as problem:
            raise RecordProblem(problem.message, where) from None
    specs: list[RelationSpec] = []
    for line_no, f in block.relations:
        if len(f) < 4:
            raise RecordProblem(
                f"relation line has {len(f)} tab-separated fields, expected at least 4 "
                "(PMID, type, id 1, id 2)",
                f"line {line_no}",
            )
        specs.append(RelationSpec(f[1].strip(), f[2], f[3], position=f"line {line_no}"))
    breaks = [] if block.abstract is None else [len(title) + 1]
    return gold_document(
        pmid=block.pmid, source_format=SOURCE_FORMAT, text=text, title=title, corpus=corpus, mentions=mentions,
        specs=specs, breaks=breaks, source=source,
    )


def read(
    path: str | os.PathLike[str],
    *,
    on_error: OnError = None,
    corpus: str | None = None,
    seen: SeenIds | None = None,
) -> Iterator[Document]:
    """Stream the documents of a PubTator file.

    ``corpus`` names the gold corpus for ``Mention.source`` (``gold:<corpus>``) and
    ``metadata["corpus"]``; by default it is guessed from the path (``bc5cdr``, ``biored``,
    ``ncbi-disease``), falling back to ``gold:pubtator`` / ``None``.
    """
    corpus = corpus if corpus is not None else guess_corpus(path)
    source = gold_source(corpus, SOURCE_FORMAT)
    seen = SeenIds() if seen is None else seen
    block: _Block | None = None
    blocks = 0

    def finish(current: _Block) -> Iterator[Document]:
        nonlocal blocks
        blocks += 1
        record_id = None if current.pmid is None else f"PMID:{current.pmid}"
        try:
            if current.problem is not None:
                raise current.problem
            try:
                doc = _build(current, corpus=corpus, source=source)
            except ValidationError as exc:
                raise validation_problem(exc) from None
        except RecordProblem as problem:
            report(
                path,
                problem.position or f"line {current.line_no}",
                problem.message,
                record_id,
                on_error,
            )
            return
        if seen.admit(doc, path, f"line {current.line_no}", on_error):
            yield doc

    with open(path, "rb") as handle:
        for line_no, raw in read_lines(handle, MAX_LINE_BYTES):
            if raw is None:
                if block is None:
                    block = _Block(pmid=None, line_no=line_no)
                block.fail(line_no, f"line is longer than {MAX_LINE_BYTES:,} bytes")
                continue
            try:
                line = raw.decode("utf-8-sig" if line_no == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                if block is None:
                    block = _Block(pmid=None, line_no=line_no)
                advice = f"; {encoding_advice(raw)}" if line_no == 1 else ""
                block.fail(
                    line_no, f"line is not valid UTF-8 (byte {exc.start} of the line){advice}"
                )
                continue
            line = line.rstrip("\r\n")
            if not line.strip():
                if block is not None:
                    yield from finish(block)
                    block = None
                continue
            text_line = _TEXT_LINE.fullmatch(line)
            if text_line:
                pmid, kind, content = text_line.groups()
                if kind == "t" and (block is None or block.pmid != pmid):
                    if block is not None:  # next document without a blank line: tolerated
                        yield from finish(block)
                    block = _Block(pmid=pmid, line_no=line_no, title=content)
                    continue
                if block is None:
                    block = _Block(pmid=pmid, line_no=line_no)
                    block.fail(line_no, "abstract line before any title line")
                elif block.pmid != pmid:
                    block.fail(line_no, _wrong_pmid(pmid, block.pmid))
                elif kind == "t" or block.abstract is not None:
                    block.fail(line_no, f"duplicate {'title' if kind == 't' else 'abstract'} line")
                else:
                    block.abstract = content
                continue
            fields = line.split("\t")
            if len(fields) < 2:
                if block is None:
                    block = _Block(pmid=None, line_no=line_no)
                block.fail(
                    line_no,
                    "malformed line: not a title (PMID|t|...), abstract (PMID|a|...), "
                    "mention or relation line",
                )
                continue
            if block is None:
                block = _Block(pmid=_id_or_none(fields[0]), line_no=line_no)
                block.fail(line_no, "annotation line before the document's title line")
            elif fields[0] != block.pmid:
                block.fail(line_no, _wrong_pmid(fields[0], block.pmid))
            elif _is_mention_line(fields):
                block.mentions.append((line_no, fields))
            else:
                block.relations.append((line_no, fields))
    if block is not None:
        yield from finish(block)
    if blocks == 0:
        report(path, "byte 0", "empty file: no documents", None, on_error)
