"""JSON as the loaders read it: parsed safely, checked before it is stored, accessed by type.

JSONL notes and FHIR bundles come from outside; a value of an unexpected type must become a
record error naming the field, and a value that parses but cannot be stored (too deep, NaN,
an unpaired surrogate) must be refused at the loader, not fail later in the build or store.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from loaders._common import RecordProblem

MAX_JSON_DEPTH = 64
"""Deepest nesting (objects and arrays, the outermost counting as 1) accepted in a JSON record.

Real note metadata and FHIR resources nest a handful of levels (FHIR R4's deepest common path,
``Bundle.entry.resource.component.valueCodeableConcept.coding``, is under 10). Everything that
later walks a record recurses once per level: ``json.loads`` itself (Python's recursion limit is
1,000 frames, shared with whatever called it), pydantic's JSON serialiser behind
``Document.model_dump_json`` (content hashes; it gives up at a few hundred levels) and the store
drivers. 64 is far above any real record and far below all of those, so an accepted record
always serialises, while a hostile one nested 100,000 deep is one record error.
"""

_SURROGATE = re.compile("[\\ud800-\\udfff]")


def _no_constant(name: str) -> Any:
    raise RecordProblem(f"invalid JSON: {name} is not a JSON number")


def parse_json(text: str) -> Any:
    """``json.loads`` refusing what JSON forbids or Python cannot hold, as :class:`RecordProblem`.

    ``NaN``/``Infinity`` (accepted by Python, not JSON, and not re-serialisable as JSON), nesting
    deep enough to exhaust the parser's recursion, and integers over Python's digit limit are
    record problems with no position; :class:`json.JSONDecodeError` is left to the caller, which
    knows how to turn its line and column into a position.
    """
    try:
        return json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise RecordProblem(
            f"JSON nested far deeper than the {MAX_JSON_DEPTH} levels accepted"
        ) from None
    except ValueError:  # int('1' * 5000): over sys.get_int_max_str_digits()
        raise RecordProblem("invalid JSON: a number has too many digits") from None


def json_problem(value: Any, *, what: str = "record") -> str | None:
    """Why a parsed JSON value cannot be stored, or ``None`` if it can.

    Refused: nesting deeper than :data:`MAX_JSON_DEPTH`, non-finite numbers (``1e999`` parses
    as infinity), and strings or keys holding an unpaired UTF-16 surrogate (``"\\ud800"``
    parses but cannot be encoded as UTF-8, so writing it would fail in the store). The walk
    is iterative, so it is safe at any depth. Messages name the top-level field, never values.
    """
    stack: list[tuple[Any, int, str]] = [(value, 1, what)]
    while stack:
        item, depth, where = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                return f"{where} nests deeper than {MAX_JSON_DEPTH} levels"
            pairs = item.items() if isinstance(item, dict) else ((None, v) for v in item)
            for key, child in pairs:
                if key is not None and _SURROGATE.search(key):
                    return f"a key in {where} holds an unpaired UTF-16 surrogate (not Unicode)"
                inner = f'"{key}"' if depth == 1 and key is not None and _shown_key(key) else where
                stack.append((child, depth + 1, inner))
        elif isinstance(item, str):
            if _SURROGATE.search(item):
                return f"{where} holds an unpaired UTF-16 surrogate (not valid Unicode)"
        elif isinstance(item, float) and not math.isfinite(item):
            return f"{where} holds a number too large for a float (infinite)"
    return None


def _shown_key(key: str) -> bool:
    return len(key) <= 40 and key.isprintable()


_TYPE_NAMES = {str: "a string", dict: "an object", list: "an array"}


def json_type(value: Any) -> str:
    """The JSON type of a parsed value, as a message says it (``a number``, ``null``...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def shown_value(value: Any) -> str:
    """A short code value quoted for a message; long or odd values are described, not echoed."""
    if isinstance(value, str) and len(value) <= 40 and value.isprintable():
        return repr(value)
    return "None" if value is None else f"{json_type(value)} value"


def typed(obj: Mapping[str, Any], key: str, expected: type, where: str = "") -> Any:
    """``obj[key]`` if it has the ``expected`` JSON type, ``None`` if absent or null.

    A value of another type is a :class:`RecordProblem` naming the field path
    (``where`` + ``key``), so a number where an object belongs is reported, not crashed on.
    """
    value = obj.get(key)
    if value is None or isinstance(value, expected):
        return value
    raise RecordProblem(f"{where}{key} must be {_TYPE_NAMES[expected]}, got {json_type(value)}")


def objects(obj: Mapping[str, Any], key: str, where: str = "") -> list[dict[str, Any]]:
    """``obj[key]`` as a list of objects (``[]`` if absent); any other shape is a RecordProblem."""
    items = typed(obj, key, list, where) or []
    for number, item in enumerate(items):
        if not isinstance(item, dict):
            raise RecordProblem(
                f"{where}{key}[{number}] must be an object, got {json_type(item)}"
            )
    return items
