"""Train and evaluate the multi-head NER model (LoRA on a shared encoder, one head per corpus).

Each corpus trains only its own head: a batch holds sentences of one corpus and the loss is
taken on that corpus's head, while the LoRA weights of the shared encoder learn from all of
them. This is what lets corpora with different label sets train together without a corpus's
un-annotated types becoming false negatives for another's.

Defaults were chosen on the BC5CDR / RareDis *dev* splits (the only held-out data here) under
the project's CPU budget (the shipped model must train in < ~15 min on 2 cores); see the model
card written next to the weights for the numbers.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from extractors.ner.card import model_card
from extractors.ner.data import IGNORE_INDEX, Features, corpus_spec, load_gold, split_path
from extractors.ner.examples import cache_hidden, corpus_features, pad_hidden, tensors_features
from extractors.ner.features import TokenFeaturizer, feature_sizes
from extractors.ner.gazetteer import (
    GAZETTEER_FILE,
    Gazetteer,
    default_disease_ontology,
    kb_terms,
    shipped_part,
    training_gazetteer,
)
from extractors.ner.model import (
    FULL_WEIGHTS,
    TASK,
    NerModel,
    build_network,
    feature_module_name,
    head_module_name,
)
from extractors.ner.scoring import evaluate_ner
from extractors.transformer import PACKAGED_BASE, lora_targets, pick_device, resolve_base, write_model_meta

FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class TrainCorpus:
    """A corpus to train a head on: ``name`` is a key of :data:`extractors.ner.data.CORPORA`."""

    name: str
    train: Path
    dev: Path | None = None


def shared_corpora(names: Sequence[str], *, root: str | Path | None = None) -> tuple[TrainCorpus, ...]:
    """Train/dev splits of known corpora in the shared data folder."""
    return tuple(
        TrainCorpus(n, train=split_path(n, "train", root=root), dev=split_path(n, "dev", root=root)) for n in names
    )


DEFAULT_LABEL_SOURCES: Mapping[str, tuple[str, ...]] = {
    "Drug": ("bc5cdr",),
    "Disease": ("bc5cdr", "ncbi-disease", "raredis"),
    "Symptom": ("raredis",),
}
"""Which heads provide which output type, first available wins: BC5CDR's disease definition
(diseases *and* their signs, e.g. "hypotension") is the broadest of the three, RareDis is the
only corpus with symptoms."""


@dataclass(frozen=True, kw_only=True)
class NerTrainConfig:
    """Everything that defines a training run (recorded in ``medkg.json``).

    Learning rates: LoRA needs a higher rate than full fine-tuning (5e-4..1e-3), and the freshly
    initialised heads learn fastest with a higher one still; both decay linearly after a short
    warm-up. ``sample`` gives the fraction of a corpus's training sentences drawn (anew) in each
    epoch, to balance corpora and fit the CPU budget. ``frozen_layers`` bottom encoder blocks
    get no LoRA weights; their output is computed once and cached (see :func:`extractors.ner.examples.cache_hidden`).
    ``postprocess`` is recorded for inference (:func:`extractors.ner.decode.postprocess`).

    ``full_finetune`` trains every weight above the frozen blocks (embeddings too when
    ``frozen_layers=0``) instead of LoRA: better for a 6-layer base than a rank-16 adapter, but
    the directory then holds the whole network (~90 MB), too big to ship in the package.
    ``context="document"`` trains and predicts on whole documents (windowed at ``max_length``
    with ``overlap``) instead of sentences, so the encoder sees the title and neighbouring
    sentences; it is recorded in ``medkg.json`` and inference follows it. ``dev_every`` prints
    dev F1 every N epochs (a learning curve; ``dev_each_epoch`` is N = 1). ``features`` adds
    per-token input features before the heads (:mod:`extractors.ner.features`: ``shape``,
    ``gazetteer``; ``()`` for none). The gazetteer holds the linking KB's names, the Disease
    Ontology folder ``disease_ontology`` (default: the shared data folder's; ``None`` leaves it
    out) and, with ``gazetteer_folds`` = k >= 2, the gold mentions of the training corpora's
    *train* splits; the training features of a document in fold ``i % k`` are computed without
    the mentions of its own fold, so the heads learn how far the gazetteer can be trusted on
    text whose mentions it has not memorised (as at inference). See
    :mod:`extractors.ner.gazetteer` for which part ships with the model. A given ``gazetteer``
    replaces all of that and ships whole.
    """

    corpora: tuple[TrainCorpus, ...]
    out_dir: Path
    base: str = PACKAGED_BASE
    epochs: int = 3
    batch_size: int = 16
    lr: float = 2e-3
    head_lr: float = 5e-3
    weight_decay: float = 0.01
    warmup: float = 0.06
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.0
    frozen_layers: int = 2
    dropout: float = 0.1
    max_length: int = 256
    overlap: int = 32
    sample: Mapping[str, float] = field(default_factory=lambda: {"raredis": 0.5})
    max_sentences: int | None = None
    max_steps: int | None = None
    label_sources: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_LABEL_SOURCES))
    device: str = "auto"
    bf16: bool | None = None
    seed: int = 13
    postprocess: bool = True
    evaluate_dev: bool = True
    dev_each_epoch: bool = False
    dev_every: int = 0
    full_finetune: bool = False
    context: Literal["sentence", "document"] = "sentence"
    features: tuple[str, ...] = ("shape", "gazetteer")
    disease_ontology: Path | None = field(default_factory=default_disease_ontology)
    gazetteer: Gazetteer | None = None
    gazetteer_folds: int = 5

    def __post_init__(self) -> None:
        if not self.corpora:
            raise ValueError("NerTrainConfig needs at least one corpus")
        names = [c.name for c in self.corpora]
        if len(set(names)) != len(names):
            raise ValueError(f"a corpus may appear once, got {names}")
        for name in names:
            corpus_spec(name)
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError(f"epochs and batch_size must be >= 1, got {self.epochs}, {self.batch_size}")
        if self.context not in ("sentence", "document"):
            raise ValueError(f"context must be 'sentence' or 'document', got {self.context!r}")
        feature_sizes(self.features)
        if self.gazetteer_folds == 1 or self.gazetteer_folds < 0:
            raise ValueError(f"gazetteer_folds must be 0 (no train mentions) or >= 2, got {self.gazetteer_folds}")
        if not 0 <= self.overlap < self.max_length - 2:
            raise ValueError(f"need 0 <= overlap < max_length - 2, got overlap={self.overlap}, max_length={self.max_length}")


def _label_sources(config: NerTrainConfig, heads: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """The configured sources restricted to heads trained here that have the label."""
    out: dict[str, list[str]] = {}
    for label, sources in config.label_sources.items():
        kept = [h for h in sources if h in heads and label in heads[h]]
        if kept:
            out[label] = kept[:1]
    return out


def _batches(features: Mapping[str, list[Features]], config: NerTrainConfig, rng: random.Random) -> list[tuple[str, list[int]]]:
    """One epoch of single-corpus batches ``(head, feature indices)``, length-bucketed, shuffled."""
    batches: list[tuple[str, list[int]]] = []
    for name, feats in features.items():
        items = list(range(len(feats)))
        rng.shuffle(items)
        rate = config.sample.get(name, 1.0)
        items = items[: max(1, round(rate * len(items)))]
        pool = config.batch_size * 50
        for p in range(0, len(items), pool):
            group = sorted(items[p : p + pool], key=lambda i: len(feats[i].input_ids))
            batches += [(name, group[b : b + config.batch_size]) for b in range(0, len(group), config.batch_size)]
    rng.shuffle(batches)
    return batches


def fit_ner(config: NerTrainConfig, *, progress: Callable[[str], None] | None = None) -> NerModel:
    """Train in memory; the returned model predicts with the live (unmerged) LoRA weights.

    ``model.meta`` holds everything ``medkg.json`` records except dev metrics; save it with
    :func:`save_ner`. Most callers want :func:`train_ner`.
    """
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoTokenizer

    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    rng = random.Random(config.seed)
    torch.manual_seed(config.seed)
    tokenizer = AutoTokenizer.from_pretrained(resolve_base(config.base))
    heads = {c.name: list(corpus_spec(c.name).labels) for c in config.corpora}
    docs = {c.name: load_gold(corpus_spec(c.name), c.train) for c in config.corpora}
    gazetteer = config.gazetteer
    folds: list[TokenFeaturizer] | None = None
    gazetteer_meta: dict[str, Any] = {"terms": len(gazetteer), "sources": "given"} if gazetteer is not None else {}
    if "gazetteer" in config.features and gazetteer is None:
        gazetteer, per_fold, gazetteer_meta = training_gazetteer(
            tokenizer, disease_ontology=config.disease_ontology, docs=docs.values(), folds=config.gazetteer_folds
        )
        folds = [TokenFeaturizer(config.features, g) for g in per_fold] if per_fold else None
        say(f"gazetteer: {len(gazetteer)} terms ({gazetteer_meta['shipped_terms']} shipped)")
    featurizer = TokenFeaturizer(config.features, gazetteer)
    features: dict[str, list[Features]] = {}
    corpus_meta: list[dict[str, Any]] = []
    for corpus in config.corpora:
        feats, info = corpus_features(corpus, tokenizer, config, featurizer, docs[corpus.name], folds)
        features[corpus.name] = feats
        corpus_meta.append(info)
        say(f"{corpus.name}: {info['train_documents']} documents, {info['train_sentences']} sentences")

    device = pick_device(config.device, bf16=config.bf16)
    network = build_network(config.base, heads, dropout=config.dropout, features=featurizer.names)
    network.to(device.torch_device)
    pad_id = tokenizer.pad_token_id or 0
    frozen = config.frozen_layers
    n_layers = network.encoder.config.num_hidden_layers
    if not 0 <= frozen < n_layers:
        raise ValueError(f"frozen_layers must be in 0..{n_layers - 1} for base {config.base!r}, got {frozen}")
    cache: dict[str, list[Any]] = {}
    if frozen:
        for name, feats in features.items():
            cache[name] = cache_hidden(network, feats, layer=frozen, pad_id=pad_id, device=device.torch_device)
        say(f"cached the output of the {frozen} frozen bottom blocks: {time.perf_counter() - started:.0f} s")
    if config.full_finetune:
        for name, param in network.named_parameters():
            param.requires_grad = not _is_frozen(name, frozen)
        model = inner = network
    else:
        lora = LoraConfig(
            r=config.lora_r,
            lora_alpha=config.lora_alpha,
            lora_dropout=config.lora_dropout,
            target_modules=lora_targets(range(frozen, n_layers)),
            modules_to_save=[head_module_name(h) for h in heads] + [feature_module_name(f) for f in featurizer.names],
        )
        model = get_peft_model(network, lora)
        model.to(device.torch_device)
        inner = model.base_model.model
    head_params = [p for n, p in model.named_parameters() if p.requires_grad and _is_head(n)]
    lora_params = [p for n, p in model.named_parameters() if p.requires_grad and not _is_head(n)]
    optimizer = torch.optim.AdamW(
        [{"params": lora_params, "lr": config.lr}, {"params": head_params, "lr": config.head_lr}],
        weight_decay=config.weight_decay,
    )
    per_epoch = len(_batches(features, config, random.Random(0)))
    total = min(config.epochs * per_epoch, config.max_steps or math.inf)
    warm = max(1, int(config.warmup * total))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm)))
    )
    loss_fn = torch.nn.CrossEntropyLoss(ignore_index=IGNORE_INDEX)
    meta: dict[str, Any] = {
        "task": TASK,
        "format_version": FORMAT_VERSION,
        "base": config.base,
        "heads": heads,
        "label_sources": _label_sources(config, heads),
        "max_length": config.max_length,
        "overlap": config.overlap,
        "context": config.context,
        "weights": "full" if config.full_finetune else "lora",
        "decode": {"postprocess": config.postprocess},
        "corpora": corpus_meta,
    }
    if featurizer.names:
        meta["features"] = list(featurizer.names)
    if "gazetteer" in featurizer.names:
        meta["gazetteer"] = gazetteer_meta
    meta["labels"] = list(meta["label_sources"])
    live = NerModel(
        network=model,
        tokenizer=tokenizer,
        meta=meta,
        device=device,
        max_length=config.max_length,
        overlap=config.overlap,
        featurizer=featurizer,
    )
    step, dev_seconds = 0, 0.0
    for epoch in range(config.epochs):
        model.train()
        running, seen = 0.0, 0
        for head, indices in _batches(features, config, rng):
            if step >= total:
                break
            batch = [features[head][i] for i in indices]
            ids, mask, labels, feats = tensors_features(batch, pad_id)
            ids, mask, labels = (t.to(device.torch_device) for t in (ids, mask, labels))
            feats = {k: v.to(device.torch_device) for k, v in feats.items()} or None
            with device.autocast():
                if frozen:
                    hidden = pad_hidden([cache[head][i] for i in indices]).to(device.torch_device)
                    logits = inner.forward_from(hidden, mask, (head,), frozen, features=feats)[head]
                else:
                    logits = model(input_ids=ids, attention_mask=mask, heads=(head,), features=feats)[head]
            loss = loss_fn(logits.float().reshape(-1, logits.shape[-1]), labels.reshape(-1))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(lora_params + head_params, 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            running, seen, step = running + loss.item(), seen + 1, step + 1
        say(f"epoch {epoch + 1}/{config.epochs}: loss {running / max(1, seen):.4f}, {time.perf_counter() - started:.0f} s")
        every = 1 if config.dev_each_epoch else config.dev_every
        if every and (epoch + 1) % every == 0:
            model.eval()
            dev_started = time.perf_counter()
            say(_dev_line(live, config))
            dev_seconds += time.perf_counter() - dev_started
        if step >= total:
            break
    model.eval()
    meta["hyperparameters"] = _hyperparameters(config, steps=step, per_epoch=per_epoch, n_layers=n_layers)
    meta["training_seconds"] = round(time.perf_counter() - started - dev_seconds, 1)  # without learning-curve evals
    meta["training_device"] = f"{device.name}{' bf16' if device.bf16 else ''}"
    meta["versions"] = _versions()
    return live


def _is_head(name: str) -> bool:
    """A head or input-feature parameter (``head_x.weight``, ``feat_shape.weight``, or PEFT's
    ``...head_x.modules_to_save...``): trained at the heads' learning rate."""
    return name.startswith(("head_", "feat_")) or ".head_" in name or ".feat_" in name


def _is_frozen(name: str, frozen: int) -> bool:
    """Whether a parameter of :func:`build_network` lies below the first trained block."""
    if frozen <= 0:
        return False
    if name.startswith("encoder.embeddings."):
        return True
    parts = name.split(".")
    return name.startswith("encoder.encoder.layer.") and int(parts[3]) < frozen


def save_ner(model: NerModel, out_dir: str | Path) -> None:
    """Write a model from :func:`fit_ner` as a standard directory (adapter, heads, tokenizer, meta).

    A fully fine-tuned model (``meta["weights"] == "full"``) is saved as the whole network's
    state dict (:data:`extractors.ner.model.FULL_WEIGHTS`) instead of an adapter.
    """
    from peft import PeftModel

    full = model.meta.get("weights") == "full"
    if not full and not isinstance(model.network, PeftModel):
        raise TypeError("only a model from fit_ner (with unmerged LoRA weights) can be saved")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if full:
        from safetensors.torch import save_file

        state = {k: v.detach().to("cpu").contiguous() for k, v in model.network.state_dict().items()}
        save_file(state, str(out / FULL_WEIGHTS), metadata={"format": "pt"})
    else:
        model.network.peft_config["default"].base_model_name_or_path = model.meta["base"]
        model.network.save_pretrained(str(out), save_embedding_layers=False)
    model.tokenizer.save_pretrained(str(out))
    gazetteer = model.featurizer.gazetteer
    if gazetteer is not None:
        expected = model.meta.get("gazetteer", {}).get("kb_sha256")
        if expected:  # the linking-KB part is not shipped (licences): it is added back at load time
            kb = kb_terms(model.tokenizer)
            if kb.sha256() != expected:
                raise RuntimeError(f"the gazetteer's KB terms changed since training (sha256 {kb.sha256()}, trained {expected})")
            gazetteer = shipped_part(gazetteer, kb)
        gazetteer.save(out / GAZETTEER_FILE)
    write_model_meta(out, model.meta)
    (out / "README.md").write_text(model_card(model.meta), encoding="utf-8")


def train_ner(config: NerTrainConfig, *, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Train, save a model directory at ``config.out_dir`` and return its ``medkg.json`` content.

    Dev metrics (for corpora with a dev split, when ``evaluate_dev``) are computed by loading
    the saved directory back, so they measure exactly what ships.
    """
    say = progress or (lambda _msg: None)
    live = fit_ner(config, progress=say)
    meta = live.meta
    save_ner(live, config.out_dir)
    if config.evaluate_dev:
        loaded = NerModel.load(config.out_dir, device=config.device)
        meta["dev_metrics"] = {
            c.name: evaluate_ner(loaded, c.dev, corpus=c.name)["scores"] for c in config.corpora if c.dev is not None
        }
        save_ner(live, config.out_dir)
    say(f"saved {config.out_dir}")
    return meta


def _dev_line(live: NerModel, config: NerTrainConfig) -> str:
    """Dev F1 per corpus of the model being trained (a learning curve printed by ``dev_each_epoch``)."""
    parts = []
    for c in config.corpora:
        if c.dev is not None:
            res = evaluate_ner(live, c.dev, corpus=c.name)
            parts.append(f"{c.name}: {_f1s(res['scores'])}")
            if "scores_no_postprocess" in res:
                parts[-1] += f" (no post-processing: {_f1s(res['scores_no_postprocess'])})"
    return "  dev F1 " + "; ".join(parts)


def _f1s(scores: Mapping[str, Mapping[str, float]]) -> str:
    return ", ".join(f"{t} {100 * s['f1']:.1f}" for t, s in scores.items())


def _hyperparameters(config: NerTrainConfig, *, steps: int, per_epoch: int, n_layers: int) -> dict[str, Any]:
    raw = asdict(config)
    for key in (
        "corpora", "out_dir", "base", "label_sources", "evaluate_dev", "dev_each_epoch", "dev_every", "device", "postprocess",
        "features", "disease_ontology", "gazetteer", "gazetteer_folds",
    ):
        raw.pop(key)
    raw["sample"] = dict(config.sample)
    raw["lora_targets"] = None if config.full_finetune else lora_targets(range(config.frozen_layers, n_layers))
    raw["steps"] = steps
    raw["steps_per_epoch"] = per_epoch
    return raw


def _versions() -> dict[str, str]:
    import peft
    import torch
    import transformers

    return {"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__}


