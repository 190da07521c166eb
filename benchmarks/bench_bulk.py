"""Bulk load vs online UNWIND into Neo4j: edges/s for the same finished graph both ways.

    flock /tmp/medkg-cpu.lock .venv/bin/python benchmarks/bench_bulk.py [--db /tmp/medkg-curated/graph.lbug]

Source: a finished embedded store (default: the curated graph `benchmarks/bench_curated.py` leaves
at /tmp/medkg-curated/graph.lbug; BC5CDR train is built into a temporary store when it is absent).
Two throwaway Neo4j 5.26 servers are started from the Maven jars by `scripts/neo4j-local`, each
with its own runtime dir and a free port (never the Neo4j on 7687):

(a) online: the schema's constraints first, then every node and edge sent as parameterised
    `UNWIND $rows` statements of `--batch-rows` rows, one transaction each: the store's own
    `create_nodes` / `merge_edges` statements (link edges: the same MATCH/MATCH/CREATE shape as
    the store's). This is the write cost alone; `GraphStore.write` also plans, reads evidence back
    and re-aggregates (see the "build" and "curated" sections for that end-to-end cost).
(b) bulk: `export_neo4j_import` (CSV) + `scripts/neo4j-local import` (neo4j-admin's importer, JVM
    start included) + server start (not timed) + `finish_import` (constraints/indexes, empty-list
    fix-ups, count check).

Both databases must end with the source's counts per label and type, and a sample of nodes and
edges must be identical; then the "bulk" section of BENCHMARKS.md is written.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._report import machine, write_section  # noqa: E402
from kg import cypher  # noqa: E402
from kg.bulk import export_neo4j_import, finish_import  # noqa: E402
from kg.jobs import run_build  # noqa: E402
from kg.store.base import GraphStore  # noqa: E402
from kg.store.ladybug_store import LadybugStore  # noqa: E402
from kg.store.neo4j_store import Neo4jStore  # noqa: E402
from schema.model import KEY, EdgeKind, Schema  # noqa: E402
from tests.helpers import LocalNeo4j  # noqa: E402

CURATED_DB = Path("/tmp/medkg-curated/graph.lbug")
BC5CDR = Path(__file__).resolve().parents[2] / "shared" / "data" / "corpora" / "bc5cdr" / "pubtator" / "CDR_TrainingSet.PubTator.txt"
SERVER_ENV = {"NEO4J_LOCAL_HEAP": "2g", "NEO4J_LOCAL_PAGECACHE": "1024", "NEO4J_LOCAL_IMPORT_MEMORY": "2g",
              "NEO4J_LOCAL_TIMEOUT": "600"}


def _link_edges(schema: Schema, type_: str, head: str, tail: str) -> str:
    props = cypher.edge_props(schema, type_)
    sets = (" SET " + ", ".join(f"r.{p} = row.{p}" for p in props)) if props else ""
    return (f"UNWIND $rows AS row MATCH (h:{head} {{{KEY}: row.head}}) MATCH (t:{tail} {{{KEY}: row.tail}}) "
            f"CREATE (h)-[r:{type_}]->(t){sets}")


def _send(store: Neo4jStore, query: str, rows: Sequence[dict[str, Any]], batch: int) -> None:
    for i in range(0, len(rows), batch):
        with store.transaction() as tx:
            tx.run(query, {"rows": list(rows[i : i + batch])})


def online_load(src: GraphStore, dst: Neo4jStore, batch: int) -> dict[str, float]:
    """Every node, then every edge, as UNWIND batches; returns seconds spent writing (reads excluded)."""
    schema = src.schema
    write_nodes = write_edges = 0.0
    for label in schema.nodes:
        rows = src.iter_nodes(label)
        t0 = time.perf_counter()
        _send(dst, cypher.create_nodes(schema, label, cypher.NEO4J), rows, batch)
        write_nodes += time.perf_counter() - t0
    for type_, edge in schema.edges.items():
        all_rows = src.iter_edges(type_)
        for head, tail in edge.endpoints:
            rows = [r for h, t, r in all_rows if (h, t) == (head, tail)]
            query = (cypher.merge_edges(schema, type_, head, tail, cypher.NEO4J) if edge.kind is EdgeKind.RELATION
                     else _link_edges(schema, type_, head, tail))
            t0 = time.perf_counter()
            _send(dst, query, rows, batch)
            write_edges += time.perf_counter() - t0
    return {"nodes_s": write_nodes, "edges_s": write_edges}


def sample_equal(a: GraphStore, b: GraphStore, n: int = 500) -> int:
    """Compare ``n`` random Evidence nodes and ``n`` random edges of each relation type; returns rows compared."""
    rng = random.Random(7)
    compared = 0
    ev = a.iter_nodes("Evidence")
    ids = [r[KEY] for r in rng.sample(ev, min(n, len(ev)))]
    q = f"UNWIND $ids AS i MATCH (n:Evidence {{{KEY}: i}}) RETURN " + ", ".join(
        f"n.{p} AS {p}" for p in cypher.node_props(a.schema, "Evidence"))
    left, right = (sorted(s.query(q, {"ids": ids}), key=lambda r: r[KEY]) for s in (a, b))
    assert left == right and len(left) == len(ids), "Evidence sample differs"
    compared += len(ids)
    for type_ in a.schema.relation_types():
        for head, tail in a.schema.edge(type_).endpoints:
            rows = [r for h, t, r in a.iter_edges(type_) if (h, t) == (head, tail)]
            keys = [{"head": r["head"], "tail": r["tail"]} for r in rng.sample(rows, min(n, len(rows)))]
            cols = ", ".join(f"r.{p} AS {p}" for p in cypher.edge_props(a.schema, type_))
            q = (f"UNWIND $rows AS k MATCH (h:{head} {{{KEY}: k.head}})-[r:{type_}]->(t:{tail} {{{KEY}: k.tail}}) "
                 f"RETURN h.{KEY} AS head, t.{KEY} AS tail, {cols}")
            left, right = (sorted(s.query(q, {"rows": keys}), key=lambda r: (r["head"], r["tail"])) for s in (a, b))
            assert left == right and len(left) == len(keys), f"{type_} {head}->{tail} sample differs"
            compared += len(keys)
    return compared


def importer_seconds(output: str) -> float | None:
    """The importer's own time from its ``IMPORT DONE in 1m 2s 345ms.`` line (JVM start excluded)."""
    m = re.search(r"IMPORT DONE in ([^.]+)\.", output)
    if not m:
        return None
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+)(ms|h|m|s)\b", m.group(1)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, default=CURATED_DB, help="source embedded store (read only)")
    parser.add_argument("--batch-rows", type=int, default=10_000)
    parser.add_argument("--gzip", action="store_true", help="gzip the CSVs")
    parser.add_argument("--no-report", action="store_true", help="print only; leave BENCHMARKS.md alone (smoke runs)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="medkg-bench-bulk-") as tmp:
        root = Path(tmp)
        if args.db.exists():
            src: LadybugStore = LadybugStore(args.db, read_only=True)
            data = f"`{args.db}`" + (" (the curated graph `benchmarks/bench_curated.py` leaves there)" if args.db == CURATED_DB else "")
        else:
            if not BC5CDR.exists():
                sys.exit(f"neither {args.db} nor {BC5CDR} exists")
            src = LadybugStore(root / "src.lbug")
            run_build([BC5CDR], src)
            data = "BC5CDR train (500 abstracts, gold annotations) built into a fresh embedded store"
        with src:
            stats = src.stats()
            n_nodes = sum(stats[label] for label in src.schema.nodes)
            n_edges = sum(stats[t] for t in src.schema.edges)
            print(f"source: {n_nodes:,d} nodes, {n_edges:,d} edges", flush=True)

            # (a) online UNWIND
            neo_a = LocalNeo4j(root / "rt-online", env=SERVER_ENV)
            uri_a = neo_a.start(root / "home-online")
            try:
                with Neo4jStore(uri_a, batch_rows=args.batch_rows) as dst:
                    t0 = time.perf_counter()
                    online = online_load(src, dst, args.batch_rows)
                    online_total = time.perf_counter() - t0
                    assert dst.stats() == stats, "online load counts differ from the source"
                    print(f"online: {online} total {online_total:.1f}s", flush=True)

                    # (b) bulk
                    t0 = time.perf_counter()
                    exp = export_neo4j_import(src, root / "csv", compress=args.gzip)
                    t_export = time.perf_counter() - t0
                    neo_b = LocalNeo4j(root / "rt-bulk", env=SERVER_ENV)
                    t0 = time.perf_counter()
                    t_tool = importer_seconds(neo_b.import_csv(root / "csv", root / "home-bulk"))
                    t_import = time.perf_counter() - t0
                    uri_b = neo_b.start(root / "home-bulk")
                    try:
                        with Neo4jStore(uri_b) as bulk:
                            t0 = time.perf_counter()
                            fin = finish_import(bulk, root / "csv")
                            t_finish = time.perf_counter() - t0
                            assert fin.counts == stats, "bulk import counts differ from the source"
                            compared = sample_equal(dst, bulk)
                    finally:
                        neo_b.stop()
            finally:
                neo_a.stop()
        csv_mb = sum(p.stat().st_size for p in (root / "csv").iterdir()) / 1e6
    print(f"bulk: export {t_export:.1f}s import {t_import:.1f}s finish {t_finish:.1f}s", flush=True)

    records = n_nodes + n_edges
    bulk_total = t_export + t_import + t_finish
    rows = [
        ("(a) online `UNWIND` batches, nodes", online["nodes_s"], n_nodes, "nodes"),
        ("(a) online `UNWIND` batches, edges", online["edges_s"], n_edges, "edges"),
        ("(a) online total", online["nodes_s"] + online["edges_s"], records, "records"),
        ("(b) export to CSV (Python, from the embedded store)", t_export, records, "records"),
        ("(b) `neo4j-admin database import full` (JVM start included)", t_import, records, "records"),
        *([("(b) ... of which the importer's own `IMPORT DONE in` time", t_tool, records, "records")] if t_tool else []),
        ("(b) post-import: constraints/indexes + empty-list fix-ups + count check", t_finish, records, "records"),
        ("(b) bulk total", bulk_total, records, "records"),
    ]
    lines = [
        "## Bulk load into Neo4j: online UNWIND vs neo4j-admin import",
        "",
        f"Command: `flock /tmp/medkg-cpu.lock .venv/bin/python benchmarks/bench_bulk.py{' --gzip' if args.gzip else ''}"
        f"{'' if args.batch_rows == 10_000 else f' --batch-rows {args.batch_rows}'}`.",
        f"Machine: {machine()}; Neo4j 5.26.30 Community from the Maven jars (`scripts/neo4j-local`), "
        f"heap {SERVER_ENV['NEO4J_LOCAL_HEAP']}, page cache {SERVER_ENV['NEO4J_LOCAL_PAGECACHE']} MiB, importer off-heap "
        f"{SERVER_ENV['NEO4J_LOCAL_IMPORT_MEMORY']}; other jobs may share the 2 cores.",
        f"Data: {data}: {n_nodes:,d} nodes, {n_edges:,d} edges; CSVs {csv_mb:,.0f} MB"
        f"{' (gzip)' if args.gzip else ''}, {len(exp.multiline)} file(s) parsed as multiline.",
        "",
        f"(a) sends the finished graph as `UNWIND $rows` statements of {args.batch_rows:,d} rows, one transaction "
        "each, into an empty database with the schema's constraints (the store's `create_nodes`/`merge_edges` "
        "statements): the write cost alone, without the planning reads and evidence re-aggregation "
        "`GraphStore.write` adds (see the build and curated sections); reading the source is not timed. "
        "(b) is export (reading the source included) + offline import + post-import step (`medkg finish-import`); "
        "starting the server in between is not timed.",
        "",
        "| step | seconds | throughput |",
        "|---|---|---|",
    ]
    for name, secs, n, unit in rows:
        lines.append(f"| {name} | {secs:,.1f} | {n / secs:,.0f} {unit}/s |")
    lines += [
        "",
        f"Edges/s, whole path: online {n_edges / (online['nodes_s'] + online['edges_s']):,.0f}, "
        f"bulk {n_edges / bulk_total:,.0f} (importer step alone {n_edges / t_import:,.0f}); "
        f"end-to-end speed-up of bulk over online: {(online['nodes_s'] + online['edges_s']) / bulk_total:.1f}x.",
        "",
        f"Both databases hold exactly the source's counts for every label and type, and {compared:,d} sampled "
        "Evidence nodes and relation edges (all properties) are identical between them.",
    ]
    if not args.no_report:
        write_section("bulk", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
