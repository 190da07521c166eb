"""The project's one cross-reference normaliser: ``PREFIX:id`` strings from any vocabulary
(Disease Ontology reports, HPO/SYMP ``xref:`` lines, DrugBank tables) as CURIEs with the
graph's prefixes, so one raw xref always becomes the same CURIE wherever it is read."""

from __future__ import annotations

import re
from collections.abc import Iterable

XREF_PREFIXES = {
    "MSH": "MESH",
    "MESH": "MESH",
    "UMLS": "UMLS",
    "UMLS_CUI": "UMLS",
    "MIM": "OMIM",
    "OMIM": "OMIM",
    "ORDO": "ORPHA",
    "ORPHA": "ORPHA",
    "ORPHANET": "ORPHA",
    "NCI": "NCIT",
    "NCIT": "NCIT",
    "SNOMED_CT": "SNOMEDCT",
}
"""Source prefix (upper-cased) -> the graph's prefix; any other prefix is kept, upper-cased."""

_SNOMED = re.compile(r"SNOMEDCT(_US)?(_\d{4}_\d{2}_\d{2})?", re.I)


def normalize_xref(xref: str) -> str | None:
    """A source xref as a CURIE with the graph's prefixes (MESH, UMLS, OMIM, ORPHA, SNOMEDCT...),
    or ``None`` if it is not ``PREFIX:id``."""
    prefix, sep, local = xref.strip().partition(":")
    if not sep or not prefix or not local:
        return None
    if _SNOMED.fullmatch(prefix):
        return f"SNOMEDCT:{local}"
    return f"{XREF_PREFIXES.get(prefix.upper(), prefix.upper())}:{local}"


def normalize_xrefs(raw: Iterable[str]) -> tuple[str, ...]:
    """Normalised CURIEs of ``raw``, in order, without duplicates or unparseable entries."""
    return tuple(dict.fromkeys(x for x in map(normalize_xref, raw) if x))
