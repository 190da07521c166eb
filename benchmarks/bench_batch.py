"""Resumable batch jobs: ``medkg extract`` + ``medkg load`` throughput.

    python benchmarks/bench_batch.py [--docs 200] [--shard-docs 50] [--device auto]

1. Model extraction: the first ``--docs`` BC5CDR dev abstracts as raw text (gold stripped) through
   :func:`kg.batch.run_extract` with the shipped NER + RE models; reports abstracts/s and
   scispacy tokens/s end to end (model loading included) and in steady state (shards after the
   first, which pays for loading), then the cost of re-running the finished job (resume check:
   fingerprinting inputs + fast-forward, no model).
2. Load: those shards into a fresh embedded store, then the re-run (every document unchanged).
3. Gold at corpus scale: BC5CDR train + dev (1,000 abstracts, gold annotations, ``--extract none``)
   extracted and loaded, to show the job overhead and store write rate without a model.

Writes the "batch" section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._report import machine, write_section  # noqa: E402
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=200)
    parser.add_argument("--shard-docs", type=int, default=50)
    parser.add_argument("--device", default="auto")
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

        gold_ex = run_extract([TRAIN, DEV], tmp / "gold", extract="none", shard_docs=250)
        with LadybugStore(tmp / "gold.lbug") as st:
            gold_ld = run_load(tmp / "gold", st)
            gold_stats = st.stats()

    lines = [
        "## Resumable batch jobs (`medkg extract` + `medkg load`)",
        "",
        f"Command: `python benchmarks/bench_batch.py --docs {args.docs} --shard-docs {args.shard_docs} --device {args.device}`.",
        f"Machine: {machine()}.",
        f"Data: first {ex.documents} abstracts of BC5CDR dev as raw text (gold stripped; {tokens:,} scispacy tokens); "
        "BC5CDR train + dev PubTator with gold annotations for the no-model rows.",
        "Models: the shipped defaults (`extractors/models/ner-minilm`, `extractors/models/re-minilm`, default KB).",
        "",
        "| step | documents | seconds | docs/s | tokens/s | notes |",
        "|---|---|---|---|---|---|",
        f"| extract, end to end | {ex.documents} | {ex.seconds:.1f} | {ex.documents / ex.seconds:.1f} | {tokens / ex.seconds:,.0f} "
        f"| {ex.shards} shards; includes input hashing and model loading (in shard 0: {manifest.shards[0].seconds:.1f} s) |",
        f"| extract, steady state (shards 1..) | {steady_docs} | {steady_s:.1f} | {steady_docs / max(steady_s, 1e-9):.1f} "
        f"| {steady_tokens / max(steady_s, 1e-9):,.0f} | {ex.mentions:,} mentions, {ex.relations:,} relations in all |",
        f"| extract re-run of the finished job | {ex.documents} | {rerun_s:.2f} | - | - | manifest check only, no model loaded |",
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
