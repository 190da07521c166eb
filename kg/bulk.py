"""Bulk load into Neo4j: typed CSVs for ``neo4j-admin database import full``, and the post-import step.

The online path (``UNWIND $rows`` batches through :class:`~kg.store.neo4j_store.Neo4jStore`)
stays the way to update a graph; this is for the *first* build of a very large one, where the
offline importer writes store files directly instead of going through transactions.

:func:`export_neo4j_import` reads a finished graph from either store and writes one header file
and one data file per node label and per (edge type, endpoint pair), typed from the schema
(:func:`schema.compile.neo4j_import_files`), plus ``import.sh`` (the importer's command line),
``post-import.cypher`` and ``manifest.json``. :func:`finish_import` then runs the
post-import statements against the started database and checks its counts against the manifest.

Two things ``neo4j-admin import`` cannot do, and how they are handled:

* **Constraints/indexes.** The importer's ``--schema`` option needs the Enterprise block format,
  so the schema's DDL goes into ``post-import.cypher`` and is applied after the first start.
* **Empty lists.** An empty array field imports as *no property* (neo4j/neo4j#13566), while the
  online path stores ``[]``. For every list property the exporter counts empty and null values;
  where a property was never null, ``post-import.cypher`` sets the missing ones back to ``[]``,
  which restores the online result exactly. A property holding both (the build path never
  writes that) cannot be restored and is reported in ``manifest.json`` under ``lossy_lists``.
"""

from __future__ import annotations

import gzip
import json
import math
import shlex
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from kg import cypher
from kg.errors import ExportError, StoreError
from kg.store.base import GraphStore
from schema.compile import ImportFile, neo4j_ddl, neo4j_import_files
from schema.model import KEY, PropType, Schema

if TYPE_CHECKING:
    from kg.store.neo4j_store import Neo4jStore

ARRAY_DELIMITER = "\x1f"
"""Between list elements. The importer cannot escape its array delimiter inside an element, so it
is the ASCII unit separator, which no name, synonym or source contains; an element that does is
refused with an :class:`ExportError` rather than silently split."""
ARRAY_DELIMITER_ARG = "U+001F"
MANIFEST = "manifest.json"
POST_IMPORT = "post-import.cypher"
FIXUP_BATCH_ROWS = 10_000
"""Rows per inner transaction of the empty-list fix-up (Neo4j's recommended 10k-50k batch range)."""
DATABASE = "neo4j"
"""The default database: the one ``scripts/neo4j-local`` (and a stock Neo4j) serves."""


@dataclass
class ImportExport:
    """What :func:`export_neo4j_import` wrote."""

    out_dir: Path
    counts: dict[str, int] = field(default_factory=dict)
    """Rows per file stem."""
    nodes: dict[str, int] = field(default_factory=dict)
    relationships: dict[str, int] = field(default_factory=dict)
    multiline: list[str] = field(default_factory=list)
    """Data files holding a value with a line break (passed to the importer as multiline)."""
    empty_list_fixups: list[str] = field(default_factory=list)
    lossy_lists: list[str] = field(default_factory=list)
    args: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def edges(self) -> int:
        return sum(self.relationships.values())

    def command(self, admin: str = "neo4j-admin", database: str = DATABASE) -> str:
        """The ``neo4j-admin database import full`` line, to be run inside :attr:`out_dir`."""
        return " ".join([admin, "database", "import", "full", database, *map(shlex.quote, self.args)])


# -- CSV encoding ---------------------------------------------------------------------------
def _float(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(value)  # shortest text that parses back to the same double


def _quote(text: str) -> str:
    """RFC 4180 quoting, always: a quoted ``""`` is an empty string, an unquoted empty field null."""
    return '"' + text.replace('"', '""') + '"'


def encode_value(value: Any, ptype: PropType, where: str) -> str:
    """One CSV field for ``value`` of schema type ``ptype``; ``where`` names the row for errors."""
    if value is None:
        return ""
    if ptype is PropType.STRING_LIST:
        items = [str(v) for v in value]
        if not items:
            return ""
        bad = next((v for v in items if ARRAY_DELIMITER in v), None)
        if bad is not None:
            raise ExportError(f"{where}: list element {bad!r} contains the array delimiter U+001F")
        if items == [""]:
            raise ExportError(f"{where}: a list holding only the empty string cannot be bulk-imported (it reads as null)")
        return _quote(ARRAY_DELIMITER.join(items))
    if ptype is PropType.BOOL:
        if not isinstance(value, bool):
            raise ExportError(f"{where}: expected a boolean, got {value!r}")
        return "true" if value else "false"
    if ptype is PropType.INT:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ExportError(f"{where}: expected an integer, got {value!r}")
        return str(value)
    if ptype is PropType.FLOAT:
        return _float(float(value))
    return _quote(str(value))


def _open_data(path: Path, compress: bool) -> IO[str]:
    if compress:
        # Level 1: the importer reads gzip natively; higher levels cost far more CPU than they save.
        return gzip.open(path, "wt", encoding="utf-8", newline="", compresslevel=1)
    return open(path, "w", encoding="utf-8", newline="")


@dataclass
class _ListStats:
    empty: Counter[str] = field(default_factory=Counter)
    null: Counter[str] = field(default_factory=Counter)


def _write_file(
    spec: ImportFile, rows: Iterable[dict[str, Any]], out_dir: Path, *, compress: bool, lists: _ListStats
) -> tuple[str, int, bool]:
    """Write header + data for one file; returns (data file name, rows, has a line break)."""
    (out_dir / f"{spec.stem}.header.csv").write_text(",".join(spec.header()) + "\n", encoding="utf-8")
    name = f"{spec.stem}.csv" + (".gz" if compress else "")
    keys = [KEY] if spec.kind == "nodes" else ["head", "tail"]
    fixed = _quote(spec.name)
    n, multiline = 0, False
    owner = spec.name
    with _open_data(out_dir / name, compress) as fh:
        for row in rows:
            key_vals = [row[k] for k in keys]
            for k in key_vals:
                if not isinstance(k, str) or not k:
                    raise ExportError(f"{spec.name} {' -> '.join(map(str, key_vals))}: key must be a non-empty string, got {k!r}")
            fields = [_quote(k) for k in key_vals]
            fields.append(fixed)
            for prop, ptype in spec.properties:
                value = row.get(prop)
                if ptype is PropType.STRING_LIST:
                    if value is None:
                        lists.null[f"{owner}.{prop}"] += 1
                    elif len(value) == 0:
                        lists.empty[f"{owner}.{prop}"] += 1
                try:
                    fields.append(encode_value(value, ptype, prop))
                except ExportError as exc:  # name the row only when needed: formatting it per value is costly
                    raise ExportError(f"{spec.name} {' -> '.join(key_vals)}: {exc}") from None
            line = ",".join(fields)
            if not multiline and ("\n" in line or "\r" in line):
                multiline = True
            fh.write(line)
            fh.write("\n")
            n += 1
    return name, n, multiline


def _edge_rows(store: GraphStore, spec: ImportFile, cache: dict[str, list[tuple[str, str, dict[str, Any]]]]) -> list[dict[str, Any]]:
    if spec.name not in cache:
        cache.clear()  # keep one edge type in memory at a time
        cache[spec.name] = store.iter_edges(spec.name)
    return [row for head, tail, row in cache[spec.name] if (head, tail) == (spec.head, spec.tail)]


def post_import_statements(schema: Schema, fixups: Sequence[str]) -> list[str]:
    """The schema's constraints/indexes, then the empty-list fix-ups (``Label.prop`` / ``TYPE.prop``).

    The fix-ups use ``CALL {...} IN TRANSACTIONS`` so millions of rows never sit in one
    transaction's state; that needs an auto-commit transaction (``cypher-shell`` runs each
    statement of a file that way, :func:`finish_import` does too).
    """
    stmts = list(neo4j_ddl(schema))
    for item in fixups:
        owner, prop = item.split(".", 1)
        stmts.append(cypher.empty_list_fixup(owner, prop, is_node=owner in schema.nodes, batch_rows=FIXUP_BATCH_ROWS))
    return stmts


def _import_args(files: Sequence[tuple[ImportFile, str]], multiline: Sequence[str]) -> list[str]:
    """Importer arguments (after ``database import full <db>``), paths relative to the export dir.

    ``--bad-tolerance=0``: the export comes from a consistent store, so any bad entry is a bug
    to see at once, not something to skip. Multiline parsing (slow) is switched on only for the
    files that need it (format v2, Neo4j 5.26+).
    """
    args = [f"--array-delimiter={ARRAY_DELIMITER_ARG}", "--bad-tolerance=0", "--skip-bad-relationships=false",
            "--report-file=import.report"]
    if multiline:
        args += ["--multiline-fields-format=v2", f"--multiline-fields={','.join(multiline)}"]
    for spec, data in files:
        args.append(f"--{spec.kind}={spec.stem}.header.csv,{data}")
    return args


_IMPORT_SH = """#!/bin/sh
# Bulk-import this directory into an EMPTY, STOPPED Neo4j 5.26+ database (default: neo4j).
#   NEO4J_ADMIN=/path/to/neo4j-admin ./import.sh [database] [extra importer options, e.g. --overwrite-destination]
# Without a Neo4j distribution: scripts/neo4j-local import --csv THIS_DIR --data DATA_DIR
# Then start the DBMS and run post-import.cypher (medkg finish-import THIS_DIR --neo4j-uri ...,
# or cypher-shell -f post-import.cypher) to create constraints/indexes and restore empty lists.
set -eu
cd "$(dirname "$0")"
db="${{1:-{db}}}"
[ $# -gt 0 ] && shift
exec "${{NEO4J_ADMIN:-neo4j-admin}}" database import full "$db" \\
{args} "$@"
"""


def export_neo4j_import(store: GraphStore, out_dir: str | Path, *, compress: bool = False) -> ImportExport:
    """Write the whole graph in ``store`` as ``neo4j-admin database import full`` input.

    ``out_dir`` must be empty or absent (stale files from another export would be imported too).
    Rows are read one label / edge type at a time. Returns what was written, including
    :meth:`ImportExport.command`.
    """
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportError(f"output directory {out} exists and is not empty; give a new or empty directory")
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    result = ImportExport(out_dir=out)
    lists = _ListStats()
    written: list[tuple[ImportFile, str]] = []
    cache: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for spec in neo4j_import_files(store.schema):
        rows = store.iter_nodes(spec.name) if spec.kind == "nodes" else _edge_rows(store, spec, cache)
        data, n, multiline = _write_file(spec, rows, out, compress=compress, lists=lists)
        result.counts[spec.stem] = n
        bucket = result.nodes if spec.kind == "nodes" else result.relationships
        bucket[spec.name] = bucket.get(spec.name, 0) + n
        if n:
            written.append((spec, data))
            if multiline:
                result.multiline.append(data)
    result.empty_list_fixups = sorted(k for k in lists.empty if not lists.null[k])
    result.lossy_lists = sorted(k for k in lists.empty if lists.null[k])
    result.args = _import_args(written, result.multiline)
    stmts = post_import_statements(store.schema, result.empty_list_fixups)
    (out / POST_IMPORT).write_text("".join(s + ";\n" for s in stmts), encoding="utf-8")
    script = out / "import.sh"
    script.write_text(
        _IMPORT_SH.format(db=DATABASE, args="".join(f"    {shlex.quote(a)} \\\n" for a in result.args)), encoding="utf-8"
    )
    script.chmod(0o755)
    result.seconds = time.perf_counter() - t0
    manifest = {
        "schema_version": store.schema.version,
        "database": DATABASE,
        "nodes": result.nodes,
        "relationships": result.relationships,
        "files": result.counts,
        "multiline": result.multiline,
        "array_delimiter": ARRAY_DELIMITER_ARG,
        "empty_list_fixups": result.empty_list_fixups,
        "lossy_lists": result.lossy_lists,
        "post_import": POST_IMPORT,
        "import_args": result.args,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return result


# -- after the import ----------------------------------------------------------------------------
@dataclass
class FinishReport:
    """What :func:`finish_import` ran and found."""

    statements: int
    counts: dict[str, int]
    seconds: float


def read_manifest(csv_dir: str | Path) -> dict[str, Any]:
    path = Path(csv_dir) / MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ExportError(f"{path} not found: is {csv_dir} a `medkg export --format neo4j-import` directory?") from None
    except json.JSONDecodeError as exc:
        raise ExportError(f"{path} is not valid JSON: {exc}") from exc


def finish_import(store: "Neo4jStore", csv_dir: str | Path) -> FinishReport:
    """Run ``post-import.cypher`` on the freshly imported database and verify its counts.

    ``store`` is a :class:`~kg.store.neo4j_store.Neo4jStore` connected to the imported database
    (connecting already applies the schema's DDL; running it again is a no-op). Raises
    :class:`StoreError` naming every label/type whose count differs from the manifest, so a
    partial or wrong import never passes silently.
    """
    t0 = time.perf_counter()
    manifest = read_manifest(csv_dir)
    text = (Path(csv_dir) / POST_IMPORT).read_text(encoding="utf-8")
    stmts = [s.strip() for s in text.split(";\n") if s.strip()]
    for stmt in stmts:
        store.run_autocommit(stmt)
    counts = store.stats()
    expected = {**manifest["nodes"], **manifest["relationships"]}
    wrong = {k: (counts.get(k), v) for k, v in expected.items() if counts.get(k) != v}
    if wrong:
        detail = ", ".join(f"{k}: {got} in Neo4j, {want} exported" for k, (got, want) in sorted(wrong.items()))
        raise StoreError(f"imported database does not match the export in {csv_dir}: {detail}")
    return FinishReport(statements=len(stmts), counts=counts, seconds=time.perf_counter() - t0)


__all__ = [
    "ARRAY_DELIMITER", "FinishReport", "ImportExport", "encode_value", "export_neo4j_import",
    "finish_import", "post_import_statements", "read_manifest",
]
