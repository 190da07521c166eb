"""Full extraction pipeline throughput on raw abstracts (BC5CDR dev text, annotations stripped).

    python benchmarks/bench_pipeline.py [--docs 200] [--device auto]

Runs sentence splitting, abbreviations, transformer NER, assertion, linking and transformer RE
with the shipped default models, reports abstracts/s and tokens/s (scispacy tokens) overall and
the time per stage, then builds the extracted graph into a fresh embedded store to show what
it yields. In the same run: the pipeline without the document-scope symptom model, and, where
the default is bf16 autocast on CPU (a CPU with native bf16), the pipeline in fp32. Writes the
"pipeline" section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._report import machine, precision, write_section  # noqa: E402
from extractors.config import PipelineConfig  # noqa: E402
from extractors.pipeline import ExtractionPipeline  # noqa: E402
from kg.build import build_batch  # noqa: E402
from schema.records import Document  # noqa: E402
from kg.store.ladybug_store import LadybugStore  # noqa: E402
from loaders import read_documents  # noqa: E402

DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "corpora" / "bc5cdr" / "pubtator" / "CDR_DevelopmentSet.PubTator.txt"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=200)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    docs = [
        Document(id=d.id, source_format="text", text=d.text, title=d.title, kind="literature")
        for _, d in zip(range(args.docs), read_documents(DEV))
    ]
    t0 = time.perf_counter()
    pipe = ExtractionPipeline(PipelineConfig(device=args.device, batch_size=args.batch_size))
    load_s = time.perf_counter() - t0
    pipe.process(docs[:4])  # warm-up (lazy KB index, first CUDA/CPU kernels)

    # per-stage timing over the spaCy components (relation extraction is the medkg_relations component)
    stage: Counter[str] = Counter()
    texts = [d.text for d in docs]
    t = time.perf_counter()
    sdocs = [pipe.nlp.make_doc(x) for x in texts]
    stage["tokenizer"] += time.perf_counter() - t
    for name, proc in pipe.nlp.pipeline:
        t = time.perf_counter()
        sdocs = list(proc.pipe(sdocs)) if hasattr(proc, "pipe") else [proc(d) for d in sdocs]
        stage[name] += time.perf_counter() - t
    tokens = sum(len(d) for d in sdocs)

    t = time.perf_counter()
    out = pipe.process(docs)
    total = time.perf_counter() - t
    mentions = sum(len(d.mentions) for d in out)
    relations = Counter(r.type for d in out for r in d.relations)
    linked = sum(1 for d in out for m in d.mentions if m.concept_id)
    # baseline in the same run: the main relation model alone (its sentence-scope symptom head)
    alone = ExtractionPipeline(PipelineConfig(device=args.device, batch_size=args.batch_size, re_symptom_model=None))
    alone.process(docs[:4])
    t = time.perf_counter()
    out_alone = alone.process(docs)
    total_alone = time.perf_counter() - t
    relations_alone = Counter(r.type for d in out_alone for r in d.relations)
    fp32_line = ""
    used = pipe.nlp.get_pipe("medkg_relations").extractor.model.device
    if used.bf16 and used.type == "cpu":
        # this CPU computes bf16 natively, so the default above is bf16 autocast: fp32 too, same run
        del alone
        gc.collect()
        full = ExtractionPipeline(PipelineConfig(device=args.device, batch_size=args.batch_size, bf16=False))
        full.process(docs[:4])
        t = time.perf_counter()
        full.process(docs)
        total_fp32 = time.perf_counter() - t
        fp32_line = (f"- in fp32 (`MEDKG_CPU_BF16=0`, same run): {len(docs) / total_fp32:.1f} abstracts/s "
                     f"({total_fp32 / total:.2f} x the time of bf16 autocast)")
    with tempfile.TemporaryDirectory() as tmp, LadybugStore(Path(tmp) / "g.lbug") as st:
        st.write(build_batch(out))
        stats = st.stats()

    lines = [
        "## Full extraction pipeline (raw abstracts -> linked mentions + relations)",
        "",
        f"Command: `python benchmarks/bench_pipeline.py --docs {args.docs} --device {args.device}`.",
        f"Machine: {machine()}; device used: {pipe.config.device}; inference {precision()}.",
        f"Data: first {len(docs)} abstracts of BC5CDR dev (`CDR_DevelopmentSet.PubTator.txt`), text only (gold stripped).",
        "Models: the shipped defaults (`extractors/models/ner-minilm`, `extractors/models/re-minilm`, "
        "`extractors/models/re-symptom-minilm`, default KB).",
        "",
        f"- end to end: **{len(docs) / total:.1f} abstracts/s**, **{tokens / total:,.0f} tokens/s** "
        f"({tokens:,} scispacy tokens in {total:.1f} s; model loading {load_s:.1f} s not included)",
        f"- output: {mentions:,} mentions ({linked / max(mentions, 1):.0%} linked), relations {dict(relations)}; "
        f"graph: {stats['Drug']:,} Drug, {stats['Disease']:,} Disease, {stats['Symptom']:,} Symptom nodes, "
        f"{sum(stats[t] for t in ('INTERACTS_WITH', 'CAUSES_ADVERSE_EFFECT', 'HAS_SYMPTOM', 'TREATS')):,} relation edges",
        f"- without the document-scope symptom model (`--re-symptom-model none`, same run): "
        f"{len(docs) / total_alone:.1f} abstracts/s ({total / total_alone:.2f} x the time with it), relations "
        f"{dict(relations_alone)}",
        *([fp32_line] if fp32_line else []),
        "",
        "| stage | seconds | share |",
        "|---|---|---|",
    ]
    staged = sum(stage.values())
    for name, secs in stage.items():
        lines.append(f"| {name} | {secs:.2f} | {secs / staged:.0%} |")
    write_section("pipeline", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
