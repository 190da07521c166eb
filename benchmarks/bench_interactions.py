"""Latency of the interaction check for random 10-drug lists, on a filled store.

    flock /tmp/medkg-cpu.lock python benchmarks/bench_interactions.py --db /tmp/medkg-curated/graph.lbug
    flock /tmp/medkg-cpu.lock python benchmarks/bench_interactions.py --neo4j-uri bolt://127.0.0.1:7687
    python benchmarks/bench_interactions.py --calibrate      # the MODEL_SEVERITY cross-tab only

Lists are drawn (seeded) from the drugs that have at least one INTERACTS_WITH edge in the store,
so most lists hit interactions (a worst case for evidence fetching). Three timings per list,
after a warm-up, reported separately:

* **graph**: ``check_interactions(store, curies)``: the drugs given as CURIEs, so no name
  search runs; this is the graph queries (patient/nodes/pairs+evidence/class siblings) plus
  report assembly;
* **resolution**: ``DrugResolver.resolve(names)`` for the same drugs' names (the linker only);
* **end to end**: ``check_interactions(store, names)``.

``--calibrate`` cross-tabulates DDI-2013 **Train-split** (``ddi_split == "train"``) positive pairs
by type against DDInter levels (both sides linked to DrugBank with exact linker matches): the
evidence for :data:`kg.interactions.MODEL_SEVERITY`. It needs ../shared/data.
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._report import machine, write_section  # noqa: E402
from kg.config import StoreConfig  # noqa: E402
from kg.interactions.drug_names import DrugResolver  # noqa: E402
from kg.interactions import check_interactions  # noqa: E402
from kg.store import GraphStore, open_store  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
DRUG_POOL = "MATCH (d:Drug)-[:INTERACTS_WITH]-(:Drug) RETURN DISTINCT d.id AS id, d.name AS name"
TARGET = {"p50": 20.0, "p99": 100.0}
"""Issue 4's latency target (ms) for a 10-drug list with all curated sources loaded."""


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of a non-empty list."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def _stats(ms: list[float]) -> str:
    return f"{percentile(ms, 50):.1f} | {percentile(ms, 99):.1f} | {statistics.fmean(ms):.1f} | {max(ms):.1f}"


def run_store(label: str, store: GraphStore, resolver: DrugResolver, *, lists: int, size: int, seed: int,
              warmup: int, repeats: int = 1) -> tuple[str, dict[str, float]]:
    counts = store.stats()
    pool = sorted((r["id"], r["name"]) for r in store.query(DRUG_POOL) if r["name"])
    if len(pool) < size:
        raise SystemExit(f"{label}: only {len(pool)} drugs with interactions; load curated sources first "
                         "(medkg load-curated --all ddinter --accept-noncommercial)")
    rng = random.Random(seed)
    samples = [rng.sample(pool, size) for _ in range(lists + warmup)]
    graph_ms, resolve_ms, e2e_ms, found, evidence = [], [], [], [], []
    for n, sample in enumerate(samples * repeats):  # each run: its warm-up lists untimed, then the lists
        curies, names = [c for c, _ in sample], [name for _, name in sample]
        t0 = time.perf_counter()
        report = check_interactions(store, curies, resolver=resolver)
        t1 = time.perf_counter()
        resolver.resolve(names)
        t2 = time.perf_counter()
        check_interactions(store, names, resolver=resolver)
        t3 = time.perf_counter()
        if n % (lists + warmup) >= warmup:
            graph_ms.append((t1 - t0) * 1000)
            resolve_ms.append((t2 - t1) * 1000)
            e2e_ms.append((t3 - t2) * 1000)
            found.append(len(report.interactions))
            evidence.append(sum(len(x.evidence) for x in report.interactions))
    per_repeat = [percentile(graph_ms[i:i + lists], 50) for i in range(0, len(graph_ms), lists)]
    summary = {"graph_p50": percentile(graph_ms, 50), "graph_p99": percentile(graph_ms, 99)}
    verdict = ("meets" if summary["graph_p50"] < TARGET["p50"] and summary["graph_p99"] < TARGET["p99"]
               else "misses")
    body = (
        f"**{label}** ({counts.get('Drug', 0):,} drugs, {counts.get('INTERACTS_WITH', 0):,} INTERACTS_WITH, "
        f"{counts.get('Evidence', 0):,} evidence; pool {len(pool):,} drugs with interactions): {lists} lists of "
        f"{size} (seed {seed}, {warmup} warm-up lists not timed), {statistics.fmean(found):.1f} interacting pairs "
        f"and {statistics.fmean(evidence):.1f} evidence items per list on average"
        + (f"; the whole set run {repeats} times one after the other, timings pooled below (graph p50 of each "
           f"run: {', '.join(f'{x:.1f}' for x in per_repeat)} ms: this shared VM's speed drifts)" if repeats > 1 else "")
        + ".\n\n"
        "| timing (ms) | p50 | p99 | mean | max |\n|---|---|---|---|---|\n"
        f"| graph (CURIE input: queries + report) | {_stats(graph_ms)} |\n"
        f"| name resolution (linker) | {_stats(resolve_ms)} |\n"
        f"| end to end (names) | {_stats(e2e_ms)} |\n\n"
        f"Graph part {verdict} the target p50 < {TARGET['p50']:.0f} ms / p99 < {TARGET['p99']:.0f} ms.\n"
    )
    return body, summary


def calibrate() -> str:
    """DDI-2013 Train positive pairs by type x DDInter level (see module docstring)."""
    from extractors.corpora.ddi import ddi_split, read_ddi_dir

    resolver = DrugResolver()
    linker = resolver.linker

    def exact_ids(names: list[str]) -> dict[str, str | None]:
        best = linker.best_many(names, labels=["Drug"] * len(names))
        return {n: (c.concept_id if c is not None and c.score >= 1.0 else None) for n, c in zip(names, best, strict=True)}

    rows = []
    for path in sorted((SHARED / "knowledge" / "ddinter").glob("*.csv")):
        with path.open(encoding="utf-8") as handle:
            rows += list(csv.DictReader(handle))
    ids = exact_ids(sorted({r["Drug_A"] for r in rows} | {r["Drug_B"] for r in rows}))
    level = {frozenset((ids[r["Drug_A"]], ids[r["Drug_B"]])): r["Level"] for r in rows if ids[r["Drug_A"]] and ids[r["Drug_B"]]}
    pairs: list[tuple[str, str, str]] = []
    for doc in read_ddi_dir(SHARED / "corpora" / "ddi2013" / "Train"):
        if ddi_split(doc.id) != "train":
            continue
        for s in doc.sentences:
            ents = {e.id: e.text for e in s.entities}
            pairs += [(p.type or "int", ents[p.e1], ents[p.e2]) for p in s.pairs if p.ddi]
    pid = exact_ids(sorted({t for _, a, b in pairs for t in (a, b)}))
    table: dict[str, Counter[str]] = defaultdict(Counter)
    for kind, a, b in pairs:
        if pid[a] and pid[b] and pid[a] != pid[b]:
            table[kind][level.get(frozenset((pid[a], pid[b])), "not in DDInter")] += 1
    levels = ["Major", "Moderate", "Minor", "Unknown"]
    out = ["| DDI-2013 type | pairs | not in DDInter | " + " | ".join(f"{lv} (% of listed)" for lv in levels) + " |",
           "|---|---|---|" + "---|" * len(levels)]
    for kind in ("advise", "mechanism", "effect", "int"):
        c = table[kind]
        listed = sum(c[lv] for lv in levels) or 1
        out.append(f"| {kind} | {sum(c.values())} | {c['not in DDInter']} | "
                   + " | ".join(f"{c[lv]} ({100 * c[lv] / listed:.0f} %)" for lv in levels) + " |")
    return ("Severity calibration (DDI-2013 Train split by `ddi_split`, positive pairs whose two drugs link exactly "
            f"to DrugBank, against DDInter levels; {len(level):,} DDInter pairs mapped):\n\n" + "\n".join(out) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", type=Path, help="embedded (LadybugDB) store to benchmark")
    ap.add_argument("--neo4j-uri", help="Neo4j store to benchmark (password via MEDKG_NEO4J_PASSWORD)")
    ap.add_argument("--lists", type=int, default=300)
    ap.add_argument("--size", type=int, default=10)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3, help="run the whole set of lists this many times (pooled)")
    ap.add_argument("--calibrate", action="store_true", help="also (or only, without stores) the severity cross-tab")
    ap.add_argument("--no-write", action="store_true", help="print instead of writing BENCHMARKS.md")
    args = ap.parse_args(argv)
    if not (args.db or args.neo4j_uri or args.calibrate):
        ap.error("give --db PATH and/or --neo4j-uri URI (or --calibrate)")
    resolver = DrugResolver()
    t0 = time.perf_counter()
    resolver.warm()
    parts = [f"Machine: {machine()}. Linker start-up (drug KB load + index, once per process): "
             f"{time.perf_counter() - t0:.1f} s.\n"]
    targets = ([("embedded LadybugDB", StoreConfig.resolve(kind="ladybug", path=args.db))] if args.db else []) + \
              ([("Neo4j", StoreConfig.resolve(kind="neo4j", uri=args.neo4j_uri))] if args.neo4j_uri else [])
    for label, cfg in targets:
        if cfg.kind == "ladybug" and not Path(cfg.path).exists():
            raise SystemExit(f"{cfg.path}: no such store")
        with open_store(cfg, read_only=cfg.kind == "ladybug") as store:
            body, summary = run_store(label, store, resolver, lists=args.lists, size=args.size, seed=args.seed,
                                      warmup=args.warmup, repeats=args.repeats)
        print(f"{label}: graph p50 {summary['graph_p50']:.1f} ms, p99 {summary['graph_p99']:.1f} ms", file=sys.stderr)
        parts.append(body)
    if args.calibrate:
        parts.append(calibrate())
    cmd = "python benchmarks/bench_interactions.py " + " ".join(argv if argv is not None else sys.argv[1:])
    text = "## Interaction check\n\nCommand: `" + cmd.strip() + "`\n\n" + "\n".join(parts)
    if args.no_write:
        print(text)
    else:
        write_section("interactions", text)
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
