"""NER on the dev splits: the transformer model vs the spaCy CNN baseline, plus CPU throughput.

    python benchmarks/bench_ner.py                      # evaluate the shipped model + spaCy baseline
    python benchmarks/bench_ner.py --train --out DIR    # retrain the default model first (~15 min CPU)
    python benchmarks/bench_ner.py --model DIR          # evaluate another model directory
    python benchmarks/bench_ner.py --skip-spacy --no-write
    python benchmarks/bench_ner.py --extra-model DIR    # add another model's dev rows (its own heads)
    python benchmarks/bench_ner.py --extra-ensemble A B C   # add a majority-vote ensemble's rows

Scores are entity-level exact match (``extractors.scorers.entity_scores``) on the dev splits
of BC5CDR (Chemical -> Drug, Disease), NCBI-disease (Disease) and RareDis (SIGN + SYMPTOM ->
Symptom; RAREDISEASE, SKINRAREDISEASE, DISEASE -> Disease). Each corpus is scored on the head
trained on it; a corpus without its own head (NCBI-disease for the default model) is scored on
the merged output, i.e. cross-corpus. Throughput is measured with ``NerModel.predict`` on the
500 BC5CDR dev abstracts, fp32 on the CPU. Writes the "ner" section of BENCHMARKS.md.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see kg/cli/models.py; before torch loads

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import MISSING, fields  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._report import machine, write_section  # noqa: E402
from extractors.ner.data import CORPORA, data_root, load_gold, split_path  # noqa: E402
from extractors.ner.ensemble import NerEnsemble  # noqa: E402
from extractors.ner.model import DEFAULT_NER_MODEL, NerModel  # noqa: E402
from extractors.ner.scoring import evaluate_ner  # noqa: E402
from extractors.ner.spacy_baseline import SpacyBaselineConfig, evaluate_spacy_ner, train_spacy_ner  # noqa: E402
from extractors.ner.train import NerTrainConfig, shared_corpora, train_ner  # noqa: E402
from extractors.transformer import read_model_meta  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
EVAL_CORPORA = ("bc5cdr", "ncbi-disease", "raredis")
ANCHORS = (
    "Published anchors (BC5CDR **test**, not comparable split): scispaCy en_ner_bc5cdr_md 84.3 F1 combined; "
    "PubMedBERT 93.3 (Chemical) / 85.6 (Disease)."
)


def _f1(scores: dict[str, Any], label: str) -> str:
    s = scores.get(label)
    return "-" if s is None else f"{100 * s['f1']:.1f}"


def _row(name: str, result: dict[str, Any], labels: tuple[str, ...]) -> str:
    sc = result["scores"]
    cells = " | ".join(
        f"{100 * sc[lab]['precision']:.1f} / {100 * sc[lab]['recall']:.1f} / **{100 * sc[lab]['f1']:.1f}**"
        if lab in sc else "-"
        for lab in labels
    )
    return f"| {name} | {result.get('head', '-')} | {cells} |"


def throughput(model: NerModel, texts: list[str], *, batch_size: int = 32) -> dict[str, float]:
    """Sentences/s and tokens/s of ``model.predict`` (one warm-up pass on a few texts first)."""
    from schema.sentences import sentence_spans

    model.predict(texts[:8], batch_size=batch_size)
    n_sentences = sum(len(sentence_spans(t)) for t in texts)
    n_tokens = sum(len(ids) for ids in model.tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"])
    started = time.perf_counter()
    model.predict(texts, batch_size=batch_size)
    seconds = time.perf_counter() - started
    return {
        "documents": len(texts),
        "sentences": n_sentences,
        "tokens": n_tokens,
        "seconds": round(seconds, 2),
        "sentences_per_s": round(n_sentences / seconds, 1),
        "tokens_per_s": round(n_tokens / seconds),
    }


def _own_head_evaluations(model: NerModel | NerEnsemble) -> dict[str, dict[str, Any]]:
    """Dev scores on each corpus the model has its own head for (no cross-corpus rows), printed."""
    evaluations = {
        name: evaluate_ner(model, split_path(name, "dev"), corpus=name, head=name)
        for name in EVAL_CORPORA
        if name in model.heads
    }
    for res in evaluations.values():
        print(res["table"], file=sys.stderr)
    return evaluations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=DEFAULT_NER_MODEL, help="model directory to evaluate")
    parser.add_argument("--train", action="store_true", help="train the default model into --out first")
    parser.add_argument("--out", type=Path, default=None, help="where --train writes (default: a temp dir)")
    parser.add_argument("--skip-spacy", action="store_true")
    parser.add_argument("--no-write", action="store_true", help="print, do not write BENCHMARKS.md")
    parser.add_argument("--json", type=Path, default=None, help="also dump all results as JSON here")
    parser.add_argument(
        "--extra-model", type=Path, action="append", default=[],
        help="another model directory (e.g. the extended recipe) to score on the dev splits of its own heads",
    )
    parser.add_argument(
        "--extra-ensemble", type=Path, nargs="+", action="append", default=[],
        help="model directories whose majority vote (extractors.ner.ensemble) is scored as extra rows",
    )
    args = parser.parse_args()
    if not data_root().exists():
        sys.exit(f"shared data not found at {data_root()} (set MEDKG_SHARED_DATA)")

    commands = []
    model_dir = args.model
    if args.train:
        import tempfile

        model_dir = args.out or Path(tempfile.mkdtemp(prefix="medkg-ner-")) / "ner-minilm"
        config = NerTrainConfig(corpora=shared_corpora(("bc5cdr", "raredis")), out_dir=model_dir)
        train_ner(config, progress=lambda m: print(m, file=sys.stderr, flush=True))
        commands.append(f"python benchmarks/bench_ner.py --train --out {model_dir}")
    else:
        commands.append(f"python benchmarks/bench_ner.py --model {_rel(model_dir)}")
    meta = read_model_meta(model_dir)
    model = NerModel.load(model_dir, device="cpu")

    results: dict[str, Any] = {"model": _rel(model_dir), "evaluations": {}}
    for name in EVAL_CORPORA:
        # a corpus without its own head is scored on the head that provides its types
        head = name if name in model.heads else model.label_sources[CORPORA[name].labels[0]][0]
        res = evaluate_ner(model, split_path(name, "dev"), corpus=name, head=head)
        results["evaluations"][name] = res
        print(res["table"], file=sys.stderr)
    merged = evaluate_ner(model, split_path("bc5cdr", "dev"), corpus="bc5cdr", merged=True)
    results["evaluations"]["bc5cdr (merged output)"] = merged
    dev_texts = [d.text for d in load_gold(CORPORA["bc5cdr"], split_path("bc5cdr", "dev"))]
    results["throughput"] = throughput(model, dev_texts)
    print(json.dumps(results["throughput"]), file=sys.stderr)

    results["extra"] = {}
    for extra_dir in args.extra_model:
        evaluations = _own_head_evaluations(NerModel.load(extra_dir, device="cpu"))
        results["extra"][_rel(extra_dir)] = {"evaluations": evaluations, "meta": read_model_meta(extra_dir)}
        commands.append(f"python benchmarks/bench_ner.py ... --extra-model {_rel(extra_dir)}")

    results["ensembles"] = []
    for member_dirs in args.extra_ensemble:
        ensemble = NerEnsemble.load(member_dirs, device="cpu")
        evaluations = _own_head_evaluations(ensemble)
        results["ensembles"].append(
            {"members": [_rel(d) for d in member_dirs], "min_votes": ensemble.min_votes, "evaluations": evaluations}
        )
        commands.append("python benchmarks/bench_ner.py ... --extra-ensemble " + " ".join(_rel(d) for d in member_dirs))

    if not args.skip_spacy:
        spec = CORPORA["bc5cdr"]
        nlp, info = train_spacy_ner(load_gold(spec, split_path("bc5cdr", "train")), spec, config=SpacyBaselineConfig())
        res = evaluate_spacy_ner(nlp, load_gold(spec, split_path("bc5cdr", "dev")), spec)
        res["head"] = "spaCy ner"
        res["training"] = info
        results["spacy"] = res
        print(res["table"], file=sys.stderr)

    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    body = _markdown(results, meta, commands)
    print(body)
    if not args.no_write:
        write_section("ner", body)


def _rel(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def _markdown(results: dict[str, Any], meta: dict[str, Any], commands: list[str]) -> str:
    ev = results["evaluations"]
    hp = meta["hyperparameters"]
    size = sum(p.stat().st_size for p in (REPO / results["model"]).iterdir()) if (REPO / results["model"]).is_dir() else None
    lines = [
        "## NER (Drug / Disease / Symptom)",
        "",
        f"Machine: {machine()}. Command: `{'`; `'.join(commands)}`. Model: `{results['model']}` "
        f"(base `{meta['base']}`, LoRA r={hp['lora_r']} on encoder blocks {hp['frozen_layers']}+, heads "
        f"{', '.join(meta['heads'])}"
        + (f"; input features {' + '.join(meta['features'])}" if meta.get("features") else "")
        + (f" (gazetteer: {meta['gazetteer']['terms']:,} terms, train mentions in {meta['gazetteer']['train_mention_folds']}"
           " folds)" if meta.get("gazetteer") else "")
        + f"; trained in {meta['training_seconds']:.0f} s on {meta['training_device']}"
        + (f"; directory {size / 1e6:.1f} MB" if size else "")
        + ").",
        "",
        "Dev splits only (test splits are not available here); the dev splits were also used to choose"
        " hyper-parameters, so these are optimistic estimates. Entity-level exact match, P / R / **F1** (%).",
        "",
        "| corpus (dev) | head | Drug | Disease | Symptom | ALL |",
        "|---|---|---|---|---|---|",
    ]
    labels = ("Drug", "Disease", "Symptom", "ALL")
    for name, res in ev.items():
        lines.append(_row(name, res, labels))
        if "scores_no_postprocess" in res:
            lines.append(_row(f"{name}, raw decoder (no post-processing)", {**res, "scores": res["scores_no_postprocess"]}, labels))
        if "scores_contiguous" in res:
            lines.append(_row(f"{name}, contiguous gold only", {**res, "scores": res["scores_contiguous"]}, labels))
    for name, extra in results.get("extra", {}).items():
        for corpus, res in extra["evaluations"].items():
            lines.append(_row(f"{corpus}: `{name}`", res, labels))
            if corpus == "bc5cdr" and "scores_no_postprocess" in res:
                lines.append(_row(f"{corpus}: `{name}`, raw decoder", {**res, "scores": res["scores_no_postprocess"]}, labels))
    for ens in results.get("ensembles", []):
        for corpus, res in ens["evaluations"].items():
            label = f"{corpus}: vote (>= {ens['min_votes']} of {len(ens['members'])}) of " + ", ".join(f"`{m}`" for m in ens["members"])
            lines.append(_row(label, res, labels))
    if "spacy" in results:
        sp = results["spacy"]
        lines.append(_row("bc5cdr: spaCy CNN baseline", sp, labels))
        info = sp["training"]
        lines += [
            "",
            f"spaCy baseline: blank `en` + `ner` (HashEmbedCNN tok2vec, default architecture), trained here on the"
            f" same {info['sentences']} BC5CDR train sentences for {info['epochs']} epochs in"
            f" {info['training_seconds']:.0f} s ({info['entities_not_token_aligned']} entities not token-aligned"
            " and left out of its training).",
        ]
    for name, extra in results.get("extra", {}).items():
        lines += ["", _extra_note(name, extra["meta"])]
    for ens in results.get("ensembles", []):
        members = " ".join(ens["members"])
        lines += [
            "",
            f"Ensemble (`extractors.ner.ensemble`): a span (exact offsets and label) is kept when at least"
            f" {ens['min_votes']} of the {len(ens['members'])} models predict it, each model with its own context and"
            " post-processing; inference costs the sum of the members. Reproduce: train each member (commands above),"
            f" then `medkg evaluate ner {members} --corpus bc5cdr`.",
        ]
    tp = results["throughput"]
    lines += [
        "",
        f"Throughput (`NerModel.predict`, CPU fp32, batch 32, BC5CDR dev: {tp['documents']} abstracts,"
        f" {tp['sentences']} sentences, {tp['tokens']} word pieces): **{tp['sentences_per_s']} sentences/s,"
        f" {tp['tokens_per_s']} tokens/s** ({tp['seconds']} s).",
        "",
        "Post-processing (on by default, `extractors.ner.decode.postprocess`): spans ending in a function word or a"
        " stray bracket are trimmed, and abbreviations defined in the text (`long form (SF)`, Schwartz-Hearst) take"
        " their long form's label everywhere in the document (or are dropped when the long form is not an entity);"
        " it was kept because it raised dev F1 (so dev selected it).",
        "",
        "RareDis: discontinuous gold entities (15% of SIGNs) count by their extent, which a contiguous tagger"
        " rarely matches; the second row leaves them out. NCBI-disease has no head in the default model, so it"
        " is scored on the Disease output of the BC5CDR head (cross-corpus: the two corpora's disease guidelines"
        " differ). The merged-output row is what `NerModel.predict` returns (Symptom spans from the RareDis head"
        " win overlaps by score, which costs BC5CDR Disease recall since BC5CDR calls signs diseases).",
        "",
        ANCHORS,
    ]
    return "\n".join(lines)


_FLAGS = {
    "epochs": "--epochs", "batch_size": "--batch-size", "lr": "--lr", "head_lr": "--head-lr", "lora_r": "--lora-r",
    "lora_alpha": "--lora-alpha", "frozen_layers": "--frozen-layers", "max_length": "--max-length",
    "overlap": "--overlap", "warmup": "--warmup", "max_steps": "--max-steps", "seed": "--seed",
}


def train_command(meta: dict[str, Any], out: str) -> str:
    """The ``medkg train ner`` command that reproduces a model, from its ``medkg.json``."""
    hp = meta["hyperparameters"]
    defaults = {
        f.name: f.default_factory() if f.default_factory is not MISSING else f.default for f in fields(NerTrainConfig)
    }
    parts = ["medkg train ner", f"--out {out}", *(f"--corpora {c['name']}" for c in meta["corpora"])]
    if hp.get("full_finetune"):
        parts.append("--full-finetune")
    if meta.get("context", "sentence") != defaults["context"]:
        parts.append(f"--context {meta['context']}")
    for key, flag in _FLAGS.items():
        if key in hp and hp[key] != defaults[key]:
            parts.append(f"{flag} {hp[key]}")
    names = {c["name"] for c in meta["corpora"]}
    sample = {k: v for k, v in hp.get("sample", {}).items() if k in names}
    if sample != {k: v for k, v in defaults["sample"].items() if k in names}:
        parts += [f"--sample {k}={v}" for k, v in sample.items()]
    return " ".join(parts)


def _extra_note(name: str, meta: dict[str, Any]) -> str:
    hp = meta["hyperparameters"]
    kind = "full fine-tuning" if meta.get("weights") == "full" else f"LoRA r={hp['lora_r']}"
    size = sum(p.stat().st_size for p in (REPO / name).iterdir()) if (REPO / name).is_dir() else None
    return (
        f"`{name}`: {kind} of `{meta['base']}` on encoder blocks {hp['frozen_layers']}+, {meta.get('context', 'sentence')}"
        f" context (windows of {meta['max_length']} word pieces), heads {', '.join(meta['heads'])}; {hp['epochs']} epochs,"
        f" {hp['steps']} steps, trained in {meta['training_seconds']:.0f} s on {meta['training_device']}"
        + (f", directory {size / 1e6:.0f} MB" if size else "")
        + f". Reproduce: `{train_command(meta, name)}`."
    )


if __name__ == "__main__":
    main()
