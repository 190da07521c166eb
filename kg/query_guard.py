"""Decide what user-supplied Cypher may run, before any engine sees it.

``medkg query`` and ``POST /v1/query`` promise read-only Cypher with no side effects. The
engines' own read-only modes do not keep that promise: LadybugDB in read-only mode still runs
``LOAD FROM '<any file>'``, ``COPY (...) TO '<path>'``, ``INSTALL``, ``CALL <setting>=...`` and
``CHECKPOINT`` (DESIGN.md, "facts learned the hard way"), and a 3,000-deep parenthesised
expression overflows its parser's stack and kills the process. So the query text is lexed here
(strings, backtick identifiers and comments understood), checked against an allow-list of what a
read query needs, and re-emitted without comments: the engine then runs exactly the tokens that
were checked, and no comment syntax the two lexers might read differently can hide a clause.

What is refused, in every mode:

* more than one statement (``COMMIT; MATCH ...``), transaction control (``BEGIN``, ``COMMIT``,
  ``ROLLBACK``, ``CHECKPOINT``), database switching (``USE``, ``ATTACH``, ``DETACH DATABASE``);
* file and network access: ``LOAD`` (``LOAD CSV``, ``LOAD FROM``, ``LOAD EXTENSION``), ``COPY``,
  ``EXPORT``/``IMPORT DATABASE``, ``INSTALL``/``UNINSTALL``/``UPDATE`` of extensions;
* settings (``CALL threads=4``), admin commands (``SHOW ...``, ``TERMINATE ...``);
* ``CALL`` of any procedure outside a small per-store allow-list of schema introspection
  procedures, namespaced functions (``apoc.*``, ``dbms.*``...), ``CALL {...} IN TRANSACTIONS``;
* text longer than ``max_chars``, more than ``max_tokens`` tokens, brackets nested deeper than
  ``max_depth``, unterminated strings or comments, unknown escape sequences in strings.

Without ``allow_write`` the write clauses (``CREATE``, ``MERGE``, ``SET``, ``DELETE``,
``DETACH``, ``REMOVE``, ``FOREACH``, ``DROP``, ``ALTER``, ``RENAME``, ``COMMENT``) are refused too.

A refused keyword used as a variable name (``WITH n.start AS set``) can be written with
backticks (`` `set` ``); the message says so. Messages name the construct and what to do, never
echo the query.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from kg.errors import QueryRefusedError

TokenKind = Literal["ws", "comment", "string", "quoted", "param", "number", "ident", "punct"]


@dataclass(frozen=True)
class Token:
    kind: TokenKind
    text: str
    start: int

    @property
    def upper(self) -> str:
        return self.text.upper() if self.kind == "ident" else ""


@dataclass(frozen=True)
class GuardLimits:
    """Static limits checked before an engine sees the text.

    ``max_depth`` 40: real queries nest brackets a handful of levels (a list inside a map inside
    a function call inside a pattern is 4); LadybugDB's parser overflowed its stack between 1,000
    and 3,000 levels (each bracket is ~20 grammar rules deep), so 40 leaves a wide margin on both
    sides. ``max_tokens`` 20,000 bounds parser work for long ``IN [...]`` lists.
    """

    max_chars: int = 100_000
    max_tokens: int = 20_000
    max_depth: int = 40


WRITE_KEYWORDS = frozenset(
    {"CREATE", "MERGE", "SET", "DELETE", "DETACH", "REMOVE", "FOREACH", "DROP", "ALTER", "RENAME", "COMMENT"}
)
"""Clauses that change the graph or its schema (Neo4j and LadybugDB)."""

ALWAYS_REFUSED: dict[str, str] = {
    "LOAD": "file and extension loading (LOAD CSV / LOAD FROM / LOAD EXTENSION) is not allowed",
    "COPY": "COPY reads or writes files and is not allowed",
    "EXPORT": "EXPORT DATABASE writes files and is not allowed",
    "IMPORT": "IMPORT DATABASE reads files and is not allowed",
    "INSTALL": "installing extensions is not allowed",
    "UNINSTALL": "uninstalling extensions is not allowed",
    "UPDATE": "updating extensions is not allowed",
    "ATTACH": "attaching databases is not allowed",
    "USE": "switching databases (USE) is not allowed",
    "BEGIN": "transaction control (BEGIN) is not allowed: each query runs in its own transaction",
    "COMMIT": "transaction control (COMMIT) is not allowed: each query runs in its own transaction",
    "ROLLBACK": "transaction control (ROLLBACK) is not allowed: each query runs in its own transaction",
    "CHECKPOINT": "CHECKPOINT is not allowed",
    "ANALYZE": "ANALYZE (statistics maintenance) is not allowed",
    "SHOW": "admin commands (SHOW ...) are not allowed",
    "TERMINATE": "admin commands (TERMINATE ...) are not allowed",
    "GRANT": "admin commands (GRANT) are not allowed",
    "DENY": "admin commands (DENY) are not allowed",
    "REVOKE": "admin commands (REVOKE) are not allowed",
}

READ_STARTS = frozenset({"MATCH", "OPTIONAL", "UNWIND", "WITH", "RETURN", "CALL"})
"""The clauses a read statement may start with (after an optional ``EXPLAIN``/``PROFILE``): an
allow-list, so a statement kind an engine adds (LadybugDB's ``ANALYZE``) is refused before anyone
has listed it."""

WRITE_STARTS = frozenset({"CREATE", "MERGE", "FOREACH", "DROP", "ALTER", "COMMENT"})
"""Further statement starts under ``allow_write``: the writing clauses that can open a statement
(``MATCH ... SET`` starts with ``MATCH``) and the schema statements (``DROP TABLE``, ``ALTER
TABLE``, ``COMMENT ON``)."""

ALLOWED_PROCEDURES: dict[str, frozenset[str]] = {
    "neo4j": frozenset({
        "db.labels", "db.relationshiptypes", "db.propertykeys", "db.schema.visualization",
        "db.schema.nodetypeproperties", "db.schema.reltypeproperties",
    }),
    "ladybug": frozenset({"show_tables", "table_info", "show_connection", "db.labels", "db.relationshiptypes"}),
}
"""Read-only schema introspection; everything else a ``CALL`` can reach is refused (lower-case names)."""

_ESCAPES = frozenset("\\'\"bfnrt")
_IDENT = re.compile(r"[^\W\d]\w*", re.UNICODE)
_NUMBER = re.compile(r"(?:0x[0-9a-fA-F]+|0o[0-7]+|[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?)")
_WS = re.compile(r"\s+")
_DIGITS = "0123456789"
_OPEN, _CLOSE = "([{", ")]}"


def _string_end(text: str, start: int) -> int:
    """Index after the closing quote of the string opening at ``start``; strict escapes only, so
    that this lexer and an engine cannot disagree about where a string ends."""
    quote = text[start]
    i = start + 1
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "\\":
            nxt = text[i + 1] if i + 1 < n else ""
            if nxt in _ESCAPES:
                i += 2
                continue
            if nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", text[i + 2 : i + 6]):
                i += 6
                continue
            if nxt == "U" and re.fullmatch(r"[0-9a-fA-F]{8}", text[i + 2 : i + 10]):
                i += 10
                continue
            raise QueryRefusedError(f"unsupported escape sequence in a string literal at offset {i}")
        if ch == quote:
            return i + 1
        i += 1
    raise QueryRefusedError(f"unterminated string literal starting at offset {start}")


def tokenize(text: str) -> list[Token]:
    """Cypher tokens of ``text``, whitespace and comments included (so the text can be rebuilt).

    Raises :class:`QueryRefusedError` for unterminated strings, backtick names or block comments.
    """
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            m = _WS.match(text, i)
            assert m is not None
            tokens.append(Token("ws", m.group(), i))
            i = m.end()
        elif text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            tokens.append(Token("comment", text[i:end], i))
            i = end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise QueryRefusedError(f"unterminated /* comment starting at offset {i}")
            tokens.append(Token("comment", text[i : end + 2], i))
            i = end + 2
        elif ch in "'\"":
            end = _string_end(text, i)
            tokens.append(Token("string", text[i:end], i))
            i = end
        elif ch == "`":
            end = text.find("`", i + 1)
            while end >= 0 and text.startswith("``", end):  # `` is an escaped backtick
                end = text.find("`", end + 2)
            if end < 0:
                raise QueryRefusedError(f"unterminated `quoted name` starting at offset {i}")
            tokens.append(Token("quoted", text[i : end + 1], i))
            i = end + 1
        elif ch == "$":
            m = _IDENT.match(text, i + 1) or re.compile(r"[0-9]+").match(text, i + 1)
            if m is not None:
                tokens.append(Token("param", text[i : m.end()], i))
                i = m.end()
            elif text.startswith("`", i + 1):
                end = text.find("`", i + 2)
                if end < 0:
                    raise QueryRefusedError(f"unterminated `quoted name` starting at offset {i + 1}")
                tokens.append(Token("param", text[i : end + 1], i))
                i = end + 1
            else:
                tokens.append(Token("punct", ch, i))
                i += 1
        elif ch in _DIGITS or (ch == "." and i + 1 < n and text[i + 1] in _DIGITS):
            m = _NUMBER.match(text, i)
            assert m is not None
            tokens.append(Token("number", m.group(), i))
            i = m.end()
        else:
            m = _IDENT.match(text, i)
            if m is not None:
                tokens.append(Token("ident", m.group(), i))
                i = m.end()
            else:
                tokens.append(Token("punct", ch, i))
                i += 1
    return tokens


def top_level(tokens: Sequence[Token], lo: int = 0, hi: int | None = None) -> Iterator[tuple[int, Token]]:
    """``(index, token)`` of the significant tokens between ``lo`` and ``hi`` that sit outside
    every bracket (brackets themselves are not yielded)."""
    depth = 0
    for i in range(lo, len(tokens) if hi is None else hi):
        tok = tokens[i]
        if tok.kind == "punct" and tok.text in _OPEN:
            depth += 1
        elif tok.kind == "punct" and tok.text in _CLOSE:
            depth -= 1
        elif depth == 0:
            yield i, tok


@dataclass(frozen=True)
class CheckedQuery:
    """A query the guard accepted: ``text`` is what runs (comments and trailing ``;`` removed)."""

    text: str
    tokens: tuple[Token, ...]
    """Significant tokens (no whitespace or comments)."""
    source: str = ""
    """What the caller wrote."""
    pieces: tuple[tuple[int, int], ...] = ()
    """``(offset in text, offset in source)`` where each piece of ``text`` starts (a comment is
    one space in ``text``)."""

    def source_offset(self, at: int) -> int:
        """The offset in :attr:`source` of offset ``at`` of :attr:`text`."""
        k = bisect.bisect_right(self.pieces, (at, len(self.source) + 1)) - 1
        if k < 0:
            return at
        out, src = self.pieces[k]
        return min(src + (at - out), len(self.source))

    def ends_with_return_without_limit(self) -> bool:
        """True for a single ``... RETURN ...`` query with no ``UNION`` and no final ``LIMIT``/
        ``SKIP``, where appending ``LIMIT n`` caps the rows the engine materialises without
        changing which rows come first."""
        words = [t.upper for t in self.tokens if t.kind == "ident"]
        if "UNION" in words or "RETURN" not in words:
            return False
        last_return = max((i for i, tok in top_level(self.tokens) if tok.upper == "RETURN"), default=-1)
        tail = self.tokens[last_return:]
        return last_return >= 0 and all(t.upper not in ("LIMIT", "SKIP") for t in tail if t.kind == "ident")


def _is_name_position(sig: list[Token], i: int, depth: int) -> bool:
    """True when the keyword-looking identifier ``sig[i]`` is used as a name, not a clause:
    a property (``n.set``), a label (``:Load``), an alias (``AS copy``), a parameter, a map key
    (``{copy: 1}``) or a pattern variable (``(set:Drug)``, ``[copy:REL]``)."""
    prev = sig[i - 1] if i > 0 else None
    nxt = sig[i + 1] if i + 1 < len(sig) else None
    if prev is None or prev.upper in ("EXPLAIN", "PROFILE"):
        return False  # the start of a statement is always a clause
    if prev.kind == "punct" and prev.text in (".", ":"):
        return True
    if prev.upper == "AS":
        return True
    if nxt is not None and nxt.kind == "punct" and nxt.text == ".":
        return True  # a variable's property (set.name)
    if nxt is not None and nxt.kind == "punct" and nxt.text == ":" and depth > 0:
        return True  # map key or pattern variable with a label, inside brackets
    if prev.kind == "punct" and prev.text in "([" and nxt is not None and nxt.kind == "punct" and nxt.text in ")]{":
        return True  # (set) or [copy] or (set {..})
    return False


def check_query(
    text: str,
    *,
    dialect: Literal["neo4j", "ladybug"],
    allow_write: bool = False,
    limits: GuardLimits = GuardLimits(),
) -> CheckedQuery:
    """Accept ``text`` as one safe statement or raise :class:`QueryRefusedError` saying why."""
    if len(text) > limits.max_chars:
        raise QueryRefusedError(f"query is {len(text):,} characters long; the limit is {limits.max_chars:,}")
    if "\x00" in text:
        raise QueryRefusedError("query contains a NUL character")
    tokens = tokenize(text)
    sig = [t for t in tokens if t.kind not in ("ws", "comment")]
    while sig and sig[-1].kind == "punct" and sig[-1].text == ";":
        sig.pop()
    if not sig:
        raise QueryRefusedError("empty query")
    if len(sig) > limits.max_tokens:
        raise QueryRefusedError(f"query has {len(sig):,} tokens; the limit is {limits.max_tokens:,}")
    for tok in tokens:
        if tok.kind in ("ident", "punct", "number", "param") and not tok.text.isascii():
            raise QueryRefusedError(
                f"non-ASCII character at offset {tok.start}: outside string literals and `quoted names` "
                "only ASCII is accepted")
        if tok.kind == "ws" and tok.text.strip(" \t\r\n"):
            raise QueryRefusedError(f"unusual whitespace character at offset {tok.start}: use spaces, tabs and newlines")
    first = sig[1] if sig[0].upper in ("EXPLAIN", "PROFILE") and len(sig) > 1 else sig[0]
    starts = READ_STARTS | WRITE_STARTS if allow_write else READ_STARTS
    # words refused anyway keep their own message (the loop below gives it)
    refused_anyway = ALWAYS_REFUSED.keys() | (set() if allow_write else WRITE_KEYWORDS)
    if first.upper not in starts and first.upper not in refused_anyway:
        raise QueryRefusedError("a statement starts with one of " + ", ".join(sorted(starts))
                                + " (optionally after EXPLAIN or PROFILE)")
    allowed_procs = ALLOWED_PROCEDURES[dialect]
    depth = 0
    skip_until = 0
    for i, tok in enumerate(sig):
        if tok.kind == "punct":
            if tok.text in _OPEN:
                depth += 1
                if depth > limits.max_depth:
                    raise QueryRefusedError(f"brackets nested deeper than {limits.max_depth} levels")
            elif tok.text in _CLOSE:
                depth = max(depth - 1, 0)
            elif tok.text == ";":
                raise QueryRefusedError("one statement per query: remove the ';' and run statements separately")
            continue
        if tok.kind == "quoted" and i >= skip_until and i + 1 < len(sig) and sig[i + 1].text == ".":
            name, j = _dotted_name(sig, i)  # `apoc`.coll.sum(...): a quoted namespace is one too
            if j < len(sig) and sig[j].text == "(" and "." in name and (i == 0 or sig[i - 1].text not in (".", ":")):
                raise QueryRefusedError("namespaced functions (name.name()) are not allowed; use built-in functions")
        if tok.kind != "ident" or i < skip_until:
            continue
        word = tok.upper
        if word in ALWAYS_REFUSED or (word in WRITE_KEYWORDS and not allow_write):
            if _is_name_position(sig, i, depth):
                continue
            if word in ALWAYS_REFUSED:
                raise QueryRefusedError(ALWAYS_REFUSED[word])
            raise QueryRefusedError(f"{word} writes to the graph and queries here are read-only "
                                    f"(to use {word.lower()} as a name, quote it: `{word.lower()}`)")
        if word == "IN" and i + 1 < len(sig) and sig[i + 1].upper == "TRANSACTIONS":
            raise QueryRefusedError("CALL { ... } IN TRANSACTIONS is not allowed")
        if word == "CALL" and not _is_name_position(sig, i, depth):
            skip_until = _check_call(sig, i, allowed_procs)  # the procedure's own dotted name
            continue
        # a namespaced function call outside CALL: ident (. ident)+ (
        if i + 1 < len(sig) and sig[i + 1].text == "." and (i == 0 or sig[i - 1].text not in (".", ":")):
            name, j = _dotted_name(sig, i)
            if j < len(sig) and sig[j].text == "(" and "." in name:
                raise QueryRefusedError("namespaced functions (name.name()) are not allowed; use built-in functions")
    rebuilt, pieces = _rebuild(tokens, sig)
    return CheckedQuery(text=rebuilt, tokens=tuple(sig), source=text, pieces=pieces)


def _dotted_name(sig: list[Token], i: int) -> tuple[str, int]:
    parts = [sig[i].text]
    j = i + 1
    while j + 1 < len(sig) and sig[j].text == "." and sig[j + 1].kind in ("ident", "quoted"):
        parts.append(sig[j + 1].text.strip("`"))
        j += 2
    return ".".join(parts), j


def _check_call(sig: list[Token], i: int, allowed: frozenset[str]) -> int:
    """Check ``CALL`` at ``sig[i]``; returns the index after the procedure name."""
    nxt = sig[i + 1] if i + 1 < len(sig) else None
    if nxt is None:
        raise QueryRefusedError("CALL without a procedure")
    if nxt.text == "{":
        return i + 1  # subquery: its clauses are checked like any others
    if nxt.kind not in ("ident", "quoted"):
        raise QueryRefusedError("CALL must name a procedure")
    name, j = _dotted_name(sig, i + 1)
    after = sig[j] if j < len(sig) else None
    if after is not None and after.text in ("=", ":"):
        raise QueryRefusedError("changing settings (CALL name=value) is not allowed")
    if name.lower() not in allowed:
        shown = ", ".join(sorted(allowed))
        raise QueryRefusedError(f"this procedure is not allowed; allowed procedures: {shown}")
    return j


def _rebuild(tokens: list[Token], sig: list[Token]) -> tuple[str, tuple[tuple[int, int], ...]]:
    """The query as the engine will see it: every token from the first to the last significant
    one, comments replaced by one space (whitespace kept, so line/column numbers stay close);
    and where each piece came from (:attr:`CheckedQuery.pieces`)."""
    first, last = sig[0].start, sig[-1].start
    out: list[str] = []
    pieces: list[tuple[int, int]] = []
    at = 0
    for tok in tokens:
        if tok.start < first or tok.start > last:
            continue
        piece = " " if tok.kind == "comment" else tok.text
        pieces.append((at, tok.start))
        out.append(piece)
        at += len(piece)
    return "".join(out), tuple(pieces)


UNKNOWN_PROPERTY = "a property the node or relationship type does not have"
""":func:`engine_error_text` for the embedded store's unknown-property error (code that expects
that error, e.g. reading an older store, matches on it)."""

_PARAMETER_MISSING = "a parameter the query uses was not given"
_ENGINE_ERRORS: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p, re.IGNORECASE), text) for p, text in (
    # LadybugDB: "<Kind> exception: <detail>"
    (r"^Parser exception", "syntax error"),
    (r"^(\w+ exception: )?Parameter .* not found", _PARAMETER_MISSING),
    (r"^Binder exception: Variable .* is not in scope", "a variable is used where it is not defined"),
    (r"^Binder exception: Cannot find property", UNKNOWN_PROPERTY),
    (r"^Binder exception: Table .* does not exist", "a label or relationship type the graph does not have"),
    (r"^Binder exception: Cannot match a built-in function", "a function called with argument types it does not take"),
    (r"^Binder exception", "the query does not fit the graph's schema or the values' types"),
    (r"^Catalog exception: function", "a function the engine does not have"),
    (r"^Catalog exception", "a name the graph does not have"),
    (r"^Conversion exception", "a value could not be converted to the requested type"),
    (r"^Runtime exception: .*out of range", "a list index or value out of range"),
    (r"^Runtime exception: .*(divide|division) by zero", "division by zero"),
    (r"^Runtime exception", "the query failed while running"),
    # Neo4j: its message first (it files most mistakes under Statement.SyntaxError), then its status code
    (r"^Variable `.*` not defined", "a variable is used where it is not defined"),
    (r"^Unknown function", "a function the engine does not have"),
    (r"^Type mismatch", "a value of the wrong type"),
    (r"^Text cannot be parsed", "a value could not be converted to the requested type"),
    (r"^In a WITH/RETURN with DISTINCT or an aggregation",
     "a variable used after the WITH/RETURN with DISTINCT or an aggregation that does not keep it"),
    (r"^Expected parameter", _PARAMETER_MISSING),
    (r"^Invalid input(?! for function)", "syntax error"),
    (r"Statement\.SyntaxError$", "syntax error"),
    (r"Statement\.SemanticError$", "the query is not valid Cypher (an undefined variable, a misplaced aggregate...)"),
    (r"Statement\.TypeError$", "a value of the wrong type"),
    (r"Statement\.ArgumentError$", "a function given an invalid argument"),
    (r"Statement\.ArithmeticError$", "an arithmetic error (division by zero, overflow)"),
    (r"Statement\.ParameterMissing$", _PARAMETER_MISSING),
    (r"Statement\.EntityNotFound$", "a node or relationship that no longer exists"),
))
_LADYBUG_POSITION = re.compile(r">: expected rule(?: \S+)? \(line: (\d+), offset: (\d+)\)")  # offset: 0-based, in the line
_NEO4J_POSITION = re.compile(r"\(line (\d+), column (\d+) \(offset: (\d+)\)\)")  # offset: absolute, UTF-16 units


def engine_error_text(message: str, code: str | None = None, *, checked: CheckedQuery | None = None,
                      ran: str | None = None) -> str:
    """What a caller is told about an engine's error: a fixed description of its kind, with the
    line and column it names, and nothing of the engine's own text. Engines quote the caller's
    names and values back ("Value <parameter> is not a valid boolean", "Could not convert ...",
    the whole query under a caret), and a parameter can hold a patient's details; messages about
    files would confirm a path exists. ``code`` is Neo4j's status code.

    ``checked`` (the caller's query as checked) and ``ran`` (what the engine ran: its text,
    perhaps with ``LIMIT`` appended, or a translation for the embedded store) place the position
    in what the caller wrote (comments and leading blank lines counted); one past the query is
    "at the end of the query"; in a translation, which the caller never wrote, none is given."""
    text = message.strip()
    first = text.splitlines()[0] if text else ""
    for subject in (first, code or ""):
        for pattern, description in _ENGINE_ERRORS:
            if subject and pattern.search(subject):
                return description + _position(text, checked, ran)
    return "the engine could not run the query"


def _position(message: str, checked: CheckedQuery | None, ran: str | None) -> str:
    """The first engine-made position in ``message`` (the engines quote the query, which may
    span lines, before it), as where it is in the caller's text."""
    m = _LADYBUG_POSITION.search(message)
    n = None if m else _NEO4J_POSITION.search(message)
    if m is None and n is None:
        return ""
    line, col = (int(m.group(1)), int(m.group(2))) if m else (int(n.group(1)), int(n.group(2)) - 1)  # type: ignore[union-attr]
    if checked is None or ran is None:
        return f" (line {line}, column {col + 1})"
    if not ran.startswith(checked.text):
        return ""  # a position in the translation
    if n is not None:  # Neo4j counts UTF-16 units (Java strings)
        at = len(ran.encode("utf-16-le")[: 2 * int(n.group(3))].decode("utf-16-le", errors="ignore"))
    else:
        at = sum(len(x) + 1 for x in ran.split("\n")[: max(line - 1, 0)]) + col
    if at >= len(checked.text.rstrip()):
        return " at the end of the query"
    src = checked.source_offset(at)
    line_start = checked.source.rfind("\n", 0, src) + 1
    return f" (line {checked.source.count(chr(10), 0, src) + 1}, column {src - line_start + 1})"
