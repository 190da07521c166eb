"""Curated knowledge sources as streams of curated :class:`~schema.records.Document` records.

One module per source; each exposes ``read(path=None, *, on_error=None, report_to=None,
**options) -> Iterator[Document]`` (``path=None`` reads the default location) and knows
nothing about the store. :data:`CURATED_SOURCES` registers them with their licence and default
location; :func:`read_curated` reads one by name and enforces the opt-in of non-commercial
sources. Malformed rows raise :class:`~loaders.errors.MalformedInputError` naming the file and
line (or go to ``on_error`` in skip mode), exactly as the document loaders do.

Writing to a store is :func:`kg.jobs.curated_job.load_curated` (``medkg load-curated``), on the
floor above: these readers never touch a store or import an extractor.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from schema.records import Document
from loaders._common import OnError
from loaders.curated import (
    common_diseases,
    critical_interactions,
    ddinter,
    disease_ontology,
    hpo,
    hsdn,
    pharmacotherapydb,
    public_pddi,
    symptom_ontology,
)
from loaders.curated._common import (
    CuratedSourceError,
    LicenceNotAcceptedError,
    LoadReport,
    SourceNotFoundError,
    UnknownSourceError,
)

__all__ = [
    "CURATED_SOURCES",
    "CuratedSource",
    "CuratedSourceError",
    "LicenceNotAcceptedError",
    "LoadReport",
    "SourceNotFoundError",
    "UnknownSourceError",
    "default_sources",
    "read_curated",
    "source",
]

CuratedReader = Callable[..., Iterator[Document]]
"""``read(path=None, *, on_error=None, report_to=None, **options) -> Iterator[Document]``."""


@dataclass(frozen=True)
class CuratedSource:
    """A registered curated source: what it is, under which licence, where it lives by default."""

    name: str
    description: str
    licence: str
    default_path: Callable[[], Path]
    reader: CuratedReader
    opt_in: bool = False
    """Loaded only when the user accepts its licence explicitly (non-commercial terms)."""


CURATED_SOURCES: dict[str, CuratedSource] = {
    s.name: s
    for s in (
        CuratedSource(
            "hpo", "HPO disease-phenotype annotations (frequencies, NOT) and the phenotype IS_A hierarchy",
            "HPO licence (free use with attribution; see hpo.jax.org/license)", hpo.default_path, hpo.read,
        ),
        CuratedSource(
            "do", "Human Disease Ontology: DOID names, IS_A parents, xrefs, disease-symptom links",
            "CC0 1.0", disease_ontology.default_path, disease_ontology.read,
        ),
        CuratedSource(
            "symp", "Symptom Ontology: SYMP names, synonyms, IS_A",
            "CC0 1.0", symptom_ontology.default_path, symptom_ontology.read,
        ),
        CuratedSource(
            "hsdn", "HSDN symptom-disease co-occurrence weights (MeSH symptoms x DOID diseases)",
            "CC0 wrapper; underlying Zhou et al. 2014 supplement (c) Macmillan: reuse with discretion",
            hsdn.default_path, hsdn.read,
        ),
        CuratedSource(
            "common", "medkg common-disease profiles: typical findings with frequency classes, prevalence prior, "
            "age/sex fit and can't-miss flag for common diseases (hand-curated for medkg)",
            common_diseases.LICENCE, common_diseases.default_path, common_diseases.read,
        ),
        CuratedSource(
            "pharmacotherapydb", "PharmacotherapyDB drug-disease indications (disease-modifying / symptomatic)",
            "CC0 1.0 (DrugBank ids: DrugBank terms for commercial reuse)",
            pharmacotherapydb.default_path, pharmacotherapydb.read,
        ),
        CuratedSource(
            "pddi", "public DDI lists, DrugBank-mapped: ONC high-priority, ONC non-interruptive, VA NDF-RT (Ayvaz et al. 2015)",
            public_pddi.PUBLIC_LICENCE, public_pddi.default_path, public_pddi.read_public,
        ),
        CuratedSource(
            "critical", "medkg critical drug-drug interaction rules: class-level Contraindicated / Major / Moderate "
            "interactions with mechanism and management, from FDA labels, FDA safety communications, Beers 2023, "
            "Phansalkar 2012, Malone 2004 (hand-curated for medkg)",
            critical_interactions.LICENCE, critical_interactions.default_path, critical_interactions.read,
        ),
        CuratedSource(
            "ddinter", "DDInter drug-drug interactions with severity, names mapped to DrugBank",
            ddinter.LICENCE, ddinter.default_path, ddinter.read, opt_in=True,
        ),
        CuratedSource(
            "pddi-drugbank", "DrugBank 4.0 drug-drug interaction pairs of the public PDDI dataset (no severity)",
            public_pddi.DRUGBANK_LICENCE, public_pddi.default_path, public_pddi.read_drugbank, opt_in=True,
        ),
    )
}


def source(name: str) -> CuratedSource:
    """The registered source called ``name``; raises :class:`UnknownSourceError` listing the valid ones."""
    try:
        return CURATED_SOURCES[name]
    except KeyError:
        raise UnknownSourceError(f"unknown curated source {name!r}; valid sources: {', '.join(CURATED_SOURCES)}") from None


def default_sources() -> list[str]:
    """Every source that needs no licence opt-in (what ``--all`` loads)."""
    return [name for name, s in CURATED_SOURCES.items() if not s.opt_in]


def check_licence(name: str, *, accept_noncommercial: bool) -> None:
    """Refuse an opt-in source unless its non-commercial licence was accepted."""
    src = source(name)
    if src.opt_in and not accept_noncommercial:
        raise LicenceNotAcceptedError(
            f"curated source {name!r} is licensed {src.licence}; it is loaded only on request: "
            "pass accept_noncommercial=True (CLI: --accept-noncommercial) to confirm your use is non-commercial"
        )


def read_curated(
    name: str,
    path: str | os.PathLike[str] | None = None,
    *,
    accept_noncommercial: bool = False,
    on_error: OnError = None,
    report_to: LoadReport | None = None,
    **options: Any,
) -> Iterator[Document]:
    """Stream the documents of curated source ``name`` from ``path`` (default: its usual location).

    Opt-in sources raise :class:`LicenceNotAcceptedError` unless ``accept_noncommercial``;
    ``options`` go to the source's reader (e.g. ``drug_index=`` for DDInter).
    """
    src = source(name)
    check_licence(name, accept_noncommercial=accept_noncommercial)
    target = Path(path) if path is not None else src.default_path()
    if not target.exists():
        raise SourceNotFoundError(f"{target}: files of curated source {name!r} not found (pass its path)")
    return src.reader(target, on_error=on_error, report_to=report_to, **options)
