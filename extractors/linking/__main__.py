"""Command line of the linking package.

    python -m extractors.linking build --out kb.jsonl.gz [--symptom-ontology symp.obo]
        [--mesh-symptoms symptoms.tsv] [--disease-ontology DIR] [--no-train-aliases]
    python -m extractors.linking aliases --corpus NAME=TRAIN_FILE [...] [--out TSV]

``build`` without vocabulary paths writes the default KB (what ``Linker.load()`` builds and
caches on first use). ``aliases`` regenerates the shipped train alias table from TRAIN splits.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

from extractors.linking.aliases import DEFAULT_ALIAS_TABLE, learn_aliases, write_alias_table
from extractors.linking.build import build_kb


def _build(args: argparse.Namespace) -> None:
    t0 = time.perf_counter()
    kwargs = {"train_aliases": None} if args.no_train_aliases else {}
    kb = build_kb(symptom_ontology=args.symptom_ontology, mesh_symptoms=args.mesh_symptoms,
                  disease_ontology=args.disease_ontology, **kwargs)
    path = kb.save(args.out)
    counts = ", ".join(f"{s} {n:,}" for s, n in kb.counts().items())
    print(f"{path}: {len(kb):,} entries ({counts}), {kb.alias_count:,} names, "
          f"{path.stat().st_size / 1e6:.1f} MB, {time.perf_counter() - t0:.1f} s")


def _aliases(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    from loaders import read_documents

    corpora = []
    for spec in args.corpus:
        name, sep, p = spec.partition("=")
        if not sep or not name or not p:
            parser.error(f"--corpus {spec!r}: expected NAME=PATH")
        corpora.append((name, read_documents(Path(p))))
    rows = learn_aliases(corpora)
    path = write_alias_table(rows, args.out)
    print(f"{path}: {len(rows)} aliases, {len({r.concept_id for r in rows})} concepts, {path.stat().st_size:,} bytes")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m extractors.linking", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build a KB file (gzipped JSONL)")
    b.add_argument("--out", type=Path, required=True, help="KB file to write")
    b.add_argument("--symptom-ontology", type=Path, help="symp.obo")
    b.add_argument("--mesh-symptoms", type=Path, help="mesh_symptoms/symptoms.tsv")
    b.add_argument("--disease-ontology", type=Path, help="folder with HumanDO.tsv and allXREFinDO.tsv")
    b.add_argument("--no-train-aliases", action="store_true", help="leave the learned alias table out")
    a = sub.add_parser("aliases", help="learn the alias table from TRAIN splits")
    a.add_argument("--corpus", action="append", required=True, metavar="NAME=PATH",
                   help="a TRAIN split readable by loaders.read_documents (repeatable)")
    a.add_argument("--out", type=Path, default=DEFAULT_ALIAS_TABLE)
    args = parser.parse_args(argv)
    if args.command == "build":
        _build(args)
    else:
        _aliases(args, parser)


if __name__ == "__main__":
    main()
