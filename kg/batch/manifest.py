"""The on-disk contract of an extraction directory: manifest, shard files, atomic writes.

An extraction directory holds::

    manifest.json            what was read (inputs with size/mtime/sha256), with which options and
                             models, and every *finished* shard (docs, mentions, relations, errors,
                             sha256 of the shard file)
    shard-00000.jsonl.gz     one Document JSON per line (predictions included), deterministic gzip
    errors-00000.jsonl       bad records met while filling that shard (file, position, message)
    load-<store>.json        how far ``medkg load`` got into one store (see :mod:`kg.batch.load`)

A file only counts once the manifest lists it, and every file (manifest included) is written to a
temporary name, fsynced and renamed, so a kill at any instant leaves either the old or the new
version on disk, never a torn one.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import secrets
import time
import zlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from kg.errors import MedkgError
from schema.records import Record, Document
from loaders._common import validation_problem
from loaders.errors import RecordError

MANIFEST = "manifest.json"
FORMAT_VERSION = 1
_HASH_CHUNK = 1 << 20


class BatchError(MedkgError):
    """Root of the batch-job errors."""


class ManifestMismatchError(BatchError, ValueError):
    """An extraction directory was made from other inputs or options than the ones given now."""


class ExtractionDirError(BatchError, ValueError):
    """A directory that cannot be used as asked: not empty and not ours, or an unfinished extraction."""


class CorruptShardError(BatchError, ValueError):
    """A shard file does not match the checksum its manifest recorded."""


_Model = Record


class InputFile(_Model):
    """One input file as it was when the job started. ``mtime_ns`` is informational: a file is
    the same input when its path, size and sha256 agree (a ``touch`` or a copy keeps it valid)."""

    path: str
    size: int
    mtime_ns: int
    sha256: str

    def identity(self) -> tuple[str, int, str]:
        return (self.path, self.size, self.sha256)


class ExtractOptions(_Model):
    """Everything that changes what lands in the shards; a resumed run must use the same."""

    shard_docs: int = Field(gt=0)
    format: str | None = None
    on_error: Literal["fail", "skip"] = "skip"
    extract: Literal["auto", "always", "none"] = "auto"
    pipeline: dict[str, Any] | None = None
    """``PipelineConfig.model_dump()``, or ``None`` when extraction is off."""
    models: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Per model role (ner, re, re_symptom): resolved directory, sha256 of its files, base, versions."""


class ShardEntry(_Model):
    """A finished shard."""

    index: int
    file: str
    docs: int
    mentions: int
    relations: int
    errors: int
    errors_file: str | None
    sha256: str
    seconds: float


class Manifest(_Model):
    format_version: int = FORMAT_VERSION
    inputs: tuple[InputFile, ...]
    options: ExtractOptions
    shards: tuple[ShardEntry, ...] = ()
    complete: bool = False

    @property
    def documents(self) -> int:
        return sum(s.docs for s in self.shards)

    def mismatches(self, inputs: Sequence[InputFile], options: ExtractOptions) -> list[str]:
        """Human-readable differences from a new run's inputs/options (empty when it may resume)."""
        out = []
        old = [f.identity() for f in self.inputs]
        new = [f.identity() for f in inputs]
        if [p for p, _, _ in old] != [p for p, _, _ in new]:
            out.append(f"input files differ: manifest has {[p for p, _, _ in old]}, given {[p for p, _, _ in new]}")
        else:
            out += [f"input {n[0]} changed (size/sha256 differ)" for o, n in zip(old, new, strict=True) if o != n]
        mine, theirs = self.options.model_dump(), options.model_dump()
        for k in mine:
            if mine[k] == theirs.get(k):
                continue
            if isinstance(mine[k], dict) and isinstance(theirs.get(k), dict):  # name the keys that differ
                a, b = mine[k], theirs[k]
                out += [f"option {k}.{key}: manifest {a.get(key)!r}, given {b.get(key)!r}"
                        for key in sorted(set(a) | set(b), key=str) if a.get(key) != b.get(key)]
            else:
                out.append(f"option {k}: manifest {mine[k]!r}, given {theirs.get(k)!r}")
        return out


# -- files --------------------------------------------------------------------------------------
def shard_name(index: int) -> str:
    return f"shard-{index:05d}.jsonl.gz"


def errors_name(index: int) -> str:
    return f"errors-{index:05d}.jsonl"


_JOB_FILE = re.compile(r"(?:manifest\.json|shard-\d{5,}\.jsonl\.gz|errors-\d{5,}\.jsonl|load-[0-9a-f]{12}\.json)")
_TEMP_FILE = re.compile(r"\.?(?P<name>.+?)(?:\.[A-Za-z0-9_]{6,})?\.tmp")


def is_job_file(name: str) -> bool:
    """Files this module writes, by their exact name patterns (the only ones ``--restart``
    deletes): the manifest, shards, error lists, load states and the temporary files of
    :func:`atomic_write` (``.manifest.json.k3j9x2.tmp``) or of older versions (``manifest.json.tmp``)."""
    if _JOB_FILE.fullmatch(name):
        return True
    temp = _TEMP_FILE.fullmatch(name)
    return temp is not None and _JOB_FILE.fullmatch(temp.group("name")) is not None


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def fingerprint(path: Path) -> InputFile:
    st = path.stat()
    return InputFile(path=str(path.resolve()), size=st.st_size, mtime_ns=st.st_mtime_ns, sha256=sha256_file(path))


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a crash leaves the old file or the new one, never half.

    The temporary file and then the directory are fsynced: without the directory fsync a power
    loss can forget the rename even though the data blocks reached the disk.
    """
    # a fresh file of our own (O_EXCL): a fixed ".tmp" name could be a symlink planted in the
    # directory, and writing through it would write wherever it points
    name = str(path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp")
    # mode 0o666 less the umask, as open() gives (mkstemp's 0600 would change who may read a job)
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def write_json(path: Path, model: BaseModel | dict[str, Any]) -> None:
    text = model.model_dump_json(indent=1) if isinstance(model, BaseModel) else json.dumps(model, indent=1, sort_keys=True)
    atomic_write(path, (text + "\n").encode("utf-8"))


def read_manifest(out_dir: Path) -> Manifest | None:
    path = out_dir / MANIFEST
    if not path.exists():
        return None
    try:
        return Manifest.model_validate_json(path.read_bytes())
    except ValueError as exc:
        raise BatchError(f"{path}: not a readable extraction manifest ({exc.__class__.__name__}): {exc}") from exc


def shard_bytes(docs: Iterable[Document]) -> bytes:
    """Gzipped JSON lines with a fixed header (mtime 0, no file name): the same documents always
    give the same bytes, so shard checksums compare runs, not just guard against corruption."""
    raw = b"".join(d.model_dump_json().encode("utf-8") + b"\n" for d in docs)
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=6) as gz:
        gz.write(raw)
    return buf.getvalue()


def errors_bytes(errors: Iterable[RecordError]) -> bytes:
    """One JSON object per bad record: where it is and why, never the record's text (clinical
    notes must not leak into logs)."""
    rows = ({"path": e.path, "position": e.position, "record_id": e.record_id, "message": e.message} for e in errors)
    return b"".join(json.dumps(r, sort_keys=True).encode("utf-8") + b"\n" for r in rows)


def read_shard(out_dir: Path, entry: ShardEntry, *, verify: bool = True) -> list[Document]:
    data = (out_dir / entry.file).read_bytes()
    if verify and hashlib.sha256(data).hexdigest() != entry.sha256:
        raise CorruptShardError(f"{out_dir / entry.file}: sha256 differs from the manifest; re-run `medkg extract` with --restart")
    try:
        lines = gzip.decompress(data).splitlines()
    except (EOFError, OSError, zlib.error) as exc:
        raise CorruptShardError(f"{out_dir / entry.file}: not a readable gzip shard ({type(exc).__name__}); "
                                "re-run `medkg extract` with --restart") from None
    docs = []
    for n, line in enumerate(lines, start=1):
        if not line:
            continue
        try:
            docs.append(Document.model_validate_json(line))
        except ValidationError as exc:  # the fields, never the values (a note's text)
            raise CorruptShardError(f"{out_dir / entry.file}: line {n}: {validation_problem(exc)}; "
                                    "re-run `medkg extract` with --restart") from None
    return docs


def read_errors(out_dir: Path, entry: ShardEntry) -> Iterator[RecordError]:
    if entry.errors_file is None:
        return
    for line in (out_dir / entry.errors_file).read_text(encoding="utf-8").splitlines():
        if line.strip():
            yield RecordError(**json.loads(line))


SLOW_SHARD_ENV = "MEDKG_TEST_SLOW_SHARD_S"
"""Test-only: seconds to pause after each shard is on disk but before it is recorded (in the
manifest, or for ``load`` in the load state), so a test's SIGKILL lands in the worst window."""


def test_pause() -> None:
    """Test-only hook (see :data:`SLOW_SHARD_ENV`); does nothing unless the variable is set."""
    delay = float(os.environ.get(SLOW_SHARD_ENV) or 0)
    if delay > 0:
        time.sleep(delay)
