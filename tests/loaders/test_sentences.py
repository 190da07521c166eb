"""The evidence sentence splitter in loaders/_text.py."""

from __future__ import annotations

from schema.sentences import sentence_index, sentence_spans


def _sentences(text: str, **kwargs: object) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text, **kwargs)]  # type: ignore[arg-type]


def test_splits_on_terminal_punctuation_before_capitals_and_digits() -> None:
    text = "Naloxone was given. It failed! Why? 20 patients (8%) relapsed."
    assert _sentences(text) == [
        "Naloxone was given.",
        "It failed!",
        "Why?",
        "20 patients (8%) relapsed.",
    ]


def test_keeps_abbreviations_and_lowercase_continuations() -> None:
    text = (
        "Drugs, e.g. Aspirin, were given i.v. Twice daily vs. Placebo. "
        "Smith et al. Found 3 cases. pH was 7.4 in vitro."
    )
    assert _sentences(text) == [
        "Drugs, e.g. Aspirin, were given i.v. Twice daily vs. Placebo.",
        "Smith et al. Found 3 cases. pH was 7.4 in vitro.",
    ]


def test_forced_breaks_and_blank_lines() -> None:
    title = "Lidocaine-induced cardiac asystole"  # no final period
    text = title + " Intravenous lidocaine was given.\n\nplan: stop it"
    assert _sentences(text, breaks=[len(title) + 1]) == [
        title,
        "Intravenous lidocaine was given.",
        "plan: stop it",
    ]
    assert _sentences(text)[0] == title + " Intravenous lidocaine was given."


def test_spans_are_trimmed_and_indexable() -> None:
    text = "  One.   Two.  "
    spans = sentence_spans(text)
    assert spans == [(2, 6), (9, 13)]
    assert [sentence_index(spans, i) for i in (0, 2, 5, 7, 9, 12, 14)] == [
        None,
        0,
        0,
        None,
        1,
        1,
        None,
    ]
    assert sentence_spans("") == []
