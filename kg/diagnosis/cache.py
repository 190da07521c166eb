"""The diagnosis index, persisted and reused while the graph is unchanged.

Building the index reads every disease annotation of the graph (tens of seconds on a full HPO
load); a CLI call or an API start-up should not pay that again for the same graph.
:func:`cached_index` keys a saved index by a **fingerprint of the graph**: a SHA-256 over every
Document's id and content hash (every fact in the graph arrives through a Document, and a
document's content hash changes whenever what it contributes changes; a deleted or added
document changes the set), the index format version and the options the index was built with.
Same fingerprint, same graph, same index; anything else rebuilds.

Files live in ``$MEDKG_CACHE_DIR/diagnosis`` (default ``~/.cache/medkg/diagnosis``), one per
fingerprint, the :data:`KEEP` most recent kept. They are pickles of the index (numpy arrays and
plain records): loaded only from a directory and file owned by the current user and not
writable by anyone else, written atomically (temporary file + rename), so another user cannot
plant one and a crashed write never leaves a half file. A file that cannot be read is ignored
(rebuilt and replaced), never an error.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import stat
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from kg import cypher
from kg.diagnosis.index import MIN_EXTRACTED_SCORE, DiagnosisIndex

if TYPE_CHECKING:
    from kg.store.base import GraphStore

log = logging.getLogger(__name__)

FORMAT_VERSION = 8
"""Bump when :class:`DiagnosisIndex` or the way it is built changes: old files then never match."""

KEEP = 3
"""Index files kept per cache directory (most recently used first)."""


def cache_dir() -> Path:
    """``$MEDKG_CACHE_DIR/diagnosis``, default ``~/.cache/medkg/diagnosis`` (XDG_CACHE_HOME honoured)."""
    root = os.environ.get("MEDKG_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "medkg")
    return Path(root) / "diagnosis"


def graph_fingerprint(store: GraphStore, *, min_extracted_score: float = MIN_EXTRACTED_SCORE) -> str:
    """SHA-256 over the graph's (document id, content hash) pairs and the index options."""
    digest = hashlib.sha256(f"medkg-diagnosis-index:{FORMAT_VERSION}:{min_extracted_score!r}".encode())
    for row in sorted((r["id"], r["hash"] or "") for r in store.query(cypher.DIAGNOSIS_FINGERPRINT)):
        digest.update(f"\x1e{row[0]}\x1f{row[1]}".encode())
    return digest.hexdigest()


def _trusted(path: Path) -> bool:
    """Owned by this user and not writable by group or others (file and its directory)."""
    try:
        for p in (path.parent, path):
            st = p.lstat()
            if stat.S_ISLNK(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
                return False
    except OSError:
        return False
    return True


def load(path: Path) -> DiagnosisIndex | None:
    if not path.is_file():
        return None
    if not _trusted(path):
        log.warning("%s: not owned by this user or writable by others; ignored (the index is rebuilt)", path)
        return None
    try:
        with open(path, "rb") as fh:
            index = pickle.load(fh)  # noqa: S301  (a file this user wrote, checked above)
    except Exception as exc:  # noqa: BLE001  (a damaged cache file is rebuilt, never an error)
        log.warning("%s: unreadable diagnosis index cache (%s); rebuilding", path, type(exc).__name__)
        return None
    return index if isinstance(index, DiagnosisIndex) else None


def save(index: DiagnosisIndex, path: Path) -> None:
    """Write atomically; a cache that cannot be written is skipped with a warning."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(path.parent, 0o700)
        fd, tmp = tempfile.mkstemp(prefix=".index-", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                pickle.dump(index, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        for old in sorted(path.parent.glob("*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)[KEEP:]:
            old.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("cannot write the diagnosis index cache to %s: %s", path.parent, exc.strerror or exc)


def cached_index(store: GraphStore, *, directory: Path | None = None,
                 min_extracted_score: float = MIN_EXTRACTED_SCORE) -> tuple[DiagnosisIndex, bool]:
    """The store's diagnosis index, from the cache when the graph is unchanged, else built and
    saved. Returns ``(index, from_cache)``. Raises :class:`EmptyIndexError` like
    :meth:`DiagnosisIndex.from_store` (an empty graph is not cached)."""
    path = (directory or cache_dir()) / f"{graph_fingerprint(store, min_extracted_score=min_extracted_score)}.pickle"
    index = load(path)
    if index is not None:
        os.utime(path)  # most recently used: kept longest
        return index, True
    index = DiagnosisIndex.from_store(store, min_extracted_score=min_extracted_score)
    if not index.profiles_missing:  # an old store's reduced index is not kept for later calls
        save(index, path)
    return index, False
