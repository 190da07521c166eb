"""End to end on dev splits: raw text -> shipped pipeline -> concepts and CID pairs at MeSH level.

    flock /tmp/medkg-cpu.lock python benchmarks/bench_e2e.py [--limit N]

Runs ``medkg evaluate pipeline`` for BC5CDR dev (concepts + chemical-induced-disease pairs, with
and without linking) and NCBI-disease dev (Disease concepts), and writes the "e2e" section of
BENCHMARKS.md. Needs ../shared/data.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see kg/cli/models.py; before torch loads
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._report import machine, precision, write_section  # noqa: E402
from extractors.ner.data import split_path  # noqa: E402
from extractors.pipeline_scoring import evaluate_pipeline  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=None, help="score only the first N documents of each corpus")
    parser.add_argument("--no-write", action="store_true", help="print, do not update BENCHMARKS.md")
    args = parser.parse_args()
    parts = []
    for corpus in ("bc5cdr", "ncbi-disease"):
        scores = evaluate_pipeline(split_path(corpus, "dev"), corpus=corpus, limit=args.limit)
        grounding = ", ".join(f"{t} {100 * v:.0f} %" for t, v in scores.grounding.items())
        parts.append(
            f"**{corpus} dev** ({scores.documents} documents, pipeline {scores.seconds:.0f} s = "
            f"{scores.documents / scores.seconds:.1f} abstracts/s after one warm-up document, in batches of 64; predicted concepts that ground to the corpus "
            f"vocabulary at all: {grounding})\n\n{scores.table()}"
        )
        print(parts[-1], flush=True)
    body = f"""## End to end: raw text in, concepts and pairs at MeSH level (dev splits)

Command: `flock /tmp/medkg-cpu.lock python benchmarks/bench_e2e.py` (= `medkg evaluate pipeline --corpus bc5cdr`
and `--corpus ncbi-disease`). Machine: {machine()}; inference {precision()}. Models: the shipped defaults
(NER `ner-minilm`, relations `re-minilm` + the document-scope symptom model `re-symptom-minilm`) and the default KB.

The corpus's text, annotations stripped, goes through the pipeline exactly as `medkg extract` runs it; each
predicted mention is grounded to the corpus vocabulary (MeSH; NCBI-disease also OMIM) through its own id or
its KB cross-references, and scored as (document, id) against the gold annotations. A concept that grounds to
no MeSH id (a DrugBank or HPO id without a MeSH xref; an unlinked `LOCAL:` span, which the pipeline drops by
default and keeps only with `--keep-unlinked`) counts as a false positive.
CID pairs: predicted CAUSES_ADVERSE_EFFECT relations as (document, chemical MeSH, disease MeSH) against all
gold chemical-induced-disease pairs of the document (cross-sentence ones included); "linking bypassed" replaces
each relation end by the gold ids of the gold spans its predicted mentions overlap. Anchor: the best BioCreative V
CDR end-to-end system reached 57.0 F1 on the *test* set (not comparable: different split, and a system built
for that task).

{chr(10).join(p + chr(10) for p in parts)}"""
    if not args.no_write:
        write_section("e2e", body)


if __name__ == "__main__":
    main()
