"""The README model card of a relation model directory, generated from its ``medkg.json``.

Generated rather than hand-written so that the numbers in the card are always the ones the
training run measured, and retraining cannot leave a stale card behind.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["model_card"]

_LICENCES = {
    "ddi2013": "DDI Extraction 2013 corpus, **CC BY-NC 4.0 (non-commercial)**: the `ddi` head and the shared "
               "adapter are trained on it, so this model as a whole inherits the non-commercial condition. "
               "Cite Herrero-Zazo et al., J Biomed Inform 2013.",
    "bc5cdr": "BioCreative V CDR corpus, public release; cite Li et al., Database 2016.",
    "ade": "ADE corpus v2, licence unstated by the authors; cite Gurulingappa et al., J Biomed Inform 2012.",
    "raredis": "RareDis corpus, BSD-3; cite Martinez-deMiguel et al. 2021.",
}

_SPLITS = {
    "ddi2013": "Train only is available; dev = the Train documents whose SHA-1(document id) mod 100 < 20 "
               "(`extractors.corpora.ddi.ddi_split`), train = the rest. Split by document.",
    "bc5cdr": "official Training set (train) and Development set (dev).",
    "ade": "no official split; dev = PMIDs with SHA-1(PMID) mod 100 < 20 (`extractors.corpora.ade.ade_split`).",
    "raredis": "official train/ and dev/ folders.",
}

_SCORING = {
    "ddi2013": "pairs of the corpus, unordered, typed; micro-average over the 4 positive types (the official DDI measure)",
    "bc5cdr": "document level: predicted (doc, chemical MeSH, disease MeSH) vs all gold CID pairs of the dev "
              "documents, including cross-sentence ones (which sentence-scope candidates cannot reach)",
    "ade": "(sentence, drug, effect) pairs over the annotated entities; ADE sentences are almost all positive "
           "(see the all-positive baseline in BENCHMARKS.md)",
    "raredis": "(doc, disease entity, symptom entity) Produces pairs; gold includes cross-sentence pairs; "
               "Produces with an ANAPHOR head are excluded from gold",
}


_DESCRIPTION = {
    "per-pair": "A LoRA adapter plus one classification head per task over a shared encoder; candidates are "
                "entity pairs within a sentence, marked with typed entity markers (punct) "
                "(`@ * drug * aspirin @ ... # ^ drug ^ warfarin #`, Zhou & Chen 2021), and each head classifies the "
                "concatenated encoder states at the two opening markers (one encoder pass per candidate).",
    "one-pass": "A LoRA adapter plus one classification head per task over a shared encoder, **one encoder pass per "
                "text**: every entity span of a sentence (or of a document window, for tasks trained at document "
                "scope) is marked `@ ... @`, and each candidate pair is classified from the two opening markers' "
                "states and an attention-weighted context vector (localized context pooling, ATLOP, Zhou et al. 2021) "
                "(`extractors/relations/onepass.py`).",
}


def _schedule(meta: Mapping[str, Any]) -> list[str]:
    hp = meta["hyperparameters"]
    if meta.get("architecture") == "one-pass":
        scopes = meta.get("scopes") or {}
        return [
            f"- {hp['epochs']} epochs, batches of at most {hp['batch_units']} texts / {hp['max_tokens']} padded wordpieces, "
            f"AdamW lr {hp['lr']}, linear warmup {hp['warmup']} + decay, max length {hp['max_length']} wordpieces, seed {hp['seed']}",
            f"- scopes: {', '.join(f'{t}: {v}' for t, v in scopes.items()) or 'every task within a sentence'} "
            "(document scope pairs entities across the sentences of a window of about 1,500 characters)",
            f"- class imbalance: {meta.get('class_imbalance', '')}; texts per corpus per epoch capped at {hp['max_units']}",
        ]
    return [
        f"- {hp['epochs']} epochs, batch {hp['batch_size']}, AdamW lr {hp['lr']}, linear warmup {hp['warmup']} + decay, "
        f"max length {hp['max_length']} wordpieces, {hp.get('context')} wordpieces of context kept around each pair, "
        f"seed {hp['seed']}",
        f"- class imbalance: {meta.get('class_imbalance', '')}; neg_ratio {hp['neg_ratio']}, positive caps "
        f"{hp['max_positives']}",
    ]


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def _base(corpus: str) -> str:
    """``bc5cdr-doc`` (BC5CDR at document scope) -> ``bc5cdr``."""
    return corpus.removesuffix("-doc")


def _metrics_table(dev: Mapping[str, Any]) -> str:
    lines = ["| corpus | type | P | R | F1 | support | candidate recall ceiling |", "|---|---|---|---|---|---|---|"]
    for corpus, res in dev.items():
        for rtype, s in res["scores"].items():
            ceiling = _pct(res["ceiling_recall"]) if rtype == "ALL" else ""
            lines.append(f"| {corpus} | {rtype} | {_pct(s['precision'])} | {_pct(s['recall'])} | {_pct(s['f1'])} "
                         f"| {s['support']} | {ceiling} |")
    return "\n".join(lines)


def model_card(meta: Mapping[str, Any]) -> str:
    """Markdown model card for a relation model's ``medkg.json``."""
    hp = meta["hyperparameters"]
    corpora = list(meta.get("data", {}))
    out = [
        "---",
        "library_name: peft",
        f"base_model: {meta['base']}",
        "license: cc-by-nc-4.0" if "ddi2013" in corpora else "license: other",
        "tags: [relation-extraction, biomedical, medkg]",
        "---",
        "",
        "# medkg relation extraction model",
        "",
        _DESCRIPTION[meta.get("architecture", "per-pair")],
        "",
        "## Tasks and graph edges",
        "",
        "| task | labels | edge | description |",
        "|---|---|---|---|",
    ]
    for task, labels in meta["labels"].items():
        edges = ", ".join(sorted({e["edge_type"] for e in meta["edges"][task].values()}))
        out.append(f"| {task} | {', '.join(labels)} | {edges} | {meta['tasks'][task]} |")
    out += ["", "## Data and splits", ""]
    for corpus, info in meta.get("data", {}).items():
        counts = ", ".join(f"{k} {v}" for k, v in info["candidates"].items())
        out.append(f"- **{corpus}** (task `{info['task']}`): {_SPLITS.get(_base(corpus), info['split'])} Train candidates: {counts}.")
    out += ["", "## Licences of the training data", ""]
    out += [f"- {_LICENCES[c]}" for c in dict.fromkeys(map(_base, corpora)) if c in _LICENCES]
    if "dev_metrics" in meta:
        out += ["", "## Dev-split results", "", "Scoring:"]
        out += [f"- {c}: {_SCORING.get(_base(c), '')}" for c in meta["dev_metrics"]]
        out += ["", _metrics_table(meta["dev_metrics"])]
    tr = meta.get("training", {})
    out += [
        "",
        "## Training",
        "",
        f"- base: `{meta['base']}` (weights not included; loaded at run time)",
        f"- LoRA r={hp['lora_r']}, alpha={hp['lora_alpha']}, dropout={hp['lora_dropout']} on the attention and "
        f"feed-forward linear layers of the top {hp.get('lora_layers') or 'all'} encoder layers (the rest frozen); "
        f"heads: 2-layer MLP (hidden {hp['head_hidden']}) saved as `modules_to_save`",
        *_schedule(meta),
        f"- prior correction at inference (logit adjustment from training counts, excluding "
        f"{', '.join(hp.get('prior_exclude', ())) or 'no corpus'}): {meta.get('logit_adjustment', 'none recorded')}"
        + (f"; recorded but not applied to {', '.join(meta['uncorrected_tasks'])} (raw class-weighted posteriors decide)"
           if meta.get("uncorrected_tasks") else ""),
        f"- training time: {tr.get('seconds', '?')} s on {tr.get('device', '?')} (bf16 autocast: {tr.get('bf16', '?')})",
        "",
        "## Use",
        "",
        "```python",
        "from extractors.relations import RelationModel, DEFAULT_RE_MODEL, EntitySpan, candidate_pairs",
        "model = RelationModel.load(DEFAULT_RE_MODEL)",
        'text = "Aspirin may increase the anticoagulant effect of warfarin."',
        'cands = list(candidate_pairs(text, [EntitySpan(0, 7, "Drug"), EntitySpan(50, 58, "Drug")]))',
        "print(model.predict(cands))",
        "```",
        "",
        "## Retrain (optionally from a hub base such as PubMedBERT)",
        "",
        "```",
        "flock /tmp/medkg-cpu.lock medkg train re --out my-re-model",
        "medkg train re --out re-pubmedbert \\",
        "    --base microsoft/BiomedNLP-BiomedBERT-base-uncased-abstract-fulltext   # or a local copy of it",
        "```",
        "",
        "`--base` takes a hub ID (needs network or a warm Hugging Face cache) or a local folder; the adapter "
        "records it in `medkg.json` and `RelationModel.load(dir, base=...)` can point to a local copy later.",
    ]
    return "\n".join(out) + "\n"
