"""Hostile and broken inputs at the loader level: each gives one error naming the file (and the
record), never another exception; skip mode keeps the good records.

Sections follow the reported probes: damaged gzip, deep JSON, wrong FHIR types, duplicate ids,
symlinks in folders, and the odd files (empty, wrong encoding, binary, huge, XML bombs).
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from schema.records import Document
from loaders import (
    FORMATS,
    bioc,
    fhir,
    jsonl,
    pubmed,
    pubtator,
    read_documents,
    text,
)
from loaders._json import MAX_JSON_DEPTH
from loaders._xml import MAX_RECORD_BYTES
from loaders.errors import LoaderWarning, MalformedInputError, RecordError

Collector = tuple[list[RecordError], Callable[[RecordError], None]]


def one_line(error: BaseException | RecordError, path: Path) -> str:
    """The error as printed: it must be one line and name the file."""
    shown = str(error)
    assert "\n" not in shown and str(path) in shown, shown
    return shown


def pubmed_xml(pmids: list[str], *, prolog: str = "") -> str:
    articles = "".join(
        f"<PubmedArticle><MedlineCitation><PMID>{pmid}</PMID><Article><ArticleTitle>Title {pmid} "
        f"{'about aspirin and fever ' * 20}</ArticleTitle></Article></MedlineCitation>"
        "</PubmedArticle>\n"
        for pmid in pmids
    )
    return f'<?xml version="1.0"?>\n{prolog}<PubmedArticleSet>\n{articles}</PubmedArticleSet>\n'


def bioc_xml(docs: list[tuple[str, str]], *, prolog: str = "") -> str:
    body = "".join(
        f"<document><id>{pmid}</id><passage><infon key=\"type\">title</infon><offset>0</offset>"
        f"<text>{title}</text></passage></document>\n"
        for pmid, title in docs
    )
    return f'<?xml version="1.0"?>\n{prolog}<collection><source>t</source>\n{body}</collection>\n'


# -- 1. damaged gzip ------------------------------------------------------------------------------


@pytest.fixture
def big_pubmed_gz(tmp_path: Path) -> Path:
    """A 1,000-article PubMed file, gzipped: large enough that a cut lands after many articles."""
    path = tmp_path / "pubmed26n0001.xml.gz"
    data = pubmed_xml([str(90000000 + i) for i in range(1000)]).encode()
    path.write_bytes(gzip.compress(data, mtime=0))
    assert len(data) > 4 * 64 * 1024  # several read chunks
    return path


@pytest.mark.parametrize("reader", [pubmed.read, read_documents], ids=["pubmed", "detected"])
def test_truncated_gzip_is_one_fatal_error(
    big_pubmed_gz: Path, tmp_path: Path, collect: Collector, reader: Callable[..., Iterator[Document]]
) -> None:
    cut = tmp_path / "cut.xml.gz"
    data = big_pubmed_gz.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    errors, on_error = collect
    docs: list[Document] = []
    with pytest.raises(MalformedInputError) as raised:
        for doc in reader(cut, on_error=on_error):
            docs.append(doc)
    assert raised.value.fatal and errors == []
    assert "truncated" in one_line(raised.value, cut)
    assert raised.value.error.position.startswith("uncompressed byte ")
    assert 0 < len(docs) < 1000  # the articles before the cut were read


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("garbage.xml.gz", gzip.compress(b"<x/>")[:10] + b"\x00garbage-bytes" * 50, "corrupt gzip"),
        ("plain.xml.gz", b'<?xml version="1.0"?><PubmedArticleSet/>', "not a gzip file"),
        ("empty.xml.gz", b"", "empty file"),
        ("bad-crc.xml.gz", gzip.compress(b"<PubmedArticleSet/>")[:-8] + b"\0" * 8, "CRC"),
    ],
)
@pytest.mark.parametrize("fmt", ["pubmed", "bioc", None])
def test_corrupt_gzip_is_one_fatal_error(
    tmp_path: Path, collect: Collector, name: str, content: bytes, fragment: str, fmt: str | None
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    errors, on_error = collect
    with pytest.raises(MalformedInputError) as raised:
        list(read_documents(path, format=fmt, on_error=on_error))
    assert raised.value.fatal and errors == []
    assert fragment in one_line(raised.value, path)


# -- 2. deep and unstorable JSON in JSONL ----------------------------------------------------------


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.fixture
def hostile_jsonl(tmp_path: Path) -> Path:
    lines = [
        '{"id": "good1", "text": "First note."}',
        '{"id": "deep", "text": "x", "m": ' + nested(100_000) + "}",
        '{"id": "deep65", "text": "x", "m": ' + nested(MAX_JSON_DEPTH) + "}",  # 65 with the line
        '{"id": "nan", "text": "x", "m": NaN}',
        '{"id": "inf", "text": "x", "m": 1e999}',
        '{"id": "surrogate", "text": "bad \\ud800 text"}',
        '{"id": "digits", "text": "x", "m": ' + "9" * 5000 + "}",
        '{"id": "ok64", "text": "x", "m": ' + nested(MAX_JSON_DEPTH - 1) + "}",
        '{"id": "good2", "text": "Last note."}',
    ]
    path = tmp_path / "hostile.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_deep_and_unstorable_json_lines_are_record_errors(
    hostile_jsonl: Path, collect: Collector
) -> None:
    errors, on_error = collect
    docs = list(jsonl.read(hostile_jsonl, on_error=on_error))
    assert [d.id for d in docs] == ["note:good1", "note:ok64", "note:good2"]
    assert [e.position for e in errors] == [f"line {n}" for n in (2, 3, 4, 5, 6, 7)]
    messages = [one_line(e, hostile_jsonl) for e in errors]
    assert "nested far deeper than the 64 levels" in messages[0]
    assert '"m" nests deeper than 64 levels' in messages[1]
    assert "NaN is not a JSON number" in messages[2]
    assert '"m" holds a number too large' in messages[3]
    assert '"text" holds an unpaired UTF-16 surrogate' in messages[4]
    assert "too many digits" in messages[5]
    for doc in docs:  # whatever is accepted serialises, as the build and the stores need
        json.dumps(doc.metadata, allow_nan=False)
        doc.model_dump_json()


def test_deep_json_line_fails_strict_mode_at_its_line(hostile_jsonl: Path) -> None:
    with pytest.raises(MalformedInputError) as raised:
        list(jsonl.read(hostile_jsonl))
    assert (raised.value.error.position, raised.value.fatal) == ("line 2", False)


# -- 3. wrong JSON types in FHIR resources ---------------------------------------------------------

SNOMED_HT = {"system": fhir.SNOMED, "code": "38341003", "display": "Hypertension"}


def bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    patient = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1980"}
    good = {
        "resourceType": "Condition",
        "id": "good",
        "subject": {"reference": "urn:uuid:p1"},
        "code": {"coding": [SNOMED_HT]},
    }
    entries = [{"fullUrl": "urn:uuid:p1", "resource": patient}, {"resource": good}]
    entries += [{"resource": r} for r in resources]
    return {"resourceType": "Bundle", "entry": entries}


def condition(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "resourceType": "Condition",
        "id": "bad",
        "subject": {"reference": "urn:uuid:p1"},
        "code": {"coding": [SNOMED_HT]},
    }
    return {**base, **fields}


def medication(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": "bad",
        "status": "active",
        "subject": {"reference": "urn:uuid:p1"},
    }
    return {**base, **fields}


def observation(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "resourceType": "Observation",
        "id": "bad",
        "status": "final",
        "subject": {"reference": "urn:uuid:p1"},
        "code": {"coding": [{"system": "http://loinc.org", "code": "1-1"}]},
        "valueCodeableConcept": {"coding": [SNOMED_HT]},
    }
    return {**base, **fields}


WRONG_TYPES: list[tuple[dict[str, Any], str]] = [
    (condition(code={"coding": 5}), "Condition code.coding must be an array, got a number"),
    (condition(code="Hypertension"), "Condition code must be an object, got a string"),
    (condition(code={"coding": ["x"]}), "code.coding[0] must be an object, got a string"),
    (condition(code={"coding": [{**SNOMED_HT, "code": ["1"]}]}), "code.coding[0].code must be a string"),
    (condition(code={"coding": [{**SNOMED_HT, "display": {}}]}), "display must be a string, got an object"),
    (condition(code={"coding": [], "text": 3}), "code.text must be a string, got a number"),
    (condition(verificationStatus=7), "verificationStatus must be a CodeableConcept or a code"),
    (condition(clinicalStatus={"coding": {"code": "active"}}), "clinicalStatus.coding must be an array"),
    (condition(subject="urn:uuid:p1"), "subject must be an object, got a string"),
    (condition(subject={"reference": 1}), "subject.reference must be a string, got a number"),
    (condition(id=["x"]), "id must be a string, got an array"),
    (medication(status=["active"]), "status must be a string, got an array"),
    (medication(medicationCodeableConcept=[1]), "medicationCodeableConcept must be an object"),
    (medication(medicationReference="#m"), "medicationReference must be an object"),
    (medication(medicationReference={"reference": "#m"}, contained={"id": "m"}), "contained must be an array"),
    (medication(medicationReference={"reference": "#m"}, contained=[{"id": 1}]), "contained[0].id must be a string"),
    (
        medication(medicationReference={"reference": "#m"}, contained=[{"id": "m", "code": {"coding": True}}]),
        "referenced Medication code.coding must be an array, got a boolean",
    ),
    (observation(category="vital-signs"), "category must be an array, got a string"),
    (observation(category=[{"coding": [{"code": 5}]}]), "category[0].coding[0].code must be a string"),
    (
        observation(valueCodeableConcept={"coding": [{"system": fhir.SNOMED, "display": 1}]}),
        "valueCodeableConcept.coding[0].display must be a string",
    ),
    (observation(code=None), "has no code"),
    (observation(status={"code": "final"}), "status must be a string, got an object"),
    ({"resourceType": 5, "id": "bad"}, "resourceType must be a string, got a number"),
    ({"resourceType": "Patient", "id": "bad\nid"}, "id is not a FHIR id"),
    ({"resourceType": "Patient", "id": "p9", "gender": 1}, "gender must be a string, got a number"),
    ({"resourceType": "Patient", "id": "p9", "birthDate": 1980}, "birthDate must be a string, got a number"),
]


@pytest.mark.parametrize(("resource", "fragment"), WRONG_TYPES, ids=[f for _, f in WRONG_TYPES])
def test_wrong_fhir_types_are_record_errors(
    tmp_path: Path, collect: Collector, resource: dict[str, Any], fragment: str
) -> None:
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle(resource)), encoding="utf-8")
    errors, on_error = collect
    (doc,) = fhir.read(path, on_error=on_error)  # the good Condition is kept
    assert [m.concept_id for m in doc.mentions] == ["SNOMEDCT:38341003"]
    (error,) = errors
    assert error.position == "entry 3"
    assert fragment in one_line(error, path) and "(Bundle.entry[2])" in error.message
    with pytest.raises(MalformedInputError) as raised:
        list(fhir.read(path))
    assert raised.value.error.position == "entry 3" and not raised.value.fatal


def test_wrong_type_entries_and_whole_bundle(tmp_path: Path, collect: Collector) -> None:
    data = bundle()
    data["entry"] += [5, {"resource": "Patient"}, {"fullUrl": 3, "resource": {"resourceType": "Patient", "id": "x"}}]
    path = tmp_path / "entries.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    errors, on_error = collect
    assert len(list(fhir.read(path, on_error=on_error))) == 1
    assert [(e.position, e.message.split(" (Bundle")[0]) for e in errors] == [
        ("entry 3", "entry must be an object, got a number"),
        ("entry 4", "entry resource must be an object, got a string"),
        ("entry 5", "Patient fullUrl must be a string, got a number"),
    ]
    deep = tmp_path / "deep.json"
    deep.write_text('{"resourceType": "Bundle", "entry": ' + nested(100_000) + "}", encoding="utf-8")
    with pytest.raises(MalformedInputError, match="nested far deeper") as raised:
        list(fhir.read(deep))
    assert raised.value.fatal


# -- 4. duplicate ids -------------------------------------------------------------------------------


def pubtator_block(pmid: str, title: str, abstract: str, mention: str) -> str:
    start = len(title) + 1 + abstract.index(mention)
    return (
        f"{pmid}|t|{title}\n{pmid}|a|{abstract}\n"
        f"{pmid}\t{start}\t{start + len(mention)}\t{mention}\tChemical\tD001241\n\n"
    )


FIRST = pubtator_block("111", "First title.", "Abstract about aspirin.", "aspirin")
OTHER = pubtator_block("222", "Other title.", "Abstract about aspirin too.", "aspirin")
SECOND = pubtator_block("111", "Second title.", "Different abstract, aspirin.", "aspirin")


def test_pubtator_duplicate_pmid_with_other_content_is_refused(
    tmp_path: Path, collect: Collector
) -> None:
    path = tmp_path / "dup.pubtator"
    path.write_text(FIRST + OTHER + SECOND, encoding="utf-8")
    errors, on_error = collect
    docs = list(pubtator.read(path, on_error=on_error))
    assert [d.id for d in docs] == ["PMID:111", "PMID:222"]
    assert docs[0].title == "First title." and len(docs[0].mentions) == 1  # not merged
    (error,) = errors
    assert (error.position, error.record_id) == ("line 9", "PMID:111")
    assert "duplicate document id PMID:111: first at line 1" in one_line(error, path)
    with pytest.raises(MalformedInputError, match="duplicate document id PMID:111"):
        list(pubtator.read(path))


def test_identical_repeat_is_dropped_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "repeat.pubtator"
    path.write_text(FIRST + OTHER + FIRST, encoding="utf-8")
    with pytest.warns(LoaderWarning, match=r"repeat\.pubtator:line 9: duplicate document id "
                      r"PMID:111: identical to the record first at line 1; dropped"):
        assert [d.id for d in pubtator.read(path)] == ["PMID:111", "PMID:222"]


def test_jsonl_duplicate_ids(tmp_path: Path, collect: Collector) -> None:
    path = tmp_path / "dup.jsonl"
    path.write_text(
        '{"id": 7, "text": "One."}\n{"id": "7", "text": "Two."}\n{"id": 7, "text": "One."}\n',
        encoding="utf-8",
    )
    errors, on_error = collect
    with pytest.warns(LoaderWarning, match="line 3: duplicate document id note:7: identical"):
        docs = list(jsonl.read(path, on_error=on_error))
    assert [d.text for d in docs] == ["One."]
    assert [(e.position, e.message.split(" (")[0]) for e in errors] == [
        ("line 2", "duplicate document id note:7: first at line 1")
    ]


def test_bioc_and_pubmed_duplicate_ids(tmp_path: Path, collect: Collector) -> None:
    path = tmp_path / "dup.BioC.xml"
    path.write_text(bioc_xml([("5", "Aspirin."), ("6", "Other."), ("5", "Fever.")]), encoding="utf-8")
    errors, on_error = collect
    assert [d.text for d in bioc.read(path, on_error=on_error)] == ["Aspirin.", "Other."]
    assert [(e.position, e.record_id) for e in errors] == [("entry 3", "PMID:5")]
    assert "first at entry 1" in errors[0].message


def test_pubmed_later_revision_replaces_the_earlier(tmp_path: Path, collect: Collector) -> None:
    """PubMed update files re-issue revised citations under the same PMID: the later one wins,
    with a warning, in one file and across the files of a build (the store keeps one document)."""
    from kg.build import build_batch

    path = tmp_path / "dup_pubmed.xml"
    path.write_text(pubmed_xml(["8", "9"]).replace("<PMID>9<", "<PMID>8<"), encoding="utf-8")
    errors, on_error = collect
    with pytest.warns(LoaderWarning, match="entry 2: document PMID:8 appears again .first at entry 1.: this later revision replaces it"):
        docs = list(pubmed.read(path, on_error=on_error))
    assert [d.id for d in docs] == ["PMID:8", "PMID:8"] and errors == []
    batch = build_batch(docs)
    assert [d.id for d in batch.documents] == ["PMID:8"]
    assert batch.documents[0].title == docs[1].title  # the later revision


def test_fhir_duplicate_patients_never_merge(tmp_path: Path, collect: Collector) -> None:
    data = bundle()
    data["entry"] += [
        {"fullUrl": "urn:uuid:p1-again", "resource": {"resourceType": "Patient", "id": "p1", "gender": "male"}},
        {"fullUrl": "urn:uuid:p1", "resource": data["entry"][0]["resource"]},  # identical repeat
        {"resource": condition(id="c9", subject={"reference": "urn:uuid:p1-again"})},
    ]
    path = tmp_path / "dup_patients.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    errors, on_error = collect
    with pytest.warns(LoaderWarning, match="entry 4: duplicate Patient p1: identical to entry 1"):
        (doc,) = fhir.read(path, on_error=on_error)
    assert doc.metadata["sex"] == "female" and len(doc.mentions) == 1
    assert [(e.position, e.record_id) for e in errors] == [("entry 3", "Patient/p1"), ("entry 5", "Condition/c9")]
    assert "Patient id p1 first at entry 1, with different content" in errors[0].message
    assert "not a Patient in this bundle" in errors[1].message  # not attached to the first p1


# -- 5. symlinks in input folders ---------------------------------------------------------------------


def test_folder_walk_does_not_follow_links_out(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("Private note outside the input folder.", encoding="utf-8")
    folder = tmp_path / "notes"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("A note about fever.", encoding="utf-8")
    (folder / "out.txt").symlink_to(outside / "secret.txt")
    (folder / "passwd.txt").symlink_to("/etc/passwd")
    (folder / "outdir").symlink_to(outside, target_is_directory=True)
    (folder / "sub" / "loop").symlink_to(folder, target_is_directory=True)
    (folder / "sub" / "inner.txt").symlink_to(folder / "a.txt")  # inside: followed
    (folder / "sub" / "dangling.txt").symlink_to(folder / "gone.txt")
    (folder / "sub" / "loop1.txt").symlink_to(folder / "sub" / "loop2.txt")
    (folder / "sub" / "loop2.txt").symlink_to(folder / "sub" / "loop1.txt")
    (folder / "LICENSE").symlink_to("/etc/passwd")  # not a data file name: skipped silently
    with pytest.warns(LoaderWarning) as caught:
        docs = list(read_documents(folder))
    assert sorted(d.id for d in docs) == ["note:a", "note:inner"]
    warned = sorted(str(w.message) for w in caught if issubclass(w.category, LoaderWarning))
    assert warned == sorted([
        f"{folder}/out.txt: symlink leading outside the input folder skipped",
        f"{folder}/outdir: symlink to a folder skipped (never followed)",
        f"{folder}/passwd.txt: symlink leading outside the input folder skipped",
        f"{folder}/sub/dangling.txt: broken symlink (missing target or a loop) skipped",
        f"{folder}/sub/loop: symlink to a folder skipped (never followed)",
        f"{folder}/sub/loop1.txt: broken symlink (missing target or a loop) skipped",
        f"{folder}/sub/loop2.txt: broken symlink (missing target or a loop) skipped",
    ])
    (given,) = read_documents(folder / "out.txt")  # named on the command line: the user's choice
    assert given.id == "note:out"


# -- 7. odd files -------------------------------------------------------------------------------------

EMPTY = [
    ("empty.txt", "text", "empty document"),
    ("empty.pubtator", "pubtator", "empty file: no documents"),
    ("blank.pubtator", "pubtator", "empty file: no documents"),
    ("empty.jsonl", "jsonl", "empty file: no records"),
    ("blank.jsonl", "jsonl", "empty file: no records"),
    ("empty.json", "fhir", "empty file: no JSON"),
    ("empty.xml", "bioc", "empty file: no XML"),
    ("empty.xml", "pubmed", "empty file: no XML"),
]


@pytest.mark.parametrize(("name", "fmt", "fragment"), EMPTY)
def test_empty_files(tmp_path: Path, name: str, fmt: str, fragment: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"\n\n  \n" if name.startswith("blank") else b"")
    with pytest.raises(MalformedInputError) as raised:
        list(FORMATS[fmt](path))
    assert fragment in one_line(raised.value, path)


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("latin1.txt", "Patient Müller, fever.".encode("latin-1"), "WINDOWS-1252"),
        ("utf16.txt", "Fever.".encode("utf-16"), "the file is UTF-16"),
        ("utf16.jsonl", '{"id": 1, "text": "x"}\n'.encode("utf-16"), "the file is UTF-16"),
        ("utf16.pubtator", "1|t|Fever.\n".encode("utf-16"), "the file is UTF-16"),
        ("binary.txt", b"\x7fELF\x02\x01\x01\x00\x00\x00" * 50, "binary data"),
        ("garbage.txt", b"\xff\xd8\xff\xe0" + bytes(range(128, 256)) * 10, "not valid UTF-8"),
    ],
)
def test_wrong_encodings_and_binary(tmp_path: Path, name: str, content: bytes, fragment: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(MalformedInputError) as raised:
        list(read_documents(path))
    shown = one_line(raised.value, path)
    assert fragment in shown and "ller" not in shown


def test_huge_jsonl_line_is_skipped_without_holding_it(tmp_path: Path, collect: Collector) -> None:
    path = tmp_path / "huge.jsonl"
    with path.open("w", encoding="utf-8") as handle:
        handle.write('{"id": "a", "text": "ok"}\n')
        handle.write('{"id": "b", "text": "' + "x" * (jsonl.max_line_bytes(10) + 10) + '"}\n')
        handle.write('{"id": "c", "text": "ok too"}\n')
    errors, on_error = collect
    assert [d.id for d in jsonl.read(path, on_error=on_error, max_chars=10)] == ["note:a", "note:c"]
    assert [(e.position, e.message) for e in errors] == [
        ("line 2", f"line is longer than {jsonl.max_line_bytes(10):,} bytes")
    ]


def test_note_read_is_bounded_even_for_an_endless_file() -> None:
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    with pytest.raises(MalformedInputError, match="larger than max_chars=1,000"):
        list(text.read("/dev/zero", max_chars=1000))


BOMB = """<!DOCTYPE {root} [
 <!ENTITY a "aaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
 <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
 <!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">
 <!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;">
 <!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;">
 <!ENTITY i "&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;">
]>
"""
EXTERNAL = '<!DOCTYPE {root} [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
PARAMETER = '<!DOCTYPE {root} [<!ENTITY % p "<!ENTITY q \'x\'>"> %p;]>\n'


@pytest.mark.parametrize("prolog", [BOMB, EXTERNAL, PARAMETER], ids=["billion-laughs", "external", "parameter"])
@pytest.mark.parametrize("fmt", ["bioc", "pubmed"])
def test_entity_declarations_are_refused(tmp_path: Path, prolog: str, fmt: str) -> None:
    if fmt == "bioc":
        content = bioc_xml([("1", "&i;" if "ENTITY i" in prolog else "x")], prolog=prolog.format(root="collection"))
    else:
        content = pubmed_xml(["1"], prolog=prolog.format(root="PubmedArticleSet"))
    path = tmp_path / f"bomb_{fmt}.xml"
    path.write_text(content, encoding="utf-8")
    for reader in (FORMATS[fmt], read_documents):
        with pytest.raises(MalformedInputError) as raised:
            list(reader(path))
        assert raised.value.fatal
        assert "entity declarations are refused" in one_line(raised.value, path)


@pytest.mark.parametrize("encoding", ["UTF-9", "shift_jis", "rot13", "idna"])
def test_unreadable_xml_encoding_is_one_fatal_error(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "enc.xml"
    declared = f'version="1.0" encoding="{encoding}"'
    path.write_text(bioc_xml([("1", "x")]).replace('version="1.0"', declared), encoding="ascii")
    for reader in (bioc.read, read_documents):
        with pytest.raises(MalformedInputError, match="names an encoding that cannot be read") as raised:
            list(reader(path))
        assert raised.value.fatal


def test_external_dtd_reference_is_still_accepted(tmp_path: Path) -> None:
    path = tmp_path / "dtd.BioC.xml"  # as the real BC5CDR release starts
    path.write_text(bioc_xml([("1", "Fever.")], prolog="<!DOCTYPE collection SYSTEM 'BioC.dtd'>\n"), encoding="utf-8")
    assert [d.id for d in bioc.read(path)] == ["PMID:1"]


def test_oversized_xml_record_is_fatal_without_holding_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xml.gz"  # 10 kB on disk, 65 MiB of one never-closed title
    with gzip.open(path, "wb") as handle:
        handle.write(b"<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>1</PMID><Article><ArticleTitle>")
        chunk = b"a" * (1 << 20)
        for _ in range(MAX_RECORD_BYTES // len(chunk) + 1):
            handle.write(chunk)
    with pytest.raises(MalformedInputError, match="record is larger than 64 MiB") as raised:
        list(pubmed.read(path))
    assert raised.value.error.position == "entry 1" and raised.value.fatal


def test_bioc_passage_far_beyond_the_text_is_a_record_error(tmp_path: Path, collect: Collector) -> None:
    path = tmp_path / "offset.BioC.xml"
    content = bioc_xml([("1", "Fever."), ("2", "Cough.")])
    path.write_text(content.replace("<offset>0<", "<offset>999999999999<", 1), encoding="utf-8")
    errors, on_error = collect
    assert [d.id for d in bioc.read(path, on_error=on_error)] == ["PMID:2"]
    assert "beyond the 5,000,000 characters" in errors[0].message


def test_hostile_file_name_stays_on_one_line(tmp_path: Path) -> None:
    path = tmp_path / "evil\nname.jsonl"
    path.write_text('{"id": 1}\n', encoding="utf-8")
    with pytest.raises(MalformedInputError) as raised:
        list(jsonl.read(path))
    assert "evil\\x0aname.jsonl:line 1" in str(raised.value) and "\n" not in str(raised.value)
