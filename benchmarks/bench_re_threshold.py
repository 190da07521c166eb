"""Relation extraction: dev P/R/F1 of a binary task over decision thresholds (and of two models' max).

    flock /tmp/medkg-cpu.lock python benchmarks/bench_re_threshold.py --model /tmp/re-cid-doc --corpus bc5cdr-doc \
        [--also extractors/models/re-minilm:bc5cdr] [--thresholds 0.5,0.6,0.7,0.8,0.9]

Scores a model's pair-level ``relation_score`` (1 - p(none), as the pipeline thresholds it) at
each threshold against the corpus split's complete gold set, as
:func:`extractors.relations.train.evaluate_re` does (which takes the model's argmax label instead:
the same pairs at 0.5 but for exact ties). A pair seen in
several candidates (mentions, windows) keeps its best score. ``--also MODEL:CORPUS`` adds a second
model scored on its own candidates of the same documents (e.g. the sentence-scope reading of the
same corpus) and reports the max of the two scores per pair as well: what running both and keeping
the better-scored relation would give. Prints a markdown table; writes nothing. Dev only; a
threshold read off this table is chosen on dev.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._report import precision  # noqa: E402
from extractors.relations.data import CORPORA, RelationSet, load_sets  # noqa: E402
from extractors.relations.model import RelationModel  # noqa: E402
from extractors.relations.train import SHARED_DATA  # noqa: E402
from extractors.scorers import relation_scores  # noqa: E402

Key = tuple[str, str, str, str]


def pair_scores(model: RelationModel, rset: RelationSet) -> dict[Key, float]:
    """Best relation score per scoring key (type, document, head, tail) of a binary task."""
    if len(rset.score_type) != 1:
        raise SystemExit(f"error: {rset.corpus} has {len(rset.score_type)} relation types; this sweep is for binary tasks")
    (label,) = rset.score_type
    preds = model.predict([e.candidate for e in rset.examples], batch_size=64)
    best: dict[Key, float] = defaultdict(float)
    for ex, p in zip(rset.examples, preds, strict=True):
        for h, t in ex.keys:
            key = (rset.score_type[label], ex.doc_id, h, t)
            best[key] = max(best[key], p.relation_score)
    return best


def prf(rset: RelationSet, scores: dict[Key, float], threshold: float) -> str:
    s = relation_scores(rset.gold, {k for k, v in scores.items() if v >= threshold}, symmetric=rset.symmetric)["ALL"]
    return f"{100 * s.precision:.1f} / {100 * s.recall:.1f} / **{100 * s.f1:.1f}**"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--corpus", required=True, help="relation corpus of the model's task (e.g. bc5cdr-doc)")
    parser.add_argument("--also", default=None, help="MODEL:CORPUS, a second model scored on its own candidates")
    parser.add_argument("--thresholds", default="0.5,0.6,0.7,0.8,0.9")
    parser.add_argument("--data", default=str(SHARED_DATA))
    args = parser.parse_args()
    try:
        thresholds = [float(x) for x in args.thresholds.split(",")]
    except ValueError:
        parser.error("--thresholds takes comma-separated numbers")
    if not all(0.0 <= t <= 1.0 for t in thresholds):
        parser.error("--thresholds must lie in [0, 1]")
    other_dir, _, other_corpus = (args.also or "").rpartition(":")
    if args.also and not (other_dir and other_corpus):
        parser.error("--also takes MODEL:CORPUS")
    for corpus in filter(None, (args.corpus, other_corpus)):
        if corpus not in CORPORA:
            parser.error(f"unknown relation corpus; one of: {', '.join(CORPORA)}")
    (rset,) = load_sets(args.data, "dev", corpora=[args.corpus])
    main_scores = pair_scores(RelationModel.load(args.model, device="cpu"), rset)
    columns = [(f"`{Path(args.model).name}` on {args.corpus}", main_scores)]
    if args.also:
        (other,) = load_sets(args.data, "dev", corpora=[other_corpus])
        if other.gold != rset.gold:
            parser.error("--also must name a reading of the same gold pairs (e.g. bc5cdr beside bc5cdr-doc)")
        other_scores = pair_scores(RelationModel.load(other_dir, device="cpu"), other)
        both = {k: max(main_scores.get(k, 0.0), other_scores.get(k, 0.0)) for k in main_scores.keys() | other_scores.keys()}
        columns += [(f"`{Path(other_dir).name}` on {other_corpus}", other_scores), ("max of the two", both)]
    print(f"{rset.corpus} dev, {len(rset.gold)} gold pairs; P / R / F1 at relation score >= threshold; "
          f"inference on CPU, {precision('cpu')}\n")
    print("| threshold | " + " | ".join(name for name, _ in columns) + " |")
    print("|---|" + "---|" * len(columns))
    for thr in thresholds:
        print(f"| {thr:g} | " + " | ".join(prf(rset, scores, thr) for _, scores in columns) + " |")


if __name__ == "__main__":
    main()
