"""Duplicate document ids: the first record with an id wins, a later one is never merged into it.

Two records with one id would otherwise reach the store as one document: in the same write
batch their mentions are added together, in different batches the later silently replaces the
earlier. Neither is what the input meant, so the loaders check ids as they yield documents:

* a later record with the same id and **different** content is a record error on the later one
  (``duplicate document id X: first at line M``), skipped in skip mode, so the first is kept;
* an **identical** later record (same id, same content, e.g. a corpus that lists an abstract
  twice) is dropped with a :class:`~loaders.errors.LoaderWarning`, since nothing is lost.

PubMed is the exception: its update files re-issue revised citations under the same PMID, so
for PubMed (``replaces=True``) a later, different record is the newer revision: it is yielded
with a warning and replaces the earlier one (in the same write batch :func:`kg.build.build_batch`
keeps the last; in a later batch the store replaces the changed document).

Each loader checks one file by default; :func:`kg.jobs.build_job.run_build` passes one :class:`SeenIds`
to every file of a build, so the same id in two input files is caught the same way.
"""

from __future__ import annotations

import hashlib
import os

from schema.records import Document
from loaders._common import OnError, report, warn
from loaders.errors import shown_id


class SeenIds:
    """The documents admitted so far: id -> (file, position, digest of the document's content).

    Memory is about 300 bytes per document, so ~300 MB for a build of a million documents;
    only the digest is kept, never the document.
    """

    def __init__(self) -> None:
        self._first: dict[str, tuple[str, str, bytes]] = {}
        self._paths: dict[str, str] = {}  # one shared string per file, not one per document

    def admit(
        self,
        doc: Document,
        path: str | os.PathLike[str],
        position: str,
        on_error: OnError,
        *,
        replaces: bool = False,
    ) -> bool:
        """True if ``doc`` should be yielded; otherwise it was reported (or warned about).

        The content digest is taken over ``doc.model_dump_json()``, the same serialisation the
        build hashes and the stores write, so a document that cannot be serialised (which the
        loaders' own checks should already prevent) is a record error here, not a store crash.
        """
        name = os.fspath(path)
        name = self._paths.setdefault(name, name)
        try:
            payload = doc.model_dump_json().encode("utf-8")
        except (ValueError, RecursionError):  # PydanticSerializationError is a ValueError
            report(
                name,
                position,
                "document cannot be serialised to JSON (invalid Unicode or nesting too deep)",
                doc.id,
                on_error,
            )
            return False
        digest = hashlib.blake2b(payload, digest_size=16).digest()
        first = self._first.get(doc.id)
        if first is None:
            self._first[doc.id] = (name, position, digest)
            return True
        first_path, first_position, first_digest = first
        where = first_position if first_path == name else f"{first_path}:{first_position}"
        if digest == first_digest:
            warn(
                name,
                position,
                f"duplicate document id {shown_id(doc.id)}: identical to the record first at "
                f"{where}; dropped",
            )
            return False
        if replaces:
            self._first[doc.id] = (name, position, digest)
            warn(
                name,
                position,
                f"document {shown_id(doc.id)} appears again (first at {where}): this later "
                "revision replaces it",
            )
            return True
        report(
            name,
            position,
            f"duplicate document id {shown_id(doc.id)}: first at {where} (with different "
            "content; ids must be unique)",
            doc.id,
            on_error,
        )
        return False
