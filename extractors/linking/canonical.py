"""The canonical concept rule: one graph node per concept, whatever vocabulary names it.

The same drug reaches the graph as ``MESH:D001241`` (BC5CDR gold, PubTator), ``DRUGBANK:DB00945``
(the linker, the curated interaction sources) or a name; the same disease as ``MESH:D003920`` and
``DOID:9351``. Written as given, a Cypher user asking for aspirin would find two nodes, each with
half of the evidence. The rule, applied to every id before it is written (``kg.build``):

* **Drug**: an id that exactly one DrugBank entry of the linking KB lists as its cross-reference
  becomes that ``DRUGBANK:`` id (MeSH descriptors are the cross-references the KB holds).
* **Disease**: a ``MESH:`` id that exactly one Disease Ontology entry lists becomes that ``DOID:``.
  OMIM and ORPHA records (HPO's disease annotations) stay their own nodes: their mapping to DO is
  many-to-many, and diagnosis already ranks a disease and its ``xrefs`` as one candidate.
* **Symptom**: a ``MESH:`` id that exactly one HPO term lists becomes that ``HP:`` id.
* An id several entries claim (one MeSH descriptor for two DrugBank salts) is left as it is:
  merging two concepts is worse than leaving one concept in two nodes.

Each canonical node's ``xrefs`` lists the ids the rule folds into it (so
``WHERE $id = d.id OR $id IN d.xrefs`` finds it by any of them; other vocabularies' ids such as
UMLS or SNOMED CT are not added: shared loosely, they would join different diseases in diagnosis) and :meth:`CanonicalIds.resolve`
turns any id into the node id for code that looks concepts up. The table is derived from the
default KB and cached beside it.
"""

from __future__ import annotations

import gzip
import json
import os
import warnings
from collections import defaultdict
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path

from extractors.linking.errors import KBFormatError
from extractors.linking.kb import KnowledgeBase

__all__ = ["RULES", "CanonicalIds", "default_canonical_ids"]

RULES: Mapping[str, tuple[str, frozenset[str]]] = {
    "Drug": ("DRUGBANK", frozenset({"MESH", "CHEBI", "RXNORM", "ATC"})),
    "Disease": ("DOID", frozenset({"MESH"})),
    "Symptom": ("HP", frozenset({"MESH"})),
}
"""Label -> (prefix of the canonical id, prefixes of ids folded into it)."""

_FORMAT = 2


class CanonicalIds:
    """Maps (label, id) to the canonical id, and a canonical id to its cross-references."""

    def __init__(self, mapping: Mapping[str, Mapping[str, str]], xrefs: Mapping[str, Mapping[str, tuple[str, ...]]]) -> None:
        self._map = {label: dict(m) for label, m in mapping.items()}
        self._xrefs = {label: {k: tuple(v) for k, v in x.items()} for label, x in xrefs.items()}

    @classmethod
    def from_kb(cls, kb: KnowledgeBase | Iterable[object]) -> CanonicalIds:
        owners: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        xrefs: dict[str, dict[str, tuple[str, ...]]] = defaultdict(dict)
        for entry in kb:
            label = entry.label.value  # type: ignore[attr-defined]
            rule = RULES.get(label)
            cid: str = entry.concept_id  # type: ignore[attr-defined]
            if rule is None or cid.split(":", 1)[0] != rule[0]:
                continue
            for x in entry.xrefs:  # type: ignore[attr-defined]
                if x != cid and x.split(":", 1)[0] in rule[1]:
                    owners[label][x].add(cid)
        mapping = {label: {x: next(iter(o)) for x, o in by_id.items() if len(o) == 1} for label, by_id in owners.items()}
        for label, by_id in mapping.items():
            for x, cid in sorted(by_id.items()):
                xrefs[label][cid] = (*xrefs[label].get(cid, ()), x)
        return cls(mapping, xrefs)

    def resolve(self, label: str, concept_id: str) -> str:
        """The id the graph keeps for ``concept_id`` of type ``label`` (itself when no rule applies)."""
        return self._map.get(label, {}).get(concept_id, concept_id)

    def xrefs(self, label: str, concept_id: str) -> tuple[str, ...]:
        """The ids the rule folds into a canonical id (empty when none)."""
        return self._xrefs.get(label, {}).get(concept_id, ())

    def __len__(self) -> int:
        return sum(len(m) for m in self._map.values())

    def save(self, path: str | os.PathLike[str]) -> None:
        payload = {"format": _FORMAT, "map": self._map, "xrefs": {k: {c: list(v) for c, v in x.items()} for k, x in self._xrefs.items()}}
        tmp = Path(f"{path}.tmp")
        with gzip.open(tmp, "wt", encoding="utf-8") as handle:
            json.dump(payload, handle)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> CanonicalIds:
        try:
            with gzip.open(path, "rt", encoding="utf-8") as handle:
                payload = json.load(handle)
            if payload.get("format") != _FORMAT:
                raise KBFormatError(f"{path}: canonical-id table format {payload.get('format')!r}, expected {_FORMAT}")
            return cls(payload["map"], payload["xrefs"])
        except (OSError, ValueError, KeyError, TypeError, EOFError) as exc:
            raise KBFormatError(f"{path}: not a canonical-id table ({exc})") from exc


@lru_cache(maxsize=1)
def default_canonical_ids() -> CanonicalIds:
    """The rule over the default KB, cached next to it (built with it on first use)."""
    from extractors.linking.kb_build import default_kb, default_kb_path

    kb_path = default_kb_path()
    path = kb_path.with_name(kb_path.name.replace("kb-default-", "canonical-ids-").replace(".jsonl.gz", ".json.gz"))
    if path.exists():
        try:
            return CanonicalIds.load(path)
        except KBFormatError:
            pass  # rebuilt below
    table = CanonicalIds.from_kb(default_kb())
    try:
        table.save(path)
    except OSError as exc:
        warnings.warn(f"could not cache the canonical-id table at {path} ({exc})", stacklevel=2)
    return table
