"""``python -m extractors.relations train|eval`` (also ``medkg train re`` / ``medkg evaluate re``).

    python -m extractors.relations train --out extractors/models/re-minilm [--base HUB_ID_OR_PATH]
    python -m extractors.relations eval extractors/models/re-minilm [--corpora ddi2013,bc5cdr]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from extractors.relations.data import load_sets
from extractors.relations.model import RelationModel
from extractors.relations.train import SHARED_DATA, evaluate_re, record_dev_metrics
from extractors.relations.train import main as train_main


def _eval(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="medkg evaluate re", description="Pair-level P/R/F1 on the dev splits.")
    parser.add_argument("model_dir")
    parser.add_argument("--data", default=str(SHARED_DATA), help="shared data folder (holding corpora/)")
    parser.add_argument("--corpora", default="ddi2013,bc5cdr,ade,raredis")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--record", action="store_true", help="store the results in the model's medkg.json and card")
    parser.add_argument("--no-prior-correction", action="store_true",
                        help="score the raw posteriors (without the training-prior logit adjustment)")
    args = parser.parse_args(argv)
    if args.record and args.no_prior_correction:
        parser.error("--record stores the model's default behaviour; drop --no-prior-correction")
    model = RelationModel.load(args.model_dir, device=args.device)
    model.prior_correction = not args.no_prior_correction
    corpora = [c.strip() for c in args.corpora.split(",") if c.strip()]
    sets = load_sets(args.data, "dev", corpora=corpora)
    results = []
    for rset in sets:
        result = evaluate_re(model, rset)
        results.append(result)
        print(json.dumps(result.as_dict()))
    if args.record:
        record_dev_metrics(args.model_dir, results, sets)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in ("train", "eval"):
        print("usage: python -m extractors.relations train|eval [options]  (--help after the command)", file=sys.stderr)
        return 2
    return train_main(args[1:]) if args[0] == "train" else _eval(args[1:])


if __name__ == "__main__":
    sys.exit(main())
