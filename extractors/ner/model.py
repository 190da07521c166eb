"""Transformer NER for Drug / Disease / Symptom: one shared encoder, one tagging head per corpus.

A model directory (see :mod:`extractors.transformer`) holds a PEFT LoRA adapter over the base
encoder plus one linear BIO head per training corpus (saved through ``modules_to_save``), the
tokenizer, and ``medkg.json``. ``medkg.json["label_sources"]`` says which head provides which
entity type at inference (by default Drug and Disease from the BC5CDR head, Symptom from the
RareDis head); overlapping spans from different heads are resolved by score.

Inference (:meth:`NerModel.predict`):

1. each text is split into sentences (:func:`schema.sentences.sentence_spans`), because the
   heads were trained on sentences (a model trained with ``context="document"`` takes each
   text whole instead, ``medkg.json["context"]``);
2. sentences are tokenized by the fast tokenizer with ``offset_mapping``; a sentence longer
   than ``max_length`` is cut into overlapping windows, and every token takes its scores
   from the window where it is most central (:func:`extractors.ner.decode.owner_window`);
3. windows are sorted by length and batched with dynamic padding (bf16 autocast on GPU and on a
   CPU with native bf16, :func:`extractors.transformer.pick_inference_device`; on
   GPU token-budgeted batches prepared ahead by DataLoader workers, see
   :mod:`extractors.batching`);
4. per word (first sub-token) BIO log-probabilities are decoded with BIO-constrained Viterbi,
   and word spans are mapped back to exact character offsets of the input text.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from extractors.batching import (
    Batch,
    Batching,
    Group,
    GroupDataset,
    Launched,
    launched,
    length_batches,
    pipelined,
    prepared_groups,
    to_host,
)
from extractors.errors import ModelNotFoundError
from extractors.ner.data import first_subtokens
from extractors.ner.features import TokenFeaturizer, load_featurizer
from extractors.ner.decode import (
    Window,
    owner_window,
    postprocess as postprocess_spans,
    resolve_overlaps,
    tag_spans,
    viterbi_bio_many,
    windows,
)
from extractors.ner.network import (  # noqa: F401 (re-exported: the trainer and tests import them from here)
    build_network,
    feature_module_name,
    head_module_name,
)
from extractors.transformer import Device, pick_inference_device, place_for_inference, read_model_meta
from schema.sentences import sentence_spans

DEFAULT_NER_MODEL = Path(__file__).resolve().parents[1] / "models" / "ner-minilm"
"""The trained model shipped inside the package (LoRA adapter over the packaged MiniLM base)."""

TASK = "ner"
FULL_WEIGHTS = "model.safetensors"
"""File of a fully fine-tuned network's state dict (``medkg.json["weights"] == "full"``)."""


@dataclass(frozen=True, slots=True)
class NerSpan:
    """A predicted entity: ``text[start:end]`` of the input text, its type and a score in (0, 1].

    ``score`` is the geometric mean of the decoded tags' probabilities over the span's words.
    """

    start: int
    end: int
    label: str
    score: float


@dataclass(frozen=True, slots=True)
class _Chunk:
    segment: int
    start: int
    end: int


class NerModel:
    """A loaded NER model. Build with :meth:`load`; call :meth:`predict`."""

    def __init__(
        self,
        *,
        network: Any,
        tokenizer: Any,
        meta: dict[str, Any],
        device: Device,
        max_length: int,
        overlap: int,
        featurizer: TokenFeaturizer | None = None,
    ) -> None:
        self.network = network
        self.featurizer = featurizer or TokenFeaturizer(meta.get("features", []))
        """Per-token input features (``medkg.json["features"]``; none for older models)."""
        self.tokenizer = tokenizer
        self.meta = meta
        self.device = device
        self.max_length = max_length
        self.overlap = overlap
        self.postprocess = bool(meta.get("decode", {}).get("postprocess", False))
        self.context: str = meta.get("context", "sentence")
        self.batching = Batching.for_device(device, batch_size=32)
        """How :meth:`predict` batches windows (device default; replace to tune)."""
        self.heads: dict[str, tuple[str, ...]] = {h: tuple(labs) for h, labs in meta["heads"].items()}
        self.label_sources: dict[str, tuple[str, ...]] = {
            lab: tuple(srcs) for lab, srcs in meta["label_sources"].items()
        }

    @classmethod
    def load(
        cls,
        model_dir: str | Path,
        *,
        device: str = "auto",
        bf16: bool | None = None,
        max_length: int | None = None,
        postprocess: bool | None = None,
    ) -> NerModel:
        """Load a medkg NER directory; the base encoder is resolved from ``medkg.json["base"]``.

        ``device``: ``auto`` (CUDA when present, else CPU), ``cpu`` or ``cuda[:N]``. ``bf16``:
        ``None`` = on for CUDA with bf16 support and for a CPU that computes bf16 natively, else
        off (exact fp32 results; ``MEDKG_CPU_BF16`` overrides the CPU check). ``max_length``
        overrides the window length in tokens (including [CLS]/[SEP]). ``postprocess``: trim
        spans and make abbreviations consistent (:func:`extractors.ner.decode.postprocess`);
        ``None`` = as the model directory's ``medkg.json["decode"]`` says.
        """
        model_dir = Path(model_dir)
        if not model_dir.is_dir():
            raise ModelNotFoundError(f"NER model directory {model_dir} does not exist")
        meta = read_model_meta(model_dir)
        if meta.get("task") != TASK:
            raise ModelNotFoundError(f"{model_dir} holds a {meta.get('task')!r} model, not an NER model")
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
        if not tokenizer.is_fast:
            raise ModelNotFoundError(f"{model_dir}: a fast tokenizer (tokenizer.json) is needed for offsets")
        featurizer = load_featurizer(meta, model_dir, tokenizer)
        network = build_network(meta["base"], meta["heads"], features=featurizer.names)
        if meta.get("weights") == "full":
            if not (model_dir / FULL_WEIGHTS).exists():
                raise ModelNotFoundError(f"{model_dir} has no {FULL_WEIGHTS} (medkg.json says full weights)")
            from safetensors.torch import load_file

            network.load_state_dict(load_file(str(model_dir / FULL_WEIGHTS)))
        else:
            if not (model_dir / "adapter_config.json").exists():
                raise ModelNotFoundError(f"{model_dir} has no adapter_config.json (not a trained NER adapter)")
            from peft import PeftModel

            network = PeftModel.from_pretrained(network, str(model_dir)).merge_and_unload()
        dev = pick_inference_device(device, bf16=bf16)
        place_for_inference(network, dev)
        length = int(max_length or meta.get("max_length", 256))
        overlap = min(int(meta.get("overlap", 32)), (length - 2) // 2)
        model = cls(
            network=network, tokenizer=tokenizer, meta=meta, device=dev, max_length=length, overlap=overlap, featurizer=featurizer
        )
        if postprocess is not None:
            model.postprocess = postprocess
        return model

    @property
    def labels(self) -> tuple[str, ...]:
        """Entity types this model outputs, e.g. ``("Drug", "Disease", "Symptom")``."""
        return tuple(self.meta.get("labels") or self.label_sources)

    def predict(self, texts: Sequence[str], *, batch_size: int | None = None) -> list[list[NerSpan]]:
        """Entities of each text, as character spans sorted by position, non-overlapping.

        ``batch_size`` caps the windows per forward pass (default: :attr:`batching`'s).
        """
        per_head = self.predict_heads(texts, batch_size=batch_size, heads=self._used_heads())
        out: list[list[NerSpan]] = []
        for spans in per_head:
            merged = [
                (s.start, s.end, s.label, s.score)
                for head, head_spans in spans.items()
                for s in head_spans
                if head in self.label_sources.get(s.label, ())
            ]
            out.append([NerSpan(s, e, lab, sc) for s, e, lab, sc in resolve_overlaps(merged)])
        return out

    def _used_heads(self) -> tuple[str, ...]:
        return tuple(h for h in self.heads if any(h in srcs for srcs in self.label_sources.values()))

    def predict_heads(
        self,
        texts: Sequence[str],
        *,
        batch_size: int | None = None,
        heads: Sequence[str] | None = None,
        postprocess: bool | None = None,
    ) -> list[dict[str, list[NerSpan]]]:
        """Each head's own spans (all of its labels, not merged): for per-corpus evaluation.

        ``postprocess`` overrides :attr:`postprocess` for this call.
        """
        if isinstance(texts, str):
            raise TypeError("predict() takes a sequence of texts, not a single string")
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        heads = tuple(heads or self.heads)
        unknown = [h for h in heads if h not in self.heads]
        if unknown:
            raise ValueError(f"unknown head(s) {unknown}; this model has {list(self.heads)}")
        batching = self.batching.with_batch_size(batch_size)
        results: list[dict[str, list[NerSpan]]] = [{h: [] for h in heads} for _ in texts]
        inputs = _NerInputs(
            texts,
            self.tokenizer,
            max_length=self.max_length,
            overlap=self.overlap,
            batching=batching,
            context=self.context,
            featurizer=self.featurizer,
        )
        pad_id = self.tokenizer.pad_token_id or 0
        groups = prepared_groups(inputs, batching=batching, device=self.device, pad_id=pad_id)
        for done in pipelined(groups, lambda group: self._forward(group, heads)):
            meta: _NerMeta = done.group.meta
            scores = self._scores(done, len(meta.chunks))
            for seg_index, found in self._decode_group(meta, scores, heads).items():
                text_index, seg_start = meta.segments[seg_index]
                for head, spans in found.items():
                    results[text_index][head] += [NerSpan(seg_start + s, seg_start + e, lab, sc) for s, e, lab, sc in spans]
        if self.postprocess if postprocess is None else postprocess:
            for text, per_head in zip(texts, results):
                for head, spans in per_head.items():
                    raw = [(s.start, s.end, s.label, s.score) for s in spans]
                    per_head[head] = [NerSpan(*span) for span in postprocess_spans(text, raw)]
        return results

    def _decode_group(
        self, meta: _NerMeta, scores: Sequence[dict[str, np.ndarray]], heads: Sequence[str]
    ) -> dict[int, dict[str, list[tuple[int, int, str, float]]]]:
        """Spans per sentence of a prepared group and per head, in sentence-relative offsets.

        Each word's tag scores come from its first sub-token, read in the window that owns that
        token (row ``token - window.start + 1``: row 0 is [CLS]). The group's sentences are
        Viterbi-decoded together (:func:`extractors.ner.decode.viterbi_bio_many`).
        """
        if not meta.chunks:  # a group of empty texts
            return {}
        by_segment: dict[int, list[int]] = {}
        for c_index, chunk in enumerate(meta.chunks):
            by_segment.setdefault(chunk.segment, []).append(c_index)
        # every chunk's score rows stacked into one array per head; per word of the group, its row there
        first_row = np.cumsum([0] + [len(s[heads[0]]) for s in scores])
        index: list[int] = []
        ends: list[int] = []
        for seg, c_indices in by_segment.items():
            firsts = [first for first, _ in meta.words[seg]]
            if len(c_indices) == 1:  # the usual case: one window holds the whole sentence
                c = c_indices[0]
                index += [int(first_row[c]) + first - meta.chunks[c].start + 1 for first in firsts]
            else:
                chunks = [meta.chunks[c] for c in c_indices]
                owner = owner_window([Window(c.start, c.end) for c in chunks], len(meta.offsets[seg]))
                index += [int(first_row[c_indices[owner[f]]]) + f - chunks[owner[f]].start + 1 for f in firsts]
            ends.append(len(index))
        out: dict[int, dict[str, list[tuple[int, int, str, float]]]] = {seg: {} for seg in by_segment}
        for head in heads:
            word_lp = np.split(np.concatenate([s[head] for s in scores])[index], ends[:-1])
            for seg, lp, tags in zip(by_segment, word_lp, viterbi_bio_many(word_lp)):
                chosen = lp[np.arange(len(tags)), tags]
                offsets, words = meta.offsets[seg], meta.words[seg]
                out[seg][head] = [
                    (
                        offsets[words[w0][0]][0],
                        offsets[words[w1 - 1][1]][1],
                        self.heads[head][label],
                        math.exp(float(chosen[w0:w1].mean())),
                    )
                    for w0, w1, label in tag_spans(tags)
                ]
        return out

    def _forward(self, group: Group, heads: Sequence[str]) -> Launched:
        """Queue the group's forward passes; per batch, its log-probabilities per head on their way to the host."""
        import torch

        outputs = []
        with torch.inference_mode(), self.device.autocast():
            for batch in group.batches:
                tensors = batch.to(self.device)
                feats = {f: tensors["feature_" + f] for f in self.featurizer.names} or None
                logits = self.network(
                    input_ids=tensors["input_ids"], attention_mask=tensors["attention_mask"], heads=heads, features=feats
                )
                outputs.append({h: to_host(torch.log_softmax(v.float(), dim=-1), self.device) for h, v in logits.items()})
        return launched(group, outputs, self.device)

    @staticmethod
    def _scores(done: Launched, n_chunks: int) -> list[dict[str, np.ndarray]]:
        """Log-probabilities per token for each chunk of the group (incl. [CLS]/[SEP] rows)."""
        out: list[dict[str, np.ndarray]] = [{} for _ in range(n_chunks)]
        for batch, per_head in zip(done.group.batches, done.wait()):
            for head, value in per_head.items():
                lp = value.numpy()
                for r, i in enumerate(batch.index):
                    out[i][head] = lp[r, : batch.lengths[r]]
        return out


@dataclass(frozen=True, slots=True)
class _NerMeta:
    """What decoding needs of a prepared group: per sentence its (text index, start offset),
    token offsets and word first/last tokens; the windows (chunks) the batch rows came from."""

    segments: list[tuple[int, int]]
    offsets: list[list[tuple[int, int]]]
    words: list[list[tuple[int, int]]]
    chunks: list[_Chunk]


def text_segments(text: str, context: str = "sentence") -> list[tuple[int, int]]:
    """Units fed to the encoder: sentences, or the whole text for a ``context="document"`` model
    (long texts are then windowed like long sentences)."""
    if context == "document":
        return [(0, len(text))] if text.strip() else []
    return sentence_spans(text)


class _NerInputs(GroupDataset):
    """Texts -> sentences -> wordpiece windows, length-sorted into batches, one group per item.

    Holds only the texts, the tokenizer and settings, so DataLoader workers can run it.
    """

    def __init__(
        self,
        texts: Sequence[str],
        tokenizer: Any,
        *,
        max_length: int,
        overlap: int,
        batching: Batching,
        context: str = "sentence",
        featurizer: TokenFeaturizer | None = None,
    ) -> None:
        super().__init__(len(texts), batching.group_size)
        self.featurizer = featurizer
        self.texts = texts
        self.context = context
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.overlap = overlap
        self.batching = batching

    def __getitem__(self, g: int) -> Group:
        start, end = self.bounds(g)
        segments = [(t, s, e) for t in range(start, end) for s, e in text_segments(self.texts[t], self.context)]
        if not segments:
            return Group(start, end - start, [], _NerMeta([], [], [], []))
        enc = self.tokenizer(
            [self.texts[t][s:e] for t, s, e in segments],
            add_special_tokens=False,
            return_offsets_mapping=True,
            verbose=False,
        )
        chunks = [
            _Chunk(i, w.start, w.end)
            for i, ids in enumerate(enc["input_ids"])
            for w in windows(len(ids), size=self.max_length - 2, overlap=self.overlap)
            if ids
        ]
        cls_id, sep_id = self.tokenizer.cls_token_id, self.tokenizer.sep_token_id
        rows = [[cls_id, *enc["input_ids"][c.segment][c.start : c.end], sep_id] for c in chunks]
        lengths = [len(r) for r in rows]
        feature_rows: dict[str, list[list[int]]] = {}
        if self.featurizer:
            per_segment = [
                self.featurizer(self.texts[t][s:e], enc["offset_mapping"][i], enc.word_ids(i))
                for i, (t, s, e) in enumerate(segments)
            ]
            feature_rows = {
                "feature_" + f: [[0, *per_segment[c.segment][f][c.start : c.end], 0] for c in chunks]
                for f in self.featurizer.names
            }
        b = self.batching
        batches = [
            Batch(
                index=idx,
                lengths=[lengths[i] for i in idx],
                rows=[rows[i] for i in idx],
                token_extra={k: [v[i] for i in idx] for k, v in feature_rows.items()},
            )
            for idx in length_batches(lengths, batch_size=b.batch_size, max_tokens=b.max_tokens, descending=True)
        ]
        meta = _NerMeta(
            segments=[(t, s) for t, s, _ in segments],
            offsets=[list(o) for o in enc["offset_mapping"]],
            words=[first_subtokens(enc.word_ids(i)) for i in range(len(segments))],
            chunks=chunks,
        )
        return Group(start, end - start, batches, meta)
