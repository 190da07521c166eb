"""NER + RE inference throughput: batched path vs a per-document baseline, in one run.

    python benchmarks/bench_throughput.py [--docs 200] [--device auto|cpu|cuda] [--max-seconds 300]

Data: BC5CDR dev abstracts (title + abstract, gold stripped), from ``$MEDKG_SHARED_DATA`` or
``../shared/data``; ``--docs`` above the 500 dev abstracts cycles through them again.
Models: the shipped defaults (``extractors/models/ner-minilm``, ``re-minilm``).

* **baseline**: one document at a time, NER then RE, batch size 1 (one window or one candidate
  per forward pass), no sorting, no workers. It stops after ``--max-seconds`` (rates are over
  the documents it finished).
* **batched**: all documents in one ``NerModel.predict`` call, then all their candidates in one
  ``RelationModel.predict`` call, with the device's default :class:`extractors.batching.Batching`
  (CPU: length-sorted batches of 32 windows / 64 candidates; CUDA: token-budgeted batches,
  groups prepared by DataLoader workers, pinned memory, bf16 autocast). ``--sweep`` adds
  variants (no workers, other token budgets) on CUDA.

Rates: abstracts/s and wordpieces/s (NER: wordpieces of the abstracts' sentences; RE: wordpieces
of the marked candidates; without [CLS]/[SEP], counted outside the timed code), for NER alone
and NER+RE (candidate generation counted in RE). Projected hours = 36M PubMed
abstracts / (NER+RE abstracts/s). Writes section ``throughput`` of BENCHMARKS.md
(``throughput-gpu`` when the device is CUDA) and, with ``--json``, the numbers as JSON.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._report import machine, write_section  # noqa: E402
from extractors.batching import Batching  # noqa: E402
from extractors.ner.data import display_path, split_path  # noqa: E402
from extractors.ner.model import DEFAULT_NER_MODEL, NerModel, NerSpan  # noqa: E402
from extractors.relations.candidates import EntitySpan, RelationCandidate, candidate_pairs  # noqa: E402
from extractors.relations.model import DEFAULT_RE_MODEL, RelationModel, encode_candidates  # noqa: E402
from extractors.relations.onepass import OnePassModel, encode_units, units_of  # noqa: E402
from loaders import read_documents  # noqa: E402
from schema.sentences import sentence_spans  # noqa: E402

PUBMED_ABSTRACTS = 36_000_000
"""PubMed holds about 36 million citations with abstracts or titles (2024 baseline)."""


def candidates(text: str, spans: list[NerSpan]) -> list[RelationCandidate]:
    """Every same-sentence candidate pair of ``spans`` (as the pipeline forms them, before linking)."""
    out: list[RelationCandidate] = []
    for s, e in sentence_spans(text):
        ents = [EntitySpan(x.start - s, x.end - s, x.label) for x in spans if x.start >= s and x.end <= e]
        if len(ents) > 1:
            out += candidate_pairs(text[s:e], ents)
    return out


@dataclass
class Run:
    """Timings and output of one path over ``docs`` documents."""

    name: str
    docs: int
    ner_s: float
    re_s: float
    ner_tokens: int
    re_tokens: int
    spans: list[list[NerSpan]]
    labels: list[str]

    @property
    def rates(self) -> dict[str, float]:
        total = self.ner_s + self.re_s
        return {
            "ner_abstracts_per_s": self.docs / self.ner_s,
            "ner_tokens_per_s": self.ner_tokens / self.ner_s,
            "abstracts_per_s": self.docs / total,
            "tokens_per_s": (self.ner_tokens + self.re_tokens) / total,
            "pubmed_hours": PUBMED_ABSTRACTS / (self.docs / total) / 3600,
        }


def ner_tokens(ner: NerModel, texts: list[str]) -> int:
    pieces = [t[s:e] for t in texts for s, e in sentence_spans(t)]
    return sum(len(ids) for ids in ner.tokenizer(pieces, add_special_tokens=False)["input_ids"]) if pieces else 0


def re_tokens(rel: RelationModel, cands: list[RelationCandidate]) -> int:
    """Wordpieces of the encoded candidates (one-pass: of the encoded texts) less [CLS] and [SEP]
    (the shipped models are BERT-style)."""
    if isinstance(rel, OnePassModel):
        return sum(len(e.input_ids) - 2 for e in encode_units(rel.tokenizer, units_of(cands), max_length=rel.max_length))
    return sum(len(e.input_ids) - 2 for e in encode_candidates(rel.tokenizer, cands, max_length=rel.max_length, context=rel.context))


def baseline(ner: NerModel, rel: RelationModel, texts: list[str], max_seconds: float) -> Run:
    """One document at a time, batch size 1, until ``max_seconds``."""
    ner.batching, rel.batching = Batching(batch_size=1), Batching(batch_size=1)
    ner_s = re_s = 0.0
    spans: list[list[NerSpan]] = []
    cands: list[RelationCandidate] = []
    labels: list[str] = []
    start = time.perf_counter()
    for text in texts:
        t0 = time.perf_counter()
        found = ner.predict([text])[0]
        t1 = time.perf_counter()
        doc_cands = candidates(text, found)
        preds = rel.predict(doc_cands)
        t2 = time.perf_counter()
        ner_s, re_s = ner_s + t1 - t0, re_s + t2 - t1
        spans.append(found)
        cands += doc_cands
        labels += [p.label for p in preds]
        if t2 - start > max_seconds:
            break
    done = texts[: len(spans)]
    return Run("baseline", len(done), ner_s, re_s, ner_tokens(ner, done), re_tokens(rel, cands), spans, labels)


def batched(
    ner: NerModel, rel: RelationModel, texts: list[str], name: str, ner_batching: Batching, re_batching: Batching,
    *, tokens: tuple[int, int] | None = None,
) -> Run:
    """All documents through NER in one call, then all candidates through RE in one call.

    ``tokens``: (NER, RE) wordpieces of an earlier run over the same texts, to skip recounting.
    """
    ner.batching, rel.batching = ner_batching, re_batching
    t0 = time.perf_counter()
    spans = ner.predict(texts)
    t1 = time.perf_counter()
    cands = [c for text, found in zip(texts, spans) for c in candidates(text, found)]
    labels = [p.label for p in rel.predict(cands)]
    t2 = time.perf_counter()
    ner_n, re_n = tokens or (ner_tokens(ner, texts), re_tokens(rel, cands))
    return Run(name, len(texts), t1 - t0, t2 - t1, ner_n, re_n, spans, labels)


def model_only(ner: NerModel, rel: RelationModel, texts: list[str], base: Run) -> Run:
    """The forward passes alone (inputs prepared by the loaders as in :meth:`NerModel.predict`,
    no decoding, no candidate generation, RE on the candidates of ``base``): the ceiling that
    Python-side work leaves to the device."""
    import torch

    from extractors.batching import prepared_groups
    from extractors.ner.model import _NerInputs
    from extractors.relations.model import _RelationInputs

    cands = [c for text, found in zip(texts, base.spans) for c in candidates(text, found)]
    heads = ner._used_heads()
    pad = ner.tokenizer.pad_token_id or 0
    t0 = time.perf_counter()
    with torch.inference_mode(), ner.device.autocast():
        inputs = _NerInputs(
            texts, ner.tokenizer, max_length=ner.max_length, overlap=ner.overlap, batching=ner.batching, context=ner.context
        )
        for group in prepared_groups(inputs, batching=ner.batching, device=ner.device, pad_id=pad):
            for batch in group.batches:
                t = batch.to(ner.device)
                ner.network(input_ids=t["input_ids"], attention_mask=t["attention_mask"], heads=heads)
        if ner.device.type == "cuda":
            torch.cuda.synchronize()
        t1 = time.perf_counter()
        if isinstance(rel, OnePassModel):
            rel.predict(cands)  # one encoder pass per text; the pairs' heads are a small share
        else:
            inputs = _RelationInputs(cands, rel.tokenizer, max_length=rel.max_length, context=rel.context, batching=rel.batching)
            for group in prepared_groups(inputs, batching=rel.batching, device=rel.device, pad_id=pad):
                for batch in group.batches:
                    rel.net.pool(**batch.to(rel.device))
        if rel.device.type == "cuda":
            torch.cuda.synchronize()
    t2 = time.perf_counter()
    return Run("model forward only (ceiling)", base.docs, t1 - t0, t2 - t1, base.ner_tokens, base.re_tokens, base.spans, base.labels)


def agreement(base: Run, other: Run) -> str:
    """How many of the baseline's documents got other spans (start, end, label), and candidates other labels."""
    n = base.docs
    key = [[(s.start, s.end, s.label) for s in doc] for doc in base.spans]
    docs_differ = sum(a != [(s.start, s.end, s.label) for s in b] for a, b in zip(key, other.spans[:n]))
    if docs_differ:
        return f"spans differ in {docs_differ}/{n} documents (relations not compared)"
    labels_differ = sum(a != b for a, b in zip(base.labels, other.labels))
    return f"identical spans in {n}/{n} documents; relation labels differ for {labels_differ}/{len(base.labels)} candidates"


def how(b: Batching) -> str:
    """A batching setting, short."""
    budget = f", {b.max_tokens} tokens" if b.max_tokens else ""
    groups = f", groups of {b.group_size}, {b.num_workers} workers" if b.group_size else ""
    return f"{b.batch_size}{budget}{groups}"


def variants(device_type: str, ner_default: Batching, re_default: Batching, sweep: bool) -> list[tuple[str, Batching, Batching]]:
    rows = [("batched (device default)", ner_default, re_default)]
    if sweep and device_type == "cuda":
        rows.append(("batched, no workers", replace(ner_default, num_workers=0), replace(re_default, num_workers=0)))
        for tokens in (8192, 32768):
            rows.append((f"batched, max_tokens={tokens}", replace(ner_default, max_tokens=tokens), replace(re_default, max_tokens=tokens)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=200, help="abstracts for the batched path (cycles the 500 dev abstracts)")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda[:N]")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="time bound for the baseline")
    parser.add_argument("--sweep", action="store_true", help="on CUDA, also time batched variants and the forward passes alone")
    parser.add_argument("--budget-seconds", type=float, help="skip sweep variants that would end after this many seconds")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    parser.add_argument("--no-write", action="store_true", help="do not touch BENCHMARKS.md")
    args = parser.parse_args()
    if args.docs < 1:
        parser.error("--docs must be >= 1")

    import torch

    data = split_path("bc5cdr", "dev")
    dev = [d.text for d in read_documents(data) if d.text.strip()]
    texts = list(itertools.islice(itertools.cycle(dev), args.docs))
    t = time.perf_counter()
    ner = NerModel.load(DEFAULT_NER_MODEL, device=args.device)
    rel = RelationModel.load(DEFAULT_RE_MODEL, device=args.device)
    load_s = time.perf_counter() - t
    device = ner.device
    gpu = f"; GPU: {torch.cuda.get_device_name(device.torch_device)}" if device.type == "cuda" else ""
    precision = "bf16 autocast" if device.bf16 else "fp32"
    ner_default, re_default = ner.batching, rel.batching
    started, last_s = time.perf_counter(), 0.0
    print(f"device {device.name} ({precision}){gpu}; {len(texts)} abstracts; models loaded in {load_s:.1f} s", flush=True)

    batched(ner, rel, texts[:16], "warm-up", ner_default, re_default)  # kernels, allocator, lazy imports
    baseline(ner, rel, texts[:2], max_seconds=60)
    base = baseline(ner, rel, texts, args.max_seconds)
    print(f"baseline: {base.docs} abstracts, {base.rates['abstracts_per_s']:.2f}/s", flush=True)
    runs: list[tuple[Run, str]] = []
    skipped: list[str] = []
    for name, ner_b, re_b in variants(device.type, ner_default, re_default, args.sweep):
        if runs and args.budget_seconds and time.perf_counter() - started + last_s > args.budget_seconds:
            skipped.append(name)
            continue
        t = time.perf_counter()
        first = runs[0][0] if runs else None
        run = batched(ner, rel, texts, name, ner_b, re_b, tokens=(first.ner_tokens, first.re_tokens) if first else None)
        last_s = time.perf_counter() - t
        runs.append((run, f"{how(ner_b)} / {how(re_b)}"))
        print(f"{name}: {run.docs} abstracts, {run.rates['abstracts_per_s']:.2f}/s", flush=True)
    best = runs[0][0]
    if args.sweep and device.type == "cuda":
        if args.budget_seconds and time.perf_counter() - started + last_s > args.budget_seconds:
            skipped.append("model forward only")
        else:
            ner.batching, rel.batching = ner_default, re_default
            runs.append((model_only(ner, rel, texts, best), "as the device default"))
    peak = f"; peak GPU memory {torch.cuda.max_memory_allocated(device.torch_device) / 2**30:.1f} GiB" if device.type == "cuda" else ""

    ratio = best.rates["abstracts_per_s"] / base.rates["abstracts_per_s"]
    ner_ratio = best.rates["ner_abstracts_per_s"] / base.rates["ner_abstracts_per_s"]
    repeated = f", cycling the {len(dev)} dev abstracts" if len(texts) > len(dev) else ""
    lines = [
        f"## NER + RE throughput ({device.type.upper()}): batched vs per-document baseline",
        "",
        f"Command: `python benchmarks/bench_throughput.py --docs {args.docs} --device {args.device} "
        f"--max-seconds {args.max_seconds:g}{' --sweep' if args.sweep else ''}"
        f"{f' --budget-seconds {args.budget_seconds:g}' if args.budget_seconds else ''}`.",
        f"Machine: {machine()}{gpu}; torch {torch.__version__}; device used: {device.name} ({precision}).",
        f"Data: BC5CDR dev (`{display_path(data)}`), title + abstract text, gold stripped; "
        f"batched path on {best.docs} abstracts{repeated}, baseline on the first {base.docs} (stopped after "
        f"{args.max_seconds:g} s).",
        "Models: the shipped defaults (`extractors/models/ner-minilm`, `extractors/models/re-minilm`), "
        f"loaded in {load_s:.1f} s (not counted).",
        "Tokens are wordpieces without special tokens: the abstracts' sentences for NER, the marked "
        "candidates for RE (a one-pass model: the marked sentences); NER+RE includes candidate generation.",
        "",
        "| path | batching (NER / RE) | abstracts | NER abstracts/s | NER tokens/s | NER+RE abstracts/s | NER+RE tokens/s | hours for 36M abstracts |",
        "|---|---|---|---|---|---|---|---|",
    ]

    def row(run: Run, how: str) -> str:
        r = run.rates
        return (f"| {run.name} | {how} | {run.docs:,} | {r['ner_abstracts_per_s']:,.1f} | {r['ner_tokens_per_s']:,.0f} "
                f"| **{r['abstracts_per_s']:,.1f}** | {r['tokens_per_s']:,.0f} | {r['pubmed_hours']:,.0f} |")

    lines.append(row(base, "1 / 1, one document at a time"))
    for run, batching in runs:
        lines.append(row(run, batching))
    lines += [
        "",
        f"- batched / baseline: **{ratio:.1f}x** NER+RE, {ner_ratio:.1f}x NER alone (same run, same abstracts' rates).",
        f"- time split, batched: NER {best.ner_s:.1f} s, RE incl. candidates {best.re_s:.1f} s "
        f"({len(best.labels):,} candidates, {sum(l != 'none' for l in best.labels):,} predicted relations){peak}.",
        f"- outputs, batched vs baseline on the baseline's {base.docs} abstracts: {agreement(base, best)}.",
        *([f"- skipped for the time budget: {', '.join(skipped)}."] if skipped else []),
        *(["- the sweep variants reuse the wordpiece counts of the device-default run (same texts; "
           "candidates can differ by a few where bf16 changes a span)."] if len(runs) > 1 else []),
        f"- PubMed in 6 hours needs {PUBMED_ABSTRACTS / 6 / 3600:,.0f} abstracts/s NER+RE; "
        f"this run projects {best.rates['pubmed_hours']:,.0f} hours on one such device.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write:
        write_section("throughput-gpu" if device.type == "cuda" else "throughput", text)
    if args.json:
        payload: dict[str, Any] = {
            "device": device.name, "gpu": gpu.removeprefix("; GPU: ") or None, "precision": precision,
            "docs": args.docs, "max_seconds": args.max_seconds, "load_s": load_s,
            "runs": [{"name": r.name, "docs": r.docs, "ner_s": r.ner_s, "re_s": r.re_s, "ner_tokens": r.ner_tokens,
                      "re_tokens": r.re_tokens, "candidates": len(r.labels), **r.rates} for r in [base, *(x[0] for x in runs)]],
            "skipped": skipped, "peak": peak,
            "ratio": ratio, "agreement": agreement(base, best), "report": text,
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
