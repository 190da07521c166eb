"""Majority-vote ensembles of NER models: an extended, slower recipe, not the shipped default.

Each member predicts with its own settings (sentence or document context, post-processing as
its ``medkg.json`` says); a span (exact offsets and label) is kept when at least ``min_votes``
members predict it. Members trained differently (LoRA or full fine-tuning, sentence or
document context, other auxiliary heads) make different errors, which is what a vote removes
(score one with ``medkg evaluate ner DIR_A DIR_B DIR_C --corpus bc5cdr`` or
``benchmarks/bench_ner.py --extra-ensemble``). Inference costs the sum of the members.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from extractors.errors import ModelNotFoundError
from extractors.ner.decode import resolve_overlaps
from extractors.ner.model import NerModel, NerSpan

Span = tuple[int, int, str, float]


def vote_spans(members: Sequence[Sequence[Span]], *, min_votes: int) -> list[Span]:
    """Spans ``(start, end, label, score)`` that at least ``min_votes`` of ``members`` predict.

    A kept span's score is the sum of its voters' scores divided by the number of members (a
    member that did not predict it counts 0), so agreement raises confidence. With
    ``min_votes`` at most half the members, kept spans may overlap; the best by score wins
    (:func:`extractors.ner.decode.resolve_overlaps`). A member's duplicate span votes once.
    """
    if not 1 <= min_votes <= max(1, len(members)):
        raise ValueError(f"min_votes must be in 1..{len(members)}, got {min_votes}")
    votes: dict[tuple[int, int, str], list[float]] = defaultdict(list)
    for spans in members:
        best: dict[tuple[int, int, str], float] = {}
        for start, end, label, score in spans:
            key = (start, end, label)
            best[key] = max(score, best.get(key, 0.0))
        for key, score in best.items():
            votes[key].append(score)
    kept = [(s, e, lab, sum(sc) / len(members)) for (s, e, lab), sc in votes.items() if len(sc) >= min_votes]
    return resolve_overlaps(kept)


class NerEnsemble:
    """Several :class:`NerModel` voting per head; the same ``predict`` / ``predict_heads`` API.

    Only heads that every member has (with the same labels) are voted on. ``min_votes``
    defaults to a strict majority. ``postprocess`` is ``False`` because the members apply
    their own post-processing before the vote.
    """

    postprocess = False

    def __init__(self, members: Sequence[NerModel], *, min_votes: int | None = None) -> None:
        if len(members) < 2:
            raise ValueError(f"an ensemble needs at least 2 models, got {len(members)}")
        self.members = list(members)
        self.min_votes = len(members) // 2 + 1 if min_votes is None else min_votes
        if not 1 <= self.min_votes <= len(members):
            raise ValueError(f"min_votes must be in 1..{len(members)}, got {self.min_votes}")
        first = self.members[0]
        self.heads: dict[str, tuple[str, ...]] = {
            h: labels for h, labels in first.heads.items() if all(m.heads.get(h) == labels for m in self.members)
        }
        if not self.heads:
            raise ValueError(f"the models share no head with the same labels: {[list(m.heads) for m in self.members]}")
        self.label_sources: dict[str, tuple[str, ...]] = {
            lab: kept for lab, srcs in first.label_sources.items() if (kept := tuple(h for h in srcs if h in self.heads))
        }

    @classmethod
    def load(cls, model_dirs: Sequence[str | Path], *, device: str = "auto", min_votes: int | None = None) -> NerEnsemble:
        """Load each directory with :meth:`NerModel.load` (which decides the precision for the device)."""
        if not model_dirs:
            raise ModelNotFoundError("an NER ensemble needs model directories, got none")
        return cls([NerModel.load(d, device=device) for d in model_dirs], min_votes=min_votes)

    @property
    def labels(self) -> tuple[str, ...]:
        """Entity types the ensemble outputs (those of the first member its shared heads provide)."""
        return tuple(lab for lab in self.members[0].labels if lab in self.label_sources)

    def predict_heads(
        self,
        texts: Sequence[str],
        *,
        batch_size: int | None = None,
        heads: Sequence[str] | None = None,
        postprocess: bool | None = None,
    ) -> list[dict[str, list[NerSpan]]]:
        """Each shared head's voted spans; ``postprocess`` is passed to every member."""
        heads = tuple(heads or self.heads)
        unknown = [h for h in heads if h not in self.heads]
        if unknown:
            raise ValueError(f"unknown head(s) {unknown}; this ensemble votes on {list(self.heads)}")
        per_member = [m.predict_heads(texts, batch_size=batch_size, heads=heads, postprocess=postprocess) for m in self.members]
        out: list[dict[str, list[NerSpan]]] = []
        for i in range(len(texts)):
            out.append(
                {
                    h: [
                        NerSpan(*span)
                        for span in vote_spans(
                            [[(s.start, s.end, s.label, s.score) for s in pm[i][h]] for pm in per_member],
                            min_votes=self.min_votes,
                        )
                    ]
                    for h in heads
                }
            )
        return out

    def predict(self, texts: Sequence[str], *, batch_size: int | None = None) -> list[list[NerSpan]]:
        """Entities of each text: voted spans of the heads that provide each label, non-overlapping."""
        used = tuple(h for h in self.heads if any(h in srcs for srcs in self.label_sources.values()))
        out: list[list[NerSpan]] = []
        for spans in self.predict_heads(texts, batch_size=batch_size, heads=used):
            merged = [
                (s.start, s.end, s.label, s.score)
                for head, head_spans in spans.items()
                for s in head_spans
                if head in self.label_sources.get(s.label, ())
            ]
            out.append([NerSpan(*s) for s in resolve_overlaps(merged)])
        return out
