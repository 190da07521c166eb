"""Diagnosis time limit: what a real note costs and what a hostile query costs, with and without
the API's limit; writes the "diagnosis-limits" section.

Run: ``flock /tmp/medkg-cpu.lock .venv/bin/python -m benchmarks.bench_diagnosis_limits [--no-write]``

Index: in memory from the curated documents (as ``bench_vignettes.curated_index``). Inputs: the
first ACI-Bench train note's history and exam (as ``bench_notes`` reads it), the first 20,000
characters (the API's cap) of the ACI-Bench train notes joined, and 200 findings of 200
characters drawn (seed 1) from words the name lookup cuts at, built to make each name cost as many
lookups as it can. Models are loaded before any timing (as the API does before its clock).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._report import machine, write_section  # noqa: E402
from benchmarks.bench_notes import notes_of  # noqa: E402
from benchmarks.map_note_cases import aci_dir  # noqa: E402
from benchmarks.bench_vignettes import curated_index  # noqa: E402
from kg.diagnosis import DiagnosisTimeoutError, rank_diagnoses  # noqa: E402

HOSTILE_WORDS = "pain of the swelling near left with redness after in on around bilateral severe noted".split()


def hostile_findings(n: int = 200, chars: int = 200, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        words: list[str] = []
        while len(" ".join(words)) < chars - 10:
            words.append(rng.choice(HOSTILE_WORDS))
        out.append(" ".join(words)[: chars - 1])
    return out


def timed(index, limit: float | None, **kwargs) -> tuple[float, str]:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    try:
        rank_diagnoses(index, timeout_s=limit, **kwargs)
        outcome = "answered"
    except DiagnosisTimeoutError:
        outcome = "stopped at the limit"
    return time.perf_counter() - started, outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-write", action="store_true", help="print, do not update BENCHMARKS.md")
    args = parser.parse_args()
    if not aci_dir().is_dir():
        sys.exit(f"ACI-Bench notes not found at {aci_dir()} (set MEDKG_SHARED_DATA)")
    index = curated_index()
    rank_diagnoses(index, text="Fever and cough.", findings=["fever"])  # loads the models, as the API's warm-up
    notes = [row["note"] for row in notes_of("train").values()]
    one = notes[0]
    joined = "\n\n".join(notes)[:20_000]
    hostile = hostile_findings()
    rows = [
        (f"one ACI-Bench note ({len(one):,} characters)", None, {"text": one}),
        (f"ACI-Bench notes joined ({len(joined):,} characters, the API's cap)", None, {"text": joined}),
        ("200 hostile findings of 200 characters", None, {"findings": hostile}),
        ("200 hostile findings of 200 characters", 5.0, {"findings": hostile}),
        ("200 hostile findings of 200 characters", 10.0, {"findings": hostile}),
    ]
    lines = ["| input | limit | seconds | outcome |", "|---|---|---|---|"]
    for name, limit, kwargs in rows:
        seconds, outcome = timed(index, limit, **kwargs)
        lines.append(f"| {name} | {'none' if limit is None else f'{limit:g} s'} | {seconds:.1f} | {outcome} |")
        print(lines[-1], flush=True)
    body = "\n".join([
        "## Diagnosis time limit (`/v1/diagnosis/rank`, `MEDKG_API_DIAGNOSIS_TIMEOUT_S`)",
        "",
        "Command: `flock /tmp/medkg-cpu.lock .venv/bin/python -m benchmarks.bench_diagnosis_limits`",
        f"Machine: {machine()}. Index: in memory from the curated documents (as bench_vignettes builds it); "
        "models loaded before timing. Data: ACI-Bench train notes (shared/data), hostile names built by the script "
        "(seed 1). One run each: wall-clock seconds of `rank_diagnoses(..., timeout_s=limit)`.",
        "",
        *lines,
    ])
    if args.no_write:
        print(body)
    else:
        write_section("diagnosis-limits", body)


if __name__ == "__main__":
    main()
