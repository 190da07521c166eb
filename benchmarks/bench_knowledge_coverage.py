"""Disease-finding knowledge of the Disease Ontology slim's common diseases, per curated source.

    flock /tmp/medkg-cpu.lock .venv/bin/python -m benchmarks.bench_knowledge_coverage [--write]

For each of the 137 DO slim "common disease" terms (``../shared/data/knowledge/do_slim_2016``):
the number of distinct findings (``HAS_SYMPTOM`` tails) each curated source gives the DOID itself
or an id the DOID lists as an xref (HPO annotates OMIM/ORPHA ids, not DOIDs), and all sources
together as the diagnosis index sees them. Reported: diseases with >= 1 and >= 5 findings per
source (the issue's bar is >= 5 for every slim disease), and the slim terms below 5 overall.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._report import machine, write_section  # noqa: E402
from loaders.curated import read_curated  # noqa: E402
from loaders.curated._common import SHARED_KNOWLEDGE  # noqa: E402

SOURCES = ("hpo", "do", "hsdn", "common")
BAR = 5


def slim_terms() -> dict[str, str]:
    """Slim DOID -> name; a 2016 DOID the current Disease Ontology release no longer has is
    replaced by the current DOID with the same label (pleural cancer DOID:9917 -> DOID:5158)."""
    with (SHARED_KNOWLEDGE / "do_slim_2016" / "slim-terms.tsv").open(encoding="utf-8") as fh:
        slim = {r["doid"]: r["name"] for r in csv.DictReader(fh, delimiter="\t")}
    with (SHARED_KNOWLEDGE / "disease_ontology" / "HumanDO.tsv").open(encoding="utf-8") as fh:
        current = {r["id"]: r["label"] for r in csv.DictReader(fh, delimiter="\t")}
    by_label = {label: doid for doid, label in current.items()}
    return {(d if d in current else by_label.get(name, d)): name for d, name in slim.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    slim = slim_terms()
    findings: dict[str, dict[str, set[str]]] = {s: defaultdict(set) for s in SOURCES}
    xrefs: dict[str, set[str]] = defaultdict(set)
    for source in SOURCES:
        for doc in read_curated(source):
            for c in doc.concepts:
                if c.properties.get("xrefs"):
                    xrefs[c.concept_id].update(c.properties["xrefs"])
            for r in doc.relations:
                if r.type == "HAS_SYMPTOM":
                    findings[source][r.head_id].add(r.tail_id)

    def of(source: str, doid: str) -> set[str]:
        out = set(findings[source].get(doid, ()))
        for x in xrefs.get(doid, ()):
            out |= findings[source].get(x, set())
        return out

    rows = ["| source | slim diseases with >= 1 finding | with >= 5 findings | median findings (those with any) |",
            "|---|---|---|---|"]
    for source in (*SOURCES, "all"):
        counts = [len(set().union(*(of(s, d) for s in SOURCES))) if source == "all" else len(of(source, d)) for d in slim]
        nonzero = sorted(c for c in counts if c)
        median = nonzero[len(nonzero) // 2] if nonzero else 0
        rows.append(f"| {source} | {sum(1 for c in counts if c)} / {len(slim)} | "
                    f"{sum(1 for c in counts if c >= BAR)} / {len(slim)} | {median} |")
    below = sorted((len(set().union(*(of(s, d) for s in SOURCES))), name, d) for d, name in slim.items())
    below = [(n, name, d) for n, name, d in below if n < BAR]
    body = "\n".join([
        "## Diagnosis knowledge coverage (Disease Ontology slim common diseases)", "",
        "Command: `flock /tmp/medkg-cpu.lock .venv/bin/python -m benchmarks.bench_knowledge_coverage --write`",
        f"Machine: {machine()}. Data: the {len(slim)} DO slim terms of `../shared/data/knowledge/do_slim_2016`; "
        "distinct HAS_SYMPTOM findings of the DOID or of an id it lists as an xref, per curated source.", "",
        *rows, "",
        f"Slim terms with fewer than {BAR} findings over all sources ({len(below)}): "
        + ("; ".join(f"{name} ({d}, {n})" for n, name, d in below) or "none") + ".",
    ])
    print(body)
    if args.write:
        write_section("diagnosis-knowledge-coverage", body)


if __name__ == "__main__":
    main()
