"""Training examples of the NER trainer: corpora encoded per fold, padded into tensors, and the
cached output of the frozen bottom blocks (split from :mod:`extractors.ner.train` for size)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from extractors.errors import CorpusFormatError
from extractors.ner.data import IGNORE_INDEX, Features, corpus_spec, display_path, encode, load_gold, to_document, to_sentences
from extractors.ner.features import TokenFeaturizer


def tensors(batch: Sequence[Features], pad_id: int) -> tuple[Any, Any, Any]:
    ids, mask, labels, _ = tensors_features(batch, pad_id)
    return ids, mask, labels


def tensors_features(batch: Sequence[Features], pad_id: int) -> tuple[Any, Any, Any, dict[str, Any]]:
    """Padded ids, attention mask, labels and per-token feature ids (0-padded) of a batch."""
    import torch

    width = max(len(f.input_ids) for f in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE_INDEX, dtype=torch.long)
    feats = {k: torch.zeros((len(batch), width), dtype=torch.long) for k in batch[0].features}
    for r, f in enumerate(batch):
        n = len(f.input_ids)
        ids[r, :n] = torch.tensor(f.input_ids)
        mask[r, :n] = 1
        labels[r, :n] = torch.tensor(f.labels)
        for k, v in f.features.items():
            feats[k][r, :n] = torch.tensor(v)
    return ids, mask, labels, feats


def cache_hidden(network: Any, feats: Sequence[Features], *, layer: int, pad_id: int, device: Any) -> list[Any]:
    """Hidden states after the frozen bottom ``layer`` blocks, per feature, as float16 on CPU.

    The frozen blocks get no LoRA weights, so their output never changes during training:
    computing it once instead of every epoch is what makes several epochs fit the CPU budget.
    Dropout is off for these blocks (eval mode), as at inference. float16 keeps 3 significant
    digits of LayerNorm-scale values and halves the memory (~0.8 kB per token).
    """
    import torch

    out: list[Any] = [None] * len(feats)
    order = sorted(range(len(feats)), key=lambda i: len(feats[i].input_ids))
    network.eval()
    with torch.inference_mode():
        for b in range(0, len(order), 64):
            idx = order[b : b + 64]
            ids, mask, _ = tensors([feats[i] for i in idx], pad_id)
            hidden = network.hidden_after(ids.to(device), mask.to(device), layer).to("cpu", torch.float16)
            for r, i in enumerate(idx):
                out[i] = hidden[r, : len(feats[i].input_ids)].clone()
    return out


def pad_hidden(rows: Sequence[Any]) -> Any:
    import torch

    width = max(r.shape[0] for r in rows)
    hidden = torch.zeros((len(rows), width, rows[0].shape[1]), dtype=torch.float32)
    for i, r in enumerate(rows):
        hidden[i, : r.shape[0]] = r.float()
    return hidden


def corpus_features(
    corpus: Any,
    tokenizer: Any,
    config: Any,
    featurizer: TokenFeaturizer | None = None,
    docs: Sequence[Any] | None = None,
    folds: Sequence[TokenFeaturizer] | None = None,
) -> tuple[list[Features], dict[str, Any]]:
    """Encoded training examples of ``corpus`` (a :class:`extractors.ner.train.TrainCorpus`) and
    its ``medkg.json`` entry; with ``folds``, document ``i`` is featurized by ``folds[i % k]``."""
    spec = corpus_spec(corpus.name)
    docs = load_gold(spec, corpus.train) if docs is None else docs
    split = to_document if config.context == "document" else to_sentences
    numbered = [(i, s) for i, d in enumerate(docs) for s in split(d, spec)]
    if config.max_sentences is not None:
        numbered = numbered[: config.max_sentences]
    sentences = [s for _, s in numbered]
    groups = [(featurizer, sentences)]
    if folds:
        groups = [(fz, [s for i, s in numbered if i % len(folds) == f]) for f, fz in enumerate(folds)]
    feats = [
        feat
        for fz, sents in groups
        for feat in encode(
            sents,
            tokenizer,
            head=spec.name,
            labels=spec.labels,
            max_length=config.max_length,
            overlap=config.overlap,
            featurizer=fz,
        )
    ]
    if not feats:
        raise CorpusFormatError(f"{corpus.train}: no training sentences for corpus {corpus.name!r}")
    info = {
        "name": spec.name,
        "labels": list(spec.labels),
        "train": display_path(corpus.train),
        "dev": display_path(corpus.dev) if corpus.dev else None,
        "train_documents": len(docs),
        "train_sentences": len(sentences),
        "train_entities": sum(len(s.spans) for s in sentences),
        "licence": spec.licence,
    }
    return feats, info
