"""Training and evaluation of the relation model (``train_re`` / ``evaluate_re``).

Training is multi-task: every batch holds candidates of one corpus, batches of all corpora are
shuffled together, and one LoRA adapter on the shared encoder learns from all of them while
each task's head learns from its own batches.

Class imbalance is handled in two ways, both recorded in ``medkg.json``:

* **negative downsampling**: each epoch keeps every positive candidate (up to a per-corpus cap)
  and a fresh random sample of at most ``neg_ratio`` negatives per positive, so the model sees
  different negatives every epoch and the CPU budget goes to informative pairs;
* **class weights** in the cross-entropy, ``(N / (K * n_c)) ** class_weight_power`` over the
  first epoch's sample, so DDI's rare ``int`` class (157 training pairs) is not drowned out by
  ``effect`` (1,335). A power of 0.5 (inverse square root) rather than 1 keeps the rare class
  from dominating the loss once downsampling has already balanced positives and negatives.

Both shift the model's class prior away from the data's: the first shipped model, trained this
way, labelled 82 % of DDI dev pairs right but 70 % of its positives were false (precision 0.30).
So training records a **prior correction** (logit adjustment, as in Menon et al. 2021 /
King & Zeng 2001): for each task and class ``c``,
``adj_c = log p_data(c) - log p_train(c)``, where ``p_train(c)`` is proportional to
``weight_c * sampled_c`` (what the loss saw) and ``p_data(c)`` to the class's count among all
training candidates. :meth:`RelationModel.predict` adds ``adj`` to the logits before the
softmax. It comes from training counts alone (nothing is tuned on dev; the one-pass model's
``OnePassConfig.uncorrected`` tasks, chosen on dev, keep their raw posteriors). ADE v2 is left out of
``p_data`` (``prior_exclude``): it holds only sentences that contain an adverse effect, so its
97 % positive rate is an artefact of how it was sampled, not a prior.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from extractors.errors import ExtractionError
from extractors.scorers import PRF, format_table, relation_scores
from extractors.relations.candidates import TASKS
from extractors.relations.data import RelationSet
from extractors.relations.model import (
    CONTEXT,
    MAX_LENGTH,
    Encoded,
    RelationModel,
    build_net,
    check_tasks,
    collate,
    encode_candidates,
)
from extractors.transformer import PACKAGED_BASE, lora_targets, pick_device, write_model_meta

__all__ = ["EvalResult", "TrainConfig", "evaluate_re", "record_dev_metrics", "save_model", "train_re"]

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@dataclass(frozen=True, slots=True)
class TrainConfig:
    """Hyperparameters of :func:`train_re`; the defaults are the shipped model's.

    The defaults are sized for the project's CPU budget (all relation heads from scratch in
    under ~15 minutes on the 2-core CPU), measured there in fp32 at ~1,000 wordpieces/s with
    LoRA on the top 3 of MiniLM's 6 layers (~650/s with LoRA on all 6, since backpropagation
    then runs through the whole encoder), hence:

    * ``lora_layers=3``: only the top 3 layers get LoRA; the lower ones stay frozen;
    * one epoch over every positive (ADE capped at 1,000: its candidates are 97 % positive, so
      more of them teach the shared head little) plus ``neg_ratio`` sampled negatives each;
    * ``bf16=None``: bf16 autocast on CUDA only. On this CPU (no AVX512-BF16) autocast made
      LoRA training ~4x *slower*, so CPU training runs in fp32.

    ``lr`` 1e-3 is high for full fine-tuning but usual for LoRA, whose low-rank updates start
    at zero. With a hub base on a GPU, raise ``epochs`` and set ``lora_layers=None``.
    ``max_steps`` cuts training short (tests).
    """

    base: str = PACKAGED_BASE
    epochs: int = 1
    batch_size: int = 32
    lr: float = 1e-3
    warmup: float = 0.06
    weight_decay: float = 0.01
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.0
    lora_layers: int | None = 3
    head_hidden: int = 256
    neg_ratio: Mapping[str, float] = field(
        default_factory=lambda: {"ddi2013": 0.8, "bc5cdr": 1.0, "ade": 1.0, "raredis": 1.0}
    )
    max_positives: Mapping[str, int] = field(
        default_factory=lambda: {"ddi2013": 10_000, "bc5cdr": 10_000, "ade": 1_000, "raredis": 10_000}
    )
    class_weight_power: float = 0.5
    prior_exclude: tuple[str, ...] = ("ade",)
    max_length: int = MAX_LENGTH
    context: int | None = CONTEXT
    seed: int = 13
    device: str = "auto"
    bf16: bool | None = None
    max_steps: int | None = None
    threads: int | None = None


@dataclass(frozen=True, slots=True)
class EvalResult:
    """Pair-level scores of one corpus split, with the intra-sentence recall ceiling."""

    corpus: str
    task: str
    split: str
    scores: Mapping[str, PRF]
    candidates: int
    gold: int
    reachable: int
    seconds: float

    @property
    def ceiling_recall(self) -> float:
        return self.reachable / self.gold if self.gold else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "corpus": self.corpus, "task": self.task, "split": self.split,
            "scores": {k: v.as_dict() for k, v in self.scores.items()},
            "candidates": self.candidates, "gold": self.gold, "reachable_gold": self.reachable,
            "ceiling_recall": round(self.ceiling_recall, 4), "seconds": round(self.seconds, 1),
        }



class Optimisation:
    """AdamW over the trainable parameters with a linear warm-up/decay schedule, stepped with
    gradients clipped to norm 1, and the running loss the progress lines report (shared by the
    per-pair and the one-pass trainers)."""

    def __init__(self, model: Any, config: Any, total: int) -> None:
        import torch
        from transformers import get_linear_schedule_with_warmup

        self.params = [p for p in model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(self.params, lr=config.lr, weight_decay=config.weight_decay)
        self.schedule = get_linear_schedule_with_warmup(self.optimizer, int(config.warmup * total), max(total, 1))
        self.total = total
        self.step_count = 0
        self.running = 0.0
        self.seen = 0
        self.t_epoch = time.perf_counter()

    def start_epoch(self) -> None:
        self.running, self.seen, self.t_epoch = 0.0, 0, time.perf_counter()

    def step(self, loss: Any, n: int, *, epoch: int, unit: str, say: Any) -> None:
        """Back-propagate ``loss`` (the mean over ``n`` items) and step; a progress line every 100 steps."""
        import torch

        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.params, 1.0)
        self.optimizer.step()
        self.schedule.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.step_count += 1
        self.running += float(loss.detach()) * n
        self.seen += n
        if self.step_count % 100 == 0:
            say(f"epoch {epoch + 1} step {self.step_count}/{self.total} loss {self.loss:.4f} "
                f"({self.seen / (time.perf_counter() - self.t_epoch):.0f} {unit}/s)")

    @property
    def loss(self) -> float:
        return self.running / max(self.seen, 1)

    def end_epoch(self, epoch: int, say: Any) -> None:
        say(f"epoch {epoch + 1} done: loss {self.loss:.4f}, {time.perf_counter() - self.t_epoch:.0f} s")

def _epoch_sample(rset: RelationSet, config: TrainConfig, rng: random.Random) -> list[int]:
    """Indices of this epoch's examples: capped positives + sampled negatives."""
    pos = [i for i, ex in enumerate(rset.examples) if ex.label != "none"]
    neg = [i for i, ex in enumerate(rset.examples) if ex.label == "none"]
    cap = config.max_positives.get(rset.corpus, len(pos))
    if len(pos) > cap:
        pos = rng.sample(pos, cap)
    n_neg = min(len(neg), int(round(config.neg_ratio.get(rset.corpus, 1.0) * len(pos))))
    return pos + rng.sample(neg, n_neg)


def _batches(indices: list[int], encoded: Sequence[Encoded], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Length-bucketed batches: shuffle, sort within chunks of 50 batches, cut, so padding stays
    small while batch composition still changes every epoch."""
    rng.shuffle(indices)
    chunk = batch_size * 50
    out = []
    for c in range(0, len(indices), chunk):
        part = sorted(indices[c : c + chunk], key=lambda i: len(encoded[i].input_ids))
        out += [part[b : b + batch_size] for b in range(0, len(part), batch_size)]
    return out


def class_weights(labels: Sequence[str], counts: Mapping[str, int], power: float) -> list[float]:
    """``(N / (K n_c)) ** power`` per label (1 for a label absent from ``counts``)."""
    n, k = sum(counts.get(lab, 0) for lab in labels), len(labels)
    return [((n / (k * counts[lab])) ** power) if counts.get(lab) else 1.0 for lab in labels]


def training_setup(name: str, train_sets: Sequence[RelationSet], config: Any, build: Any) -> tuple[Any, ...]:
    """What both relation trainers start with: the tasks (checked), seeded RNGs, the device, the
    tokenizer, ``build(base, task_labels, head_hidden=...)``'s net and its PEFT wrapper (LoRA on the
    top ``config.lora_layers`` encoder layers, the heads saved whole). Returns
    ``(task_labels, rng, device, tokenizer, net, peft_model)``."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoTokenizer

    from extractors.transformer import resolve_base

    if not train_sets:
        raise ExtractionError(f"{name} needs at least one training set")
    task_labels = {s.task: TASKS[s.task].labels for s in train_sets}
    check_tasks(task_labels)
    if config.threads:
        torch.set_num_threads(config.threads)
    rng = random.Random(config.seed)
    torch.manual_seed(config.seed)
    device = pick_device(config.device, bf16=config.bf16)
    tokenizer = AutoTokenizer.from_pretrained(resolve_base(config.base))
    net = build(config.base, task_labels, head_hidden=config.head_hidden)
    n_layers = int(net.encoder.config.num_hidden_layers)
    top = n_layers if config.lora_layers is None else min(config.lora_layers, n_layers)
    lora = LoraConfig(
        r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
        target_modules=lora_targets(range(n_layers - top, n_layers)), modules_to_save=[f"heads.{t}" for t in task_labels],
    )
    peft_model = get_peft_model(net, lora)
    peft_model.to(device.torch_device)
    return task_labels, rng, device, tokenizer, net, peft_model


def task_meta(task_labels: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """The ``medkg.json`` entries describing the tasks: labels, descriptions, graph edges."""
    return {
        "labels": {t: list(v) for t, v in task_labels.items()},
        "tasks": {t: TASKS[t].description for t in task_labels},
        "edges": {t: {lab: {"edge_type": m.edge_type, "direction": m.direction, "properties": dict(m.properties)}
                      for lab, m in TASKS[t].edges.items()} for t in task_labels},
    }


def finish_training(model: RelationModel, peft_model: Any, dev_sets: Sequence[RelationSet], out_dir: str | Path | None,
                    say: Any) -> RelationModel:
    """Keep the PEFT wrapper for saving, score ``dev_sets`` into ``medkg.json``, save to ``out_dir``."""
    model.peft_model = peft_model  # kept for save_model  # type: ignore[attr-defined]
    if dev_sets:
        results = [evaluate_re(model, s) for s in dev_sets]
        model.meta["dev_metrics"] = {r.corpus: r.as_dict() for r in results}
        model.meta["dev_data"] = {s.corpus: {"source": s.source, "split": s.split, "candidates": s.counts(), "notes": dict(s.notes)}
                                  for s in dev_sets}
        for r in results:
            say(format_table(dict(r.scores), f"{r.corpus} dev ({r.task}), ceiling recall {r.ceiling_recall:.3f}"))
        silent = [r.corpus for r in results if not any(s.tp + s.fp for s in r.scores.values())]
        if silent:
            say(f"WARNING: the trained model predicts no relation at all on the dev split of {', '.join(silent)}: "
                "training most likely diverged (seen with --lr 0.001 and RareDis at document scope); "
                "retrain with a lower --lr before using it")
    if out_dir is not None:
        save_model(model, out_dir)
    return model


def sample_counts(counts: Mapping[str, int], corpus: str, config: TrainConfig) -> dict[str, float]:
    """Expected per-label counts of one epoch's sample (:func:`_epoch_sample`) from a corpus's
    candidate counts: positives capped at ``max_positives`` (scaled evenly across labels), then
    ``neg_ratio`` negatives per kept positive."""
    pos = {lab: n for lab, n in counts.items() if lab not in ("none", "gold_relations")}
    n_pos = sum(pos.values())
    cap = config.max_positives.get(corpus, n_pos)
    scale = min(1.0, cap / n_pos) if n_pos else 1.0
    kept = min(n_pos, cap)
    out = {lab: n * scale for lab, n in pos.items()}
    out["none"] = float(min(counts.get("none", 0), int(round(config.neg_ratio.get(corpus, 1.0) * kept))))
    return out


def prior_adjustment(
    task_labels: Mapping[str, Sequence[str]],
    data_counts: Mapping[str, tuple[str, Mapping[str, int]]],
    config: TrainConfig,
) -> dict[str, list[float]]:
    """Per-task logit adjustment ``log p_data(c) - log p_train(c)`` (see the module docstring).

    ``data_counts`` maps corpus -> (task, candidate counts per label). Classes absent from the
    data get 0. Only differences matter under a softmax, so each vector is shifted to put 0 on
    ``none``.
    """
    import math

    out: dict[str, list[float]] = {}
    for task, labels in task_labels.items():
        sampled: Counter[str] = Counter()
        natural: Counter[str] = Counter()
        fallback: Counter[str] = Counter()
        for corpus, (t, counts) in data_counts.items():
            if t != task:
                continue
            sampled.update(sample_counts(counts, corpus, config))
            real = {lab: n for lab, n in counts.items() if lab != "gold_relations"}
            fallback.update(real)
            if corpus not in config.prior_exclude:
                natural.update(real)
        natural = natural or fallback
        n_s, k = sum(sampled.values()), len(labels)
        weights = [((n_s / (k * sampled[lab])) ** config.class_weight_power) if sampled[lab] else 1.0 for lab in labels]
        train_mass = [w * sampled[lab] for w, lab in zip(weights, labels)]
        t_total, n_total = sum(train_mass), sum(natural.values())
        adj = []
        for lab, m in zip(labels, train_mass):
            if not m or not natural[lab]:
                adj.append(0.0)
            else:
                adj.append(math.log(natural[lab] / n_total) - math.log(m / t_total))
        base = adj[labels.index("none")] if "none" in labels else 0.0
        out[task] = [round(a - base, 4) for a in adj]
    return out


def train_re(
    train_sets: Sequence[RelationSet],
    *,
    config: TrainConfig = TrainConfig(),
    dev_sets: Sequence[RelationSet] = (),
    out_dir: str | Path | None = None,
    log: Any = None,
) -> RelationModel:
    """Train one LoRA adapter + a head per task on ``train_sets``; optionally evaluate and save.

    With ``dev_sets`` the trained model is scored with :func:`evaluate_re` and the results go
    into ``medkg.json``; with ``out_dir`` the model directory is written (see :func:`save_model`).
    ``log`` is a callable taking one line (e.g. ``print``), or ``None`` for silence.
    """
    import torch

    say = log or (lambda _line: None)
    task_labels, rng, device, tokenizer, net, peft_model = training_setup("train_re", train_sets, config, build_net)

    t0 = time.perf_counter()
    encoded = {
        s.corpus: encode_candidates(tokenizer, [e.candidate for e in s.examples], max_length=config.max_length,
                                    context=config.context)
        for s in train_sets
    }
    samples = {s.corpus: _epoch_sample(s, config, rng) for s in train_sets}
    per_task_labels: dict[str, list[str]] = defaultdict(list)
    for s in train_sets:
        per_task_labels[s.task] += [s.examples[i].label for i in samples[s.corpus]]
    weights = {
        t: torch.tensor(class_weights(task_labels[t], Counter(per_task_labels[t]), config.class_weight_power), device=device.torch_device)
        for t in task_labels
    }
    label_index = {t: {lab: i for i, lab in enumerate(labels)} for t, labels in task_labels.items()}
    steps_per_epoch = sum((len(v) + config.batch_size - 1) // config.batch_size for v in samples.values())
    total = steps_per_epoch * config.epochs if config.max_steps is None else min(config.max_steps, steps_per_epoch * config.epochs)
    opt = Optimisation(peft_model, config, total)
    say(f"training {sum(p.numel() for p in opt.params):,} parameters on {device.name} (bf16={device.bf16}); "
        f"{steps_per_epoch} steps/epoch x {config.epochs}; class weights "
        + json.dumps({t: [round(float(w), 2) for w in v] for t, v in weights.items()}))

    pad = tokenizer.pad_token_id or 0
    peft_model.train()
    by_corpus = {s.corpus: s for s in train_sets}
    for epoch in range(config.epochs):
        if epoch:
            samples = {s.corpus: _epoch_sample(s, config, rng) for s in train_sets}
        plan = [(c, b) for c, idx in samples.items() for b in _batches(list(idx), encoded[c], config.batch_size, rng)]
        rng.shuffle(plan)
        opt.start_epoch()
        for corpus, batch_idx in plan:
            if config.max_steps is not None and opt.step_count >= config.max_steps:
                break
            rset = by_corpus[corpus]
            task = rset.task
            batch = collate([encoded[corpus][i] for i in batch_idx], pad_id=pad, device=device.torch_device)
            target = torch.tensor([label_index[task][rset.examples[i].label] for i in batch_idx], device=device.torch_device)
            with device.autocast():
                logits = net(**batch, task=task)
            loss = torch.nn.functional.cross_entropy(logits.float(), target, weight=weights[task])
            opt.step(loss, len(batch_idx), epoch=epoch, unit="candidates", say=say)
        opt.end_epoch(epoch, say)
    train_seconds = time.perf_counter() - t0

    peft_model.eval()
    meta: dict[str, Any] = {
        "task": "relation-extraction",
        "base": config.base,
        **task_meta(task_labels),
        "max_length": config.max_length,
        "context": config.context,
        "hyperparameters": {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in asdict(config).items()},
        "class_imbalance": "negative downsampling per epoch (neg_ratio negatives per positive, fresh sample each "
                           "epoch) + class-weighted cross-entropy (inverse frequency ** class_weight_power)",
        "data": {s.corpus: {"task": s.task, "source": s.source, "split": s.split, "candidates": s.counts(),
                            "notes": dict(s.notes)} for s in train_sets},
        "training": {"seconds": round(train_seconds, 1), "steps": opt.step_count, "device": device.name, "bf16": device.bf16},
        "logit_adjustment": prior_adjustment(
            task_labels, {s.corpus: (s.task, s.counts()) for s in train_sets}, config
        ),
    }
    model = RelationModel(net=net, tokenizer=tokenizer, meta=meta, device=device, model_dir=None)
    return finish_training(model, peft_model, dev_sets, out_dir, say)


def save_model(model: RelationModel, out_dir: str | Path) -> None:
    """Write the PEFT adapter (+ heads), tokenizer, ``medkg.json`` and README model card.

    Only a model returned by :func:`train_re` (still holding its PEFT wrapper) can be saved;
    loaded models have their LoRA merged into the encoder.
    """
    from extractors.relations.card import model_card

    peft_model = getattr(model, "peft_model", None)
    if peft_model is None:
        raise ExtractionError("only a freshly trained model can be saved (a loaded model's adapter is merged)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    peft_model.save_pretrained(str(out))
    model.tokenizer.save_pretrained(str(out))
    write_model_meta(out, model.meta)
    (out / "README.md").write_text(model_card(model.meta), encoding="utf-8")
    model.model_dir = str(out)


def record_dev_metrics(model_dir: str | Path, results: Sequence[EvalResult], dev_sets: Sequence[RelationSet]) -> None:
    """Store dev results in a saved model's ``medkg.json`` and regenerate its README card."""
    from extractors.relations.card import model_card
    from extractors.transformer import read_model_meta

    meta = read_model_meta(model_dir)
    meta["dev_metrics"] = {r.corpus: r.as_dict() for r in results}
    meta["dev_data"] = {s.corpus: {"source": s.source, "split": s.split, "candidates": s.counts(), "notes": dict(s.notes)}
                        for s in dev_sets}
    write_model_meta(model_dir, meta)
    (Path(model_dir) / "README.md").write_text(model_card(meta), encoding="utf-8")


def evaluate_re(model: RelationModel, rset: RelationSet, *, batch_size: int = 64) -> EvalResult:
    """Pair-level P/R/F1 of ``model`` on one corpus split (:func:`extractors.scorers.relation_scores`).

    Every positive prediction contributes ``(type, doc, head, tail)`` for each scoring key of
    its candidate; the gold side is the split's *complete* gold set, so relations no candidate
    reaches (cross-sentence CID and Produces) count as false negatives.
    """
    start = time.perf_counter()
    preds = model.predict([e.candidate for e in rset.examples], batch_size=batch_size)
    predicted = set()
    for ex, p in zip(rset.examples, preds):
        if p.label != "none":
            for h, t in ex.keys:
                predicted.add((rset.score_type[p.label], ex.doc_id, h, t))
    scores = relation_scores(rset.gold, predicted, symmetric=rset.symmetric)
    return EvalResult(
        corpus=rset.corpus, task=rset.task, split=rset.split, scores=scores, candidates=len(rset.examples),
        gold=len(rset.gold), reachable=len(rset.reachable_gold()), seconds=time.perf_counter() - start,
    )
