"""The linking knowledge base: frozen :class:`KBEntry` records, saved as one gzipped JSONL file.

File format (``KB_FORMAT`` / ``KB_VERSION``): the first line is a header object
``{"format": "medkg-kb", "version": 1, "metadata": {...}}``; every further line is one entry,
``{"concept_id", "label", "name", "aliases", "source", "xrefs", "annotated", "senses"}`` (the last
two may be absent). Files are written gzipped;
:meth:`KnowledgeBase.load` also reads an uncompressed file (the test fixture is one, so it can be
read in review). A file with another format or version is refused rather than half-read,
because a silently changed field would link mentions to the wrong concepts.
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator

from extractors.linking.errors import KBFormatError, KBNotFoundError
from schema.records import EntityType, Record

KB_FORMAT = "medkg-kb"
KB_VERSION = 1
_GZIP_MAGIC = b"\x1f\x8b"


class KBEntry(Record):
    """One concept a mention can be linked to.

    ``concept_id`` is the source's own CURIE (``DRUGBANK:DB00682``, ``HP:0001945``,
    ``DOID:10763``, ``MESH:D014859``...). ``xrefs`` are CURIEs of the same concept in other
    vocabularies: those the source states, plus equivalences the build infers (same name in
    two vocabularies, a shared UMLS CUI, corpus mentions annotated with that id; see
    :mod:`extractors.linking.kb_build`). ``label`` is the KB's decision on the entity type.
    ``annotated``: the texts a training corpus annotated with this concept (a subset of the name
    and aliases); where a text names several entries exactly, the one it was annotated for ranks
    first (the corpus's own reading of "alcohol" is ethanol, of "hypersensitivity" drug
    hypersensitivity).
    ``senses``: ``(normalised text, id, name)`` for texts a training corpus annotated with one
    particular id among the entry's own and its xrefs (the entry "hepatitis" carries
    ``MESH:D006521`` *Hepatitis, Chronic* and ``MESH:D056486`` *Chemical and Drug Induced Liver Injury*;
    BC5CDR annotates "hepatotoxicity" with the second). See :meth:`Linker.sense
    <extractors.linking.linker.Linker.sense>`.
    """

    concept_id: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_.]*:\S+$")
    label: EntityType
    name: str = Field(min_length=1)
    aliases: tuple[str, ...] = ()
    source: str = Field(min_length=1)
    xrefs: tuple[str, ...] = ()
    annotated: tuple[str, ...] = ()
    senses: tuple[tuple[str, str, str], ...] = ()

    @field_validator("xrefs")
    @classmethod
    def _curies(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for x in value:
            if ":" not in x or x.startswith(":"):
                raise ValueError(f"xref {x!r} is not a CURIE (PREFIX:id)")
        return value

    @property
    def names(self) -> tuple[str, ...]:
        """Name first, then aliases."""
        return (self.name, *self.aliases)


class KnowledgeBase:
    """An immutable collection of :class:`KBEntry` with lookup by id and by xref.

    ``metadata`` records how it was built (sources, their versions and counts, build time);
    it is saved in the file header.
    """

    def __init__(self, entries: Iterable[KBEntry], *, metadata: Mapping[str, Any] | None = None) -> None:
        self._entries: tuple[KBEntry, ...] = tuple(entries)
        self.metadata: dict[str, Any] = dict(metadata or {})
        self._by_id: dict[str, int] = {}
        self._by_xref: dict[str, list[int]] = {}
        for i, entry in enumerate(self._entries):
            if entry.concept_id in self._by_id:
                raise KBFormatError(f"duplicate concept_id {entry.concept_id!r} in knowledge base")
            self._by_id[entry.concept_id] = i
            for x in entry.xrefs:
                self._by_xref.setdefault(x, []).append(i)

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[KBEntry]:
        return iter(self._entries)

    def __getitem__(self, index: int) -> KBEntry:
        return self._entries[index]

    @property
    def entries(self) -> tuple[KBEntry, ...]:
        return self._entries

    @property
    def alias_count(self) -> int:
        """Names and aliases over all entries."""
        return sum(1 + len(e.aliases) for e in self._entries)

    def get(self, concept_id: str) -> KBEntry | None:
        """The entry with this concept id, or ``None``."""
        i = self._by_id.get(concept_id)
        return None if i is None else self._entries[i]

    def resolve(self, curie: str) -> tuple[KBEntry, ...]:
        """Entries that are this concept: the one with this id, then those listing it as xref.

        This is how a MeSH id from a corpus (``MESH:D003920``) finds the Disease Ontology or
        HPO entry that carries it.
        """
        out = [self._entries[self._by_id[curie]]] if curie in self._by_id else []
        out += [self._entries[i] for i in self._by_xref.get(curie, ()) if self._entries[i].concept_id != curie]
        return tuple(out)

    def counts(self) -> dict[str, int]:
        """Entries per source (for reports)."""
        out: dict[str, int] = {}
        for e in self._entries:
            out[e.source] = out.get(e.source, 0) + 1
        return dict(sorted(out.items()))

    # -- persistence ---------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the gzipped JSONL file atomically (a temp file renamed into place)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        header = {"format": KB_FORMAT, "version": KB_VERSION, "metadata": self.metadata}
        fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0) as gz:
                gz.write((json.dumps(header, sort_keys=True) + "\n").encode())
                for e in self._entries:
                    gz.write((json.dumps(e.model_dump(mode="json"), ensure_ascii=False) + "\n").encode())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> KnowledgeBase:
        """Read a file written by :meth:`save` (gzipped or plain JSONL).

        Raises :class:`KBNotFoundError` for a missing file and :class:`KBFormatError`, naming
        the file and line, for anything else that is not a version-``KB_VERSION`` KB file.
        """
        path = Path(path)
        if not path.is_file():
            raise KBNotFoundError(f"{path}: knowledge-base file not found")
        with path.open("rb") as handle:
            gzipped = handle.read(2) == _GZIP_MAGIC
        try:
            with (gzip.open(path, "rt", encoding="utf-8") if gzipped else path.open(encoding="utf-8")) as handle:
                lines = iter(handle)
                metadata = _read_header(path, next(lines, ""))
                entries = [_read_entry(path, n, line) for n, line in enumerate(lines, start=2) if line.strip()]
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            raise KBFormatError(f"{path}: not a readable knowledge-base file ({exc})") from exc
        try:
            return cls(entries, metadata=metadata)
        except KBFormatError as exc:
            raise KBFormatError(f"{path}: {exc}") from exc


def _read_header(path: Path, line: str) -> dict[str, Any]:
    try:
        header = json.loads(line)
    except json.JSONDecodeError:
        header = None
    if not isinstance(header, dict) or header.get("format") != KB_FORMAT:
        raise KBFormatError(
            f"{path}: line 1 is not a medkg knowledge-base header "
            f'(expected {{"format": "{KB_FORMAT}", "version": {KB_VERSION}, ...}})'
        )
    if header.get("version") != KB_VERSION:
        raise KBFormatError(
            f"{path}: knowledge-base format version {header.get('version')!r} is not supported "
            f"(this code reads version {KB_VERSION}); rebuild the file with build_kb()"
        )
    metadata = header.get("metadata", {})
    return metadata if isinstance(metadata, dict) else {}


def _read_entry(path: Path, line_no: int, line: str) -> KBEntry:
    try:
        return KBEntry.model_validate_json(line)
    except ValidationError as exc:
        problem = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'entry'}: {e['msg']}" for e in exc.errors()[:3])
        raise KBFormatError(f"{path}: line {line_no}: bad entry ({problem})") from exc
