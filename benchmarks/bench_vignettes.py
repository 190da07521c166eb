"""Diagnosis ranking on short clinical vignettes (free text in, ranked diseases out).

    flock /tmp/medkg-cpu.lock .venv/bin/python -m benchmarks.bench_vignettes [--db PATH | --neo4j-uri URI] [--write]
        [--sweep W,W,...] [--named-log-lr W] [--noise-rate R]

Vignettes: ``benchmarks/data/vignettes.yaml``, written by hand for this project from textbook
presentations (common and rare diseases, with negations and clinical modifiers), each with the
diagnosis, the names a correct candidate may carry and ontology ids where certain. The text goes
through :func:`kg.diagnosis.rank_diagnoses` exactly as ``medkg diagnose "TEXT" --age A --sex S``
does. A candidate is correct when its id is one of the vignette's ids or its normalised name is one
of the accepted names. Rank = position of the first correct candidate (not found: reciprocal rank
0). Index: the store given, else built in memory from the curated sources' documents (HPO, Disease
Ontology, SYMP, HSDN), i.e. what a store holds after ``medkg load-curated --all``.

This is a development set (the vignettes were written while the ranking was being worked on):
figures are optimistic for held-out cases. The issue's anchors: physicians 72 % first / 84 % top-3
(Semigran et al. 2016), symptom checkers 34 % first / 58 % top-20 (Semigran et al. 2015).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._report import machine, write_section  # noqa: E402
from benchmarks.bench_diagnosis import add_noise_option, apply_noise_option, index_from_documents, noise_flag  # noqa: E402
from extractors.linking.normalize import normalize  # noqa: E402
from kg.diagnosis import DiagnosisIndex, rank_diagnoses  # noqa: E402
from kg.diagnosis.rank import NAMED_LOG_LR  # noqa: E402

VIGNETTES = Path(__file__).resolve().parent / "data" / "vignettes.yaml"
FRESH = Path(__file__).resolve().parent / "data" / "vignettes_fresh.yaml"
"""The held-back set: written after the ranking's settings were fixed (2026-12-07) and scored once
before anything was changed on its account; its first reading is the honest estimate for unseen
cases, and every later reading is a development figure like the first set's."""
HELDOUT = Path(__file__).resolve().parent / "data" / "vignettes_heldout.yaml"
"""A third set, written at the end of the day the fresh set's first reading led to changes, by a
writer who had not seen the system's code or outputs, and scored once after those changes."""
HELDOUT2 = Path(__file__).resolve().parent / "data" / "vignettes_heldout2.yaml"
"""A fourth set, written on 2026-12-08 during that day's changes by a writer who had not seen the
system's code, data or outputs, and scored once at the day's end."""
SETS = {"dev": VIGNETTES, "fresh": FRESH, "heldout": HELDOUT, "heldout2": HELDOUT2}
TOP_K = 1000
CURATED = ("hpo", "do", "symp", "hsdn", "common")


def curated_index() -> DiagnosisIndex:
    from itertools import chain

    from loaders.curated import read_curated

    return index_from_documents(chain.from_iterable(read_curated(n) for n in CURATED))


def store_index(args: argparse.Namespace) -> DiagnosisIndex:
    from kg.config import StoreConfig
    from kg.store import open_store

    cfg = (StoreConfig.resolve(kind="neo4j", uri=args.neo4j_uri) if args.neo4j_uri
           else StoreConfig.resolve(kind="ladybug", path=str(args.db)))
    with open_store(cfg, read_only=True, must_exist=True) as store:
        return DiagnosisIndex.from_store(store)


def add_score_options(ap: argparse.ArgumentParser) -> None:
    """``--named-log-lr`` (the weight of a disease the text names) and ``--noise-rate`` (the score's
    :data:`~kg.diagnosis.score.NOISE_RATE`), for sweeps; shared with bench_notes. Apply the
    second with :func:`~benchmarks.bench_diagnosis.apply_noise_option` after parsing."""
    ap.add_argument("--named-log-lr", type=float, default=NAMED_LOG_LR,
                    help=f"log LR a disease the text names gains (default {NAMED_LOG_LR:g}, kg/diagnosis/rank.py)")
    add_noise_option(ap)


def score_flags(args: argparse.Namespace) -> str:
    """The ``--named-log-lr`` / ``--noise-rate`` part of a benchmark's command line, where not the default."""
    return (f" --named-log-lr {args.named_log_lr:g}" if args.named_log_lr != NAMED_LOG_LR else "") + noise_flag(args)


def rank_of(report: Any, v: dict[str, Any], index: DiagnosisIndex | None = None) -> int | None:
    """Position of the first correct candidate: one of the vignette's ids or accepted names, or,
    given the ``index``, a disease the Disease Ontology files under one of the ids (a more specific
    form of the diagnosis: "purulent acute otitis media" for acute otitis media)."""
    ids = set(v.get("ids") or [])
    names = {normalize(n) for n in [v["diagnosis"], *(v.get("accept") or [])]}
    for k, c in enumerate(report.candidates, start=1):
        if c.disease_id in ids or ids & set(c.same_as) or normalize(c.disease_name or "") in names:
            return k
        if index is not None and ids and any(ids & index.disease_ancestors(d) for d in (c.disease_id, *c.same_as)):
            return k
    return None


def stats(rs: list[int | None]) -> str:
    n = len(rs)
    at = lambda k: sum(1 for r in rs if r is not None and r <= k)  # noqa: E731
    mrr = sum(1 / r for r in rs if r) / n
    return f"{n} | {100 * at(1) / n:.0f} % | {100 * at(3) / n:.0f} % | {100 * at(10) / n:.0f} % | {mrr:.3f}"


def summary(rs: list[int | None]) -> str:
    """``stats`` as words: "63: top-1 25 %, top-3 44 %, top-10 59 %, MRR 0.380"."""
    n = len(rs)
    at = lambda k: sum(1 for r in rs if r is not None and r <= k)  # noqa: E731
    mrr = sum(1 / r for r in rs if r) / n if n else 0.0
    return (f"{n}: top-1 {100 * at(1) / n:.0f} %, top-3 {100 * at(3) / n:.0f} %, top-10 {100 * at(10) / n:.0f} %, "
            f"MRR {mrr:.3f}") if n else "none"


def sweep(index: DiagnosisIndex, data: list[dict[str, Any]], weights: list[float]) -> str:
    """Top-k per set for each prior weight; the text is resolved once, then ranked per weight
    from the resolved concept ids (what the text gave)."""
    resolved = []
    for v in data:
        rep = rank_diagnoses(index, text=v["text"], age=v.get("age"), sex=v.get("sex"), top_k=1)
        resolved.append(([f.concept_id for f in rep.findings], [f.concept_id for f in rep.excluded]))
    lines = ["| prior weight | set | vignettes | top-1 | top-3 | top-10 | MRR |", "|---|---|---|---|---|---|---|"]
    for w in weights:
        ranks: dict[str, list[int | None]] = defaultdict(list)
        for v, (present, excluded) in zip(data, resolved):
            r = None
            if present:
                rep = rank_diagnoses(index, findings=present, excluded=excluded, age=v.get("age"), sex=v.get("sex"),
                                     top_k=TOP_K, prior_weight=w)
                r = rank_of(rep, v, index)
            ranks[v["kind"]].append(r)
            ranks["all"].append(r)
        lines += [f"| {w:g} | {k} | {stats(ranks[k])} |" for k in ("common", "rare", "all") if ranks[k]]
        print(lines[-3:], flush=True)
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, help="embedded store to build the index from")
    ap.add_argument("--neo4j-uri", help="Neo4j store to build the index from")
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--set", choices=tuple(SETS), default="dev",
                    help="dev = benchmarks/data/vignettes.yaml (tuned on); fresh = vignettes_fresh.yaml (held back, "
                         "then worked on); heldout = vignettes_heldout.yaml (held back, scored once on 2026-12-07); "
                         "heldout2 = vignettes_heldout2.yaml (held back, scored once on 2026-12-08)")
    add_score_options(ap)
    ap.add_argument("--sweep", help="comma-separated prior weights: report top-k per weight instead (e.g. 0,0.25,0.5,0.75,1)")
    args = ap.parse_args()
    apply_noise_option(args)
    path = SETS[args.set]
    data = yaml.safe_load(path.read_text(encoding="utf-8"))["vignettes"]
    t0 = time.perf_counter()
    index = store_index(args) if (args.db or args.neo4j_uri) else curated_index()
    source = f"store {args.neo4j_uri or args.db}" if (args.db or args.neo4j_uri) else \
        f"in memory from the curated documents of {', '.join(CURATED)}"
    built = time.perf_counter() - t0
    if args.sweep:
        table = sweep(index, data, [float(w) for w in args.sweep.split(",")])
        body = "\n".join([
            "## Diagnosis prior weight (vignettes)", "",
            "Command: `flock /tmp/medkg-cpu.lock .venv/bin/python -m benchmarks.bench_vignettes"
            + (f" --neo4j-uri {args.neo4j_uri}" if args.neo4j_uri else f" --db {args.db}" if args.db else "")
            + f" --sweep {args.sweep}{noise_flag(args)} --write`",
            f"Machine: {machine()}. Index: {source} ({len(index):,} diseases). The weight of log p(D) in the score "
            "(kg/diagnosis/prior.py PRIOR_WEIGHT) is chosen from this sweep together with the simulated HPO patients "
            "(bench_diagnosis --curated): chosen on development data, so optimistic.", "", table,
        ])
        print(body)
        if args.write:
            write_section("diagnosis-prior-sweep", body)
        return
    ranks: dict[str, list[int | None]] = defaultdict(list)
    strict: dict[str, list[int | None]] = defaultdict(list)
    rows = []
    for v in data:
        report = rank_diagnoses(index, text=v["text"], age=v.get("age"), sex=v.get("sex"), top_k=TOP_K,
                                named_log_lr=args.named_log_lr)
        r = rank_of(report, v, index)
        strict[v["kind"]].append(rank_of(report, v))
        ranks[v["kind"]].append(r)
        ranks["all"].append(r)
        top = report.candidates[0].disease_name if report.candidates else "-"
        rows.append(f"| {v['id']} | {v['kind']} | {v['diagnosis']} | {r if r else 'not found'} | {top} | "
                    f"{len(report.findings)} / {len(report.excluded)} / {len(report.unresolved)} |")

    lines = [
        "Command: `flock /tmp/medkg-cpu.lock .venv/bin/python -m benchmarks.bench_vignettes"
        + (f" --neo4j-uri {args.neo4j_uri}" if args.neo4j_uri else f" --db {args.db}" if args.db else "")
        + score_flags(args) + (f" --set {args.set}" if args.set != "dev" else "") + " --write`",
        f"Machine: {machine()}. Index: {source} ({len(index):,} diseases, built in {built:.0f} s).",
        {"dev": f"Data: `benchmarks/data/vignettes.yaml` ({len(data)} vignettes written for this project: development "
                "set, optimistic).",
         "fresh": f"Data: `benchmarks/data/vignettes_fresh.yaml` ({len(data)} vignettes written for this project after "
                  "the ranking's settings were fixed, by a writer who had not seen the ranker's outputs; the first, "
                  "untuned reading is kept below this section; the changes it led to make later readings "
                  "development figures).",
         "heldout": f"Data: `benchmarks/data/vignettes_heldout.yaml` ({len(data)} vignettes written for this project "
                    "by a writer who had seen neither the system's code nor its outputs, scored once when written "
                    "(that reading is kept below this section).",
         "heldout2": f"Data: `benchmarks/data/vignettes_heldout2.yaml` ({len(data)} vignettes written for this project "
                     "on 2026-12-08 by a writer who had seen neither the system's code, data nor its outputs, scored "
                     "once at the end of that day (that reading is kept below this section)."}[args.set],
        "Targets (issue 15, common presentations): top-3 >= 70 %, top-10 >= 85 %.",
        "",
        "| set | vignettes | top-1 | top-3 | top-10 | MRR |",
        "|---|---|---|---|---|---|",
        *(f"| {k} | {stats(ranks[k])} |" for k in ("common", "rare", "all") if ranks[k]),
        "",
        ("A candidate is correct when it carries one of the vignette's ids or accepted names, or the Disease "
         "Ontology files it under one of the ids (a more specific form of the diagnosis). By ids and names only "
         f"(the rule until 2026-12-07): common {summary(strict['common'])}; rare {summary(strict['rare'])}."),
        "",
        "| id | kind | diagnosis | rank | first candidate | findings / excluded / unresolved |",
        "|---|---|---|---|---|---|",
        *rows,
    ]
    title = {"dev": "## Diagnosis on clinical vignettes (free text)",
             "fresh": "## Diagnosis on held-back clinical vignettes (free text)",
             "heldout": "## Diagnosis on a second held-back vignette set (free text)",
             "heldout2": "## Diagnosis on a third held-back vignette set (free text)"}[args.set]
    body = title + "\n\n" + "\n".join(lines)
    print(body)
    if args.write:
        write_section({"dev": "diagnosis-vignettes", "fresh": "diagnosis-vignettes-fresh",
                       "heldout": "diagnosis-vignettes-heldout", "heldout2": "diagnosis-vignettes-heldout2"}[args.set], body)


if __name__ == "__main__":
    main()
