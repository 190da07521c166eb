"""The relation classifier: one shared encoder (+ LoRA), one small head per task.

For a candidate, the text with typed entity markers (see :mod:`extractors.relations.candidates`)
goes through the encoder; the hidden states at the two opening markers (``@`` before the head,
``#`` before the tail) are concatenated and passed to the task's head, a two-layer MLP, as in
Zhou & Chen (2021). One encoder serves every task, so a sentence-level adapter of a few MB
covers drug-drug interactions, adverse effects and symptoms at once.

Saved model directories are standard Hugging Face / PEFT directories:
``adapter_config.json`` + ``adapter_model.safetensors`` (LoRA weights and the heads, saved as
``modules_to_save``), the tokenizer files, ``medkg.json`` (tasks, labels, base, data, metrics)
and a README model card. The base encoder weights are not copied; they are loaded from
``medkg.json``'s ``base`` (the packaged MiniLM by default), or from ``base=`` when a user keeps
a hub base such as PubMedBERT in a local folder.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from extractors.batching import (
    Batch,
    Batching,
    Group,
    GroupDataset,
    Launched,
    index_on,
    launched,
    length_batches,
    pipelined,
    prepared_groups,
    to_host,
)
from extractors.errors import ExtractionError, ModelNotFoundError
from extractors.relations.candidates import (
    TASKS,
    CandidateError,
    RelationCandidate,
    RelationPrediction,
    mark_entities,
)
from extractors.transformer import Device, pick_inference_device, place_for_inference, quiet_hf, read_model_meta, resolve_base

__all__ = ["DEFAULT_RE_MODEL", "DEFAULT_SYMPTOM_RE_MODEL", "Encoded", "RelationModel", "build_net", "check_tasks", "encode_candidates", "throughput"]

DEFAULT_RE_MODEL = str(Path(__file__).resolve().parents[1] / "models" / "re-minilm")
"""The shipped relation model (LoRA adapter + heads over the packaged MiniLM)."""

DEFAULT_SYMPTOM_RE_MODEL = str(Path(__file__).resolve().parents[1] / "models" / "re-symptom-minilm")
"""The shipped document-scope disease -> sign/symptom model (``medkg train re --corpora raredis-doc``,
which writes here unless ``--out`` says otherwise):
its ``has_symptom`` task replaces the main model's sentence-scope one in the pipeline
(:class:`~extractors.config.PipelineConfig` ``re_symptom_model``; BENCHMARKS.md "Relation extraction")."""

MAX_LENGTH = 192
"""Wordpieces per candidate, markers and special tokens included, after the context window
below; a candidate whose two entities alone span more is cut around them (see
:func:`encode_candidates`)."""

CONTEXT = 16
"""Wordpieces kept on each side of the entity pair. Long DrugBank sentences list a dozen drugs;
what decides a pair's relation sits between and right around the two mentions, and cutting the
rest cuts the wordpieces per DDI training candidate from a mean of 96 to 70, which helps training
fit the CPU budget."""


@dataclass(frozen=True, slots=True)
class Encoded:
    """Token ids of one marked candidate and the positions of its two opening markers."""

    input_ids: tuple[int, ...]
    head_pos: int
    tail_pos: int
    task: str


def _token_at(offsets: Sequence[tuple[int, int]], char: int) -> int:
    """Index of the token covering (or, failing that, first starting after) character ``char``."""
    for i, (start, end) in enumerate(offsets):
        if start <= char < end or start >= char:
            return i
    return max(len(offsets) - 1, 0)


def _special_layout(tokenizer: Any) -> tuple[list[int], list[int]]:
    """Special-token ids the tokenizer puts before and after one sequence ([CLS] / [SEP] for BERT)."""
    plain = tokenizer("a", add_special_tokens=False)["input_ids"]
    full = tokenizer("a", add_special_tokens=True)["input_ids"]
    for at in range(len(full) - len(plain) + 1):
        if full[at : at + len(plain)] == plain:
            return list(full[:at]), list(full[at + len(plain) :])
    raise ModelNotFoundError(f"cannot tell where tokenizer {tokenizer.name_or_path!r} puts its special tokens")


def encode_candidates(
    tokenizer: Any, candidates: Sequence[RelationCandidate], *, max_length: int = MAX_LENGTH, context: int | None = CONTEXT
) -> list[Encoded]:
    """Mark and tokenize candidates (one batched fast-tokenizer call).

    Each candidate keeps the wordpieces from its first opening marker to its last closing
    marker plus ``context`` wordpieces on either side (``None``: the whole text). If that is
    still longer than ``max_length``, the window is centred on the marker-to-marker stretch;
    when the two entities are further apart than the window allows, it starts at the first
    marker and the second marker's position is clipped to the window's last token.
    """
    if not candidates:
        return []
    marked = [mark_entities(c) for c in candidates]
    batch = tokenizer([m.text for m in marked], add_special_tokens=False, return_offsets_mapping=True)
    prefix, suffix = _special_layout(tokenizer)
    room = max_length - len(prefix) - len(suffix)
    out: list[Encoded] = []
    for cand, mark, ids, offsets in zip(candidates, marked, batch["input_ids"], batch["offset_mapping"]):
        h = _token_at(offsets, mark.head_marker)
        t = _token_at(offsets, mark.tail_marker)
        first = min(h, t)
        last = _token_at(offsets, max(mark.head[1], mark.tail[1]))  # the later closing marker
        lo, hi = (0, len(ids)) if context is None else (max(0, first - context), min(len(ids), last + 1 + context))
        if hi - lo > room:
            span = last - first + 1
            lo = first if span >= room else max(lo, min(first - (room - span) // 2, hi - room))
            hi = lo + room
        ids = ids[lo:hi]
        h, t = min(h - lo, len(ids) - 1), min(t - lo, len(ids) - 1)
        out.append(Encoded(tuple(prefix + list(ids) + suffix), h + len(prefix), t + len(prefix), cand.task))
    return out


def load_encoder(base: str, **kwargs: Any) -> Any:
    """The base encoder (resolved offline where possible), without its pooler; ``kwargs`` go to ``from_pretrained``."""
    from transformers import AutoModel

    try:
        with quiet_hf():
            return AutoModel.from_pretrained(resolve_base(base), add_pooling_layer=False, **kwargs)
    except OSError as exc:
        raise ModelNotFoundError(f"cannot load base encoder {base!r}: {exc}") from exc


def task_heads(in_features: int, task_labels: Mapping[str, Sequence[str]], *, head_hidden: int) -> Any:
    """One fresh head per task (``ModuleDict``): dropout, ``in_features -> head_hidden`` tanh, dropout,
    ``-> labels``. The per-pair model feeds it two marker states, the one-pass model three vectors."""
    import torch
    from torch import nn

    class RelationHead(nn.Module):
        def __init__(self, n_labels: int) -> None:
            super().__init__()
            self.dropout = nn.Dropout(0.1)
            self.proj = nn.Linear(in_features, head_hidden)
            self.out = nn.Linear(head_hidden, n_labels)

        def forward(self, pooled: torch.Tensor) -> torch.Tensor:
            return self.out(self.dropout(torch.tanh(self.proj(self.dropout(pooled)))))

    return nn.ModuleDict({t: RelationHead(len(labels)) for t, labels in task_labels.items()})


def build_net(base: str, task_labels: Mapping[str, Sequence[str]], *, head_hidden: int) -> Any:
    """The encoder (from ``base``, resolved offline where possible) with one fresh head per task."""
    import torch
    from torch import nn

    encoder = load_encoder(base)

    class RelationNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder
            self.heads = task_heads(2 * encoder.config.hidden_size, task_labels, head_hidden=head_hidden)

        def pool(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, head_pos: torch.Tensor, tail_pos: torch.Tensor) -> torch.Tensor:
            states = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            rows = torch.arange(states.shape[0], device=states.device)
            return torch.cat([states[rows, head_pos], states[rows, tail_pos]], dim=-1)

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, head_pos: torch.Tensor, tail_pos: torch.Tensor, task: str) -> torch.Tensor:
            return self.heads[task](self.pool(input_ids, attention_mask, head_pos, tail_pos))

    return RelationNet()


def collate(batch: Sequence[Encoded], *, pad_id: int, device: Any) -> dict[str, Any]:
    """Dynamic padding to the longest sequence of the batch."""
    import torch

    width = max(len(e.input_ids) for e in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for i, e in enumerate(batch):
        ids[i, : len(e.input_ids)] = torch.tensor(e.input_ids, dtype=torch.long)
        mask[i, : len(e.input_ids)] = 1
    return {
        "input_ids": ids.to(device),
        "attention_mask": mask.to(device),
        "head_pos": torch.tensor([e.head_pos for e in batch], dtype=torch.long, device=device),
        "tail_pos": torch.tensor([e.tail_pos for e in batch], dtype=torch.long, device=device),
    }


class RelationModel:
    """A loaded relation model: :meth:`load` a directory, :meth:`predict` candidates.

    Construct with :meth:`load` (or get one from :func:`~extractors.relations.train.train_re`).
    """

    def __init__(self, *, net: Any, tokenizer: Any, meta: dict[str, Any], device: Device, model_dir: str | None) -> None:
        self.net = net
        self.tokenizer = tokenizer
        self.meta = meta
        self.device = device
        self.model_dir = model_dir
        self.labels: dict[str, tuple[str, ...]] = {t: tuple(ls) for t, ls in meta["labels"].items()}
        self.max_length = int(meta.get("max_length", MAX_LENGTH))
        self.context: int | None = meta.get("context", CONTEXT)
        self._adjust = {t: v.to(device.torch_device) for t, v in self._logit_adjustment(meta).items()}
        self.batching = Batching.for_device(device, batch_size=64)
        """How :meth:`predict` batches candidates (device default; replace to tune)."""
        self.prior_correction = True
        """Apply the training-prior correction recorded in ``medkg.json`` (switch off to compare)."""
        self.uncorrected: set[str] = set(meta.get("uncorrected_tasks") or ())
        """Tasks whose correction is recorded but not applied (``OnePassConfig.uncorrected``):
        their raw class-weighted posteriors decide. Empty it to compare."""

    @staticmethod
    def _logit_adjustment(meta: Mapping[str, Any]) -> dict[str, Any]:
        """Per-task prior correction recorded at training (``extractors.relations.train``)."""
        import torch

        return {t: torch.tensor(v, dtype=torch.float32) for t, v in (meta.get("logit_adjustment") or {}).items()}

    def corrects(self, task: str) -> bool:
        """Whether predictions of ``task`` get the recorded prior correction."""
        return self.prior_correction and task in self._adjust and task not in self.uncorrected

    @property
    def name(self) -> str:
        """``medkg-re:<dir name>`` for provenance (``Relation.model``)."""
        return f"medkg-re:{Path(self.model_dir).name}" if self.model_dir else "medkg-re:unsaved"

    @property
    def tasks(self) -> tuple[str, ...]:
        return tuple(self.labels)

    @classmethod
    def load(cls, model_dir: str | Path, *, device: str = "auto", base: str | None = None, bf16: bool | None = None) -> RelationModel:
        """Load a saved model directory.

        ``device="auto"`` picks CUDA when present (with bf16 autocast on GPUs that support it),
        else CPU (bf16 autocast only on a CPU that computes bf16 natively; ``bf16`` or
        ``MEDKG_CPU_BF16`` decide otherwise: :func:`extractors.transformer.pick_inference_device`). ``base`` overrides the base encoder recorded in ``medkg.json`` (a local
        copy of the hub model the adapter was trained on). LoRA weights are merged into the
        encoder after loading, so inference costs exactly what the base model costs.
        """
        from peft import PeftModel
        from transformers import AutoTokenizer

        path = Path(model_dir)
        meta = read_model_meta(path)
        if meta.get("task") != "relation-extraction":
            raise ModelNotFoundError(f"{path} is a {meta.get('task')!r} model, not a relation-extraction model")
        if meta.get("architecture", "per-pair") != "per-pair":
            from extractors.relations.onepass import ARCHITECTURE, OnePassModel

            if meta["architecture"] != ARCHITECTURE:
                raise ModelNotFoundError(f"{path} has an unknown relation architecture {meta['architecture']!r}")
            return OnePassModel.load(path, device=device, base=base, bf16=bf16)
        dev = pick_inference_device(device, bf16=bf16)
        net = build_net(base or meta["base"], meta["labels"], head_hidden=int(meta["hyperparameters"]["head_hidden"]))
        peft_model = PeftModel.from_pretrained(net, str(path))
        net = peft_model.merge_and_unload()
        place_for_inference(net, dev)
        tokenizer = AutoTokenizer.from_pretrained(str(path))
        return cls(net=net, tokenizer=tokenizer, meta=meta, device=dev, model_dir=str(path))

    def predict(self, cands: Sequence[RelationCandidate], *, batch_size: int | None = None) -> list[RelationPrediction]:
        """Classify candidates; results are in input order.

        Candidates are encoded once, sorted by length and batched with dynamic padding (so a
        batch of short sentences is not padded to the longest sentence of the input); one
        encoder pass per batch serves candidates of every task, each then going through its
        own head. ``batch_size`` caps candidates per pass (default: :attr:`batching`'s; on GPU
        a token budget applies too and workers encode groups ahead, see :mod:`extractors.batching`).
        """
        for c in cands:
            if c.task not in self.labels:
                raise CandidateError(f"this model has no task {c.task!r}; it has: {', '.join(self.labels)}")
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if not cands:
            return []
        batching = self.batching.with_batch_size(batch_size)
        inputs = _RelationInputs(cands, self.tokenizer, max_length=self.max_length, context=self.context, batching=batching)
        out: list[RelationPrediction | None] = [None] * len(cands)
        self.net.eval()
        pad_id = self.tokenizer.pad_token_id or 0
        groups = prepared_groups(inputs, batching=batching, device=self.device, pad_id=pad_id)
        for done in pipelined(groups, self._forward):
            for batch, task, rows, best, score, relation in done.wait():
                labels = self.labels[task]
                for k, b, p, r in zip(rows, best.tolist(), score.tolist(), relation.tolist()):
                    out[done.group.start + batch.index[k]] = RelationPrediction(task=task, label=labels[b], score=p, relation_score=r)
        return [p for p in out if p is not None]

    def _forward(self, group: Group) -> Launched:
        """Queue the group's encoder passes and heads. Per batch and task: the batch, the task, its
        rows, and the argmax label, its probability and ``1 - P(none)`` on their way to the host."""
        import torch

        outputs = []
        with torch.inference_mode(), self.device.autocast():
            for batch in group.batches:
                pooled = self.net.pool(**batch.to(self.device))
                tasks = [group.meta[i] for i in batch.index]
                for task in dict.fromkeys(tasks):
                    rows = [k for k, t in enumerate(tasks) if t == task]
                    logits = self.net.heads[task](pooled[index_on(rows, self.device)]).float()
                    if self.corrects(task):
                        logits = logits + self._adjust[task]
                    probs = torch.softmax(logits, dim=-1)
                    best = probs.argmax(dim=-1)
                    picked = probs.gather(1, best[:, None])[:, 0]
                    host = [to_host(t, self.device) for t in (best, picked, 1.0 - probs[:, 0])]
                    outputs.append((batch, task, rows, *host))
        return launched(group, outputs, self.device)


class _RelationInputs(GroupDataset):
    """Candidates -> marked, tokenized rows, length-sorted into batches, one group per item.

    Holds only the candidates, the tokenizer and settings, so DataLoader workers can run it;
    a group's ``meta`` is the task of each of its candidates.
    """

    def __init__(
        self, cands: Sequence[RelationCandidate], tokenizer: Any, *, max_length: int, context: int | None, batching: Batching
    ) -> None:
        super().__init__(len(cands), batching.group_size)
        self.cands = cands
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.context = context
        self.batching = batching

    def __getitem__(self, g: int) -> Group:
        start, end = self.bounds(g)
        encoded = encode_candidates(self.tokenizer, self.cands[start:end], max_length=self.max_length, context=self.context)
        lengths = [len(e.input_ids) for e in encoded]
        b = self.batching
        batches = [
            Batch(
                index=idx,
                lengths=[lengths[i] for i in idx],
                rows=[list(encoded[i].input_ids) for i in idx],
                extra={"head_pos": [encoded[i].head_pos for i in idx], "tail_pos": [encoded[i].tail_pos for i in idx]},
            )
            for idx in length_batches(lengths, batch_size=b.batch_size, max_tokens=b.max_tokens)
        ]
        return Group(start, end - start, batches, meta=[e.task for e in encoded])


def throughput(model: RelationModel, cands: Sequence[RelationCandidate], *, batch_size: int = 64) -> float:
    """Candidates per second of :meth:`RelationModel.predict` over ``cands`` (after one warm-up batch)."""
    if not cands:
        raise ExtractionError("throughput needs at least one candidate")
    model.predict(cands[: min(len(cands), batch_size)], batch_size=batch_size)
    start = time.perf_counter()
    model.predict(cands, batch_size=batch_size)
    return len(cands) / max(time.perf_counter() - start, 1e-9)


def check_tasks(task_labels: Mapping[str, Sequence[str]]) -> None:
    """Every task must be one of :data:`TASKS` with its declared labels (checked before training)."""
    for task, labels in task_labels.items():
        spec = TASKS.get(task)
        if spec is None:
            raise CandidateError(f"unknown relation task {task!r}; valid: {', '.join(TASKS)}")
        if tuple(labels) != spec.labels:
            raise CandidateError(f"task {task!r} labels {list(labels)} differ from the declared {list(spec.labels)}")
