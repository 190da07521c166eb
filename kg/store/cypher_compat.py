"""Neo4j Cypher on the embedded store: the constructs LadybugDB spells differently, rewritten on
the guard's tokens, and result columns named as Neo4j names them.

Users write Neo4j Cypher. :func:`translate` runs after :func:`kg.query_guard.check_query` accepted
the text (so only checked tokens are rearranged, never new clauses added) and returns the text
LadybugDB runs and the column names Neo4j would give. What it rewrites (docs/CYPHER.md has the
table):

* functions: ``toLower``/``toUpper`` -> ``lower``/``upper``, ``toString`` -> ``to_string``,
  ``toInteger`` -> ``to_int64``, ``toFloat`` -> ``to_double``, ``split`` -> ``string_split``,
  ``type(r)`` -> ``label(r)``, ``labels(n)`` -> ``[label(n)]``, ``head(l)`` / ``last(l)`` ->
  ``list_extract``, ``substring(s, i, n)`` (0-based) -> ``substring(s, i + 1, n)`` (1-based);
* list comprehensions ``[x IN l WHERE p | e]`` -> ``list_transform(list_filter(l, x -> p), x -> e)``;
* map projections ``n {.id, .name, k: expr}`` -> ``{id: n.id, name: n.name, k: expr}``;
* ``shortestPath(...)`` / ``allShortestPaths(...)`` -> ``[* SHORTEST lo..hi]`` / ``[* ALL SHORTEST lo..hi]``;
* ``CALL db.labels()`` / ``CALL db.relationshipTypes()`` -> ``show_tables()`` rows of that kind.

Refused with one line naming the construct and what to write instead (:class:`QueryRefusedError`):
``elementId()`` / ``id()`` (store-internal ids that differ between stores: use the ``id``
property), ``startNode()`` / ``endNode()``, ``n {.*}``, other ``db.*`` procedures.

Column names: the text of each item of the final ``RETURN`` as written (or its alias), which is
what Neo4j returns (``count(d)``, ``coalesce(d.name, 'x')``, ``toLower(d.name)``), instead of the
engine's rendering (``COUNT(d._ID)``, ``COALESCE(d.name,x)``, ``LOWER(d.name)``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kg.errors import QueryRefusedError
from kg.query_guard import Token, tokenize, top_level

RENAMED_FUNCTIONS = {
    "tolower": "lower", "toupper": "upper", "tointeger": "to_int64",
    "tofloat": "to_double", "split": "string_split", "type": "label",
}
RESERVED_NAMES = frozenset({"PROFILE", "GRAPH", "DATABASE", "COPY", "EXPORT", "IMPORT", "COMMENT", "ANALYZE", "CYCLE"})
"""Words LadybugDB reserves that Neo4j lets a user take as a name (``RETURN x AS profile``):
quoted with backticks when used as a name."""
_AGGREGATES = frozenset({"collect", "count", "sum", "avg", "min", "max", "stdev", "stdevp", "percentilecont", "percentiledisc"})
REFUSED_FUNCTIONS = {
    "elementid": "elementId() is a store-internal id that differs between stores: use the node's `id` property (n.id)",
    "id": "id() is a store-internal id that differs between stores: use the node's `id` property (n.id)",
    "startnode": "startNode() is not available on the embedded store: name the start node in the pattern, (a)-[r]->(b)",
    "endnode": "endNode() is not available on the embedded store: name the end node in the pattern, (a)-[r]->(b)",
}
INTROSPECTION = {
    "db.labels": ("NODE", "label"),
    "db.relationshiptypes": ("REL", "relationshipType"),
}
_OPEN, _CLOSE = "([{", ")]}"
_CLAUSE_END = {"ORDER", "SKIP", "LIMIT", "UNION"}


@dataclass(frozen=True)
class Translation:
    text: str
    columns: tuple[str, ...] | None
    """Neo4j's names for the result columns; None when they cannot be derived (``RETURN *``)."""


_REST_OF_STRING = 9223372036854775807
"""Length argument of the three-argument ``substring`` that stands for "to the end" (INT64 max)."""

MAX_GROWTH = 16
"""A translation may be at most this many times the query's length (plus 4,096 characters). Each
rewrite writes its arguments once, so real queries grow by a small factor (``toString`` adds ~80
characters); the cap keeps any rewrite added later from making a short query a huge one."""


def translate(text: str) -> Translation:
    """The embedded-store text for a checked Neo4j-style query, and Neo4j's column names."""
    columns = return_columns(text)
    intro = _introspection(text)
    if intro is not None:
        return Translation(intro[0], intro[1])
    engine = _rewrite(text)
    if len(engine) > MAX_GROWTH * len(text) + 4096:
        raise QueryRefusedError("query grows too large when translated for the embedded store; simplify it")
    return Translation(engine, columns)


# -- token helpers ---------------------------------------------------------------------------

def _sig(text: str) -> list[Token]:
    return [t for t in tokenize(text) if t.kind not in ("ws", "comment")]


def _end(tok: Token) -> int:
    return tok.start + len(tok.text)


def _match(sig: list[Token], i: int) -> int:
    """Index of the bracket closing ``sig[i]``."""
    depth = 0
    for j in range(i, len(sig)):
        t = sig[j]
        if t.kind == "punct" and t.text in _OPEN:
            depth += 1
        elif t.kind == "punct" and t.text in _CLOSE:
            depth -= 1
            if depth == 0:
                return j
    raise QueryRefusedError("unbalanced brackets")


def _split_top(sig: list[Token], lo: int, hi: int, sep: str = ",") -> list[tuple[int, int]]:
    """Token ranges [a, b) between ``lo`` and ``hi`` split at depth-0 ``sep``."""
    parts, start = [], lo
    for j, t in top_level(sig, lo, hi):
        if t.kind == "punct" and t.text == sep:
            parts.append((start, j))
            start = j + 1
    parts.append((start, hi))
    return parts


def _src(text: str, sig: list[Token], a: int, b: int) -> str:
    """Source text of tokens [a, b)."""
    return text[sig[a].start:_end(sig[b - 1])] if b > a else ""


# -- the rewrite -------------------------------------------------------------------------------

def _check_ordered_aggregation(sig: list[Token]) -> None:
    """Refuse ``WITH ... ORDER BY ... [SKIP/LIMIT]`` followed by an aggregation: LadybugDB
    ignores that ORDER BY (``MATCH (d) WITH d ORDER BY d.id LIMIT 3 RETURN collect(d.id)``
    collects three arbitrary ids), so the answer would be wrong, not merely unordered."""
    depth, in_with, ordered = 0, False, False
    in_order_clause = False  # token sits after ORDER/SKIP/LIMIT and before the next WITH/RETURN (any depth)
    for k, t in enumerate(sig):
        if t.kind == "punct" and t.text in _OPEN:
            depth += 1
        elif t.kind == "punct" and t.text in _CLOSE:
            depth -= 1
        elif t.kind == "ident" and depth == 0:
            word = t.upper
            if word in ("WITH", "RETURN", "UNWIND", "MATCH", "OPTIONAL", "CALL", "UNION"):
                in_with, ordered = word == "WITH", ordered and word in ("WITH", "RETURN")
            elif word == "ORDER" and in_with:
                ordered = True
        if (ordered and t.kind == "ident" and t.text.lower() in _AGGREGATES and k + 1 < len(sig)
                and sig[k + 1].text == "(" and not in_order_clause):
            raise QueryRefusedError(
                "ORDER BY in a WITH followed by an aggregation (collect, count...) is not supported on the embedded "
                "store (it would ignore the ORDER BY and aggregate the wrong rows): sort in the final RETURN, "
                "e.g. RETURN d.id ORDER BY d.id LIMIT 3, or use Neo4j")
        if t.upper in ("ORDER", "SKIP", "LIMIT"):
            in_order_clause = True
        elif t.upper in ("WITH", "RETURN"):
            in_order_clause = False


def _rewrite(text: str) -> str:
    sig = _sig(text)
    _check_ordered_aggregation(sig)
    out: list[str] = []
    pos = 0  # next character of ``text`` not yet copied
    i = 0
    while i < len(sig):
        tok = sig[i]
        prev = sig[i - 1] if i else None
        nxt = sig[i + 1] if i + 1 < len(sig) else None
        replaced = None
        if tok.kind == "ident" and tok.upper in RESERVED_NAMES and i > 0:
            replaced = f"`{tok.text}`", i + 1
        elif tok.kind == "ident" and nxt is not None and nxt.text == "(" and not (prev is not None and prev.text in (".", ":")):
            replaced = _function(text, sig, i)
        elif tok.kind == "punct" and tok.text == "[" and _is_comprehension(sig, i):
            replaced = _comprehension(text, sig, i)
        elif (tok.kind == "ident" and nxt is not None and nxt.text == "{" and i + 2 < len(sig) and sig[i + 2].text == "."
              and not (prev is not None and prev.text in (":", "."))):
            replaced = _projection(text, sig, i)
        if replaced is None:
            i += 1
            continue
        new_text, j = replaced  # tokens [i, j) become new_text
        out.append(text[pos:tok.start])
        out.append(new_text)
        pos = _end(sig[j - 1])
        i = j
    out.append(text[pos:])
    return "".join(out)


_SPECIAL = {*RENAMED_FUNCTIONS, *REFUSED_FUNCTIONS, "labels", "head", "last", "substring", "shortestpath",
            "allshortestpaths", "tostring"}


def _function(text: str, sig: list[Token], i: int) -> tuple[str, int] | None:
    """A call of a function the embedded store spells differently, rewritten (its arguments
    too); None for any other call (its arguments are visited by the main loop)."""
    name = sig[i].text.lower()
    if name not in _SPECIAL:
        return None
    close = _match(sig, i + 1)
    args = [(a, b) for a, b in _split_top(sig, i + 2, close) if b > a]
    inner = [_rewrite(_src(text, sig, a, b)) for a, b in args]
    if name in REFUSED_FUNCTIONS:
        raise QueryRefusedError(REFUSED_FUNCTIONS[name])
    if name in RENAMED_FUNCTIONS:
        return f"{RENAMED_FUNCTIONS[name]}({', '.join(inner)})", close + 1
    if name == "tostring" and len(inner) == 1:
        # Neo4j writes 10.0 as "10.0", the engine as "10.000000": trailing zeros trimmed
        return ("regexp_replace(regexp_replace(to_string(" + inner[0] + "), '(\\\\.[0-9]*?)0+$', '\\\\1'), "
                "'\\\\.$', '.0')"), close + 1
    if name == "labels" and len(inner) == 1:
        return f"[label({inner[0]})]", close + 1
    if name == "head" and len(inner) == 1:
        return f"list_extract({inner[0]}, 1)", close + 1
    # each argument is written once: an argument written twice doubles the text at every level
    # of nesting (last(last(...)) 27 deep was gigabytes)
    if name == "last" and len(inner) == 1:
        return f"list_extract({inner[0]}, -1)", close + 1
    if name == "substring" and len(inner) in (2, 3):
        return f"substring({inner[0]}, ({inner[1]}) + 1, {inner[2] if len(inner) == 3 else _REST_OF_STRING})", close + 1
    if name in ("shortestpath", "allshortestpaths") and len(inner) == 1:
        return _shortest(inner[0], all_paths=name == "allshortestpaths"), close + 1
    raise QueryRefusedError(f"{name}() with {len(inner)} argument(s) is not supported here")


_VARLEN = re.compile(r"\*\s*(\d+)?\s*(\.\.\s*(\d+)?)?\s*$")


def _shortest(pattern: str, *, all_paths: bool) -> str:
    """``(a)-[:T*..3]-(b)`` -> ``(a)-[:T* SHORTEST 1..3]-(b)`` (no upper bound: 30)."""
    star = pattern.find("*")
    close = pattern.find("]", star)
    m = _VARLEN.match(pattern[star:close]) if star >= 0 and close > star else None
    if m is None:
        raise QueryRefusedError("shortestPath() needs one variable-length relationship, e.g. (a)-[*..5]-(b)")
    lo = m.group(1) or "1"
    hi = (m.group(3) or "30") if m.group(2) else (m.group(1) or "30")
    kind = "ALL SHORTEST" if all_paths else "SHORTEST"
    return f"{pattern[:star]}* {kind} {lo}..{hi}{pattern[close:]}"


def _is_comprehension(sig: list[Token], i: int) -> bool:
    return (i + 2 < len(sig) and sig[i + 1].kind == "ident" and sig[i + 2].upper == "IN"
            and not (i > 0 and sig[i - 1].text in ("-", "<")))  # not a relationship pattern


def _comprehension(text: str, sig: list[Token], i: int) -> tuple[str, int]:
    close = _match(sig, i)
    var = sig[i + 1].text
    lo = i + 3
    where = [j for j, t in top_level(sig, lo, close) if t.upper == "WHERE"]
    bar = [j for j, t in top_level(sig, lo, close) if t.text == "|"]
    end_list = min([*where, *bar, close])
    lst = _rewrite(_src(text, sig, lo, end_list))
    pred = _rewrite(_src(text, sig, where[0] + 1, bar[0] if bar else close)) if where else None
    expr = _rewrite(_src(text, sig, bar[0] + 1, close)) if bar else None
    out = lst
    if pred is not None:
        out = f"list_filter({out}, {var} -> {pred})"
    if expr is not None:
        out = f"list_transform({out}, {var} -> {expr})"
    return out, close + 1


def _projection(text: str, sig: list[Token], i: int) -> tuple[str, int]:
    var = sig[i].text
    close = _match(sig, i + 1)
    items = []
    for a, b in _split_top(sig, i + 2, close):
        if b == a:
            continue
        if sig[a].text == "." and b - a == 2 and sig[a + 1].kind in ("ident", "quoted"):
            key = sig[a + 1].text
            items.append(f"{key}: {var}.{key}")
        elif sig[a].text == "." and b - a == 2 and sig[a + 1].text == "*":
            raise QueryRefusedError("map projection of all properties (n {.*}) is not available on the embedded store: "
                                    "list them (n {.id, .name}) or use properties(n)")
        elif b - a >= 3 and sig[a + 1].text == ":":
            items.append(f"{sig[a].text}: {_rewrite(_src(text, sig, a + 2, b))}")
        elif b - a == 1 and sig[a].kind == "ident":
            items.append(f"{sig[a].text}: {sig[a].text}")
        else:
            raise QueryRefusedError("unsupported map projection item: use .property, key: expression or a variable")
    return "{" + ", ".join(items) + "}", close + 1


# -- introspection and column names --------------------------------------------------------------

def _introspection(text: str) -> tuple[str, tuple[str, ...]] | None:
    sig = _sig(text)
    if len(sig) < 4 or sig[0].upper != "CALL":
        return None
    parts, j = [sig[1].text], 2
    while j + 1 < len(sig) and sig[j].text == "." and sig[j + 1].kind == "ident":
        parts.append(sig[j + 1].text)
        j += 2
    name = ".".join(parts).lower()
    if not name.startswith("db."):
        return None
    if name not in INTROSPECTION:
        raise QueryRefusedError("this db.* procedure is not available on the embedded store; "
                                f"available: {', '.join(sorted(INTROSPECTION))}, show_tables(), table_info('Label')")
    kind, column = INTROSPECTION[name]
    if not (j + 1 < len(sig) and sig[j].text == "(" and sig[j + 1].text == ")"):
        raise QueryRefusedError(f"{name}() takes no arguments")
    j += 2
    if j < len(sig) and sig[j].upper == "YIELD":
        j += 1
        if not (j < len(sig) and sig[j].text == column):
            raise QueryRefusedError(f"{name}() yields one column, {column}")
        j += 1
    rest = text[sig[j].start:] if j < len(sig) else f"RETURN {column}"
    engine = f"CALL show_tables() WITH name AS {column}, type AS medkg_kind WHERE medkg_kind = '{kind}' WITH {column} {rest}"
    columns = return_columns(rest) if j < len(sig) else (column,)
    return engine, columns or (column,)


def return_columns(text: str) -> tuple[str, ...] | None:
    """Neo4j's column names for a query: each item of the final depth-0 ``RETURN`` exactly as
    written, or its alias. None for ``RETURN *`` or no ``RETURN``."""
    sig = _sig(text)
    last = -1
    for k, t in top_level(sig):
        if t.upper == "UNION":
            break  # a UNION's columns are its first branch's
        if t.upper == "RETURN":
            last = k
    if last < 0:
        return None
    lo = last + 1
    if lo < len(sig) and sig[lo].upper == "DISTINCT":
        lo += 1
    hi = next((k for k, t in top_level(sig, lo) if t.upper in _CLAUSE_END), len(sig))
    names = []
    for a, b in _split_top(sig, lo, hi):
        if b == a:
            return None
        if b - a == 1 and sig[a].text == "*":
            return None
        if b - a >= 3 and sig[b - 2].upper == "AS":
            names.append(sig[b - 1].text.strip("`"))
        else:
            names.append(_src(text, sig, a, b))
    return tuple(names)
