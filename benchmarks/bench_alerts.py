"""Would a pharmacist trust the interaction check? Alert quality on a labelled set of medication
lists, and recall of the ONC high-priority pairs, on stores loaded with different DDI sources.

    flock /tmp/medkg-cpu.lock .venv/bin/python benchmarks/bench_alerts.py \
        --store "pddi + critical (default sources)=/tmp/medkg-a1/graph.lbug" \
        --store "pddi + critical + ddinter=/tmp/medkg-a2/graph.lbug" \
        --store "pddi + critical + ddinter + pddi-drugbank=/tmp/medkg-a3/graph.lbug" [--neo4j NAME=bolt://...] --write

Build the stores first (each a fresh ``--db``): ``medkg load-curated pddi critical``, then
``medkg load-curated pddi critical ddinter --accept-noncommercial``, then also ``pddi-drugbank``.

**(a) ONC high-priority recall.** Every ONC high-priority pair of ``public_pddi`` (Phansalkar
et al. 2012, as DrugBank-mapped by Ayvaz et al. 2015) whose two drugs are Drug nodes of the
store, checked *by the names the list uses* (so resolution is part of the path): found when the
check reports the pair as an ``interrupt`` alert. The pairs are loaded from the same list by
default, so this measures the path from name to alert, not coverage.

**(b) Labelled medication lists** (``benchmarks/data/medication_lists.yaml``, written by hand from
standard references, not from this project's data): per list the expected interactions, lists
that should raise no interrupting alert, and inputs that should stay unresolved. Scored:

* expected interrupt-level (contraindicated/major) pairs found as an alert between the two inputs
  (``interactions``; a combination product counts through any of its ingredients); separately,
  found when inferred class alerts count too;
* tier correct: contraindicated/major -> ``interrupt``, moderate -> ``warn``; exact severity;
* false interrupt: lists marked ``expect_no_interrupt`` that get any ``interrupt`` alert;
* resolution: inputs that should resolve and did, per list kind (brand, combination, salt,
  misspelling...), and expected-unresolved inputs left unresolved (nothing far-fetched chosen).
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._report import machine, write_section  # noqa: E402
from kg.config import StoreConfig  # noqa: E402
from kg.interactions import DrugResolver, InteractionReport, check_interactions  # noqa: E402
from kg.store import GraphStore, open_store  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
PDDI = SHARED / "knowledge" / "public_pddi" / "merged_pddi_public_subset.tsv"
LISTS = Path(__file__).resolve().parent / "data" / "medication_lists.yaml"
INTERRUPT = {"contraindicated", "major"}
TARGETS = {"onc_recall": 95.0, "major_found": 95.0, "false_interrupt": 5.0, "resolved": 95.0}


def onc_pairs() -> list[tuple[str, str, str, str]]:
    """(id_a, name_a, id_b, name_b) of the ONC high-priority list, one per unordered pair."""
    seen: dict[tuple[str, str], tuple[str, str, str, str]] = {}
    with open(PDDI, encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            if row["source"] != "ONC-HighPriority":
                continue
            a = "DRUGBANK:" + row["drug1"].rsplit(":", 1)[-1]
            b = "DRUGBANK:" + row["drug2"].rsplit(":", 1)[-1]
            if a == b:
                continue
            na, nb = (" ".join(row[c].replace("_", " ").split()) for c in ("object", "precipitant"))
            key = (min(a, b), max(a, b))
            seen.setdefault(key, (a, na, b, nb))
    return [seen[k] for k in sorted(seen)]


def onc_recall(store: GraphStore, resolver: DrugResolver) -> dict[str, Any]:
    pairs = onc_pairs()
    ids = sorted({x for a, _, b, _ in pairs for x in (a, b)})
    known = {r["id"] for r in store.query("MATCH (d:Drug) WHERE d.id IN $ids RETURN d.id AS id", {"ids": ids})}
    eligible = [p for p in pairs if p[0] in known and p[2] in known]
    found, missed = 0, []
    for a, na, b, nb in eligible:
        rep = check_interactions(store, [na, nb], resolver=resolver, include_evidence=False)
        if any(x.tier == "interrupt" for x in rep.interactions):
            found += 1
        else:
            missed.append(f"{na} + {nb}")
    return {"pairs": len(pairs), "eligible": len(eligible), "found": found, "missed": missed}


def _pair_inputs(x: Any) -> tuple[str, str]:
    return (x.drug_a.input, x.drug_b.input)


def score_lists(store: GraphStore, resolver: DrugResolver, data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = defaultdict(int)
    out["missed"], out["false"], out["wrong_tier"], out["unresolved_bad"] = [], [], [], []
    per_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    times = []
    for lst in data["lists"]:
        t0 = time.perf_counter()
        rep: InteractionReport = check_interactions(store, lst["drugs"], resolver=resolver)
        times.append((time.perf_counter() - t0) * 1000)
        alerts = {frozenset(_pair_inputs(x)): x for x in rep.interactions}
        documented = {frozenset(_pair_inputs(x)): x for x in rep.also_documented}
        inferred = {frozenset((a.drug_a.input, a.drug_b.input)) for a in rep.class_alerts if a.kind == "class_interaction"}
        for exp in lst.get("expect") or []:
            key = frozenset(exp["drugs"])
            level = exp["severity"]
            bucket = "major" if level in INTERRUPT else "moderate"
            out[f"{bucket}_expected"] += 1
            hit = alerts.get(key)
            if hit is not None:
                out[f"{bucket}_found"] += 1
                want = "interrupt" if level in INTERRUPT else "warn"
                out[f"{bucket}_tier_ok"] += hit.tier == want
                out[f"{bucket}_severity_ok"] += hit.severity.lower() == level
                if hit.tier != want:
                    out["wrong_tier"].append(f"{lst['id']} {' + '.join(exp['drugs'])}: {hit.severity} ({hit.tier}), expected {level}")
            else:
                out["missed"].append(f"{lst['id']} {' + '.join(exp['drugs'])} ({level})"
                                     + (" [also documented]" if key in documented else "")
                                     + (" [class alert]" if key in inferred else ""))
            out[f"{bucket}_found_or_inferred"] += hit is not None or key in inferred
        if lst.get("expect_no_interrupt"):
            out["none_lists"] += 1
            bad = [x for x in rep.interactions if x.tier == "interrupt"]
            if bad:
                out["false_interrupt"] += 1
                out["false"].append(f"{lst['id']}: " + "; ".join(f"{x.drug_a.input} + {x.drug_b.input} {x.severity}" for x in bad[:3]))
        unresolved = {u.input for u in rep.unresolved}
        expect_unres = set(lst.get("expect_unresolved") or [])
        for name in lst["drugs"]:
            if name in expect_unres:
                out["expect_unres"] += 1
                out["expect_unres_ok"] += name in unresolved
                if name not in unresolved:
                    out["unresolved_bad"].append(f"{lst['id']} {name!r} resolved (expected unresolved)")
            else:
                per_kind[lst["kind"]][1] += 1
                per_kind[lst["kind"]][0] += name not in unresolved
                if name in unresolved:
                    out["unresolved_bad"].append(f"{lst['id']} {name!r} unresolved ({lst['kind']})")
    out["per_kind"] = dict(per_kind)
    out["ms_p50"] = statistics.median(times)
    return out


def pct(a: int, b: int) -> str:
    return f"{100 * a / b:.1f} % ({a}/{b})" if b else "-"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", action="append", default=[], help="LABEL=PATH of an embedded store (repeatable)")
    ap.add_argument("--neo4j", action="append", default=[], help="LABEL=BOLT_URI of a Neo4j store (repeatable)")
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    data = yaml.safe_load(LISTS.read_text(encoding="utf-8"))
    resolver = DrugResolver().warm()
    stores = [(lab, StoreConfig.resolve(kind="ladybug", path=p)) for lab, p in (s.split("=", 1) for s in args.store)]
    stores += [(lab, StoreConfig.resolve(kind="neo4j", uri=u)) for lab, u in (s.split("=", 1) for s in args.neo4j)]
    n_lists = len(data["lists"])
    lines = [
        "Command: `flock /tmp/medkg-cpu.lock .venv/bin/python benchmarks/bench_alerts.py "
        + " ".join(f'--store "{s}"' for s in args.store) + " ".join(f' --neo4j "{s}"' for s in args.neo4j) + " --write`",
        f"Machine: {machine()}.",
        f"Data: `benchmarks/data/medication_lists.yaml` ({n_lists} lists written by hand from standard references; "
        "see its header) and the ONC high-priority rows of `../shared/data/knowledge/public_pddi`. Stores: fresh "
        "`medkg load-curated` of the DDI sources named in each row (DDInter and pddi-drugbank are opt-in, non-commercial).",
        "",
        "| store | ONC high-priority pairs found as interrupt alerts (by name) | expected major/contraindicated found | "
        "... incl. inferred class alerts | tier right (found majors) | severity exact (found majors) | moderate found | "
        "lists that should raise none with an interrupt alert | inputs resolved (excl. expected-unresolved) | "
        "expected-unresolved left unresolved | check p50 ms (names) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    details = []
    for label, cfg in stores:
        store = open_store(cfg, read_only=True, must_exist=True)
        try:
            onc = onc_recall(store, resolver)
            s = score_lists(store, resolver, data)
        finally:
            store.close()
        resolved = sum(v[0] for v in s["per_kind"].values())
        total = sum(v[1] for v in s["per_kind"].values())
        lines.append(
            f"| {label} ({cfg.kind}) | {pct(onc['found'], onc['eligible'])} of {onc['pairs']} listed | "
            f"{pct(s['major_found'], s['major_expected'])} | {pct(s['major_found_or_inferred'], s['major_expected'])} | "
            f"{pct(s['major_tier_ok'], s['major_found'])} | {pct(s['major_severity_ok'], s['major_found'])} | "
            f"{pct(s['moderate_found'], s['moderate_expected'])} | {pct(s['false_interrupt'], s['none_lists'])} | "
            f"{pct(resolved, total)} | {pct(s['expect_unres_ok'], s['expect_unres'])} | {s['ms_p50']:.1f} |"
        )
        kinds = ", ".join(f"{k} {pct(*v)}" for k, v in sorted(s["per_kind"].items()))
        details += [f"**{label} ({cfg.kind})**: resolution by list kind: {kinds}.",
                    "", f"- missed expected pairs ({len(s['missed'])}): " + ("; ".join(s["missed"]) or "none"),
                    "- wrong tier: " + ("; ".join(s["wrong_tier"]) or "none"),
                    "- false interrupt alerts: " + ("; ".join(s["false"]) or "none"),
                    "- resolution misses: " + ("; ".join(s["unresolved_bad"]) or "none"),
                    f"- ONC pairs not found ({len(onc['missed'])}): " + ("; ".join(onc["missed"][:15]) or "none")
                    + (" ..." if len(onc["missed"]) > 15 else ""), ""]
    lines += ["", f"Targets (issue 14): ONC recall >= {TARGETS['onc_recall']:.0f} %, expected majors found >= "
              f"{TARGETS['major_found']:.0f} %, false interrupt <= {TARGETS['false_interrupt']:.0f} % of lists that "
              f"should raise none, combination brands and salts resolved >= {TARGETS['resolved']:.0f} %.", ""]
    body = "## Interaction alerts: labelled medication lists and ONC high-priority recall\n\n" + "\n".join(lines + details)
    print(body)
    if args.write:
        write_section("alerts", body)


if __name__ == "__main__":
    main()
