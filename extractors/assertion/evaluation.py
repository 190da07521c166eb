"""Evaluating the assertion component on labelled examples (``tests/fixtures/assertion``, notes)."""

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from spacy.tokens import Doc

from extractors.assertion.component import (
    AssertionEngine,
    AssertionResult,
    InvalidSpanError,
    default_engine,
    default_pipeline,
)
from extractors.errors import CorpusFormatError
from extractors.scorers import PRF, score_sets
from schema.records import Assertion


@dataclass(frozen=True)
class AssertionExample:
    """One labelled target span: ``text[start:end]`` has status ``label``.

    ``group`` numbers the sentence; examples of one sentence share it and land in the same split.
    """

    id: str
    group: int
    text: str
    start: int
    end: int
    label: Assertion
    tags: tuple[str, ...] = ()


def read_examples(path: str | Path) -> list[AssertionExample]:
    """Read a JSONL file of labelled spans (format: ``tests/fixtures/assertion/SOURCE.md``)."""
    out: list[AssertionExample] = []
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            ex = AssertionExample(id=row["id"], group=int(row["group"]), text=row["text"], start=int(row["start"]),
                                  end=int(row["end"]), label=Assertion(row["label"]), tags=tuple(row.get("tags", ())))
        except (ValueError, KeyError, TypeError) as exc:
            raise CorpusFormatError(f"{path}:{lineno}: bad assertion example ({exc!r}); valid labels: "
                                    f"{[a.value for a in Assertion]}") from exc
        if not 0 <= ex.start < ex.end <= len(ex.text) or ("span" in row and row["span"] != ex.text[ex.start:ex.end]):
            raise CorpusFormatError(f"{path}:{lineno}: span {ex.start}..{ex.end} does not match {row.get('span')!r}")
        out.append(ex)
    return out


def examples_from_notes(path: str | Path, notes: Mapping[str, str]) -> list[AssertionExample]:
    """Labelled spans given as offsets into notes kept elsewhere (``{"note_id", "start", "end", "span", "label"}``).

    Lets a repository hold labels for a licensed or large corpus without copying its text;
    each example's ``text`` is the whole note, so sentence splitting is exercised as in a real run.
    """
    out: list[AssertionExample] = []
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            text = notes[row["note_id"]]
            ex = AssertionExample(id=f"{row['note_id']}:{row['start']}", group=0, text=text, start=int(row["start"]),
                                  end=int(row["end"]), label=Assertion(row["label"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise CorpusFormatError(f"{path}:{lineno}: bad note label ({exc!r})") from exc
        if text[ex.start:ex.end] != row["span"]:
            raise CorpusFormatError(f"{path}:{lineno}: note {row['note_id']} has {text[ex.start:ex.end]!r} at "
                                    f"{ex.start}..{ex.end}, label says {row['span']!r}")
        out.append(ex)
    return out


def split_examples(examples: Iterable[AssertionExample]) -> dict[str, list[AssertionExample]]:
    """Deterministic halves: ``tune`` (even ``group``) for rule development, ``test`` (odd) held out."""
    halves: dict[str, list[AssertionExample]] = {"tune": [], "test": []}
    for ex in examples:
        halves["tune" if ex.group % 2 == 0 else "test"].append(ex)
    return halves


@dataclass(frozen=True)
class AssertionReport:
    """Accuracy, per-class P/R/F1 (``"ALL"`` is micro = accuracy) and confusion counts."""

    n: int
    accuracy: float
    per_class: dict[str, PRF]
    confusion: dict[tuple[Assertion, Assertion], int]  # (gold, predicted) -> count
    errors: tuple[tuple[AssertionExample, AssertionResult], ...]

    def confusion_table(self) -> str:
        """Markdown confusion matrix, rows gold, columns predicted."""
        labels = [a for a in Assertion]
        head = "| gold \\ predicted | " + " | ".join(a.value for a in labels) + " |"
        rows = [head, "|---" * (len(labels) + 1) + "|"]
        for g in labels:
            rows.append(f"| {g.value} | " + " | ".join(str(self.confusion.get((g, p), 0)) for p in labels) + " |")
        return "\n".join(rows)


def evaluate_examples(examples: Sequence[AssertionExample], *, engine: AssertionEngine | None = None) -> AssertionReport:
    """Score the engine on labelled spans (each sentence tokenized by :func:`default_pipeline`)."""
    engine = engine or default_engine()
    nlp = default_pipeline()
    confusion: dict[tuple[Assertion, Assertion], int] = {}
    gold, pred, errors = [], [], []
    parsed: dict[str, tuple[Doc, list[bool]]] = {}  # several examples may share one (long) text
    for ex in examples:
        if ex.text not in parsed:
            doc = nlp.make_doc(ex.text)
            parsed[ex.text] = (doc, engine.sentence_starts(doc))
        doc, flags = parsed[ex.text]
        span = doc.char_span(ex.start, ex.end, alignment_mode="expand")
        if span is None:
            raise InvalidSpanError(f"example {ex.id}: span {ex.start}..{ex.end} covers no token of {ex.text[:60]!r}")
        result = engine.analyse(doc, [span], sent_starts=flags)[0]
        confusion[ex.label, result.assertion] = confusion.get((ex.label, result.assertion), 0) + 1
        gold.append((ex.label.value, ex.id))
        pred.append((result.assertion.value, ex.id))
        if result.assertion != ex.label:
            errors.append((ex, result))
    n = len(examples)
    correct = n - len(errors)
    return AssertionReport(n=n, accuracy=correct / n if n else 0.0, per_class=score_sets(gold, pred),
                           confusion=confusion, errors=tuple(errors))
