"""The canonical concept rule: one graph node per concept, whatever vocabulary names it.

The same drug reaches the graph as ``MESH:D001241`` (BC5CDR gold, PubTator), ``DRUGBANK:DB00945``
(the linker, the curated interaction sources) or a name; the same disease as ``MESH:D003920`` and
``DOID:9351``. Written as given, a Cypher user asking for aspirin would find two nodes, each with
half of the evidence. The rule, applied to every id before it is written (``kg.build``):

* **Drug**: a MeSH id that exactly one DrugBank entry of the linking KB lists as its
  cross-reference, and whose MeSH preferred name is one of the entry's names, becomes that
  ``DRUGBANK:`` id (see :meth:`CanonicalIds.from_kb` for ids MeSH gives no name).
* **Disease**: a ``MESH:`` id that exactly one Disease Ontology entry lists, by the same name,
  becomes that ``DOID:``.
  OMIM and ORPHA records (HPO's disease annotations) stay their own nodes: their mapping to DO is
  many-to-many, and diagnosis already ranks a disease and its ``xrefs`` as one candidate.
* **Symptom**: a ``MESH:`` id that exactly one HPO term lists, by the same name, becomes that ``HP:`` id.
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
import hashlib
import json
import os
import warnings
from collections import defaultdict
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path

from extractors.linking.errors import KBFormatError
from extractors.linking.kb import KnowledgeBase
from extractors.linking.normalize import normalize

__all__ = ["RULES", "CanonicalIds", "default_canonical_fingerprint", "default_canonical_ids"]

RULES: Mapping[str, tuple[str, frozenset[str]]] = {
    "Drug": ("DRUGBANK", frozenset({"MESH"})),
    "Disease": ("DOID", frozenset({"MESH"})),
    "Symptom": ("HP", frozenset({"MESH"})),
}
"""Label -> (prefix of the canonical id, prefixes of ids folded into it)."""

_FORMAT = 4


def _key(label: str, name: str) -> str:
    if label == "Drug":
        return " ".join("".join(c if c.isalnum() else " " for c in name.casefold()).split())
    return normalize(name)


class CanonicalIds:
    """Maps (label, id) to the canonical id, and a canonical id to its cross-references."""

    def __init__(self, mapping: Mapping[str, Mapping[str, str]], xrefs: Mapping[str, Mapping[str, tuple[str, ...]]]) -> None:
        self._map = {label: dict(m) for label, m in mapping.items()}
        self._xrefs = {label: {k: tuple(v) for k, v in x.items()} for label, x in xrefs.items()}

    @classmethod
    def from_kb(cls, kb: KnowledgeBase | Iterable[object], *, mesh_names: Mapping[str, str] | None = None) -> CanonicalIds:
        """The rule over ``kb``'s entries. ``mesh_names`` maps ``MESH:`` ids to their preferred
        names (default: the shipped MeSH descriptor table).

        A KB entry's xrefs are not all equivalences: DO and HPO list broader terms
        (DOID:178 "vascular disease" lists Aneurysm and Spinal Cord Ischemia), aliases come from
        corpora, and the KB build adds name-based links. So an id is folded into an entry only if
        no other entry of the label lists it and either MeSH's preferred name for it is the entry's
        own preferred name (Disease/Symptom: compared after :func:`normalize`, so "Seizures" is
        "Seizure"; Drug: case and punctuation only, so the class "Pyrazoles" is not the compound
        "Pyrazole"), or MeSH has no descriptor name for it (supplementary concepts, ``MESH:C...``)
        and it is the only id of its prefix the entry lists.
        """
        if mesh_names is None:
            from extractors.linking.sources import mesh_descriptors

            mesh_names = mesh_descriptors()
        owners: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        names: dict[str, str] = {}
        per_prefix: dict[tuple[str, str], int] = defaultdict(int)
        for entry in kb:
            label = entry.label.value  # type: ignore[attr-defined]
            rule = RULES.get(label)
            cid: str = entry.concept_id  # type: ignore[attr-defined]
            if rule is None or cid.split(":", 1)[0] != rule[0]:
                continue
            names[cid] = _key(label, entry.name)  # type: ignore[attr-defined]
            for x in entry.xrefs:  # type: ignore[attr-defined]
                prefix = x.split(":", 1)[0]
                if x != cid and prefix in rule[1]:
                    owners[label][x].add(cid)
                    per_prefix[(cid, prefix)] += 1
        mapping: dict[str, dict[str, str]] = {}
        xrefs: dict[str, dict[str, tuple[str, ...]]] = defaultdict(dict)
        for label, by_id in owners.items():
            folded = {}
            for x, found in by_id.items():
                if len(found) != 1:
                    continue
                (cid,) = found
                known = mesh_names.get(x)
                if known is not None and _key(label, known) == names[cid] and names[cid]:
                    folded[x] = cid
                elif known is None and per_prefix[(cid, x.split(":", 1)[0])] == 1:
                    folded[x] = cid
            mapping[label] = folded
            for x, cid in sorted(folded.items()):
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
        tmp = Path(f"{path}.{os.getpid()}.tmp")
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


def _rule_hash() -> str:
    return hashlib.sha256(json.dumps([_FORMAT, {k: [v[0], sorted(v[1])] for k, v in RULES.items()}]).encode()).hexdigest()[:8]


@lru_cache(maxsize=1)
def default_canonical_fingerprint() -> str:
    """Changes whenever the default table would (the default KB's fingerprint + the rule): part of
    every document's content hash, so a KB upgrade that moves an id re-writes the documents."""
    from extractors.linking.kb_build import default_kb_fingerprint

    return f"{default_kb_fingerprint()}-{_rule_hash()}"


@lru_cache(maxsize=1)
def default_canonical_ids() -> CanonicalIds:
    """The rule over the default KB, cached next to it (built with it on first use)."""
    from extractors.linking.kb_build import default_kb, default_kb_path

    kb_path = default_kb_path()
    path = kb_path.with_name(kb_path.name.replace("kb-default-", "canonical-ids-").replace(".jsonl.gz", f"-{_rule_hash()}.json.gz"))
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
