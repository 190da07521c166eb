"""One-pass relation extraction: each text is encoded once, every candidate pair classified from it.

The per-pair model (:mod:`extractors.relations.model`) inserts markers around one head and one
tail and runs the encoder once *per candidate*: a sentence listing twelve drugs costs 66
encoder passes. Here a text (a sentence, or a window of sentences) gets an ``@`` before and
after **every** entity span of its candidates, goes through the encoder once, and each pair
``(head, tail)`` is classified from

* the hidden state of the head's opening ``@`` and of the tail's opening ``@`` (entity-marker
  representations, Zhou & Chen 2021), and
* a context vector for the pair: the last layer's attention from the two markers, multiplied
  position by position, averaged over heads and normalised, weights the hidden states
  ("localized context pooling", Zhou et al. 2021, ATLOP), so the words that both entities attend
  to (``induced``, ``increases the levels of``) speak for the pair even many tokens away,

through the task's head (a two-layer MLP over ``[head; tail; context]``). Cost grows with the
texts, not with the pairs, so training can run several epochs with LoRA on every layer within
the CPU budget, and a document window can pair entities of different sentences.

:class:`OnePassModel` keeps :class:`~extractors.relations.model.RelationModel`'s interface
(``predict`` takes the same :class:`RelationCandidate` list and returns predictions in order):
candidates are grouped by their text, and the spans marked in a text are those its candidates
name. A saved directory is the same PEFT layout with ``"architecture": "one-pass"`` in
``medkg.json``; :meth:`RelationModel.load` dispatches on it.
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from extractors.batching import length_batches
from extractors.errors import ModelNotFoundError
from extractors.relations.candidates import CandidateError, RelationCandidate, RelationPrediction
from extractors.relations.model import RelationModel, _special_layout, load_encoder, task_heads
from extractors.transformer import PACKAGED_BASE, Device, pick_inference_device, place_for_inference, quiet_hf, read_model_meta

__all__ = ["ARCHITECTURE", "OnePassConfig", "OnePassModel", "Unit", "encode_unit", "mark_spans", "train_onepass", "units_of"]

ARCHITECTURE = "one-pass"

MAX_LENGTH = 512
"""Wordpieces per encoded text (the encoder's position limit); longer texts are cut, and a span
whose marker falls beyond the cut is represented by the last token kept."""

MARK = "@"
CONDITION_MARK = "#"
"""With typed markers (``OnePassConfig.typed_markers``) a Drug span is marked ``@ ... @`` and a
Disease or Symptom span ``# ... #`` (one mark for both: the linker, not the text, tells them apart),
so the encoder sees every marked entity's type, not only the pair's."""


def marker_for(label: str) -> str:
    return MARK if label == "Drug" else CONDITION_MARK


@dataclass(frozen=True, slots=True)
class Unit:
    """One text to encode once, its marked spans and the candidate pairs over them.

    ``spans`` are distinct ``(start, end)`` character offsets; each pair is ``(head index, tail
    index, task, candidate position)`` where the position indexes the caller's candidate list.
    """

    text: str
    spans: tuple[tuple[int, int], ...]
    pairs: tuple[tuple[int, int, str, int], ...]
    labels: tuple[str, ...] = ()
    """Entity type of each span (first seen among the candidates), for typed markers."""


def units_of(cands: Sequence[RelationCandidate]) -> list[Unit]:
    """Group candidates by text: one unit per distinct text, in first-seen order."""
    by_text: dict[str, list[int]] = {}
    for i, c in enumerate(cands):
        by_text.setdefault(c.text, []).append(i)
    out = []
    for text, idx in by_text.items():
        spans = sorted({(cands[i].head_start, cands[i].head_end) for i in idx} | {(cands[i].tail_start, cands[i].tail_end) for i in idx})
        where = {s: k for k, s in enumerate(spans)}
        pairs = tuple(
            (where[(cands[i].head_start, cands[i].head_end)], where[(cands[i].tail_start, cands[i].tail_end)], cands[i].task, i)
            for i in idx
        )
        label_of: dict[tuple[int, int], str] = {}
        for i in idx:
            label_of.setdefault((cands[i].head_start, cands[i].head_end), cands[i].head_label)
            label_of.setdefault((cands[i].tail_start, cands[i].tail_end), cands[i].tail_label)
        out.append(Unit(text, tuple(spans), pairs, tuple(label_of[s] for s in spans)))
    return out


def mark_spans(text: str, spans: Sequence[tuple[int, int]], marks: Sequence[str] | None = None) -> tuple[str, list[int]]:
    """``text`` with ``@`` (or ``marks[k]`` for span ``k``) before and after every span, and where
    each span's opening marker is.

    At one position closing markers come before opening ones; nested spans open outer-first and
    close inner-first, so markers nest as the spans do (``@ @ heparin @-induced thrombocytopenia @``).
    """
    inserts = []
    for k, (start, end) in enumerate(spans):
        mark = marks[k] if marks is not None else MARK
        inserts.append((end, 0, -start, f" {mark}", -1))
        inserts.append((start, 1, -end, f"{mark} ", k))
    inserts.sort(key=lambda x: (x[0], x[1], x[2]))
    pieces: list[str] = []
    opens = [0] * len(spans)
    shift = prev = 0
    for pos, _, _, piece, k in inserts:
        pieces.append(text[prev:pos])
        shift += pos - prev
        prev = pos
        if k >= 0:
            opens[k] = shift
        pieces.append(piece)
        shift += len(piece)
    pieces.append(text[prev:])
    return "".join(pieces), opens


@dataclass(frozen=True, slots=True)
class EncodedUnit:
    """Token ids of a marked unit, each span's opening-marker token, and whether the span's marker
    fell past the length cut (such a span has no representation of its own; its pairs are not
    classified and come out as ``none``)."""

    input_ids: tuple[int, ...]
    marker_pos: tuple[int, ...]
    clipped: tuple[bool, ...] = ()


def encode_unit(tokenizer: Any, unit: Unit, *, max_length: int = MAX_LENGTH) -> EncodedUnit:
    """Token ids of a marked unit and the token index of each span's opening marker."""
    return encode_units(tokenizer, [unit], max_length=max_length)[0]


def encode_units(tokenizer: Any, units: Sequence[Unit], *, max_length: int = MAX_LENGTH,
                 typed: bool = False) -> list[EncodedUnit]:
    if not units:
        return []
    marked = [mark_spans(u.text, u.spans, [marker_for(lab) for lab in u.labels] if typed and u.labels else None)
              for u in units]
    with quiet_hf():  # texts past max_length are cut below; the "longer than the maximum" warning misleads
        batch = tokenizer([m for m, _ in marked], add_special_tokens=False, return_offsets_mapping=True)
    prefix, suffix = _special_layout(tokenizer)
    room = max_length - len(prefix) - len(suffix)
    out = []
    for (_, opens), ids, offsets in zip(marked, batch["input_ids"], batch["offset_mapping"]):
        starts = {s: i for i, (s, e) in enumerate(offsets) if e > s}
        pos, clipped = [], []
        for char in opens:
            tok = starts.get(char)
            if tok is None:  # a tokenizer that merged the marker with a neighbour: the token covering it
                tok = next((i for i, (s, e) in enumerate(offsets) if s <= char < e), len(ids) - 1)
            clipped.append(tok >= room)
            pos.append(min(tok, room - 1) + len(prefix))
        ids = list(ids[:room])
        out.append(EncodedUnit(tuple(prefix + ids + suffix), tuple(pos), tuple(clipped)))
    return out


def build_onepass_net(base: str, task_labels: Mapping[str, Sequence[str]], *, head_hidden: int) -> Any:
    """The encoder (eager attention, so the last layer's attention can be read) + one head per task."""
    import torch
    from torch import nn

    encoder = load_encoder(base, attn_implementation="eager")

    class OnePassNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder
            self.heads = task_heads(3 * encoder.config.hidden_size, task_labels, head_hidden=head_hidden)

        def pairs(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, row: torch.Tensor, head: torch.Tensor, tail: torch.Tensor) -> torch.Tensor:
            """``[head; tail; context]`` for every pair (``row`` = its text in the batch, ``head``/``tail`` = marker token indices)."""
            out = self.encoder(input_ids=input_ids, attention_mask=attention_mask, output_attentions=True)
            states, attention = out.last_hidden_state, out.attentions[-1]  # (B, L, H), (B, heads, L, L)
            h, t = states[row, head], states[row, tail]
            weights = (attention[row, :, head] * attention[row, :, tail]).mean(1)  # (P, L)
            weights = weights / (weights.sum(-1, keepdim=True) + 1e-6)
            # one (P_b, L) x (L, H) product per text, not a (P, L, H) gather: memory stays linear in pairs
            parts = [(row == b).nonzero(as_tuple=True)[0] for b in range(states.shape[0])]
            context = torch.cat([weights[idx] @ states[b] for b, idx in enumerate(parts)])
            order = torch.cat(parts)
            context = context[torch.argsort(order)]
            return torch.cat([h, t, context], dim=-1)

    return OnePassNet()


def _batch_tensors(encoded: Sequence[EncodedUnit], units: Sequence[Unit], index: Sequence[int], *, pad_id: int, device: Any) -> tuple[dict[str, Any], list[tuple[int, int, str, int]]]:
    """Padded ids for the units ``index`` and the flat pair list ``(row, head token, tail token, task, candidate)``."""
    import torch

    width = max(len(encoded[i].input_ids) for i in index)
    ids = torch.full((len(index), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(index), width), dtype=torch.long)
    flat = []
    for r, i in enumerate(index):
        e = encoded[i]
        ids[r, : len(e.input_ids)] = torch.tensor(e.input_ids, dtype=torch.long)
        mask[r, : len(e.input_ids)] = 1
        for h, t, task, cand in units[i].pairs:
            if not (e.clipped and (e.clipped[h] or e.clipped[t])):
                flat.append((r, e.marker_pos[h], e.marker_pos[t], task, cand))
    tensors = {"input_ids": ids.to(device), "attention_mask": mask.to(device)}
    return tensors, flat


class OnePassModel(RelationModel):
    """A loaded one-pass relation model; same interface as :class:`RelationModel`."""

    def __init__(self, *, net: Any, tokenizer: Any, meta: dict[str, Any], device: Device, model_dir: str | None) -> None:
        super().__init__(net=net, tokenizer=tokenizer, meta=meta, device=device, model_dir=model_dir)
        self.max_length = int(meta.get("max_length", MAX_LENGTH))
        self.typed_markers = bool((meta.get("hyperparameters") or {}).get("typed_markers", False))
        self.max_tokens = 4096 if device.type == "cpu" else 32768
        """Padded tokens per encoder pass (every layer's attention map is kept until the pass ends)."""

    @classmethod
    def load(cls, model_dir: str | Path, *, device: str = "auto", base: str | None = None, bf16: bool | None = None) -> OnePassModel:
        from peft import PeftModel
        from transformers import AutoTokenizer

        path = Path(model_dir)
        meta = read_model_meta(path)
        if meta.get("task") != "relation-extraction" or meta.get("architecture") != ARCHITECTURE:
            raise ModelNotFoundError(f"{path} is not a one-pass relation-extraction model")
        dev = pick_inference_device(device, bf16=bf16)
        net = build_onepass_net(base or meta["base"], meta["labels"], head_hidden=int(meta["hyperparameters"]["head_hidden"]))
        net = PeftModel.from_pretrained(net, str(path)).merge_and_unload()
        place_for_inference(net, dev)
        tokenizer = AutoTokenizer.from_pretrained(str(path))
        return cls(net=net, tokenizer=tokenizer, meta=meta, device=dev, model_dir=str(path))

    def predict(self, cands: Sequence[RelationCandidate], *, batch_size: int | None = None) -> list[RelationPrediction]:
        """Classify candidates (results in input order); one encoder pass per distinct text."""
        import torch

        for c in cands:
            if c.task not in self.labels:
                raise CandidateError(f"this model has no task {c.task!r}; it has: {', '.join(self.labels)}")
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if not cands:
            return []
        units = units_of(cands)
        encoded = encode_units(self.tokenizer, units, max_length=self.max_length, typed=self.typed_markers)
        lengths = [len(e.input_ids) for e in encoded]
        out: list[RelationPrediction | None] = [None] * len(cands)
        pad = self.tokenizer.pad_token_id or 0
        self.net.eval()
        with torch.inference_mode(), self.device.autocast():
            for index in length_batches(lengths, batch_size=batch_size or self.batching.batch_size, max_tokens=self.max_tokens):
                tensors, flat = _batch_tensors(encoded, units, index, pad_id=pad, device=self.device.torch_device)
                dev = self.device.torch_device
                if not flat:
                    continue
                pooled = self.net.pairs(
                    **tensors,
                    row=torch.tensor([f[0] for f in flat], device=dev),
                    head=torch.tensor([f[1] for f in flat], device=dev),
                    tail=torch.tensor([f[2] for f in flat], device=dev),
                )
                tasks = [f[3] for f in flat]
                for task in dict.fromkeys(tasks):
                    rows = [k for k, t in enumerate(tasks) if t == task]
                    logits = self.net.heads[task](pooled[torch.tensor(rows, device=dev)]).float()
                    if self.corrects(task):
                        logits = logits + self._adjust[task]
                    probs = torch.softmax(logits, dim=-1).cpu()
                    labels = self.labels[task]
                    for k, p in zip(rows, probs.tolist()):
                        best = max(range(len(p)), key=p.__getitem__)
                        out[flat[k][4]] = RelationPrediction(task=task, label=labels[best], score=p[best], relation_score=1.0 - p[0])
        for i, p in enumerate(out):
            if p is None:  # a pair whose marker fell past the length cut: not classified
                out[i] = RelationPrediction(task=cands[i].task, label="none", score=1.0, relation_score=0.0)
        return [p for p in out if p is not None]


@dataclass(frozen=True, slots=True)
class OnePassConfig:
    """Hyperparameters of :func:`train_onepass` (recorded in ``medkg.json``)."""

    base: str = PACKAGED_BASE
    epochs: int = 5
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup: float = 0.06
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.0
    lora_layers: int | None = None
    head_hidden: int = 256
    batch_units: int = 16
    max_tokens: int = 4096
    max_units: Mapping[str, int] = field(default_factory=lambda: {"ade": 1500})
    class_weight_power: float = 0.5
    typed_markers: bool = False
    prior_exclude: tuple[str, ...] = ("ade",)
    uncorrected: tuple[str, ...] = ("adverse_effect", "has_symptom")
    """Tasks whose prior correction is recorded but not applied at prediction: the raw posteriors
    of the class-weighted model decide, which call more pairs positive. Chosen on dev (so
    optimistic), from the ablation BENCHMARKS.md "Relation extraction" reports: without the
    correction the binary tasks scored higher F1 (model of 2026-12-06: BC5CDR CID 53.6 against
    51.2, ADE 95.8 against 93.5, RareDis sentence scope 47.7 against 46.9; a document-scope
    symptom model 64.0 against 59.5), the four-class DDI task lower (68.9 against 72.9), so DDI
    keeps it. The models retrained with this default on 2026-12-07: CID 52.9 (51.4 corrected),
    ADE 95.9 (93.7), RareDis 47.6 (47.1), symptom model 65.2 (61.0)."""
    max_length: int = MAX_LENGTH
    seed: int = 13
    device: str = "auto"
    bf16: bool | None = None
    max_steps: int | None = None
    threads: int | None = None


def train_onepass(
    train_sets: Sequence[Any],
    *,
    config: OnePassConfig = OnePassConfig(),
    dev_sets: Sequence[Any] = (),
    out_dir: str | Path | None = None,
    log: Any = None,
) -> OnePassModel:
    """Train a one-pass model (LoRA on the encoder + a head per task) on :class:`RelationSet` s.

    Each set's candidates are grouped by text into units (:func:`units_of`); an epoch visits
    every unit of every corpus (at most ``max_units`` of a corpus, a fresh sample each epoch) in
    length-bucketed batches, and the loss is the class-weighted cross-entropy of all the pairs of
    the batch, each through its task's head. Class weights are ``(N / (K n_c)) ** power`` over the
    training pairs; the recorded logit adjustment ``-log w_c`` (shifted to 0 on ``none``) undoes
    their effect on the prior at prediction (except for the ``uncorrected`` tasks, a choice made
    on dev: see :class:`OnePassConfig`).
    """
    import torch

    from extractors.relations.train import Optimisation, class_weights, finish_training, task_meta, training_setup

    say = log or (lambda _line: None)
    task_labels, rng, device, tokenizer, net, peft_model = training_setup("train_onepass", train_sets, config, build_onepass_net)

    t0 = time.perf_counter()
    corpus_units: dict[str, tuple[list[Unit], list[EncodedUnit], list[int]]] = {}
    label_counts: dict[str, Counter[str]] = defaultdict(Counter)
    natural: dict[str, Counter[str]] = defaultdict(Counter)
    label_index = {t: {lab: i for i, lab in enumerate(labels)} for t, labels in task_labels.items()}
    for s in train_sets:
        cands = [e.candidate for e in s.examples]
        units = units_of(cands)
        encoded = encode_units(tokenizer, units, max_length=config.max_length, typed=config.typed_markers)
        targets = [label_index[s.task][e.label] for e in s.examples]
        corpus_units[s.corpus] = (units, encoded, targets)
        counts = Counter(e.label for e in s.examples)
        label_counts[s.task].update(counts)
        if s.corpus not in config.prior_exclude:
            natural[s.task].update(counts)
    weights = {t: class_weights(labels, label_counts[t], config.class_weight_power) for t, labels in task_labels.items()}
    adjust = {}
    for t, labels in task_labels.items():
        w = weights[t]
        nat, seen = natural[t] or label_counts[t], label_counts[t]
        # model prior ~ w_c * seen_c; data prior ~ nat_c: adj = log nat_c - log (w_c seen_c)
        import math

        raw = [math.log(nat[lab] / max(sum(nat.values()), 1)) - math.log(w[i] * seen[lab] / max(sum(w[j] * seen[x] for j, x in enumerate(labels)), 1e-9))
               if nat.get(lab) and seen.get(lab) else 0.0 for i, lab in enumerate(labels)]
        adjust[t] = [round(a - raw[0], 4) for a in raw]
    weight_t = {t: torch.tensor(w, device=device.torch_device) for t, w in weights.items()}

    def epoch_plan() -> list[tuple[str, list[int]]]:
        plan = []
        for corpus, (units, encoded, _) in corpus_units.items():
            idx = list(range(len(units)))
            cap = config.max_units.get(corpus)
            if cap is not None and len(idx) > cap:
                idx = rng.sample(idx, cap)
            rng.shuffle(idx)
            chunk = config.batch_units * 50
            for c in range(0, len(idx), chunk):
                part = sorted(idx[c : c + chunk], key=lambda i: len(encoded[i].input_ids))
                lengths = [len(encoded[i].input_ids) for i in part]
                plan += [(corpus, [part[k] for k in b]) for b in length_batches(lengths, batch_size=config.batch_units, max_tokens=config.max_tokens)]
        rng.shuffle(plan)
        return plan

    steps_per_epoch = len(epoch_plan())
    total = steps_per_epoch * config.epochs if config.max_steps is None else min(config.max_steps, steps_per_epoch * config.epochs)
    opt = Optimisation(peft_model, config, total)
    say(f"one-pass: training {sum(p.numel() for p in opt.params):,} parameters on {device.name} (bf16={device.bf16}); "
        f"{steps_per_epoch} steps/epoch x {config.epochs}; units " + json.dumps({c: len(u[0]) for c, u in corpus_units.items()}))
    pad = tokenizer.pad_token_id or 0
    task_of = {s.corpus: s.task for s in train_sets}
    peft_model.train()
    dev = device.torch_device
    for epoch in range(config.epochs):
        opt.start_epoch()
        for corpus, index in epoch_plan():
            if config.max_steps is not None and opt.step_count >= config.max_steps:
                break
            units, encoded, targets = corpus_units[corpus]
            task = task_of[corpus]
            tensors, flat = _batch_tensors(encoded, units, index, pad_id=pad, device=dev)
            if not flat:
                continue
            with device.autocast():
                pooled = net.pairs(
                    **tensors,
                    row=torch.tensor([f[0] for f in flat], device=dev),
                    head=torch.tensor([f[1] for f in flat], device=dev),
                    tail=torch.tensor([f[2] for f in flat], device=dev),
                )
                logits = net.heads[task](pooled)
            target = torch.tensor([targets[f[4]] for f in flat], device=dev)
            loss = torch.nn.functional.cross_entropy(logits.float(), target, weight=weight_t[task])
            opt.step(loss, len(flat), epoch=epoch, unit="pairs", say=say)
        opt.end_epoch(epoch, say)
    train_seconds = time.perf_counter() - t0
    peft_model.eval()
    meta: dict[str, Any] = {
        "task": "relation-extraction",
        "architecture": ARCHITECTURE,
        "base": config.base,
        **task_meta(task_labels),
        "max_length": config.max_length,
        "scopes": {s.task: s.scope for s in train_sets if s.scope != "sentence"},
        "hyperparameters": {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in asdict(config).items()},
        "class_imbalance": "class-weighted cross-entropy over all candidate pairs (inverse frequency ** class_weight_power), "
                           "undone at prediction by the recorded logit adjustment (except uncorrected_tasks); "
                           "at most max_units texts per corpus per epoch",
        "data": {s.corpus: {"task": s.task, "source": s.source, "split": s.split, "candidates": s.counts(),
                            "units": len(corpus_units[s.corpus][0]), "notes": dict(s.notes)} for s in train_sets},
        "training": {"seconds": round(train_seconds, 1), "steps": opt.step_count, "device": device.name, "bf16": device.bf16},
        "logit_adjustment": adjust,
        "uncorrected_tasks": sorted(t for t in config.uncorrected if t in task_labels),
    }
    model = OnePassModel(net=net, tokenizer=tokenizer, meta=meta, device=device, model_dir=None)
    return finish_training(model, peft_model, dev_sets, out_dir, say)  # type: ignore[return-value]
