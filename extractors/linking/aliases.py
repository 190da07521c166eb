"""The alias table learned from the TRAIN splits of annotated corpora (mention text -> concept id).

BC5CDR and NCBI-disease annotate every chemical/disease mention with the MeSH (or OMIM) id it
names, so their training splits say how the literature actually writes a concept ("PAN",
"5-FU", "seizures"). The table is a small derived artefact, like model weights:
one row per (label, normalised text), shipped as ``data/train_aliases.tsv`` and regenerated with::

    medkg linking aliases \\
        --corpus bc5cdr=../shared/data/corpora/bc5cdr/pubtator/CDR_TrainingSet.PubTator.txt \\
        --corpus ncbi-disease=../shared/data/corpora/ncbi-disease/original/NCBItrainset_corpus.txt \\
        --out extractors/linking/data/train_aliases.tsv

Rules (why): composite spans (one span, several ids: "breast and ovarian cancer") are skipped,
because their text names no single concept; unlinked (-1) mentions are skipped; a text whose
annotations disagree keeps its id only when that id has a strict majority of the text's
mentions, otherwise the text is dropped as ambiguous; texts shorter than 2 characters are
dropped. Only train splits may be used: the dev splits are what linking is evaluated on.
"""

from __future__ import annotations

import csv
import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

from extractors.linking.errors import KBFormatError, KBNotFoundError
from extractors.linking.normalize import normalize
from schema.records import Document, EntityType

DEFAULT_ALIAS_TABLE = Path(__file__).resolve().parent / "data" / "train_aliases.tsv"
COLUMNS = ("label", "concept_id", "text", "count", "corpus")
_MIN_TEXT = 2


class AliasRow(NamedTuple):
    """One learned alias: ``text`` was annotated ``count`` times as ``concept_id`` in ``corpus``."""

    label: EntityType
    concept_id: str
    text: str
    count: int
    corpus: str


def learn_aliases(corpora: Iterable[tuple[str, Iterable[Document]]]) -> list[AliasRow]:
    """The alias table of ``(corpus name, training documents)`` pairs (see module docstring)."""
    ids: dict[tuple[EntityType, str], Counter[str]] = defaultdict(Counter)
    spellings: dict[tuple[EntityType, str], Counter[str]] = defaultdict(Counter)
    found_in: dict[tuple[EntityType, str], set[str]] = defaultdict(set)
    for corpus, documents in corpora:
        for doc in documents:
            per_span: dict[tuple[int | None, int | None, str], list[str | None]] = defaultdict(list)
            for m in doc.mentions:
                per_span[(m.start, m.end, m.text)].append(m.concept_id)
            for m in doc.mentions:
                span_ids = per_span[(m.start, m.end, m.text)]
                if m.concept_id is None or len(span_ids) != 1:
                    continue
                key = (m.label, normalize(m.text))
                if len(key[1]) < _MIN_TEXT:
                    continue
                ids[key][m.concept_id] += 1
                spellings[key][m.text] += 1
                found_in[key].add(corpus)
    rows = []
    for key, counter in ids.items():
        (best, n), total = counter.most_common(1)[0], sum(counter.values())
        if 2 * n <= total:
            continue
        rows.append(AliasRow(key[0], best, spellings[key].most_common(1)[0][0], n, "+".join(sorted(found_in[key]))))
    rows.sort(key=lambda r: (r.label, r.concept_id, -r.count, r.text))
    return rows


def write_alias_table(rows: Sequence[AliasRow], path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(COLUMNS)
        writer.writerows((r.label.value, r.concept_id, r.text, r.count, r.corpus) for r in rows)
    return path


def read_alias_table(path: str | os.PathLike[str] = DEFAULT_ALIAS_TABLE) -> list[AliasRow]:
    """Rows of a table written by :func:`write_alias_table`; errors name the file and line."""
    path = Path(path)
    if not path.is_file():
        raise KBNotFoundError(f"{path}: alias table not found")
    rows = []
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t")
        header = next(reader, None)
        if header is None or tuple(header) != COLUMNS:
            raise KBFormatError(f"{path}: line 1: expected columns {', '.join(COLUMNS)}; got {header}")
        for row in reader:
            try:
                label, cid, text, count, corpus = row
                rows.append(AliasRow(EntityType(label), cid, text, int(count), corpus))
            except ValueError as exc:
                raise KBFormatError(f"{path}: line {reader.line_num}: bad alias row {row[:5]} ({exc})") from exc
    return rows
