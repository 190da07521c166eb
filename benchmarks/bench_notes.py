"""Diagnosis ranking on real clinical notes (ACI-Bench): history and exam in, ranked diseases out.

    flock /tmp/medkg-cpu.lock .venv/bin/python -m benchmarks.bench_notes [--db PATH | --neo4j-uri URI] [--write] [--limit N]
        [--named-log-lr W] [--noise-rate R]

Cases: ``benchmarks/data/note_cases.yaml``, built by ``benchmarks/map_note_cases.py`` (how the
notes are split, how the assessment's problems were mapped to Disease Ontology ids, which cases
were checked by hand). The case file holds no note text: the input is read from
``shared/data/knowledge/aci_bench`` at run time (the benchmark stops with a message when it is
absent).

Input: the note's history of present illness, review of systems, physical exam and vitals, in
note order, section bodies only (no headers). Not the chief complaint, past history, results or
assessment and plan: in these notes they name the diagnosis (reasons in ``map_note_cases``). A
text over :data:`~kg.diagnosis.rank.MAX_TEXT_CHARS` keeps its leading whole sections that fit
(none of the 87 notes comes near). It goes through :func:`kg.diagnosis.rank_diagnoses` with the
note's age and sex, exactly as ``medkg diagnose``. Index: the store given, else built in memory
from the curated documents as ``bench_vignettes`` builds it (its ``curated_index`` /
``store_index``). A candidate is correct as in ``bench_vignettes.rank_of``: its id is a gold DOID
or its normalised name is a gold DO name.

Figures per split: (a) any gold, the first candidate that is any of the case's gold diagnoses;
(b) primary, the first-listed problem, over the cases that have one. Many visits are follow-ups
whose HPI names the conditions being followed ("past medical history significant for congestive
heart failure"): the "named" column and the "no gold named" row say how often a gold disease's
name is in the input itself (as a mention it becomes a finding, not the answer, but it helps).

This is a development set: the notes were read while this benchmark was being written, and the
ACI-Bench notes are synthetic visits (role-played dialogues, notes written from them), mostly
primary-care and orthopaedic follow-ups, not diagnostic puzzles.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._report import machine, write_section
from benchmarks.bench_diagnosis import apply_noise_option  # noqa: E402
from benchmarks.bench_vignettes import (  # noqa: E402
    TOP_K,
    add_score_options,
    curated_index,
    rank_of,
    summary,
    score_flags,
    store_index,
)
from benchmarks.map_note_cases import (
    ALIASES,
    CASES,
    aci_dir,
    lookup_keys,
    read_notes,
    split_sections,
)
from extractors.linking.normalize import normalize
from kg.diagnosis import rank_diagnoses
from kg.diagnosis.rank import MAX_TEXT_CHARS

Rank = int | None


def input_text(note: str, headers: list[str], *, limit: int = MAX_TEXT_CHARS) -> tuple[str, bool]:
    """The bodies of ``headers`` (note order), joined by blank lines; whole trailing sections are
    dropped while the text is over ``limit`` (a first section over it alone is cut at its last
    paragraph break that fits). Returns the text and whether anything was cut."""
    sections = split_sections(note)
    missing = [h for h in headers if h not in sections]
    if missing:
        raise KeyError(f"sections {missing} not in the note (the case file is out of date: rerun map_note_cases)")
    bodies = [sections[h] for h in headers]
    kept: list[str] = []
    for body in bodies:
        if len("\n\n".join([*kept, body])) > limit:
            break
        kept.append(body)
    if not kept:
        head = bodies[0][:limit]
        cut = head.rfind("\n\n")
        kept = [head[:cut] if cut > 0 else head]
    text = "\n\n".join(kept)
    return text, len(kept) < len(bodies) or text != "\n\n".join(bodies)


def gold_named(text: str, gold: dict[str, Any]) -> bool:
    """Whether the gold disease is named in ``text``: its DO name, the assessment phrase (with
    and without qualifiers) or an alias of its DOID, as whole normalised words."""
    hay = f" {normalize(text)} "
    names = {normalize(gold["name"]), *lookup_keys(gold["phrase"]),
             *(normalize(a) for a, d in ALIASES.items() if d == gold["id"])}
    return any(n and f" {n} " in hay for n in names)


def target(golds: list[dict[str, Any]]) -> dict[str, Any]:
    """Golds in the shape ``bench_vignettes.rank_of`` reads (ids, diagnosis, accepted names)."""
    return {"ids": [g["id"] for g in golds], "diagnosis": golds[0]["name"], "accept": [g["name"] for g in golds[1:]]}


@cache
def notes_of(split: str) -> dict[str, dict[str, str]]:
    return read_notes(split)


def stats(rs: list[Rank]) -> str:
    n = len(rs)
    if not n:
        return "0 | - | - | - | - |"
    at = lambda k: sum(1 for r in rs if r is not None and r <= k)
    mrr = sum(1 / r for r in rs if r) / n
    return f"{n} | {100 * at(1) / n:.0f} % | {100 * at(3) / n:.0f} % | {100 * at(10) / n:.0f} % | {mrr:.3f} |"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, help="embedded store to build the index from")
    ap.add_argument("--neo4j-uri", help="Neo4j store to build the index from")
    ap.add_argument("--write", action="store_true", help="write the section into BENCHMARKS.md")
    ap.add_argument("--limit", type=int, help="only the first N cases (a smoke run)")
    add_score_options(ap)
    args = ap.parse_args()
    apply_noise_option(args)
    if not aci_dir().is_dir():
        print(f"skipped: ACI-Bench notes not found at {aci_dir()} (set MEDKG_SHARED_DATA)", file=sys.stderr)
        return
    cases = yaml.safe_load(CASES.read_text(encoding="utf-8"))["cases"]
    if args.limit is not None:
        cases = cases[: args.limit]
    t0 = time.perf_counter()
    index = store_index(args) if (args.db or args.neo4j_uri) else curated_index()
    source = f"store {args.neo4j_uri or args.db}" if (args.db or args.neo4j_uri) else \
        "in memory from the curated documents, as bench_vignettes.curated_index builds it"
    built = time.perf_counter() - t0
    index_names = {normalize(n) for n in index.disease_names.values()}

    def in_index(g: dict[str, Any]) -> bool:
        """Whether the index holds the gold disease at all (by DOID or DO name): one it lacks
        can never be ranked, whatever the input."""
        return index.position(g["id"]) is not None or normalize(g["name"]) in index_names

    any_rank: dict[str, list[Rank]] = defaultdict(list)
    primary_rank: dict[str, list[Rank]] = defaultdict(list)
    strict_rank: dict[str, list[Rank]] = defaultdict(list)
    rows, truncated, golds, golds_held = [], 0, 0, 0
    t1 = time.perf_counter()
    for c in tqdm(cases, desc="notes", unit="note"):
        row = notes_of(c["split"]).get(c["encounter_id"])
        if row is None:
            raise KeyError(f"{c['id']}: encounter {c['encounter_id']} not in {c['split']}.csv")
        text, cut = input_text(row["note"], c["input_sections"])
        truncated += cut
        report = rank_diagnoses(index, text=text, age=c.get("age"), sex=c.get("sex"), top_k=TOP_K,
                                named_log_lr=args.named_log_lr)
        primary = [g for g in c["gold"] if g["primary"]]
        r_any = rank_of(report, target(c["gold"]), index)
        r_primary = rank_of(report, target(primary), index) if primary else None
        strict_rank["all"].append(rank_of(report, target(c["gold"])))
        named = [gold_named(text, g) for g in c["gold"]]
        held = [in_index(g) for g in c["gold"]]
        golds += len(held)
        golds_held += sum(held)
        groups = [f"{c['corpus']} {c['split']}", "all"] + (["all, no gold named in input"] if not any(named) else [])
        for key in groups:
            any_rank[key].append(r_any)
            if primary:
                primary_rank[key].append(r_primary)
        top = report.candidates[0].disease_name if report.candidates else "-"
        rows.append(
            f"| {c['encounter_id']} | {c['split']} | {primary[0]['name'] if primary else '-'} | "
            f"{(r_primary or 'not found') if primary else '-'} | {r_any or 'not found'} | {top} | "
            f"{sum(named)} / {len(named)} | {sum(held)} / {len(held)} | "
            f"{len(report.findings)} / {len(report.excluded)} / {len(report.unresolved)} |"
        )
    ranked = time.perf_counter() - t1

    splits = list(dict.fromkeys(f"{c['corpus']} {c['split']}" for c in cases))
    checked = sum(1 for c in cases if c.get("checked"))
    lines = [
        "Command: `flock /tmp/medkg-cpu.lock .venv/bin/python -m benchmarks.bench_notes"
        + (f" --neo4j-uri {args.neo4j_uri}" if args.neo4j_uri else f" --db {args.db}" if args.db else "")
        + (f" --limit {args.limit}" if args.limit is not None else "")
        + score_flags(args) + " --write`",
        (f"Machine: {machine()}. Index: {source} ({len(index):,} diseases, built in {built:.0f} s); "
         f"{len(cases)} notes ranked in {ranked:.0f} s."),
        (f"Data: `benchmarks/data/note_cases.yaml` ({len(cases)} ACI-Bench train/valid notes, Yim et al. 2023, "
         f"CC BY 4.0; {checked} hand-checked), built by `benchmarks/map_note_cases.py`: gold = the assessment's "
         "problems mapped to Disease Ontology, input = HPI, review of systems, exam and vitals, read from "
         "shared/data at run time. Development set: the notes were read while writing it; figures are "
         f"optimistic for held-out notes. {truncated} inputs truncated."),
        "",
        "| split | any gold: notes | top-1 | top-3 | top-10 | MRR | primary: notes | top-1 | top-3 | top-10 | MRR |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        *(f"| {k} | {stats(any_rank[k])} {stats(primary_rank[k])}"
          for k in [*splits, "all", "all, no gold named in input"] if any_rank[k]),
        "",
        (f"Gold diseases the index holds at all (by DOID or DO name): {golds_held} of {golds}; the others "
         "can never be ranked. Primary = the first-listed problem, when it maps to DO. A candidate is correct "
         "when it is a gold disease or one the Disease Ontology files under it (a more specific form: type 2 "
         "diabetes mellitus for diabetes mellitus); by ids and names only (the rule until 2026-12-07), all "
         f"notes, any gold: {summary(strict_rank['all'])}."),
        "",
        ("named = gold diseases whose name is in the input text / gold diseases; indexed = gold diseases the "
         "index holds / gold diseases."),
        "",
        ("| encounter | split | primary gold | rank | rank (any gold) | first candidate | named | indexed | "
         "findings / excluded / unresolved |"),
        "|---|---|---|---|---|---|---|---|---|",
        *rows,
    ]
    body = "## Diagnosis on clinical notes (ACI-Bench, free text)\n\n" + "\n".join(lines)
    print(body)
    if args.write:
        write_section("diagnosis-notes", body)


if __name__ == "__main__":
    main()
