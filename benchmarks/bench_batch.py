"""Resumable batch jobs: ``medkg extract`` + ``medkg load`` throughput.

    python benchmarks/bench_batch.py [--docs 200] [--shard-docs 50] [--device auto] [--ray-workers 2 | --no-ray]

1. Model extraction: the first ``--docs`` BC5CDR dev abstracts as raw text (gold stripped) through
   :func:`kg.batch.run_extract` with the shipped NER + RE models; reports abstracts/s and
   scispacy tokens/s end to end (model loading included) and in steady state (shards after the
   first, which pays for loading), then the cost of re-running the finished job (resume check:
   fingerprinting inputs + fast-forward, no model).
2. Load: those shards into a fresh embedded store, then the re-run (every document unchanged).
   With Ray installed, the same extraction again with ``--engine ray`` on a local Ray started by
   the script (timed on its own) with ``--ray-workers`` CPU actors, checking that its shards are
   byte-identical to the local engine's.
3. Gold at corpus scale: BC5CDR train + dev (1,000 abstracts, gold annotations, ``--extract none``)
   extracted and loaded, to show the job overhead and store write rate without a model.

Writes the "batch" section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._report import machine, precision, write_section  # noqa: E402
from extractors.config import PipelineConfig  # noqa: E402
from kg.batch import read_manifest, run_extract, run_load  # noqa: E402
from kg.store.ladybug_store import LadybugStore  # noqa: E402
from loaders import read_documents  # noqa: E402

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "data" / "corpora" / "bc5cdr" / "pubtator"
DEV = CORPUS / "CDR_DevelopmentSet.PubTator.txt"
TRAIN = CORPUS / "CDR_TrainingSet.PubTator.txt"


def _raw_pubtator(n: int, path: Path) -> list[str]:
    """The first ``n`` dev abstracts as PubTator title/abstract lines without annotations."""
    texts, blocks = [], []
    for _, d in zip(range(n), read_documents(DEV)):
        title = d.title or ""
        abstract = d.text[len(title) :].lstrip(" ") if d.text.startswith(title) else d.text
        pmid = d.id.split(":")[-1]
        blocks.append(f"{pmid}|t|{title}\n{pmid}|a|{abstract}\n")
        texts.append(d.text)
    path.write_text("\n".join(blocks) + "\n", encoding="utf-8")
    return texts


def _tokens(texts: list[str]) -> int:
    import spacy
    from scispacy.custom_tokenizer import combined_rule_tokenizer

    nlp = spacy.blank("en")
    nlp.tokenizer = combined_rule_tokenizer(nlp)
    return sum(len(nlp.make_doc(t)) for t in texts)


def _compare(a: Path, b: Path, *, why: str) -> str:
    """How two extraction directories' documents differ: not at all, only in scores, or more."""
    import gzip
    import json

    def docs(d: Path) -> list[dict]:
        return [json.loads(line) for f in sorted(d.glob("shard-*")) for line in gzip.decompress(f.read_bytes()).splitlines()]

    def strip(doc: dict) -> dict:
        return {**doc, "mentions": [{**m, "score": None} for m in doc["mentions"]],
                "relations": [{**r, "score": None} for r in doc["relations"]]}

    left, right = docs(a), docs(b)
    if [f.read_bytes() for f in sorted(a.glob("shard-*"))] == [f.read_bytes() for f in sorted(b.glob("shard-*"))]:
        return "byte-identical"
    differ = [(x, y) for x, y in zip(left, right, strict=True) if x != y]
    if any(strip(x) != strip(y) for x, y in differ):
        return f"{len(differ)} documents differ beyond scores"
    delta = max(abs(u["score"] - v["score"]) for x, y in differ for key in ("mentions", "relations")
                for u, v in zip(x[key], y[key]) if u["score"] != v["score"])
    return f"{len(differ)} of {len(left)} documents differ, only in scores (max abs. difference {delta:.1g}): {why}"


def _ray_rows(raw: Path, tmp: Path, cfg: PipelineConfig, args: argparse.Namespace, *, local: Path, tokens: int) -> list[str]:
    """The extraction again on a local Ray: start-up timed apart, then ``--engine ray``."""
    try:
        import ray
    except ImportError:
        return ["| extract, Ray engine | - | - | - | - | skipped: Ray not installed (`pip install 'medkg[ray]'`) |"]
    from kg.batch import RayOptions

    t = time.perf_counter()
    ray.init(address="local", include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    start_s = time.perf_counter() - t
    try:
        ex = run_extract([raw], tmp / "ray", pipeline=cfg, shard_docs=args.shard_docs, engine="ray",
                         ray=RayOptions(workers=args.ray_workers))
    finally:
        ray.shutdown()
    manifest = read_manifest(tmp / "ray")
    assert manifest is not None and manifest.complete
    import torch

    same = _compare(local, tmp / "ray", why=f"1 torch thread per actor vs {torch.get_num_threads()} in the local run, see docs/BATCH.md")
    # No steady-state row: actors extract several shards at once, so per-shard times overlap.
    return [
        f"| extract, Ray engine ({args.ray_workers} CPU actors, 1 torch thread each), end to end | {ex.documents} | {ex.seconds:.1f} "
        f"| {ex.documents / ex.seconds:.1f} | {tokens / ex.seconds:,.0f} | plus {start_s:.1f} s starting a local Ray; each actor loads "
        f"the models (first shard back after {manifest.shards[0].seconds:.1f} s); the driver shares the {os.cpu_count()} cores; "
        f"shards vs the local run: {same} |",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=200)
    parser.add_argument("--shard-docs", type=int, default=50)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--ray-workers", type=int, default=2, help="CPU actors for the Ray engine rows")
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray engine rows")
    args = parser.parse_args()
    if not DEV.exists():
        sys.exit(f"shared data not available: {DEV}")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        raw = tmp / "dev_raw.pubtator"
        texts = _raw_pubtator(args.docs, raw)
        tokens = _tokens(texts)
        cfg = PipelineConfig(device=args.device)
        ex = run_extract([raw], tmp / "x", pipeline=cfg, shard_docs=args.shard_docs)
        manifest = read_manifest(tmp / "x")
        assert manifest is not None and manifest.complete
        steady = manifest.shards[1:]
        steady_docs, steady_s = sum(s.docs for s in steady), sum(s.seconds for s in steady)
        steady_tokens = tokens * steady_docs / max(ex.documents, 1)  # shards hold equal-sized random abstracts
        t = time.perf_counter()
        rerun = run_extract([raw], tmp / "x", pipeline=cfg, shard_docs=args.shard_docs)
        rerun_s = time.perf_counter() - t
        assert rerun.shards_written == 0
        with LadybugStore(tmp / "model.lbug") as st:
            ld = run_load(tmp / "x", st)
            ld2 = run_load(tmp / "x", st)
            stats = st.stats()

        ray_rows = [] if args.no_ray else _ray_rows(raw, tmp, cfg, args, local=tmp / "x", tokens=tokens)

        gold_ex = run_extract([TRAIN, DEV], tmp / "gold", extract="none", shard_docs=250)
        with LadybugStore(tmp / "gold.lbug") as st:
            gold_ld = run_load(tmp / "gold", st)
            gold_stats = st.stats()

    lines = [
        "## Resumable batch jobs (`medkg extract` + `medkg load`)",
        "",
        f"Command: `python benchmarks/bench_batch.py --docs {args.docs} --shard-docs {args.shard_docs} --device {args.device}`.",
        f"Machine: {machine()}; inference {precision(args.device)}.",
        f"Data: first {ex.documents} abstracts of BC5CDR dev as raw text (gold stripped; {tokens:,} scispacy tokens); "
        "BC5CDR train + dev PubTator with gold annotations for the no-model rows.",
        "Models: the shipped defaults (`extractors/models/ner-minilm`, `extractors/models/re-minilm`, "
        "`extractors/models/re-symptom-minilm`, default KB).",
        "",
        "| step | documents | seconds | docs/s | tokens/s | notes |",
        "|---|---|---|---|---|---|",
        f"| extract, end to end | {ex.documents} | {ex.seconds:.1f} | {ex.documents / ex.seconds:.1f} | {tokens / ex.seconds:,.0f} "
        f"| {ex.shards} shards; includes input hashing and model loading (in shard 0: {manifest.shards[0].seconds:.1f} s) |",
        f"| extract, steady state (shards 1..) | {steady_docs} | {steady_s:.1f} | {steady_docs / max(steady_s, 1e-9):.1f} "
        f"| {steady_tokens / max(steady_s, 1e-9):,.0f} | {ex.mentions:,} mentions, {ex.relations:,} relations in all |",
        f"| extract re-run of the finished job | {ex.documents} | {rerun_s:.2f} | - | - | manifest check only, no model loaded |",
        *ray_rows,
        f"| load into a fresh embedded store | {ld.documents} | {ld.seconds:.1f} | {ld.docs_per_second:.1f} | - "
        f"| {stats['Drug']:,} Drug, {stats['Disease']:,} Disease, {stats['Symptom']:,} Symptom, {stats['Evidence']:,} evidence |",
        f"| load re-run (already loaded) | {ld2.documents} | {ld2.seconds:.2f} | - | - | {ld2.shards_skipped} shards skipped after checking the last one |",
        f"| gold extract (`--extract none`) | {gold_ex.documents} | {gold_ex.seconds:.1f} | {gold_ex.documents / gold_ex.seconds:.0f} | - "
        f"| {gold_ex.shards} shards, {gold_ex.mentions:,} mentions, {gold_ex.relations:,} relations |",
        f"| gold load | {gold_ld.documents} | {gold_ld.seconds:.1f} | {gold_ld.docs_per_second:.0f} | - "
        f"| {gold_stats['Document']:,} documents, {gold_stats['Evidence']:,} evidence, {gold_stats['CAUSES_ADVERSE_EFFECT']:,} CID edges |",
        "",
        "Resume exactness is tested with real SIGKILLs in `tests/kg/test_batch.py`, not measured here.",
    ]
    write_section("batch", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
