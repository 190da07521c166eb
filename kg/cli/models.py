"""Model commands: ``train ner|re``, ``evaluate ner|re`` and ``linking build-kb|aliases``.

Each command builds the typed config of its trainer or evaluator (``NerTrainConfig``,
``TrainConfig``...) and calls the plain function the extractors package exposes; list options
take repeated or comma-separated values (``--corpora bc5cdr,raredis``).
"""

from __future__ import annotations

import os

# OpenMP threads that spin while waiting make torch several times slower on a CPU shared with
# other jobs (measured here: 3.2 s vs 1.2 s per training step on 2 busy cores); passive waiting
# costs little when the machine is idle. It must be set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from enum import Enum  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Annotated, Optional  # noqa: E402

import typer  # noqa: E402

from extractors.ner.data import CORPORA as NER_CORPORA  # noqa: E402
from extractors.relations.data import ONE_PASS_CORPORA, SENTENCE_CORPORA  # noqa: E402
from kg.cli.common import DeviceOpt, ReSymptomModelOpt, app, fail, reported, split_list  # noqa: E402

train_app = typer.Typer(no_args_is_help=True, help="Train a model from the corpora in ../shared/data (train splits; dev for reporting).")
evaluate_app = typer.Typer(no_args_is_help=True, help="Evaluate a model on dev splits with the standard scorers.")
linking_app = typer.Typer(no_args_is_help=True, help="The entity-linking knowledge base.")
app.add_typer(train_app, name="train")
app.add_typer(evaluate_app, name="evaluate")
app.add_typer(linking_app, name="linking")

NerCorpus = Enum("NerCorpus", {name: name for name in NER_CORPORA}, type=str)  # type: ignore[misc]


class Bf16(str, Enum):
    auto = "auto"
    on = "on"
    off = "off"


class Context(str, Enum):
    sentence = "sentence"
    document = "document"


class Feature(str, Enum):
    shape = "shape"
    gazetteer = "gazetteer"
    none = "none"


DataRootOpt = Annotated[Optional[Path], typer.Option(help="the shared data folder (default ../shared/data or $MEDKG_SHARED_DATA)")]
RE_CORPORA = ",".join(SENTENCE_CORPORA)
RE_CORPORA_ONE_PASS = ",".join(ONE_PASS_CORPORA)


class Architecture(str, Enum):
    one_pass = "one-pass"
    per_pair = "per-pair"


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _rates(items: list[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in items:
        name, sep, rate = item.partition("=")
        try:
            out[name] = float(rate)
        except ValueError:
            raise typer.BadParameter(f"expected CORPUS=FRACTION, got {item!r}", param_hint="--sample") from None
        if not sep:
            raise typer.BadParameter(f"expected CORPUS=FRACTION, got {item!r}", param_hint="--sample")
    return out


@train_app.command("ner")
def train_ner_cmd(
    out: Annotated[Optional[Path], typer.Option(help="model directory to write [default: the shipped model's]")] = None,
    base: Annotated[Optional[str], typer.Option(help="base encoder: packaged alias, local directory or hub ID")] = None,
    corpora: Annotated[Optional[list[NerCorpus]], typer.Option(help="training corpora (repeatable) [default: bc5cdr, raredis]")] = None,  # type: ignore[valid-type]
    data_root: DataRootOpt = None,
    epochs: Annotated[Optional[int], typer.Option()] = None,
    batch_size: Annotated[Optional[int], typer.Option()] = None,
    lr: Annotated[Optional[float], typer.Option()] = None,
    head_lr: Annotated[Optional[float], typer.Option()] = None,
    lora_r: Annotated[Optional[int], typer.Option()] = None,
    lora_alpha: Annotated[Optional[int], typer.Option()] = None,
    frozen_layers: Annotated[Optional[int], typer.Option()] = None,
    full_finetune: Annotated[bool, typer.Option("--full-finetune", help="train all weights above the frozen blocks instead of LoRA (~90 MB model)")] = False,
    context: Annotated[Optional[Context], typer.Option(help="train and predict on sentences or on whole documents (windowed at --max-length)")] = None,
    max_length: Annotated[Optional[int], typer.Option(help="window length in word pieces")] = None,
    overlap: Annotated[Optional[int], typer.Option(help="overlap of consecutive windows")] = None,
    warmup: Annotated[Optional[float], typer.Option(help="fraction of steps with rising lr")] = None,
    sample: Annotated[Optional[list[str]], typer.Option(help="per-epoch fraction per corpus, e.g. raredis=0.5 (repeatable) [default: the config's]")] = None,
    max_steps: Annotated[Optional[int], typer.Option()] = None,
    dev_each_epoch: Annotated[bool, typer.Option("--dev-each-epoch", help="print dev F1 after every epoch")] = False,
    dev_every: Annotated[int, typer.Option(help="print dev F1 every N epochs (a learning curve)")] = 0,
    device: DeviceOpt = "auto",
    bf16: Annotated[Bf16, typer.Option(help="bf16 autocast: auto = on CUDA with bf16 support only (CPUs without AVX512-BF16/AMX emulate it slowly)")] = Bf16.auto,
    seed: Annotated[Optional[int], typer.Option()] = None,
    features: Annotated[Optional[list[Feature]], typer.Option(help="per-token input features: shape, gazetteer (repeatable); 'none' for neither [default: both, as the shipped model]")] = None,
    disease_ontology: Annotated[Optional[Path], typer.Option(help="Disease Ontology folder (HumanDO.tsv) for the gazetteer [default: the shared data folder's]")] = None,
    gazetteer_folds: Annotated[Optional[int], typer.Option(help="add train-split gold mentions to the gazetteer, k-fold so no training document sees its own (0: off)")] = None,
) -> None:
    """Train an NER model (reproduces the shipped one with no options)."""
    from dataclasses import fields

    from extractors.ner.gazetteer import default_disease_ontology
    from extractors.ner.model import DEFAULT_NER_MODEL
    from extractors.ner.train import NerTrainConfig, shared_corpora, train_ner

    given = {
        "base": base, "epochs": epochs, "batch_size": batch_size, "lr": lr, "head_lr": head_lr, "lora_r": lora_r,
        "lora_alpha": lora_alpha, "frozen_layers": frozen_layers, "context": context.value if context else None,
        "max_length": max_length, "overlap": overlap, "warmup": warmup, "max_steps": max_steps, "seed": seed,
        "gazetteer_folds": gazetteer_folds,
    }
    known = {f.name for f in fields(NerTrainConfig)}
    options = {k: v for k, v in given.items() if v is not None and k in known}
    if sample is not None:
        options["sample"] = _rates(split_list(sample))
    if features is not None:
        options["features"] = tuple(f.value for f in features if f is not Feature.none)
    with reported():
        config = NerTrainConfig(
            corpora=shared_corpora([c.value for c in corpora] if corpora else ["bc5cdr", "raredis"], root=data_root),
            out_dir=out or DEFAULT_NER_MODEL,
            full_finetune=full_finetune,
            dev_each_epoch=dev_each_epoch,
            dev_every=dev_every,
            device=device,
            bf16={"auto": None, "on": True, "off": False}[bf16.value],
            disease_ontology=disease_ontology or default_disease_ontology(data_root),
            **options,
        )
        meta = train_ner(config, progress=_progress)
    typer.echo(json.dumps({"dev_metrics": meta.get("dev_metrics"), "training_seconds": meta["training_seconds"]}, indent=2))


@train_app.command("re")
def train_re_cmd(
    out: Annotated[Optional[Path], typer.Option(help="model directory to write [default: the shipped one]")] = None,
    data: DataRootOpt = None,
    base: Annotated[Optional[str], typer.Option(help="base encoder: packaged alias, local folder or hub ID")] = None,
    corpora: Annotated[Optional[str], typer.Option(help=f"comma-separated relation corpora [default: {RE_CORPORA_ONE_PASS} for one-pass, {RE_CORPORA} per pair]")] = None,
    architecture: Annotated[Architecture, typer.Option(help="one-pass: one encoder pass per text; per-pair: one per candidate")] = Architecture.one_pass,
    epochs: Annotated[Optional[int], typer.Option()] = None,
    batch_size: Annotated[Optional[int], typer.Option(help="candidates (per-pair) or texts (one-pass) per step")] = None,
    lr: Annotated[Optional[float], typer.Option()] = None,
    typed_markers: Annotated[Optional[bool], typer.Option("--typed-markers/--untyped-markers", help="one-pass: mark drugs @...@ and conditions #...# instead of @...@ for all")] = None,
    device: DeviceOpt = "auto",
    no_dev: Annotated[bool, typer.Option("--no-dev", help="skip dev evaluation")] = False,
) -> None:
    """Train the relation model (reproduces the shipped one with no options; `--corpora raredis-doc`
    alone reproduces the shipped document-scope symptom model, written to its own folder)."""
    from extractors.relations.data import load_sets
    from extractors.relations.model import DEFAULT_RE_MODEL, DEFAULT_SYMPTOM_RE_MODEL
    from extractors.relations.onepass import OnePassConfig, train_onepass
    from extractors.relations.train import SHARED_DATA, TrainConfig, train_re

    one_pass = architecture is Architecture.one_pass
    size = {"batch_units" if one_pass else "batch_size": batch_size}
    options = {k: v for k, v in {"base": base, "epochs": epochs, "lr": lr, **size}.items() if v is not None}
    if typed_markers is not None:
        if not one_pass:
            fail(ValueError("--typed-markers applies to the one-pass architecture only"))
        options["typed_markers"] = typed_markers
    names = split_list([corpora or (RE_CORPORA_ONE_PASS if one_pass else RE_CORPORA)])
    with reported():
        root = str(data or SHARED_DATA)
        train_sets = load_sets(root, "train", corpora=names)
        dev_sets = [] if no_dev else load_sets(root, "dev", corpora=names)
        if one_pass:
            # the document-scope symptom set alone is the shipped second model: never overwrite the main one with it
            default_out = DEFAULT_SYMPTOM_RE_MODEL if names == ["raredis-doc"] else DEFAULT_RE_MODEL
            train_onepass(train_sets, config=OnePassConfig(device=device, **options), dev_sets=dev_sets,
                          out_dir=out or default_out, log=_progress)
        else:
            train_re(train_sets, config=TrainConfig(device=device, **options), dev_sets=dev_sets,
                     out_dir=out or DEFAULT_RE_MODEL, log=_progress)


@evaluate_app.command("ner")
def evaluate_ner_cmd(
    models: Annotated[Optional[list[Path]], typer.Argument(metavar="MODEL...", help="one model directory, or several to vote [default: the shipped model]")] = None,
    corpus: Annotated[NerCorpus, typer.Option(help="corpus to score on")] = ...,  # type: ignore[valid-type,assignment]
    split: Annotated[str, typer.Option(help="split of the corpus")] = "dev",
    path: Annotated[Optional[Path], typer.Option(help="corpus file/folder [default: the shared split]")] = None,
    head: Annotated[Optional[str], typer.Option(help="which head of a multi-head model predicts")] = None,
    min_votes: Annotated[Optional[int], typer.Option(help="ensemble: votes a span needs [default: a majority]")] = None,
    device: DeviceOpt = "auto",
    data_root: DataRootOpt = None,
) -> None:
    """Entity-level exact-match P/R/F1 of an NER model (or a majority-vote ensemble) on a split."""
    from extractors.ner.data import split_path
    from extractors.ner.ensemble import NerEnsemble
    from extractors.ner.model import DEFAULT_NER_MODEL, NerModel
    from extractors.ner.scoring import evaluate_ner

    dirs = list(models or [DEFAULT_NER_MODEL])
    with reported():
        target = path or split_path(corpus.value, split, root=data_root)
        model = NerEnsemble.load(dirs, device=device, min_votes=min_votes) if len(dirs) > 1 else NerModel.load(dirs[0], device=device)
        result = evaluate_ner(model, target, corpus=corpus.value, head=head, device=device)
    typer.echo(result.pop("table"))
    typer.echo(json.dumps(result, indent=2))


class PipelineCorpus(str, Enum):
    bc5cdr = "bc5cdr"
    ncbi_disease = "ncbi-disease"


@evaluate_app.command("pipeline")
def evaluate_pipeline_cmd(
    corpus: Annotated[PipelineCorpus, typer.Option(help="annotated corpus whose raw text is run through the pipeline")] = PipelineCorpus.bc5cdr,
    split: Annotated[str, typer.Option(help="split of the corpus")] = "dev",
    path: Annotated[Optional[Path], typer.Option(help="corpus file [default: the shared split]")] = None,
    limit: Annotated[Optional[int], typer.Option(help="score only the first N documents")] = None,
    ner_model: Annotated[Optional[str], typer.Option(help="NER model dir [default: the shipped model]")] = None,
    re_model: Annotated[Optional[str], typer.Option(help="relation model dir [default: the shipped model]")] = None,
    re_symptom_model: ReSymptomModelOpt = None,
    kb: Annotated[Optional[str], typer.Option(help="linking KB file [default: the default KB]")] = None,
    keep_unlinked: Annotated[bool, typer.Option("--keep-unlinked/--drop-unlinked", help="keep entities the linker cannot ground (as the pipeline's option)")] = False,
    link_ambiguity_margin: Annotated[Optional[float], typer.Option(min=0.0, max=1.0, help="leave an approximate link unlinked when another concept scores within this margin [default: the linker's, 0.05]")] = None,
    device: DeviceOpt = "auto",
    data_root: DataRootOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the scores as JSON")] = False,
) -> None:
    """End to end: the corpus's raw text (annotations stripped) through the pipeline as `medkg extract`
    runs it, scored at concept level (document, MeSH id) and, for BC5CDR, as chemical-induced-disease
    pairs, with and without linking (extractors/pipeline_scoring.py)."""
    from extractors.ner.data import split_path
    from extractors.pipeline_scoring import evaluate_pipeline
    from kg.cli.common import pipeline_config

    config = pipeline_config(ner_model=ner_model, re_model=re_model, re_symptom_model=re_symptom_model, kb=kb, device=device, keep_unlinked=keep_unlinked)
    if link_ambiguity_margin is not None:
        config = config.model_copy(update={"link_ambiguity_margin": link_ambiguity_margin})
    with reported():
        target = path or split_path(corpus.value, split, root=data_root)
        scores = evaluate_pipeline(target, corpus=corpus.value, config=config, limit=limit,
                                   progress=lambda done, total: _progress(f"{done}/{total} documents"))
    typer.echo(json.dumps(scores.as_dict(), indent=2) if as_json else scores.table())


@evaluate_app.command("re")
def evaluate_re_cmd(
    model_dir: Annotated[Path, typer.Argument(metavar="MODEL")],
    data: DataRootOpt = None,
    corpora: Annotated[Optional[str], typer.Option(help="comma-separated relation corpora [default: those the model was trained on]")] = None,
    device: DeviceOpt = "auto",
    record: Annotated[bool, typer.Option("--record", help="store the results in the model's medkg.json and card")] = False,
    no_prior_correction: Annotated[bool, typer.Option("--no-prior-correction", help="score the raw posteriors (without the training-prior logit adjustment)")] = False,
) -> None:
    """Pair-level P/R/F1 of a relation model on the dev splits (gold entities)."""
    from extractors.relations.data import load_sets
    from extractors.relations.model import RelationModel
    from extractors.relations.train import SHARED_DATA, evaluate_re, record_dev_metrics

    if record and no_prior_correction:
        fail(ValueError("--record stores the model's default behaviour; drop --no-prior-correction"))
    with reported():
        model = RelationModel.load(model_dir, device=device)
        model.prior_correction = not no_prior_correction
        names = split_list([corpora]) if corpora else list(model.meta.get("data") or split_list([RE_CORPORA]))
        sets = load_sets(str(data or SHARED_DATA), "dev", corpora=names)
        results = []
        for rset in sets:
            result = evaluate_re(model, rset)
            results.append(result)
            typer.echo(json.dumps(result.as_dict()))
        if record:
            record_dev_metrics(model_dir, results, sets)


@linking_app.command("build-kb")
def build_kb_cmd(
    out: Annotated[Path, typer.Option(help="KB file to write (gzipped JSONL)")],
    symptom_ontology: Annotated[Optional[Path], typer.Option(help="symp.obo")] = None,
    mesh_symptoms: Annotated[Optional[Path], typer.Option(help="mesh_symptoms/symptoms.tsv")] = None,
    disease_ontology: Annotated[Optional[Path], typer.Option(help="folder with HumanDO.tsv and allXREFinDO.tsv")] = None,
    no_train_aliases: Annotated[bool, typer.Option("--no-train-aliases", help="leave the learned alias table out")] = False,
) -> None:
    """Build a linking KB file; without vocabulary paths, the default KB (what the linker builds and caches on first use)."""
    from extractors.linking.kb_build import build_kb

    started = time.perf_counter()
    with reported():
        kb = build_kb(symptom_ontology=symptom_ontology, mesh_symptoms=mesh_symptoms, disease_ontology=disease_ontology,
                      **({"train_aliases": None} if no_train_aliases else {}))
        path = kb.save(out)
    counts = ", ".join(f"{s} {n:,}" for s, n in kb.counts().items())
    typer.echo(f"{path}: {len(kb):,} entries ({counts}), {kb.alias_count:,} names, "
               f"{path.stat().st_size / 1e6:.1f} MB, {time.perf_counter() - started:.1f} s")


@linking_app.command("aliases")
def aliases_cmd(
    corpus: Annotated[list[str], typer.Option(metavar="NAME=PATH", help="a TRAIN split readable by medkg build (repeatable)")],
    out: Annotated[Optional[Path], typer.Option(help="alias table to write [default: the shipped one]")] = None,
) -> None:
    """Learn the linker's alias table from TRAIN splits (never dev)."""
    from extractors.linking.aliases import DEFAULT_ALIAS_TABLE, learn_aliases, write_alias_table
    from loaders import read_documents

    sources = []
    for spec in corpus:
        name, sep, p = spec.partition("=")
        if not sep or not name or not p:
            raise typer.BadParameter(f"expected NAME=PATH, got {spec!r}", param_hint="--corpus")
        sources.append((name, read_documents(Path(p))))
    with reported():
        rows = learn_aliases(sources)
        path = write_alias_table(rows, out or DEFAULT_ALIAS_TABLE)
    typer.echo(f"{path}: {len(rows)} aliases, {len({r.concept_id for r in rows})} concepts, {path.stat().st_size:,} bytes")
