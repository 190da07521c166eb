"""Transformer NER for Drug / Disease / Symptom: one shared encoder, one tagging head per corpus.

A model directory (see :mod:`extractors.transformer`) holds a PEFT LoRA adapter over the base
encoder plus one linear BIO head per training corpus (saved through ``modules_to_save``), the
tokenizer, and ``medkg.json``. ``medkg.json["label_sources"]`` says which head provides which
entity type at inference (by default Drug and Disease from the BC5CDR head, Symptom from the
RareDis head); overlapping spans from different heads are resolved by score.

Inference (:meth:`NerModel.predict`):

1. each text is split into sentences (:func:`loaders.sentences.sentence_spans`), because the
   heads were trained on sentences;
2. sentences are tokenized by the fast tokenizer with ``offset_mapping``; a sentence longer
   than ``max_length`` is cut into overlapping windows, and every token takes its scores
   from the window where it is most central (:func:`extractors.ner.decode.owner_window`);
3. windows are sorted by length and batched with dynamic padding (bf16 autocast on GPU);
4. per word (first sub-token) BIO log-probabilities are decoded with BIO-constrained Viterbi,
   and word spans are mapped back to exact character offsets of the input text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from extractors.errors import ModelNotFoundError
from extractors.ner.data import first_subtokens
from extractors.ner.decode import (
    Window,
    bio_tags,
    owner_window,
    postprocess as postprocess_spans,
    resolve_overlaps,
    tag_spans,
    viterbi_bio,
    windows,
)
from extractors.transformer import Device, pick_device, quiet_hf, read_model_meta, resolve_base
from loaders.sentences import sentence_spans

DEFAULT_NER_MODEL = Path(__file__).resolve().parents[1] / "models" / "ner-minilm"
"""The trained model shipped inside the package (LoRA adapter over the packaged MiniLM base)."""

TASK = "ner"
LORA_TARGETS = r".*encoder\.layer\.\d+\..*(query|key|value|dense)"
"""Every linear layer of every encoder block (attention q/k/v/output, feed-forward in/out)."""


def lora_targets(first_layer: int = 0) -> str:
    """:data:`LORA_TARGETS` restricted to encoder blocks ``first_layer`` and above."""
    if first_layer <= 0:
        return LORA_TARGETS
    return rf".*encoder\.layer\.(?!(?:{'|'.join(str(i) for i in range(first_layer))})\.)\d+\..*(query|key|value|dense)"


@dataclass(frozen=True, slots=True)
class NerSpan:
    """A predicted entity: ``text[start:end]`` of the input text, its type and a score in (0, 1].

    ``score`` is the geometric mean of the decoded tags' probabilities over the span's words.
    """

    start: int
    end: int
    label: str
    score: float


def head_module_name(head: str) -> str:
    """Attribute name of a head (corpus names may contain ``-``, attribute names may not)."""
    return "head_" + head.replace("-", "_")


def build_network(base: str, heads: Mapping[str, Sequence[str]], *, dropout: float = 0.1) -> Any:
    """The encoder (resolved from ``base``) with one ``Linear`` BIO head per entry of ``heads``."""
    import torch
    from transformers import AutoModel

    try:
        with quiet_hf():
            encoder = AutoModel.from_pretrained(resolve_base(base), add_pooling_layer=False)
    except OSError as exc:
        raise ModelNotFoundError(f"cannot load base model {base!r}: {exc}") from exc

    class TokenHeads(torch.nn.Module):
        """Shared encoder + per-corpus token-classification heads."""

        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder
            self.dropout = torch.nn.Dropout(dropout)
            for name, labels in heads.items():
                setattr(self, head_module_name(name), torch.nn.Linear(encoder.config.hidden_size, len(bio_tags(labels))))

        def forward(self, input_ids: Any, attention_mask: Any, heads: Sequence[str]) -> dict[str, Any]:
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            hidden = self.dropout(hidden)
            return {h: getattr(self, head_module_name(h))(hidden) for h in heads}

        def hidden_after(self, input_ids: Any, attention_mask: Any, layer: int) -> Any:
            """Hidden states after the embeddings and the first ``layer`` encoder blocks."""
            hidden = self.encoder.embeddings(input_ids=input_ids)
            return self._blocks(hidden, attention_mask, 0, layer)

        def _blocks(self, hidden: Any, attention_mask: Any, first: int, last: int | None) -> Any:
            from transformers.masking_utils import create_bidirectional_mask

            mask = create_bidirectional_mask(config=encoder.config, inputs_embeds=hidden, attention_mask=attention_mask)
            for block in self.encoder.encoder.layer[first:last]:
                hidden = block(hidden, mask)
            return hidden

        def forward_from(self, hidden: Any, attention_mask: Any, heads: Sequence[str], layer: int) -> dict[str, Any]:
            """:meth:`forward` resumed from :meth:`hidden_after` ``(..., layer)``."""
            hidden = self.dropout(self._blocks(hidden, attention_mask, layer, None))
            return {h: getattr(self, head_module_name(h))(hidden) for h in heads}

    return TokenHeads()


@dataclass(frozen=True, slots=True)
class _Chunk:
    segment: int
    start: int
    end: int


class NerModel:
    """A loaded NER model. Build with :meth:`load`; call :meth:`predict`."""

    def __init__(
        self, *, network: Any, tokenizer: Any, meta: dict[str, Any], device: Device, max_length: int, overlap: int
    ) -> None:
        self.network = network
        self.tokenizer = tokenizer
        self.meta = meta
        self.device = device
        self.max_length = max_length
        self.overlap = overlap
        self.postprocess = bool(meta.get("decode", {}).get("postprocess", False))
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
        ``None`` = on for CUDA with bf16 support, off on CPU (exact fp32 results). ``max_length``
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
        if not (model_dir / "adapter_config.json").exists():
            raise ModelNotFoundError(f"{model_dir} has no adapter_config.json (not a trained NER adapter)")
        from peft import PeftModel
        from transformers import AutoTokenizer

        network = build_network(meta["base"], meta["heads"])
        network = PeftModel.from_pretrained(network, str(model_dir)).merge_and_unload()
        dev = pick_device(device, bf16=bf16)
        network.to(dev.torch_device).eval()
        tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
        if not tokenizer.is_fast:
            raise ModelNotFoundError(f"{model_dir}: a fast tokenizer (tokenizer.json) is needed for offsets")
        length = int(max_length or meta.get("max_length", 256))
        overlap = min(int(meta.get("overlap", 32)), (length - 2) // 2)
        model = cls(network=network, tokenizer=tokenizer, meta=meta, device=dev, max_length=length, overlap=overlap)
        if postprocess is not None:
            model.postprocess = postprocess
        return model

    @property
    def labels(self) -> tuple[str, ...]:
        """Entity types this model outputs, e.g. ``("Drug", "Disease", "Symptom")``."""
        return tuple(self.meta.get("labels") or self.label_sources)

    def predict(self, texts: Sequence[str], *, batch_size: int = 32) -> list[list[NerSpan]]:
        """Entities of each text, as character spans sorted by position, non-overlapping."""
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
        batch_size: int = 32,
        heads: Sequence[str] | None = None,
        postprocess: bool | None = None,
    ) -> list[dict[str, list[NerSpan]]]:
        """Each head's own spans (all of its labels, not merged): for per-corpus evaluation.

        ``postprocess`` overrides :attr:`postprocess` for this call.
        """
        if isinstance(texts, str):
            raise TypeError("predict() takes a sequence of texts, not a single string")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        heads = tuple(heads or self.heads)
        unknown = [h for h in heads if h not in self.heads]
        if unknown:
            raise ValueError(f"unknown head(s) {unknown}; this model has {list(self.heads)}")
        segments = [(t, s, e) for t, text in enumerate(texts) for s, e in sentence_spans(text)]
        results: list[dict[str, list[NerSpan]]] = [{h: [] for h in heads} for _ in texts]
        if not segments:
            return results
        enc = self.tokenizer(
            [texts[t][s:e] for t, s, e in segments],
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
        scores = self._score_chunks(chunks, enc["input_ids"], heads, batch_size)
        by_segment: dict[int, list[int]] = {}
        for c_index, chunk in enumerate(chunks):
            by_segment.setdefault(chunk.segment, []).append(c_index)
        for seg_index, c_indices in by_segment.items():
            text_index, seg_start, _ = segments[seg_index]
            found = self._decode_segment(
                offsets=enc["offset_mapping"][seg_index],
                words=first_subtokens(enc.word_ids(seg_index)),
                chunks=[chunks[c] for c in c_indices],
                scores=[scores[c] for c in c_indices],
                heads=heads,
            )
            for head, spans in found.items():
                results[text_index][head] += [NerSpan(seg_start + s, seg_start + e, lab, sc) for s, e, lab, sc in spans]
        if self.postprocess if postprocess is None else postprocess:
            for text, per_head in zip(texts, results):
                for head, spans in per_head.items():
                    raw = [(s.start, s.end, s.label, s.score) for s in spans]
                    per_head[head] = [NerSpan(*span) for span in postprocess_spans(text, raw)]
        return results

    def _decode_segment(
        self,
        *,
        offsets: Sequence[tuple[int, int]],
        words: Sequence[tuple[int, int]],
        chunks: Sequence[_Chunk],
        scores: Sequence[dict[str, np.ndarray]],
        heads: Sequence[str],
    ) -> dict[str, list[tuple[int, int, str, float]]]:
        """Spans of one sentence per head, in sentence-relative character offsets.

        Each word's tag scores come from its first sub-token, read in the window that owns that
        token (row ``token - window.start + 1``: row 0 is [CLS]).
        """
        owner = owner_window([Window(c.start, c.end) for c in chunks], len(offsets))
        rows = [(owner[first], first - chunks[owner[first]].start + 1) for first, _ in words]
        out: dict[str, list[tuple[int, int, str, float]]] = {}
        for head in heads:
            word_lp = np.stack([scores[c][head][row] for c, row in rows])
            tags = viterbi_bio(word_lp)
            chosen = word_lp[np.arange(len(tags)), tags]
            out[head] = [
                (
                    offsets[words[w0][0]][0],
                    offsets[words[w1 - 1][1]][1],
                    self.heads[head][label],
                    math.exp(float(chosen[w0:w1].mean())),
                )
                for w0, w1, label in tag_spans(tags)
            ]
        return out

    def _score_chunks(
        self, chunks: Sequence[_Chunk], input_ids: Sequence[Sequence[int]], heads: Sequence[str], batch_size: int
    ) -> list[dict[str, np.ndarray]]:
        """Log-probabilities per token for each chunk (incl. [CLS]/[SEP] rows), longest first."""
        import torch

        cls_id, sep_id = self.tokenizer.cls_token_id, self.tokenizer.sep_token_id
        pad_id = self.tokenizer.pad_token_id or 0
        order = sorted(range(len(chunks)), key=lambda i: chunks[i].end - chunks[i].start, reverse=True)
        out: list[dict[str, np.ndarray]] = [{} for _ in chunks]
        torch_device = self.device.torch_device
        with torch.inference_mode(), self.device.autocast():
            for b in range(0, len(order), batch_size):
                batch = order[b : b + batch_size]
                rows = [
                    [cls_id, *input_ids[chunks[i].segment][chunks[i].start : chunks[i].end], sep_id] for i in batch
                ]
                width = max(len(r) for r in rows)
                ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
                mask = torch.zeros((len(rows), width), dtype=torch.long)
                for r, row in enumerate(rows):
                    ids[r, : len(row)] = torch.tensor(row)
                    mask[r, : len(row)] = 1
                logits = self.network(input_ids=ids.to(torch_device), attention_mask=mask.to(torch_device), heads=heads)
                for head, value in logits.items():
                    lp = torch.log_softmax(value.float(), dim=-1).cpu().numpy()
                    for r, i in enumerate(batch):
                        out[i][head] = lp[r, : len(rows[r])]
        return out
