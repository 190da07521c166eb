"""Drug classes from the MeSH tree numbers of the ``drug-named-entity-recognition`` dictionary:
class-level (inferred) alerts and therapeutic-duplication hints of the interaction check."""

from __future__ import annotations

import bz2
import pickle
from collections import defaultdict
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from kg.interactions.errors import DrugResolveError


MIN_CLASS_DEPTH = 4
"""A drug's classes are the MeSH tree nodes one level above each of its tree numbers (its
structural parent) plus its own nodes (so a drug is in the class of its derivatives: omeprazole
D03.383.725.024.500 and esomeprazole D03.383.725.024.500.500). Nodes with fewer than 4 levels
are dropped: at depth 3 they are broad chemical families (D04.615.638 Naphthalenes holds
naproxen and simvastatin; D03.383.725 Pyridines), at depth 4 they start being drug families
(D03.383.725.024: lansoprazole, omeprazole, pantoprazole, rabeprazole; D02.241.223.701:
fenoprofen, ibuprofen, ketoprofen...)."""

MAX_CLASS_MEMBERS = 20
"""Classes with more DrugBank members than this are not used: the largest depth-4 nodes (26-31
members) are chemical families, not groups whose members share interactions. Only 1,904 of the
12,279 DrugBank drugs in the dictionary carry tree numbers, so class alerts are incomplete by
construction."""


class DrugClasses:
    """DrugBank id -> class keys (``MESH_TREE:<number>``) and class key -> member DrugBank ids."""

    def __init__(self, trees: dict[str, Iterable[str]], names: dict[str, str] | None = None) -> None:
        self.names = dict(names or {})
        members: dict[str, set[str]] = defaultdict(set)
        keys_of: dict[str, set[str]] = defaultdict(set)
        for curie, numbers in trees.items():
            for t in numbers:
                for key in (t, t.rsplit(".", 1)[0]):
                    if key.count(".") + 1 >= MIN_CLASS_DEPTH:
                        members[key].add(curie)
                        keys_of[curie].add(key)
        self._members = {k: frozenset(v) for k, v in members.items() if 1 < len(v) <= MAX_CLASS_MEMBERS}
        self._keys = {c: frozenset(k for k in ks if k in self._members) for c, ks in keys_of.items()}

    def classes(self, curie: str) -> frozenset[str]:
        return self._keys.get(curie, frozenset())

    def members(self, key: str) -> frozenset[str]:
        return self._members.get(key, frozenset())

    def shared(self, a: Iterable[str], b: Iterable[str]) -> list[str]:
        """Class keys shared by any id of ``a`` and any id of ``b``, most specific first."""
        ka = {k for c in a for k in self.classes(c)}
        kb = {k for c in b for k in self.classes(c)}
        return sorted(ka & kb, key=lambda k: (-k.count("."), k))


@lru_cache(maxsize=1)
def drug_classes() -> DrugClasses:
    """Classes from the installed drug dictionary (loaded once, ~1 s)."""
    from extractors.linking.sources import drug_dictionary_path

    path = drug_dictionary_path()
    try:
        with bz2.open(path, "rb") as handle:  # trusted: ships inside an installed dependency
            data: dict[str, Any] = pickle.load(handle)  # noqa: S301
        canonical: dict[str, dict[str, Any]] = data["drug_canonical_to_data"]
    except (OSError, EOFError, KeyError, TypeError, pickle.UnpicklingError) as exc:
        raise DrugResolveError(f"{path}: not a drug-named-entity-recognition dictionary ({exc!r})") from exc
    trees: dict[str, set[str]] = defaultdict(set)
    names: dict[str, str] = {}
    for info in canonical.values():
        if info.get("drugbank_id") and info.get("mesh_tree"):
            curie = f"DRUGBANK:{info['drugbank_id']}"
            trees[curie].update(info["mesh_tree"])
            names.setdefault(curie, info.get("name") or curie)
    return DrugClasses(trees, names)
