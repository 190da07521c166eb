"""The Cypher guard on its own: every probe of the security issue is refused with a reason, the
reads users write still pass, and no input makes the guard fail any other way (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kg.errors import QueryRefusedError
from kg.query_guard import ALWAYS_REFUSED, WRITE_KEYWORDS, GuardLimits, check_query, engine_error_text, tokenize

DEEP = "RETURN " + "(" * 3000 + "1" + ")" * 3000

REFUSED = [
    # file access
    ("LOAD FROM '/etc/passwd' (file_format='csv', header=false, delim='|') RETURN * LIMIT 3", "file"),
    ("load from '/etc/shadow' return *", "file"),
    ("LOAD CSV FROM 'file:///etc/passwd' AS line RETURN line", "file"),
    ("MATCH (d:Drug) /* hidden */ LOAD FROM '/etc/passwd' RETURN *", "file"),
    ("COPY (RETURN 'x' AS x) TO '/tmp/victim.csv' (header=false)", "COPY"),
    ("COPY Drug FROM '/tmp/drugs.csv'", "COPY"),
    ("EXPORT DATABASE '/tmp/dump'", "EXPORT"),
    ("IMPORT DATABASE '/tmp/dump'", "IMPORT"),
    ("INSTALL httpfs", "extensions"),
    ("LOAD EXTENSION httpfs", "loading"),
    ("ATTACH '/tmp/other.lbug' AS other (dbtype lbug)", "attaching"),
    ("USE system MATCH (n) RETURN n", "USE"),
    # transaction control and state
    ("CHECKPOINT", "CHECKPOINT"),
    ("BEGIN TRANSACTION", "BEGIN"),
    ("COMMIT", "COMMIT"),
    ("ROLLBACK", "ROLLBACK"),
    ("COMMIT; MATCH (d:Drug) DETACH DELETE d", "COMMIT"),
    ("MATCH (d:Drug) RETURN d; MATCH (d:Drug) DETACH DELETE d", "one statement"),
    ("RETURN 1; RETURN 2", "one statement"),
    ("CALL timeout=1", "settings"),
    ("CALL threads = 8", "settings"),
    # writes
    ("MATCH (d:Drug) DETACH DELETE d", "read-only"),
    ("CREATE (:Drug {id: 'x'})", "read-only"),
    ("MERGE (d:Drug {id: 'x'}) RETURN d", "read-only"),
    ("MATCH (d:Drug) SET d.name = 'x'", "read-only"),
    ("MATCH (d:Drug) REMOVE d.name", "read-only"),
    ("UNWIND [1] AS x FOREACH (y IN [1] | CREATE (:Drug {id: 'z'}))", "read-only"),
    ("DROP TABLE Drug", "read-only"),
    ("ALTER TABLE Drug ADD x INT64", "read-only"),
    ("COMMENT ON TABLE Drug IS 'x'", "read-only"),
    ("CALL { MATCH (d:Drug) RETURN d } IN TRANSACTIONS RETURN 1", "IN TRANSACTIONS"),
    # procedures, functions and admin commands
    ("CALL apoc.load.json('file:///etc/passwd')", "not allowed"),
    ("CALL dbms.setConfigValue('x', 'y')", "not allowed"),
    ("CALL db.propertyKeys()", "not allowed"),  # a neo4j-only procedure the embedded store cannot answer
    ("MATCH (n) RETURN apoc.text.join(['a'], ',')", "namespaced"),
    ("SHOW TRANSACTIONS", "SHOW"),
    ("TERMINATE TRANSACTIONS 'neo4j-transaction-1'", "TERMINATE"),
    # size and shape
    (DEEP, "nested deeper"),
    ("RETURN " + "[" * 50 + "1" + "]" * 50, "nested deeper"),
    ("RETURN 'unterminated", "unterminated"),
    ("RETURN 1 /* never closed", "unterminated"),
    ("RETURN '\\q' AS x", "escape"),
    ("RETURN 1 AS x\u00a0LOAD FROM '/etc/passwd' RETURN *", "whitespace"),
    ("RETURN 1 AS ｘ", "non-ASCII"),
    ("", "empty"),
    (";;", "empty"),
    ("RETURN 1\x00", "NUL"),
]


@pytest.mark.parametrize(("cypher", "reason"), REFUSED, ids=[f"{i}-{c[:30]}" for i, (c, _) in enumerate(REFUSED)])
def test_probe_is_refused_with_a_reason(cypher: str, reason: str) -> None:
    with pytest.raises(QueryRefusedError, match=reason) as info:
        check_query(cypher, dialect="ladybug")
    assert "/etc/passwd" not in str(info.value) and len(str(info.value)) < 300


def test_neo4j_gets_its_own_allow_list() -> None:
    assert check_query("CALL db.labels()", dialect="neo4j").text == "CALL db.labels()"
    with pytest.raises(QueryRefusedError, match="not allowed"):
        check_query("CALL show_tables() RETURN *", dialect="neo4j")
    with pytest.raises(QueryRefusedError, match="not allowed"):
        check_query("CALL dbms.components()", dialect="neo4j")


READS = [
    "MATCH (c:Drug)-[r:CAUSES_ADVERSE_EFFECT]->(d:Disease) RETURN c.name AS drug, d.name AS disease, r.evidence_count AS n ORDER BY n DESC LIMIT 10",
    "MATCH (d:Drug {id: $id})-[r]->(x) RETURN label(r) AS rel, x.name AS target",
    "MATCH (c:Drug {id: $drug})-[r:CAUSES_ADVERSE_EFFECT]->(d:Disease) MATCH (c)-[:SUPPORTED_BY]->(e:Evidence) "
    "WHERE e.rel_type = 'CAUSES_ADVERSE_EFFECT' AND e.tail = d.id RETURN d.name, r.evidence_count, e.doc_id, e.text",
    "MATCH (d:Drug) WHERE d.name STARTS WITH 'war' RETURN d.name AS set",  # a keyword as an alias
    "MATCH (set:Drug) RETURN set.name",  # ... as a pattern variable
    "MATCH (d:Drug) RETURN {copy: d.name, load: 1} AS m",  # ... as map keys
    "MATCH (d:Drug) RETURN d.`delete` AS x",
    "MATCH (d:Drug) WHERE d.name = 'LOAD FROM /etc/passwd; DETACH DELETE' RETURN d",  # inside a string
    "MATCH (d:Drug) // LOAD FROM in a comment is removed\nRETURN count(d) AS n;",
    "CALL show_tables() RETURN *",
    "EXPLAIN MATCH (d:Drug) RETURN d",
    "MATCH p = (a:Drug)-[*1..2]-(b:Disease) RETURN count(p)",
    "UNWIND $ids AS id OPTIONAL MATCH (d:Drug {id: id}) RETURN id, d.name",
]


@pytest.mark.parametrize("cypher", READS)
def test_reads_pass(cypher: str) -> None:
    checked = check_query(cypher, dialect="ladybug")
    assert "//" not in checked.text and not checked.text.endswith(";")


def test_comments_are_removed_from_what_runs() -> None:
    checked = check_query("MATCH (d:Drug) /* a */ RETURN d // b", dialect="ladybug")
    assert checked.text == "MATCH (d:Drug)   RETURN d"


def test_write_mode_allows_writes_but_never_files_or_transactions() -> None:
    assert check_query("MATCH (d:Drug) SET d.name = 'x'", dialect="ladybug", allow_write=True)
    for probe in ("COPY Drug FROM '/tmp/x.csv'", "COMMIT; MATCH (d:Drug) DETACH DELETE d", "LOAD FROM '/etc/passwd' RETURN *"):
        with pytest.raises(QueryRefusedError):
            check_query(probe, dialect="ladybug", allow_write=True)


def test_length_and_token_limits() -> None:
    with pytest.raises(QueryRefusedError, match="characters long"):
        check_query("RETURN 1" + " " * 200, dialect="ladybug", limits=GuardLimits(max_chars=100))
    with pytest.raises(QueryRefusedError, match="tokens"):
        check_query("RETURN " + "+".join(["1"] * 200), dialect="ladybug", limits=GuardLimits(max_tokens=100))


def test_row_cap_is_appended_only_where_it_keeps_the_meaning() -> None:
    assert check_query("MATCH (d:Drug) RETURN d", dialect="ladybug").ends_with_return_without_limit()
    assert not check_query("MATCH (d:Drug) RETURN d LIMIT 3", dialect="ladybug").ends_with_return_without_limit()
    assert not check_query("MATCH (d:Drug) RETURN d SKIP 3", dialect="ladybug").ends_with_return_without_limit()
    assert not check_query("RETURN 1 AS x UNION RETURN 2 AS x", dialect="ladybug").ends_with_return_without_limit()
    assert check_query("MATCH (d:Drug) WITH d LIMIT 3 RETURN d.name", dialect="ladybug").ends_with_return_without_limit()


def test_engine_errors_become_fixed_descriptions() -> None:
    raw = ('Parser exception: Invalid input <LOAD FROM "/etc/passwd">: expected rule (line: 1, offset: 5)\n'
           '"LOAD FROM /etc/passwd RETURN *"\n      ^^^^')
    assert engine_error_text(raw) == "syntax error (line 1, column 6)"
    assert "/srv/medkg" not in engine_error_text("Runtime exception: cannot open /srv/medkg/graph.lbug/x")
    # values and names the engine quotes back, with or without quotes around them
    for raw in ("Conversion exception: Value Jane Doe HIV is not a valid boolean",
                'Conversion exception: Cast failed. Could not convert "a" Jane Doe HIV "b" to INT64.',
                "Binder exception: Variable JaneDoeHIV is not in scope.",
                "Binder exception: Cannot find property JaneDoeHIV for n.",
                "Catalog exception: function JANEDOEHIV does not exist."):
        text = engine_error_text(raw)
        assert "jane" not in text.lower() and text, raw
    assert engine_error_text("Binder exception: Table X does not exist.") == "a label or relationship type the graph does not have"
    assert engine_error_text("Invalid input 'Jane': expected ... (line 2, column 8 (offset: 12))",
                             "Neo.ClientError.Statement.SyntaxError") == "syntax error (line 2, column 8)"
    # Neo4j files most mistakes under SyntaxError: its message says which
    neo = "Neo.ClientError.Statement.SyntaxError"
    q = check_query("RETURN Jane", dialect="neo4j")
    assert engine_error_text("Variable `Jane` not defined (line 1, column 8 (offset: 7))", neo, checked=q,
                             ran=q.text) == "a variable is used where it is not defined (line 1, column 8)"
    assert engine_error_text("Type mismatch: expected Map, Node but was String", neo) == "a value of the wrong type"
    assert engine_error_text("Unknown function 'janeDoe' (line 1, column 8 (offset: 7))", neo).startswith(
        "a function the engine does not have")
    assert engine_error_text("Text cannot be parsed to a Date", neo) == "a value could not be converted to the requested type"
    assert engine_error_text("Invalid input for function 'toInteger()': Expected a String, Number or Boolean, got: List{Long(1)}",
                             "Neo.ClientError.Statement.TypeError") == "a value of the wrong type"
    assert engine_error_text("Parameter jane not found.") == "a parameter the query uses was not given"
    # a position past what the caller wrote (LIMIT appended) is the end; one in a translation is not given
    q = check_query("RETURN 1 +", dialect="ladybug")
    assert engine_error_text("Parser exception: Invalid input <RETURN 1 + LIMIT>: expected rule oC_X (line: 1, offset: 17)",
                             checked=q, ran=q.text + " LIMIT 51") == "syntax error at the end of the query"
    q = check_query("RETURN toString(1) + )", dialect="ladybug")
    assert engine_error_text("Parser exception: Invalid input <x>: expected rule oC_X (line: 1, offset: 94)",
                             checked=q, ran="RETURN regexp_replace(...) + )") == "syntax error"
    # the engine quotes the query (lines and all) before its position; the position is the caller's:
    # comments and leading lines count
    written = "// find drugs\n  MATCH (d:Drug) /* all\nof them */\nRETRN d"
    q = check_query(written, dialect="ladybug")
    ran = q.text + " LIMIT 51"
    at = ran.index("RETRN")
    line = ran.count("\n", 0, at) + 1
    offset = at - (ran.rfind("\n", 0, at) + 1)
    msg = f"Parser exception: Invalid input <MATCH (d:Drug)  \nRETRN>: expected rule oC_X (line: {line}, offset: {offset})"
    assert engine_error_text(msg, checked=q, ran=ran) == "syntax error (line 4, column 1)"
    msg = "Invalid input 'RETRN': expected ... (line 3, column 1 (offset: %d))\n\"...\"" % at
    assert engine_error_text(msg, neo, checked=q, ran=q.text) == "syntax error (line 4, column 1)"
    # Neo4j counts UTF-16 units: two per emoji
    written = "RETURN '\U0001F600\U0001F600' AS x, ) AS y"
    q = check_query(written, dialect="neo4j")
    utf16 = len(written[: written.index(")")].encode("utf-16-le")) // 2
    msg = f"Invalid input ')': expected an expression (line 1, column {utf16 + 1} (offset: {utf16}))"
    assert engine_error_text(msg, neo, checked=q, ran=q.text) == f"syntax error (line 1, column {written.index(')') + 1})"


@pytest.mark.parametrize("text", ["ANALYZE", "ANALYZE Drug", "EXPLAIN ANALYZE", "CYPHER 5 MATCH (n) RETURN n",
                                  "FORCE INSTALL x", "`MATCH` (n) RETURN n", "'x'", "(n) RETURN n", "PROFILE"])
def test_statements_start_with_a_read_clause(text: str) -> None:
    with pytest.raises(QueryRefusedError):
        check_query(text, dialect="ladybug")


@pytest.mark.parametrize("text", ["MATCH (n) RETURN n", "OPTIONAL MATCH (n) RETURN n", "UNWIND [1] AS x RETURN x",
                                  "WITH 1 AS x RETURN x", "RETURN 1", "CALL show_tables() RETURN *",
                                  "EXPLAIN MATCH (n) RETURN n", "profile return 1", "MATCH (analyze) RETURN analyze.x"])
def test_read_statements_still_pass(text: str) -> None:
    check_query(text, dialect="ladybug")


def test_write_mode_adds_the_write_starts() -> None:
    for text in ("CREATE (:Drug {id: 'x'})", "MERGE (d:Drug {id: 'x'})", "FOREACH (x IN [1] | CREATE (:Drug {id: 'x'}))"):
        with pytest.raises(QueryRefusedError):
            check_query(text, dialect="ladybug")
        check_query(text, dialect="ladybug", allow_write=True)
    for text in ("ANALYZE", "DETACH DATABASE x", "SET x = 1", "REMOVE x", "DELETE x"):
        with pytest.raises(QueryRefusedError):
            check_query(text, dialect="ladybug", allow_write=True)
    check_query("DROP TABLE Drug", dialect="ladybug", allow_write=True)


@pytest.mark.parametrize("text", ["RETURN `date`.truncate('day', date('2020-05-17')) AS x",
                                  "RETURN `apoc`.coll.sum([1]) AS x", "RETURN `apoc`.`coll`.sum([1]) AS x",
                                  "MATCH (n) WHERE `apoc`.x(n) RETURN n"])
def test_quoted_namespaces_are_namespaces(text: str) -> None:
    with pytest.raises(QueryRefusedError, match="namespaced"):
        check_query(text, dialect="neo4j")


def test_quoted_variables_keep_their_properties() -> None:
    check_query("MATCH (`my d`:Drug) RETURN `my d`.name, `my d`.id IN ['x'] AS hit", dialect="neo4j")


# -- fuzz: nothing but QueryRefusedError, whatever the text ----------------------------------------

_FRAGMENTS = st.sampled_from([
    "MATCH", "(d:Drug)", "(", ")", "[", "]", "{", "}", "RETURN", "d", "LOAD", "FROM", "COPY", "TO", ";", "'", '"',
    "`", "/*", "*/", "//", "\n", "CALL", "db.labels()", "show_tables()", "=", "\\", "$x", "CREATE", "SET", "AS",
    "LIMIT", "1", "'/etc/passwd'", "COMMIT", "BEGIN", "CHECKPOINT", "apoc.x(", "IN", "TRANSACTIONS", ":", ".", ",",
    "\u00a0", "ｘ", "\x00", "UNION", "WITH", "*",
])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=300), st.lists(_FRAGMENTS, max_size=40).map(" ".join),
                 st.lists(_FRAGMENTS, max_size=40).map("".join)))
def test_guard_only_ever_refuses(text: str) -> None:
    for dialect in ("ladybug", "neo4j"):
        try:
            checked = check_query(text, dialect=dialect)  # type: ignore[arg-type]
        except QueryRefusedError as exc:
            assert len(str(exc)) < 300
            continue
        # what runs is exactly the checked tokens: lexing it again gives the same significant tokens
        again = [t.text for t in tokenize(checked.text) if t.kind not in ("ws", "comment")]
        assert again == [t.text for t in checked.tokens]
        assert checked.tokens[0].upper not in ALWAYS_REFUSED and checked.tokens[0].upper not in WRITE_KEYWORDS
        assert ";" not in again
