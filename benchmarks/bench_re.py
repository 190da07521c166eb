"""Relation extraction: train the default heads, score them on the dev splits, time inference.

    flock /tmp/medkg-cpu.lock python benchmarks/bench_re.py            # train + evaluate (writes the shipped model)
    flock /tmp/medkg-cpu.lock python benchmarks/bench_re.py --model extractors/models/re-minilm   # evaluate only
    flock /tmp/medkg-cpu.lock python benchmarks/bench_re.py --symptom  # the document-scope symptom model

Trains the default configuration (``TrainConfig()``) on the train splits of DDI-2013, BC5CDR,
ADE v2 and RareDis, saves it (by default as the shipped model), reloads the saved directory on
CPU and scores it on the dev splits with :func:`extractors.relations.train.evaluate_re`; the dev
results go into the model's ``medkg.json`` / README and the "re" section of BENCHMARKS.md,
together with an all-candidates-positive baseline per binary task, the intra-sentence recall
ceilings, the training time and CPU throughput (candidate pairs per second).

``--symptom`` does the same for the shipped document-scope disease -> sign/symptom model
(RareDis at document scope, :data:`~extractors.relations.model.DEFAULT_SYMPTOM_RE_MODEL`), whose
``has_symptom`` task replaces the main model's in the pipeline; it writes the "re-symptom" section.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._report import machine, write_section  # noqa: E402
from extractors.scorers import relation_scores  # noqa: E402
from extractors.relations.data import ONE_PASS_CORPORA, SENTENCE_CORPORA, RelationSet, load_sets  # noqa: E402
from extractors.relations.onepass import ARCHITECTURE, OnePassConfig, train_onepass  # noqa: E402
from extractors.relations.model import DEFAULT_RE_MODEL, DEFAULT_SYMPTOM_RE_MODEL, RelationModel, throughput  # noqa: E402
from extractors.relations.train import (  # noqa: E402
    SHARED_DATA,
    EvalResult,
    TrainConfig,
    evaluate_re,
    record_dev_metrics,
    train_re,
)
from extractors.transformer import read_model_meta  # noqa: E402

_NAMES = {
    "bc5cdr-doc": "BC5CDR CID at document scope (official dev, 500 abstracts, windows of ~1,500 characters; document-level pairs)",
    "ddi2013": "DDI-2013 (dev = 20 % of Train documents by hash of document id)",
    "bc5cdr": "BC5CDR CID (official dev, 500 abstracts; document-level pairs)",
    "ade": "ADE v2 (dev = 20 % of PMIDs by hash)",
    "raredis": "RareDis Produces (official dev, 104 documents)",
    "raredis-doc": "RareDis Produces at document scope (official dev, 104 documents, windows of ~1,500 characters)",
}


def _all_positive(rset: RelationSet) -> float:
    """F1 of calling every candidate positive (binary tasks): what the classifier must beat."""
    (label,) = [k for k in rset.score_type]
    pred = {(rset.score_type[label], ex.doc_id, h, t) for ex in rset.examples for h, t in ex.keys}
    return relation_scores(rset.gold, pred, symmetric=rset.symmetric)["ALL"].f1


def _score(model: RelationModel, model_dir: str, dev_sets: list[RelationSet], *,
           record: bool) -> tuple[list[EvalResult], list[EvalResult], dict, float, int]:
    """Dev results as the model predicts, the same with the prior correction on every task (the
    ``uncorrected`` ablation), the model's meta (with the dev metrics when ``record``), CPU
    candidate pairs/s and the directory's size in bytes."""
    results = [evaluate_re(model, s) for s in dev_sets]
    uncorrected, model.uncorrected = set(model.uncorrected), set()
    corrected = [evaluate_re(model, s) for s in dev_sets]
    model.uncorrected = uncorrected
    if record:
        record_dev_metrics(model_dir, results, dev_sets)
    sample = [e.candidate for s in dev_sets for e in s.examples[:500]]
    size = sum(p.stat().st_size for p in Path(model_dir).iterdir() if p.is_file())
    return results, corrected, read_model_meta(model_dir), throughput(model, sample), size


def _precision(model: RelationModel) -> str:
    """How the model ran here (``MEDKG_CPU_BF16=0`` keeps a bf16-capable CPU in fp32)."""
    return "bf16 autocast" if model.device.bf16 else "fp32"


def _prf_list(results: list[EvalResult]) -> str:
    return ", ".join(f"{r.corpus} {100 * r.scores['ALL'].f1:.1f} (P {100 * r.scores['ALL'].precision:.1f} / "
                     f"R {100 * r.scores['ALL'].recall:.1f})" for r in results)


def _table(results: list[EvalResult], sets: list[RelationSet]) -> str:
    lines = [
        "| corpus (dev) | type | P | R | F1 | gold | all-positive F1 | candidate recall ceiling |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r, s in zip(results, sets):
        base = f"{100 * _all_positive(s):.1f}" if s.task != "ddi" else "n/a"
        for rtype, prf in r.scores.items():
            last = rtype == "ALL"
            lines.append(
                f"| {s.corpus} | {'**micro (ALL)**' if last else rtype} | {100 * prf.precision:.1f} | {100 * prf.recall:.1f} "
                f"| {'**' if last else ''}{100 * prf.f1:.1f}{'**' if last else ''} | {prf.tp + prf.fn} "
                f"| {base if last else ''} | {f'{100 * r.ceiling_recall:.1f}' if last else ''} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="evaluate this saved model instead of training one")
    parser.add_argument("--out", default=None, help="where to save the trained model [default: the shipped model's folder]")
    parser.add_argument("--symptom", action="store_true",
                        help="train/score the document-scope symptom model (RareDis at document scope) instead")
    parser.add_argument("--data", default=str(SHARED_DATA))
    parser.add_argument("--per-pair", action="store_true", help="train the per-pair model instead of the one-pass one")
    parser.add_argument("--no-write", action="store_true", help="print instead of writing BENCHMARKS.md")
    args = parser.parse_args()

    if args.symptom and args.per_pair:
        parser.error("--symptom trains a one-pass model")
    args.out = args.out or (DEFAULT_SYMPTOM_RE_MODEL if args.symptom else DEFAULT_RE_MODEL)
    if args.symptom:
        return symptom(args)
    t0 = time.perf_counter()
    if args.model is None:
        corpora = SENTENCE_CORPORA if args.per_pair else ONE_PASS_CORPORA
        train_sets = load_sets(args.data, "train", corpora=corpora)
        print(f"read corpora in {time.perf_counter() - t0:.0f} s", flush=True)
        say = lambda line: print(line, flush=True)  # noqa: E731
        if args.per_pair:
            train_re(train_sets, config=TrainConfig(), out_dir=args.out, log=say)
        else:
            train_onepass(train_sets, config=OnePassConfig(), out_dir=args.out, log=say)
        model_dir = args.out
        command = f"flock /tmp/medkg-cpu.lock python benchmarks/bench_re.py{' --per-pair' if args.per_pair else ''}"
    else:
        model_dir = args.model
        command = f"flock /tmp/medkg-cpu.lock python benchmarks/bench_re.py --model {args.model}"

    model = RelationModel.load(model_dir, device="cpu")
    dev_sets = load_sets(args.data, "dev", corpora=list(model.meta["data"]))
    results, corrected, meta, pairs_s, size = _score(model, model_dir, dev_sets, record=args.model is None)
    for r in results:
        print(r.corpus, {k: round(v.f1, 4) for k, v in r.scores.items()}, flush=True)
    model.prior_correction = False  # ablation: the same model scored on its raw (training-prior) posteriors
    raw = [evaluate_re(model, s) for s in dev_sets]
    model.prior_correction = True
    uncorrected = model.uncorrected
    tr = meta["training"]
    hp = meta["hyperparameters"]
    per_epoch = {c: v["candidates"] for c, v in meta["data"].items()}
    body = "\n".join([
        "## Relation extraction (dev splits, gold entities)",
        "",
        f"Command: `{command}` (trains the default heads from scratch, saves `{Path(model_dir).name}`, "
        "reloads it on CPU, scores it; `--model DIR` only scores).",
        f"Machine: {machine()}.",
        ("Model: **one-pass** (`extractors/relations/onepass.py`): LoRA (r={r}, every layer) on the packaged MiniLM-L6 "
         "(`{base}`), each text encoded once with every entity marked, one MLP head per task over [head marker; tail "
         "marker; attention-pooled context]; {ep} epochs over all texts (ADE capped at {cap} sentences per epoch), "
         "class-weighted loss; BC5CDR at {scope} scope.".format(
             r=hp["lora_r"], base=meta["base"], ep=hp["epochs"], cap=hp["max_units"].get("ade"),
             scope=(meta.get("scopes") or {}).get("adverse_effect", "sentence"))
         if meta.get("architecture") == ARCHITECTURE else
         "Model: per pair: LoRA (r={r}) on the packaged MiniLM-L6 (`{base}`) + one MLP head per task over typed-entity-marker "
         "(punct) representations, one encoder pass per candidate; {ep} epochs, negatives downsampled per epoch ({neg} "
         "negatives per positive) and class-weighted loss.".format(r=hp["lora_r"], base=meta["base"], ep=hp["epochs"],
                                                                  neg=hp.get("neg_ratio"))),
        f"Training: {tr['seconds']:.0f} s on {tr['device']} (bf16 autocast: {tr['bf16']}), {tr['steps']} steps, all "
        f"three heads together. Model directory: {size / 1e6:.1f} MB.",
        f"Inference: {pairs_s:.0f} candidate pairs/s on this CPU ({_precision(model)}, batch 64, {sum(min(len(x.examples), 500) for x in dev_sets)} dev candidates, "
        "sorted by length, dynamic padding).",
        "",
        "Data splits: " + "; ".join(f"{_NAMES[s.corpus]}: {len(s.examples)} candidates, {len(s.gold)} gold relations"
                                     for s in dev_sets) + ".",
        "",
        "Scoring (`extractors.scorers.relation_scores`, pair level): DDI = the corpus's pairs, unordered, 4-class "
        "micro-average over mechanism/effect/advise/int (the official measure; PubMedBERT reaches 82.4 on the *test* "
        "set, not comparable to a dev number of a 22M-parameter uncased MiniLM); BC5CDR = predicted (document, "
        "chemical MeSH, disease MeSH) pairs vs **all** gold CID pairs of the dev documents, so the cross-sentence "
        "relations that no candidate reaches (intra-sentence sets) count as misses (see the ceiling column); ADE = "
        "(sentence, drug, effect) over the annotated entities, where almost every candidate is positive (see the "
        "all-positive baseline); RareDis = (document, disease, sign/symptom) Produces pairs, gold including "
        "cross-sentence pairs, Produces whose head is an ANAPHOR excluded "
        f"({dev_sets[-1].notes.get('produces_with_anaphor_head_excluded', '?')} in dev).",
        "",
        _table(results, dev_sets),
        "",
        "Prior correction (`extractors.relations.train` / `onepass` docstrings): the (downsampled,) class-weighted training "
        "distribution is mapped back to the data's class prior by a logit adjustment computed from training "
        "counts only (ADE v2 left out of the prior: it samples only sentences with an adverse effect), except for "
        f"the tasks in `uncorrected_tasks` ({', '.join(sorted(uncorrected)) or 'none'}; `OnePassConfig.uncorrected`, "
        "chosen on dev), which keep the raw class-weighted posteriors. "
        "Micro F1 of the same model with no correction at all: " + _prf_list(raw)
        + "; with the correction on every task: " + _prf_list(corrected) + ".",
        "",
        "In the pipeline the RareDis task (`has_symptom`) is taken by the document-scope symptom model below "
        "(`re-symptom-minilm`); this model's sentence-scope head runs only when that model is switched off "
        "(`--re-symptom-model none`) or a model of one's own is given.",
        "",
        "Training candidates (whole train split, before per-epoch sampling): "
        + "; ".join(f"{c}: {', '.join(f'{k} {v}' for k, v in counts.items())}" for c, counts in per_epoch.items()) + ".",
    ])
    if args.no_write:
        print(body)
    else:
        write_section("re", body)
        print(body)


def symptom(args: argparse.Namespace) -> None:
    """Train (unless ``--model``) and score the document-scope symptom model; write "re-symptom"."""
    corpora = ["raredis-doc"]
    if args.model is None:
        t0 = time.perf_counter()
        train_sets = load_sets(args.data, "train", corpora=corpora)
        print(f"read corpora in {time.perf_counter() - t0:.0f} s", flush=True)
        train_onepass(train_sets, config=OnePassConfig(), out_dir=args.out, log=lambda line: print(line, flush=True))
        model_dir = args.out
        command = "flock /tmp/medkg-cpu.lock python benchmarks/bench_re.py --symptom"
    else:
        model_dir = args.model
        command = f"flock /tmp/medkg-cpu.lock python benchmarks/bench_re.py --symptom --model {args.model}"
    model = RelationModel.load(model_dir, device="cpu")
    dev_sets = load_sets(args.data, "dev", corpora=corpora)
    results, corrected, meta, pairs_s, size = _score(model, model_dir, dev_sets, record=args.model is None)
    uncorrected = model.uncorrected
    tr, hp = meta["training"], meta["hyperparameters"]
    (dev,) = dev_sets
    body = "\n".join([
        "## Relation extraction: document-scope disease -> sign/symptom model (dev, gold entities)",
        "",
        f"Command: `{command}` (= `medkg train re --corpora raredis-doc --out extractors/models/{Path(model_dir).name}`, then the dev "
        "scores; `--model DIR` only scores). Machine: " + machine() + ".",
        f"Model: one-pass, as the main model above (LoRA r={hp['lora_r']} on `{meta['base']}`, {hp['epochs']} epochs, "
        "seed and learning rate the defaults), trained on RareDis alone at **document scope**: every disease is "
        "paired with every sign/symptom of each window of consecutive sentences (about 1,500 characters, "
        "`extractors.relations.data.document_windows`), cross-sentence pairs included. "
        f"Training: {tr['seconds']:.0f} s on {tr['device']}, {tr['steps']} steps. Model directory: {size / 1e6:.1f} MB. "
        f"Inference: {pairs_s:.0f} candidate pairs/s on this CPU ({_precision(model)}, batch 64); dev scored the same way.",
        "",
        f"Data: {_NAMES[dev.corpus]}: {len(dev.examples)} candidates, {len(dev.gold)} gold relations (Produces whose "
        f"head is an ANAPHOR excluded: {dev.notes.get('produces_with_anaphor_head_excluded', '?')}). Scored as the "
        "main table's RareDis row: (document, disease, sign/symptom) pairs against all gold Produces pairs.",
        "",
        _table(results, dev_sets),
        "",
        f"Prior correction: not applied to {', '.join(sorted(uncorrected)) or 'no task'} (`OnePassConfig.uncorrected`, "
        "chosen on dev, as for the main model); with it: " + _prf_list(corrected) + ".",
        "",
        "In the pipeline (`PipelineConfig.re_symptom_model`, `--re-symptom-model`) this model's `has_symptom` task "
        "replaces the main model's sentence-scope one, at the cost of a second encoder pass over each document's "
        "windows; it is applied with the shipped main model only (a main model of one's own keeps its tasks).",
    ])
    if args.no_write:
        print(body)
    else:
        write_section("re-symptom", body)
        print(body)


if __name__ == "__main__":
    main()
