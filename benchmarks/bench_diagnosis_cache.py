"""What the diagnosis index cache saves: building the index from the store vs loading the one
saved for the same graph, in one run on one store.

    flock /tmp/medkg-cpu.lock .venv/bin/python -m benchmarks.bench_diagnosis_cache [--db PATH | --neo4j-uri URI] [--write]

Timed: the graph fingerprint alone; ``DiagnosisIndex.from_store`` (what every ``medkg diagnose``
call did before); ``cached_index`` on a cold cache (fingerprint + build + save) and warm
(fingerprint + load). The cache goes to a temporary folder, not the user's.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._report import machine, write_section  # noqa: E402
from kg.config import StoreConfig  # noqa: E402
from kg.diagnosis import DiagnosisIndex  # noqa: E402
from kg.diagnosis.cache import cached_index, graph_fingerprint  # noqa: E402
from kg.store import open_store  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path)
    ap.add_argument("--neo4j-uri")
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    cfg = (StoreConfig.resolve(kind="neo4j", uri=args.neo4j_uri) if args.neo4j_uri
           else StoreConfig.resolve(kind="ladybug", path=str(args.db)))
    timings: list[tuple[str, float]] = []
    with open_store(cfg, read_only=True, must_exist=True) as store, tempfile.TemporaryDirectory() as tmp:
        counts = store.stats()

        def timed(label: str, fn):  # type: ignore[no-untyped-def]
            t0 = time.perf_counter()
            out = fn()
            timings.append((label, time.perf_counter() - t0))
            return out

        timed("graph fingerprint (document ids + content hashes)", lambda: graph_fingerprint(store))
        index = timed("build from the store (`DiagnosisIndex.from_store`, no cache)", lambda: DiagnosisIndex.from_store(store))
        _, hit = timed("`cached_index`, cold (fingerprint + build + save)", lambda: cached_index(store, directory=Path(tmp)))
        assert not hit
        _, hit = timed("`cached_index`, warm (fingerprint + load)", lambda: cached_index(store, directory=Path(tmp)))
        assert hit
        size = sum(p.stat().st_size for p in Path(tmp).glob("*.pickle"))
    build = timings[1][1]
    lines = [
        "Command: `flock /tmp/medkg-cpu.lock .venv/bin/python -m benchmarks.bench_diagnosis_cache"
        + (f" --neo4j-uri {args.neo4j_uri}" if args.neo4j_uri else f" --db {args.db}") + " --write`",
        f"Machine: {machine()}. Store: {cfg.kind} ({counts.get('Document', 0):,} documents, "
        f"{counts.get('HAS_SYMPTOM', 0):,} HAS_SYMPTOM; index: {len(index):,} diseases; cache file {size / 1e6:.0f} MB).",
        "",
        "| step | seconds | vs build |",
        "|---|---|---|",
        *(f"| {label} | {s:.2f} | {s / build:.2f}x |" for label, s in timings),
    ]
    body = "## Diagnosis index cache\n\n" + "\n".join(lines)
    print(body)
    if args.write:
        write_section("diagnosis-cache", body)


if __name__ == "__main__":
    main()
