"""Pure functions behind NER inference: windows, BIO tags, constrained decoding, span merging.

Nothing here imports torch, so the parts that decide *where* spans are (the error-prone part
of token classification) are tested on plain lists and arrays.

Conventions:

* a tag set for entity types ``(T1, ..., Tn)`` is ``["O", "B-T1", "I-T1", ..., "B-Tn", "I-Tn"]``
  (:func:`bio_tags`), so tag ``2k+1`` is B and ``2k+2`` is I of type ``k``;
* tags are assigned per *word* (a pre-token of the tokenizer: BERT splits on whitespace and
  punctuation), read from the word's first sub-token; a predicted span therefore always starts
  and ends on word boundaries, which is the "extend spans to whole words" post-processing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Window:
    """Tokens ``[start, end)`` of one sequence, fed to the encoder together."""

    start: int
    end: int


def bio_tags(labels: Sequence[str]) -> list[str]:
    """The tag list for entity types ``labels`` (order matters: it is the head's output order)."""
    tags = ["O"]
    for label in labels:
        tags += [f"B-{label}", f"I-{label}"]
    return tags


def windows(n_tokens: int, *, size: int, overlap: int) -> list[Window]:
    """Cover ``n_tokens`` with windows of at most ``size`` tokens overlapping by ``overlap``.

    A sequence that fits gives one window. Otherwise consecutive windows advance by
    ``size - overlap``; the last one is aligned to the end so it is full-length (a short tail
    window would see too little context).
    """
    if size < 1 or not 0 <= overlap < size:
        raise ValueError(f"need size >= 1 and 0 <= overlap < size, got size={size}, overlap={overlap}")
    if n_tokens <= size:
        return [Window(0, n_tokens)]
    step = size - overlap
    starts = list(range(0, n_tokens - size, step)) + [n_tokens - size]
    return [Window(s, s + size) for s in starts]


def owner_window(wins: Sequence[Window], n_tokens: int) -> list[int]:
    """For each token, the index of the window in which it sits furthest from an edge.

    Tokens near a window edge see context on one side only, so each token's prediction is taken
    from the window where it is most central; every token gets exactly one owner, which is what
    keeps overlapping windows from producing duplicate spans.
    """
    owner = [-1] * n_tokens
    best = [-1] * n_tokens
    for index, win in enumerate(wins):
        for tok in range(win.start, win.end):
            margin = min(tok - win.start, win.end - 1 - tok)
            if margin > best[tok]:
                best[tok], owner[tok] = margin, index
    return owner


def _transition_mask(n_labels: int) -> np.ndarray:
    """``allowed[i, j]``: may tag ``j`` follow tag ``i``? (I-X only after B-X or I-X.)"""
    n_tags = 1 + 2 * n_labels
    allowed = np.ones((n_tags, n_tags), dtype=bool)
    for k in range(n_labels):
        inside = 2 * k + 2
        allowed[:, inside] = False
        allowed[2 * k + 1, inside] = True
        allowed[inside, inside] = True
    return allowed


def viterbi_bio(log_probs: np.ndarray) -> list[int]:
    """Best tag sequence under the BIO constraints (a CRF-free repair of per-word argmaxes).

    ``log_probs`` is ``(n_words, n_tags)``. Invalid transitions (``O -> I-X``, ``B-X -> I-Y``)
    and a sequence starting with ``I-X`` get -inf, so the result is always a well-formed BIO
    sequence; where the argmax is already valid it is returned unchanged.
    """
    n_words, n_tags = log_probs.shape
    if n_words == 0:
        return []
    allowed = _transition_mask((n_tags - 1) // 2)
    penalty = np.where(allowed, 0.0, -np.inf)
    start_ok = np.array([0.0] + [0.0 if t % 2 == 1 else -np.inf for t in range(1, n_tags)])
    score = log_probs[0] + start_ok
    back = np.zeros((n_words, n_tags), dtype=np.int64)
    for w in range(1, n_words):
        cand = score[:, None] + penalty  # (prev, cur)
        back[w] = cand.argmax(axis=0)
        score = cand.max(axis=0) + log_probs[w]
    path = [int(score.argmax())]
    for w in range(n_words - 1, 0, -1):
        path.append(int(back[w, path[-1]]))
    return path[::-1]


def viterbi_bio_many(log_probs: Sequence[np.ndarray]) -> list[list[int]]:
    """:func:`viterbi_bio` of many sequences over one tag set, vectorised across sequences.

    Each sequence goes through exactly the float operations of :func:`viterbi_bio` (element-wise
    adds, max, argmax), so the paths are identical; what is shared is the Python loop over word
    positions, which otherwise costs about a millisecond per sentence and, on a GPU, more than the
    model. Sequences are sorted longest first so the ones still running at a position are a prefix.
    """
    if not log_probs:
        return []
    n_tags = log_probs[0].shape[1]
    lengths = np.array([len(lp) for lp in log_probs])
    order = np.argsort(-lengths, kind="stable")
    sorted_lengths = lengths[order]
    width = int(sorted_lengths[0])
    if width == 0:
        return [[] for _ in log_probs]
    lp = np.zeros((len(log_probs), width, n_tags), dtype=np.result_type(*log_probs))
    for row, i in enumerate(order):
        lp[row, : lengths[i]] = log_probs[i]
    running = [int(np.count_nonzero(sorted_lengths > w)) for w in range(width)]  # sequences with a word w
    penalty = np.where(_transition_mask((n_tags - 1) // 2), 0.0, -np.inf)
    start_ok = np.array([0.0] + [0.0 if t % 2 == 1 else -np.inf for t in range(1, n_tags)])
    score = lp[:, 0] + start_ok
    back = np.zeros((len(log_probs), width, n_tags), dtype=np.int64)
    for w in range(1, width):
        k = running[w]
        cand = score[:k, :, None] + penalty  # (sequence, prev, cur)
        back[:k, w] = cand.argmax(axis=1)
        score[:k] = cand.max(axis=1) + lp[:k, w]
    tags = np.zeros((len(log_probs), width), dtype=np.int64)
    live = running[0]
    tags[np.arange(live), sorted_lengths[:live] - 1] = score[:live].argmax(axis=1)
    for w in range(width - 1, 0, -1):
        k = running[w]
        tags[:k, w - 1] = back[np.arange(k), w, tags[:k, w]]
    paths: list[list[int]] = [[] for _ in log_probs]
    for row, i in enumerate(order):
        paths[i] = tags[row, : lengths[i]].tolist()
    return paths


def tag_spans(tags: Sequence[int]) -> list[tuple[int, int, int]]:
    """``(first_word, last_word_exclusive, label_index)`` for each entity of a BIO tag sequence.

    An ``I-X`` that does not continue an ``X`` opens a new entity (only reachable without
    :func:`viterbi_bio`).
    """
    spans: list[tuple[int, int, int]] = []
    start, label = -1, -1
    for w, tag in enumerate(tags):
        tag_label = (tag - 1) // 2 if tag else -1
        is_inside = tag > 0 and tag % 2 == 0
        if start >= 0 and not (is_inside and tag_label == label):
            spans.append((start, w, label))
            start = -1
        if tag > 0 and start < 0:
            start, label = w, tag_label
    if start >= 0:
        spans.append((start, len(tags), label))
    return spans


def word_tags(word_spans: Sequence[tuple[int, int]], gold: Sequence[tuple[int, int, int]]) -> list[int]:
    """Gold BIO tag per word from character spans ``(start, end, label_index)``.

    A word is inside an entity when they share a character (so an entity that starts or ends
    inside a word still gets that word, and every gold entity gets at least one B); it is B
    when it is the entity's first such word. Gold spans must not overlap (callers resolve
    nesting first).
    """
    tags = [0] * len(word_spans)
    for start, end, label in gold:
        first = True
        for w, (ws, we) in enumerate(word_spans):
            if ws < end and start < we:
                tags[w] = 2 * label + (1 if first else 2)
                first = False
    return tags


def resolve_overlaps(spans: Sequence[tuple[int, int, str, float]]) -> list[tuple[int, int, str, float]]:
    """Keep the best of overlapping ``(start, end, label, score)`` spans, greedily by score.

    Used to merge heads (e.g. a BC5CDR ``Disease`` and a RareDis ``Symptom`` on the same words):
    ties go to the longer span, then the earlier one, so the result is deterministic.
    """
    order = sorted(spans, key=lambda s: (-s[3], -(s[1] - s[0]), s[0], s[2]))
    kept: list[tuple[int, int, str, float]] = []
    for span in order:
        if all(span[1] <= k[0] or k[1] <= span[0] for k in kept):
            kept.append(span)
    return sorted(kept, key=lambda s: (s[0], s[1], s[2]))


def longest_first(spans: Sequence[tuple[int, int, str]], *, prefer: Sequence[str] = ()) -> list[tuple[int, int, str]]:
    """Drop spans overlapping a longer kept one: BIO cannot encode nested gold entities.

    On equal length a label in ``prefer`` wins (RareDis annotates "hypoadrenalism" as both
    DISEASE and SIGN; the RareDis head exists for Symptom, so Symptom is preferred there).
    """
    rank = {label: i for i, label in enumerate(prefer)}
    order = sorted(spans, key=lambda s: (-(s[1] - s[0]), rank.get(s[2], len(rank)), s[0], s[2]))
    kept: list[tuple[int, int, str]] = []
    for span in order:
        if all(span[1] <= k[0] or k[1] <= span[0] for k in kept):
            kept.append(span)
    return sorted(kept)


_FUNCTION_WORDS = frozenset({"and", "or", "of", "the", "with", "in", "by", "to", "for", "as", "at", "on"})
"""Lower-case only: ``hemophilia A`` and ``cyclosporin A`` end with a capital letter, not an article."""
_TRAILING_PUNCT = "(,;:/.[{"
_LEADING_PUNCT = "),;:-/.]}"


def trim_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink a predicted span that starts or ends on a function word or stray punctuation.

    Word-level BIO decoding sometimes runs an entity on over ``and`` / ``(`` (``seizures and``,
    ``chronic hepatitis C (``); no gold entity of BC5CDR's 9,385 training mentions ends with a
    function word or an opening bracket, nor starts with a closing one. An unbalanced closing
    bracket at the end is dropped too (a trailing ``-`` is kept: ``O2-`` is a BC5CDR chemical).
    On the training splits this changes none of BC5CDR's 9,385 gold entities, 19 of RareDis's 8,655
    contiguous ones (``flat feet,``) and none of NCBI-disease's. Returns an empty span
    ``(i, i)`` if nothing is left.
    """
    while True:
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        piece = text[start:end]
        if not piece:
            return start, start
        words = piece.split()
        if len(words) > 1 and words[-1] in _FUNCTION_WORDS:
            end = start + piece.rstrip().rfind(words[-1])
        elif len(words) > 1 and words[0] in _FUNCTION_WORDS:
            start += len(words[0])
        elif piece[-1] in _TRAILING_PUNCT or (piece[-1] in ")]" and _unbalanced_close(piece)):
            end -= 1
        elif piece[0] in _LEADING_PUNCT or (piece[0] in "([" and _unbalanced_open(piece)):
            start += 1
        else:
            return start, end


def _unbalanced_close(piece: str) -> bool:
    return piece.count(")") > piece.count("(") or piece.count("]") > piece.count("[")


def _unbalanced_open(piece: str) -> bool:
    return piece.count("(") > piece.count(")") or piece.count("[") > piece.count("]")


_WORD_CHAR = r"[^\W_]"
_DEFINITION = re.compile(r"\(\s*([^\s()]{2,10}|[^\s()]+ [^\s()]+)\s*\)")


def abbreviation_definitions(text: str) -> list[tuple[int, int, int, int]]:
    """``(long_start, long_end, short_start, short_end)`` for each ``long form (SF)`` in ``text``.

    The Schwartz & Hearst (2003) algorithm: the short form has a letter and starts with a letter
    or digit; the long form is the shortest run of the preceding words (at most
    ``min(|SF| + 5, 2 |SF|)`` of them) in which the short form's characters appear in order,
    its first character starting a word.
    """
    found: list[tuple[int, int, int, int]] = []
    for m in _DEFINITION.finditer(text):
        short = m.group(1)
        if not short[0].isalnum() or not re.search(r"[^\W\d_]", short) or len(short) > 10:
            continue
        long_end = m.start()
        while long_end > 0 and text[long_end - 1].isspace():
            long_end -= 1
        max_words = min(len(short) + 5, 2 * len(short))
        words = list(re.finditer(r"\S+", text[max(0, long_end - 200) : long_end]))[-max_words:]
        if not words:
            continue
        offset = max(0, long_end - 200)
        candidate_start = offset + words[0].start()
        long_start = _long_form_start(short, text, candidate_start, long_end)
        if long_start is not None:
            found.append((long_start, long_end, m.start(1), m.end(1)))
    return found


def _long_form_start(short: str, text: str, lo: int, hi: int) -> int | None:
    s_idx, l_idx = len(short) - 1, hi - 1
    while s_idx >= 0:
        c = short[s_idx].lower()
        if not c.isalnum():
            s_idx -= 1
            continue
        while l_idx >= lo and (
            text[l_idx].lower() != c or (s_idx == 0 and l_idx > lo and text[l_idx - 1].isalnum())
        ):
            l_idx -= 1
        if l_idx < lo:
            return None
        l_idx -= 1
        s_idx -= 1
    while l_idx >= lo and not text[l_idx].isspace():
        l_idx -= 1
    return l_idx + 1


def postprocess(text: str, spans: Sequence[tuple[int, int, str, float]]) -> list[tuple[int, int, str, float]]:
    """:func:`trim_span` every span, then :func:`abbreviation_consistency` over the document."""
    trimmed = []
    for start, end, label, score in spans:
        start, end = trim_span(text, start, end)
        if end > start:
            trimmed.append((start, end, label, score))
    return abbreviation_consistency(text, trimmed)


def abbreviation_consistency(
    text: str, spans: Sequence[tuple[int, int, str, float]]
) -> list[tuple[int, int, str, float]]:
    """Give every occurrence of an abbreviation defined in ``text`` its long form's label.

    A sentence-level tagger sees ``CIN`` or ``MI`` without the sentence that defined it and often
    types it wrongly or misses it. For each ``long form (SF)`` whose long form ends a predicted
    span of label ``L``, every whole-word, case-sensitive occurrence of ``SF`` becomes an ``L``
    span (score of the long-form span), replacing predictions on exactly that occurrence and
    skipping occurrences inside longer predicted spans. Where no predicted span ends the long
    form, predictions on exactly the occurrences of ``SF`` are removed: the abbreviation names
    something the model does not consider an entity (``angiotensin-converting enzyme (ACE)``).
    The first definition of a short form wins.
    """
    by_end = {}
    for span in spans:
        by_end.setdefault(span[1], span)
    decided: dict[str, tuple[str, float] | None] = {}
    for _, long_end, s0, s1 in abbreviation_definitions(text):
        short = text[s0:s1]
        if short not in decided:
            source = by_end.get(long_end)
            decided[short] = (source[2], source[3]) if source else None
    if not decided:
        return list(spans)
    out = list(spans)
    for short, verdict in decided.items():
        pattern = re.compile(rf"(?<!{_WORD_CHAR}){re.escape(short)}(?!{_WORD_CHAR})")
        for m in pattern.finditer(text):
            exact = [sp for sp in out if (sp[0], sp[1]) == (m.start(), m.end())]
            longer = [sp for sp in out if sp[0] < m.end() and m.start() < sp[1] and (sp[0], sp[1]) != (m.start(), m.end())]
            if longer:
                continue
            for sp in exact:
                out.remove(sp)
            if verdict is not None:
                out.append((m.start(), m.end(), verdict[0], verdict[1]))
    return sorted(out)
