"""Regenerate ``extractors/linking/data/mesh_mappings.tsv`` from a Biomappings wheel.

Biomappings (https://github.com/biopragmatics/biomappings; Hoyt et al., Database 2022,
doi:10.1093/database/baac032) ships community-curated and lexically predicted mappings between
vocabularies; its data are CC0 1.0. This keeps only the ``skos:exactMatch`` rows between MeSH and
the vocabularies the linking KB holds (HPO, Disease Ontology, Symptom Ontology), as
``(vocabulary id, MeSH id, kind, confidence)``, and drops predictions a curator marked wrong or
unsure. Usage::

    pip download --no-deps biomappings==0.6.0 -d /tmp/bm
    python scripts/make_mesh_mappings.py /tmp/bm/biomappings-0.6.0-py3-none-any.whl
"""

from __future__ import annotations

import csv
import io
import re
import sys
import zipfile
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "extractors" / "linking" / "data" / "mesh_mappings.tsv"
PREFIXES = {"hp": "HP", "doid": "DOID", "symp": "SYMP"}
FILES = {"positive": "curated", "predictions": "lexical", "negative": None, "unsure": None}


def _rows(wheel: zipfile.ZipFile, name: str):
    text = wheel.read(f"biomappings/resources/{name}.sssom.tsv").decode("utf-8")
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    yield from csv.DictReader(io.StringIO("\n".join(lines)), delimiter="\t")


def _pair(row: dict[str, str]) -> tuple[str, str] | None:
    s, o = row["subject_id"], row["object_id"]
    if o.startswith("mesh:"):
        s, o = o, s
    if not s.startswith("mesh:"):
        return None
    prefix, _, local = o.partition(":")
    if prefix not in PREFIXES or not re.fullmatch(r"[CD]\d+", s[5:]):
        return None
    return f"{PREFIXES[prefix]}:{local}", f"MESH:{s[5:]}"


def main(wheel_path: str) -> None:
    wheel = zipfile.ZipFile(wheel_path)
    version = Path(wheel_path).name.split("-")[1]
    rejected: set[tuple[str, str]] = set()
    kept: dict[tuple[str, str], tuple[str, str]] = {}
    for name, kind in FILES.items():
        for row in _rows(wheel, name):
            pair = _pair(row)
            if pair is None:
                continue
            if kind is None:
                rejected.add(pair)
            elif row["predicate_id"] == "skos:exactMatch" and pair not in kept:
                kept[pair] = (kind, row.get("confidence") or "")
    with open(OUT, "w", encoding="utf-8", newline="") as fh:
        fh.write(
            f"# MeSH mappings of HPO, Disease Ontology and Symptom Ontology ids (skos:exactMatch), from Biomappings {version}\n"
            "# (https://github.com/biopragmatics/biomappings; Hoyt et al., Database 2022, doi:10.1093/database/baac032;\n"
            "# data CC0 1.0). kind: 'curated' (reviewed by a curator) or 'lexical' (predicted from names and MeSH entry\n"
            "# terms, not reviewed); predictions a curator marked wrong or unsure are left out. Regenerate with\n"
            "# scripts/make_mesh_mappings.py; read by extractors/linking/sources.py mesh_mappings().\n"
            "id\tmesh\tkind\tconfidence\n"
        )
        for (vid, mesh), (kind, conf) in sorted(kept.items()):
            if (vid, mesh) not in rejected:
                fh.write(f"{vid}\t{mesh}\t{kind}\t{conf}\n")


if __name__ == "__main__":
    main(sys.argv[1])
