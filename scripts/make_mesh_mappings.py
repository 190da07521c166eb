"""Regenerate ``extractors/linking/data/mesh_mappings.tsv`` from a Biomappings wheel.

Biomappings (https://github.com/biopragmatics/biomappings; Hoyt et al., Database 2022,
doi:10.1093/database/baac032) ships community-curated and lexically predicted mappings between
vocabularies; its data are CC0 1.0. This keeps only the ``skos:exactMatch`` rows between MeSH and
the vocabularies the linking KB holds (HPO, Disease Ontology, Symptom Ontology), as
``(vocabulary id, MeSH id, kind, confidence)``, and drops predictions a curator marked wrong or
unsure. It also writes the names Biomappings gives MeSH supplementary concept records (``C`` ids:
drugs such as ziprasidone, which have no descriptor of their own) as ``(MeSH id, name)``. Usage::

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

DATA = Path(__file__).resolve().parent.parent / "extractors" / "linking" / "data"
OUT = DATA / "mesh_mappings.tsv"
SCR_OUT = DATA / "mesh_supplementary.tsv"
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
    scr: dict[str, str] = {}
    for name, kind in FILES.items():
        for row in _rows(wheel, name):
            for side in ("subject", "object"):
                curie, label = row[f"{side}_id"], row.get(f"{side}_label") or ""
                if re.fullmatch(r"mesh:C\d+", curie) and label.strip() and kind is not None:
                    scr.setdefault(f"MESH:{curie[5:]}", label.strip())
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
    with open(SCR_OUT, "w", encoding="utf-8", newline="") as fh:
        fh.write(
            f"# MeSH supplementary concept records (C ids) and their names, as Biomappings {version} labels them\n"
            "# (https://github.com/biopragmatics/biomappings; data CC0 1.0; the names are MeSH's, NLM, public domain).\n"
            "# Not every record: those Biomappings maps. Regenerate with scripts/make_mesh_mappings.py; read by\n"
            "# extractors/linking/sources.py mesh_supplementary_names().\n"
            "mesh\tname\n"
        )
        for mesh, label in sorted(scr.items(), key=lambda kv: int(kv[0][6:])):
            if "\t" not in label and "\n" not in label:
                fh.write(f"{mesh}\t{label}\n")


if __name__ == "__main__":
    main(sys.argv[1])
