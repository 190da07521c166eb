"""Graph build from BC5CDR train (500 abstracts, gold annotations) into each store.

    python benchmarks/bench_build.py [--neo4j-uri bolt://127.0.0.1:7687]

Times a first build into an empty store and an idempotent re-run, checks the counts against
the gold file, and writes the "build" section of BENCHMARKS.md. The Neo4j run is skipped
(and said so) when no URI is given or nothing answers there.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._report import machine, write_section  # noqa: E402
from kg.errors import StoreUnavailableError  # noqa: E402
from kg.jobs import run_build  # noqa: E402
from kg.store.base import GraphStore  # noqa: E402
from kg.store.ladybug_store import LadybugStore  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "corpora" / "bc5cdr" / "pubtator" / "CDR_TrainingSet.PubTator.txt"


def bench(store: GraphStore, name: str) -> dict[str, object]:
    t0 = time.perf_counter()
    first = run_build([DATA], store)
    t1 = time.perf_counter()
    second = run_build([DATA], store)
    t2 = time.perf_counter()
    stats = store.stats()
    w = first.write
    relation_edges = sum(stats[t] for t in store.schema.relation_types())
    all_edges = sum(stats[t] for t in store.schema.edges)
    assert second.write.documents_unchanged == second.documents_read == first.documents_read
    return {
        "store": name,
        "docs": first.documents_read,
        "first_s": t1 - t0,
        "rerun_s": t2 - t1,
        "nodes": sum(stats[label] for label in store.schema.nodes),
        "relation_edges": relation_edges,
        "all_edges": all_edges,
        "edges_per_s": all_edges / (t1 - t0),
        "cid": stats["CAUSES_ADVERSE_EFFECT"],
        "drugs": stats["Drug"],
        "diseases": stats["Disease"],
        "evidence": w.evidence_created,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--neo4j-uri", default=None)
    args = parser.parse_args()
    if not DATA.exists():
        sys.exit(f"BC5CDR train not found at {DATA}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp, LadybugStore(Path(tmp) / "g.lbug") as st:
        rows.append(bench(st, "LadybugDB 0.22 (embedded)"))
    note = ""
    if args.neo4j_uri:
        from kg.store.neo4j_store import Neo4jStore

        try:
            with Neo4jStore(args.neo4j_uri) as st:
                st.clear()
                rows.append(bench(st, "Neo4j 5.26 Community (Bolt, loopback)"))
                st.clear()
        except StoreUnavailableError as exc:
            note = f"\nNeo4j not measured: {exc}\n"
    else:
        note = "\nNeo4j not measured in this run (no --neo4j-uri).\n"
    lines = [
        "## Graph build: BC5CDR train, gold annotations",
        "",
        "Command: `python benchmarks/bench_build.py --neo4j-uri bolt://127.0.0.1:7687` "
        "(Neo4j from `scripts/neo4j-local start`).",
        f"Machine: {machine()}.",
        "Data: `../shared/data/corpora/bc5cdr/pubtator/CDR_TrainingSet.PubTator.txt` (train split, 500 abstracts). "
        "Counts are checked against the gold file by `tests/kg/test_store.py::test_full_bc5cdr_train_matches_gold`.",
        "'edges/s' = all edges stored (CID relations, MENTIONS, SUPPORTED_BY, HAS_EVIDENCE) / first-build wall time, "
        "which includes parsing, validation and aggregation.",
        "",
        "| store | docs | first build (s) | re-run (s) | nodes | edges (all) | CID edges | edges/s | Drug | Disease |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['store']} | {r['docs']} | {r['first_s']:.2f} | {r['rerun_s']:.2f} | {r['nodes']:,} | {r['all_edges']:,} "
            f"| {r['cid']:,} | {r['edges_per_s']:,.0f} | {r['drugs']:,} | {r['diseases']:,} |"
        )
    write_section("build", "\n".join(lines) + "\n" + note)
    print("\n".join(lines) + note)


if __name__ == "__main__":
    main()
