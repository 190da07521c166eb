"""Property tests: whatever bytes a loader is given, it yields Documents, reports RecordErrors or
raises a LoaderError; never any other exception (TypeError, RecursionError, EOFError...).

Inputs are random bytes, mutated copies of the real fixtures (plain and gzipped), random JSON
values in JSONL lines, and random JSON values (including deep nesting, NaN, lone surrogates) put
in place of any field of a FHIR bundle. Every run also checks that:

* in skip mode only *fatal* errors are raised (a bad record never stops the file);
* every message is one line naming the file, as the CLI prints it;
* every Document yielded serialises (``model_dump_json``, strict ``json.dumps`` of metadata),
  as the build's content hash and the stores need.
"""

from __future__ import annotations

import gzip
import json
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schema.records import Document
from loaders import FORMATS, read_documents
from loaders.errors import LoaderError, LoaderWarning, MalformedInputError, RecordError, printable
from tests.helpers import FIXTURES

FUZZ = settings(
    max_examples=150,
    deadline=None,
    database=None,  # nothing written to the working tree; failures print their example
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

SUFFIX = {
    "pubtator": ".pubtator",
    "bioc": ".xml",
    "pubmed": ".xml",
    "text": ".txt",
    "jsonl": ".jsonl",
    "fhir": ".json",
    "ddi2013": ".xml",
}

SEEDS: list[tuple[str, str, bytes]] = [
    (fmt, f"{name}{SUFFIX[fmt]}", (FIXTURES / relative).read_bytes())
    for fmt, name, relative in [
        ("pubtator", "bc5cdr", "bc5cdr/CDR_TrainingSet_excerpt.PubTator.txt"),
        ("pubtator", "biored", "biored/Train_excerpt.PubTator"),
        ("bioc", "bc5cdr_bioc", "bc5cdr/CDR_TrainingSet_excerpt.BioC.xml"),
        ("pubmed", "pubmed", "pubmed/pubmed_sample.xml"),
        ("text", "note", "notes/discharge_note.txt"),
        ("jsonl", "notes", "notes/notes.jsonl"),
        ("fhir", "synthea", "synthea/synthea_bundle_excerpt.json"),
        ("ddi2013", "ddi", "ddi2013/Train/DrugBank/Altretamine_ddi.xml"),
    ]
]
"""(format, file name, content) of every fixture the mutations start from."""

TOKENS = [
    b"<", b">", b"&", b"&amp;", b"&x;", b"</document>", b"<document>", b"<!ENTITY a 'b'>",
    b"<!DOCTYPE collection [<!ENTITY a 'aaaa'>]>", b"]]>", b"\x00", b"\xff", b"\xfe\xff",
    b"\n", b"\r\n", b"\t", b"|t|", b"|a|", b"-1", b"99999999999999999999", b"{", b"}", b"[",
    b"]", b'"', b",", b":", b"null", b"NaN", b"1e999", b'"\\ud800"', b"[" * 3000,
]
"""Fragments that reach parser corners random bytes rarely hit."""


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def check_message(error: BaseException | RecordError, path: Path) -> None:
    shown = str(error)
    assert "\n" not in shown, shown
    assert printable(str(path)) in shown or path.name in shown, shown


def check_document(doc: Document) -> None:
    doc.model_dump_json()
    json.dumps(doc.metadata, allow_nan=False)
    doc.text.encode("utf-8")


def exercise(read: Callable[..., Iterator[Document]], path: Path) -> None:
    """Read ``path`` in skip mode and in strict mode; only the allowed outcomes may happen."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LoaderWarning)
        errors: list[RecordError] = []
        for on_error in (errors.append, None):
            try:
                for doc in read(path, on_error=on_error):
                    check_document(doc)
            except LoaderError as exc:
                check_message(exc, path)
                if on_error is not None and isinstance(exc, MalformedInputError):
                    assert exc.fatal, f"non-fatal error raised in skip mode: {exc}"
        for error in errors:
            check_message(error, path)


@st.composite
def mutations(draw: st.DrawFn, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "delete", "insert", "truncate", "repeat"]))
        at = draw(st.integers(0, len(out)))
        if op == "flip" and at < len(out):
            out[at] = draw(st.integers(0, 255))
        elif op == "delete":
            del out[at : at + draw(st.integers(1, 64))]
        elif op == "insert":
            piece = draw(st.sampled_from(TOKENS) | st.binary(min_size=1, max_size=16))
            out[at:at] = piece
        elif op == "truncate":
            del out[at:]
        else:
            out[at:at] = out[at : at + draw(st.integers(1, 200))]
    return bytes(out)


@FUZZ
@given(fmt=st.sampled_from(sorted(FORMATS)), data=st.binary(max_size=2000), detect=st.booleans())
def test_random_bytes(workdir: Path, fmt: str, data: bytes, detect: bool) -> None:
    path = workdir / f"random{SUFFIX[fmt]}"
    path.write_bytes(data)
    exercise(read_documents if detect else FORMATS[fmt], path)


@FUZZ
@given(data=st.data(), detect=st.booleans())
def test_mutated_fixtures(workdir: Path, data: st.DataObject, detect: bool) -> None:
    fmt, name, seed = data.draw(st.sampled_from(SEEDS))
    path = workdir / name
    path.write_bytes(data.draw(mutations(seed)))
    exercise(read_documents if detect else FORMATS[fmt], path)


XML_SEEDS = [seed for seed in SEEDS if seed[0] in ("bioc", "pubmed", "ddi2013")]


@FUZZ
@given(data=st.data(), damage_compressed=st.booleans())
def test_mutated_gzip(workdir: Path, data: st.DataObject, damage_compressed: bool) -> None:
    fmt, name, seed = data.draw(st.sampled_from(XML_SEEDS))
    path = workdir / f"{name}.gz"
    if damage_compressed:
        path.write_bytes(data.draw(mutations(gzip.compress(seed, mtime=0))))
    else:
        path.write_bytes(gzip.compress(data.draw(mutations(seed)), mtime=0))
    exercise(read_documents if data.draw(st.booleans()) else FORMATS[fmt], path)


ANY_TEXT = st.text(alphabet=st.characters(exclude_categories=()), max_size=12)  # surrogates too
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | ANY_TEXT
    | st.sampled_from(["", " ", "clinical_note", "record", "a:b", "1"])
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4),
    max_leaves=16,
)
JSON_TEXT = (
    JSON_VALUES.map(lambda value: json.dumps(value))  # NaN/Infinity and \\udXXX escapes included
    | st.integers(55, 4000).map(lambda depth: "[" * depth + "]" * depth)
    | st.integers(55, 4000).map(lambda depth: '{"a":' * depth + "1" + "}" * depth)
    | st.sampled_from(["1e999", "-1e999", "9" * 5000, "NaN", '"\\udc00"', "{", "[1,]", "01"])
)
"""Raw JSON text for one value: random values, deep nesting, and the values JSON forbids."""


@st.composite
def jsonl_lines(draw: st.DrawFn) -> str:
    keys = draw(st.lists(st.sampled_from(["id", "text", "title", "kind", "patient_id", "meta", "x"]), unique=True))
    fields = {key: draw(JSON_TEXT) for key in keys}
    if draw(st.booleans()):  # mostly well-typed id/text, so the other fields get exercised
        fields.setdefault("id", json.dumps(draw(st.integers(0, 5))))
        fields.setdefault("text", json.dumps(draw(st.text(min_size=1, max_size=20))))
    if draw(st.integers(0, 9)) == 0:
        return draw(JSON_TEXT)  # not an object at all
    return "{" + ", ".join(f"{json.dumps(k)}: {v}" for k, v in fields.items()) + "}"


@FUZZ
@given(lines=st.lists(jsonl_lines(), max_size=6))
def test_jsonl_random_values(workdir: Path, lines: list[str]) -> None:
    path = workdir / "values.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")
    exercise(FORMATS["jsonl"], path)


def _bundles() -> list[dict[str, Any]]:
    from tests.loaders.test_fhir import _bundle

    synthea = json.loads((FIXTURES / "synthea" / "synthea_bundle_excerpt.json").read_text(encoding="utf-8"))
    return [_bundle(), synthea]


BUNDLES = _bundles()


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path (keys and indices) inside a parsed JSON value."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield (*prefix, key)
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield (*prefix, index)
            yield from _paths(child, (*prefix, index))


PATHS = [(number, path) for number, bundle in enumerate(BUNDLES) for path in _paths(bundle)]
PLACEHOLDER = "\x00fuzz-value\x00"


@FUZZ
@given(
    targets=st.lists(st.sampled_from(PATHS), min_size=1, max_size=3),
    values=st.lists(JSON_TEXT | st.just("<delete>"), min_size=3, max_size=3),
)
def test_fhir_random_field_values(
    workdir: Path, targets: list[tuple[int, tuple[Any, ...]]], values: list[str]
) -> None:
    bundle = json.loads(json.dumps(BUNDLES[targets[0][0]]))
    replacements = []
    for (number, path), value in zip(targets, values):
        if number != targets[0][0]:
            continue
        parent: Any = bundle
        try:
            for step in path[:-1]:
                parent = parent[step]
            if value == "<delete>":
                del parent[path[-1]]
                continue
            parent[path[-1]] = f"{PLACEHOLDER}{len(replacements)}"
        except (KeyError, IndexError, TypeError):  # an earlier change removed the path
            continue
        replacements.append(value)
    text = json.dumps(bundle)
    for index, value in enumerate(replacements):
        text = text.replace(json.dumps(f"{PLACEHOLDER}{index}"), value)
    path = workdir / "bundle.json"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    exercise(FORMATS["fhir"], path)
