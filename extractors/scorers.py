"""Standard scorers: entity-level exact match for NER, pair-level for relations.

Both compute micro P/R/F1 per type and overall from sets of gold and predicted items, so a
prediction counts only if every field matches (document, span and type for entities;
document, unordered-or-ordered pair and type for relations), as in seqeval / the BC5CDR and
DDI-2013 official scorers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class PRF:
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {"precision": round(self.precision, 4), "recall": round(self.recall, 4), "f1": round(self.f1, 4),
                "tp": self.tp, "fp": self.fp, "fn": self.fn, "support": self.tp + self.fn}


def score_sets(gold: Iterable[tuple[str, Hashable]], pred: Iterable[tuple[str, Hashable]]) -> dict[str, PRF]:
    """Per-type and ``"ALL"`` (micro) scores for items given as ``(type, key)``.

    ``key`` must identify the item completely (e.g. ``(doc_id, start, end)`` for an entity,
    ``(doc_id, head, tail)`` for a relation); duplicates are collapsed.
    """
    g, p = set(gold), set(pred)
    types = sorted({t for t, _ in g} | {t for t, _ in p})
    out: dict[str, PRF] = {}
    totals = defaultdict(int)
    for t in types:
        gt = {k for tt, k in g if tt == t}
        pt = {k for tt, k in p if tt == t}
        prf = PRF(tp=len(gt & pt), fp=len(pt - gt), fn=len(gt - pt))
        out[t] = prf
        totals["tp"] += prf.tp
        totals["fp"] += prf.fp
        totals["fn"] += prf.fn
    out["ALL"] = PRF(tp=totals["tp"], fp=totals["fp"], fn=totals["fn"])
    return out


def entity_scores(gold: Iterable[tuple[str, str, int, int]], pred: Iterable[tuple[str, str, int, int]]) -> dict[str, PRF]:
    """Entity-level exact match. Items are ``(type, doc_id, start, end)``."""
    return score_sets(((t, (d, s, e)) for t, d, s, e in gold), ((t, (d, s, e)) for t, d, s, e in pred))


def relation_scores(
    gold: Iterable[tuple[str, str, str, str]], pred: Iterable[tuple[str, str, str, str]], *, symmetric: bool = False
) -> dict[str, PRF]:
    """Pair-level relation match. Items are ``(type, doc_id, head, tail)``; ``symmetric`` ignores order."""
    def key(d: str, h: str, t: str) -> tuple[str, str, str]:
        return (d, *sorted((h, t))) if symmetric else (d, h, t)  # type: ignore[return-value]

    return score_sets(((r, key(d, h, t)) for r, d, h, t in gold), ((r, key(d, h, t)) for r, d, h, t in pred))


def format_table(scores: dict[str, PRF], title: str = "") -> str:
    """A Markdown table of P/R/F1 (percent) per type."""
    lines = [f"**{title}**", ""] if title else []
    lines += ["| type | P | R | F1 | support |", "|---|---|---|---|---|"]
    for t, s in scores.items():
        lines.append(f"| {t} | {100 * s.precision:.1f} | {100 * s.recall:.1f} | {100 * s.f1:.1f} | {s.tp + s.fn} |")
    return "\n".join(lines)
