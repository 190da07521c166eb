"""``python -m extractors.ner train|eval``: reproduce or evaluate an NER model.

    python -m extractors.ner train --out extractors/models/ner-minilm
    python -m extractors.ner eval extractors/models/ner-minilm --corpus bc5cdr
    python -m extractors.ner eval MODEL_A MODEL_B MODEL_C --corpus bc5cdr   # majority-vote ensemble
"""

from __future__ import annotations

import os

# OpenMP threads that spin while waiting make torch several times slower on a CPU shared with
# other jobs (measured here: 3.2 s vs 1.2 s per training step on 2 busy cores); passive waiting
# costs little when the machine is idle. It must be set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from dataclasses import fields  # noqa: E402
from pathlib import Path  # noqa: E402

from extractors.ner.data import CORPORA, split_path  # noqa: E402
from extractors.ner.ensemble import NerEnsemble  # noqa: E402
from extractors.ner.gazetteer import default_disease_ontology  # noqa: E402
from extractors.ner.model import DEFAULT_NER_MODEL, NerModel  # noqa: E402
from extractors.ner.scoring import evaluate_ner  # noqa: E402
from extractors.ner.train import NerTrainConfig, shared_corpora, train_ner  # noqa: E402
from extractors.transformer import PACKAGED_BASE  # noqa: E402

DEFAULT_CORPORA = ("bc5cdr", "raredis")


def _sample(values: list[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in values:
        name, _, rate = item.partition("=")
        out[name] = float(rate)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m extractors.ner")
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train a model directory from the shared corpora")
    train.add_argument("--out", type=Path, default=DEFAULT_NER_MODEL)
    train.add_argument("--base", default=PACKAGED_BASE, help="packaged alias, local directory or hub ID")
    train.add_argument("--corpora", nargs="+", default=list(DEFAULT_CORPORA), choices=list(CORPORA))
    train.add_argument("--data-root", type=Path, default=None, help="the shared data folder (default ../shared/data)")
    defaults = {f.name: f.default for f in fields(NerTrainConfig)}
    train.add_argument("--epochs", type=int, default=defaults["epochs"])
    train.add_argument("--batch-size", type=int, default=defaults["batch_size"])
    train.add_argument("--lr", type=float, default=defaults["lr"])
    train.add_argument("--head-lr", type=float, default=defaults["head_lr"])
    train.add_argument("--lora-r", type=int, default=defaults["lora_r"])
    train.add_argument("--lora-alpha", type=int, default=defaults["lora_alpha"])
    train.add_argument("--frozen-layers", type=int, default=defaults["frozen_layers"])
    train.add_argument(
        "--full-finetune", action="store_true", help="train all weights above the frozen blocks instead of LoRA (~90 MB model)"
    )
    train.add_argument(
        "--context", choices=["sentence", "document"], default=defaults["context"],
        help="train and predict on sentences or on whole documents (windowed at --max-length)",
    )
    train.add_argument("--max-length", type=int, default=defaults["max_length"], help="window length in word pieces")
    train.add_argument("--overlap", type=int, default=defaults["overlap"], help="overlap of consecutive windows")
    train.add_argument("--warmup", type=float, default=defaults["warmup"], help="fraction of steps with rising lr")
    train.add_argument(
        "--sample", nargs="*", default=None, help="per-epoch fraction per corpus, e.g. raredis=0.5 (default: the config's)"
    )
    train.add_argument("--max-steps", type=int, default=None)
    train.add_argument("--dev-each-epoch", action="store_true", help="print dev F1 after every epoch")
    train.add_argument("--dev-every", type=int, default=0, help="print dev F1 every N epochs (a learning curve)")
    train.add_argument("--device", default="auto")
    train.add_argument(
        "--bf16", choices=["auto", "on", "off"], default="auto",
        help="bf16 autocast: auto = on CUDA with bf16 support only (CPUs without AVX512-BF16/AMX emulate it slowly)",
    )
    train.add_argument("--seed", type=int, default=defaults["seed"])
    train.add_argument(
        "--features", nargs="+", default=list(defaults["features"]), choices=["shape", "gazetteer", "none"],
        help="per-token input features before the heads: word shape (case), gazetteer matches; 'none' for neither"
        " (default: both, as the shipped model)",
    )
    train.add_argument(
        "--disease-ontology", type=Path, default=None,
        help="Disease Ontology folder (HumanDO.tsv) added to the gazetteer (default: knowledge/disease_ontology"
        " of the shared data folder)",
    )
    train.add_argument(
        "--gazetteer-folds", type=int, default=defaults["gazetteer_folds"],
        help="add train-split gold mentions to the gazetteer, k-fold so no training document sees its own (0: off)",
    )
    ev = sub.add_parser("eval", help="evaluate a model directory on a corpus split")
    ev.add_argument("model", type=Path, nargs="*", default=[DEFAULT_NER_MODEL], help="one model, or several to vote")
    ev.add_argument("--min-votes", type=int, default=None, help="ensemble: votes a span needs (default: a majority)")
    ev.add_argument("--corpus", required=True, choices=list(CORPORA))
    ev.add_argument("--split", default="dev")
    ev.add_argument("--path", type=Path, default=None, help="corpus file/folder (default: the shared split)")
    ev.add_argument("--head", default=None)
    ev.add_argument("--device", default="auto")
    ev.add_argument("--data-root", type=Path, default=None)
    args = parser.parse_args(argv)

    if args.command == "train":
        config = NerTrainConfig(
            corpora=shared_corpora(args.corpora, root=args.data_root),
            out_dir=args.out,
            base=args.base,
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr=args.lr,
            head_lr=args.head_lr,
            lora_r=args.lora_r,
            lora_alpha=args.lora_alpha,
            frozen_layers=args.frozen_layers,
            full_finetune=args.full_finetune,
            context=args.context,
            max_length=args.max_length,
            overlap=args.overlap,
            warmup=args.warmup,
            **({"sample": _sample(args.sample)} if args.sample is not None else {}),
            max_steps=args.max_steps,
            dev_each_epoch=args.dev_each_epoch,
            dev_every=args.dev_every,
            device=args.device,
            bf16={"auto": None, "on": True, "off": False}[args.bf16],
            seed=args.seed,
            features=tuple(f for f in args.features if f != "none"),
            disease_ontology=args.disease_ontology or default_disease_ontology(args.data_root),
            gazetteer_folds=args.gazetteer_folds,
        )
        meta = train_ner(config, progress=lambda msg: print(msg, file=sys.stderr, flush=True))
        print(json.dumps({"dev_metrics": meta.get("dev_metrics"), "training_seconds": meta["training_seconds"]}, indent=2))
        return 0
    path = args.path or split_path(args.corpus, args.split, root=args.data_root)
    if len(args.model) > 1:
        model = NerEnsemble.load(args.model, device=args.device, min_votes=args.min_votes)
    else:
        model = NerModel.load(args.model[0], device=args.device)
    result = evaluate_ner(model, path, corpus=args.corpus, head=args.head, device=args.device)
    print(result.pop("table"))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
