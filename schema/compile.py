"""Compile the schema to each target: Neo4j DDL, LadybugDB DDL, RDF/OWL (Turtle), Markdown docs.

One small generator per target, all reading the same validated :class:`~schema.model.Schema`.
Outputs are deterministic (sorted where order is not meaningful) so golden-file tests can pin them.

Run ``python -m schema.compile --write-golden`` after editing ``medkg.yaml``.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rdflib import OWL, RDF, RDFS, XSD, Graph, Literal, Namespace, URIRef

from schema.model import KEY, PropType, Schema, load_schema

_LADYBUG_TYPES = {
    PropType.STRING: "STRING",
    PropType.INT: "INT64",
    PropType.FLOAT: "DOUBLE",
    PropType.BOOL: "BOOLEAN",
    PropType.STRING_LIST: "STRING[]",
}
_XSD_TYPES = {
    PropType.STRING: XSD.string,
    PropType.INT: XSD.long,
    PropType.FLOAT: XSD.double,
    PropType.BOOL: XSD.boolean,
    PropType.STRING_LIST: XSD.string,
}
_SDO = Namespace("https://schema.org/")
_NEO4J_IMPORT_TYPES = {
    PropType.STRING: "string",
    PropType.INT: "long",  # what the Bolt driver stores for a Python int
    PropType.FLOAT: "double",
    PropType.BOOL: "boolean",
    PropType.STRING_LIST: "string[]",
}


def ladybug_type(ptype: PropType) -> str:
    return _LADYBUG_TYPES[ptype]


def _snake(name: str) -> str:
    out = "".join(f"_{c.lower()}" if c.isupper() else c for c in name)
    return out.lstrip("_")


def neo4j_ddl(schema: Schema) -> list[str]:
    """Uniqueness constraints on every node key plus range indexes on ``indexed`` properties.

    Uniqueness (not node-key) constraints are used because node-key constraints need
    Enterprise Edition; the unique constraint also backs the ``MATCH ... {id: ...}`` lookups.
    """
    stmts: list[str] = []
    for node in schema.nodes.values():
        stmts.append(
            f"CREATE CONSTRAINT {_snake(node.name)}_{KEY} IF NOT EXISTS "
            f"FOR (n:{node.name}) REQUIRE n.{KEY} IS UNIQUE"
        )
    for node in schema.nodes.values():
        for prop_name, prop in node.properties.items():
            if prop.indexed:
                stmts.append(
                    f"CREATE INDEX {_snake(node.name)}_{prop_name} IF NOT EXISTS "
                    f"FOR (n:{node.name}) ON (n.{prop_name})"
                )
    return stmts


def ladybug_ddl(schema: Schema) -> list[str]:
    """Node tables keyed by ``id`` and one rel table per edge type (multi FROM/TO pairs)."""
    stmts: list[str] = []
    for node in schema.nodes.values():
        cols = [f"{KEY} STRING PRIMARY KEY"]
        cols += [f"{name} {ladybug_type(p.type)}" for name, p in node.properties.items()]
        stmts.append(f"CREATE NODE TABLE IF NOT EXISTS {node.name}({', '.join(cols)})")
    for edge in schema.edges.values():
        parts = [f"FROM {h} TO {t}" for h, t in edge.endpoints]
        parts += [f"{name} {ladybug_type(p.type)}" for name, p in schema.edge_properties(edge.name).items()]
        stmts.append(f"CREATE REL TABLE IF NOT EXISTS {edge.name}({', '.join(parts)})")
    return stmts


def ladybug_migrations(schema: Schema) -> list[str]:
    """``ALTER TABLE ... ADD IF NOT EXISTS`` for every declared property, so a store created by
    an earlier schema version gains the columns added since (``CREATE ... IF NOT EXISTS`` leaves
    an existing table as it was). Idempotent; run after :func:`ladybug_ddl`."""
    stmts = [f"ALTER TABLE {node.name} ADD IF NOT EXISTS {name} {ladybug_type(p.type)}"
             for node in schema.nodes.values() for name, p in node.properties.items()]
    stmts += [f"ALTER TABLE {edge.name} ADD IF NOT EXISTS {name} {ladybug_type(p.type)}"
              for edge in schema.edges.values() for name, p in schema.edge_properties(edge.name).items()]
    return stmts


def owl_graph(schema: Schema) -> Graph:
    """The schema as OWL: node types -> classes, edges -> object properties, props -> datatype props.

    Multiple endpoint pairs use ``schema:domainIncludes``/``rangeIncludes`` instead of
    ``owl:unionOf`` so the output has no blank nodes and stays byte-stable.
    """
    ns = Namespace(schema.namespace)
    g = Graph()
    g.bind("medkg", ns)
    g.bind("owl", OWL)
    g.bind("schema", _SDO)
    onto = URIRef(schema.namespace.rstrip("#/"))
    g.add((onto, RDF.type, OWL.Ontology))
    g.add((onto, OWL.versionInfo, Literal(str(schema.version))))
    datatype_domains: dict[str, set[str]] = {}
    datatype_types: dict[str, PropType] = {}
    for node in schema.nodes.values():
        g.add((ns[node.name], RDF.type, OWL.Class))
        g.add((ns[node.name], RDFS.label, Literal(node.name)))
        g.add((ns[node.name], RDFS.comment, Literal(node.description)))
        for name, prop in node.all_properties().items():
            datatype_domains.setdefault(name, set()).add(node.name)
            datatype_types[name] = prop.type
    for edge in schema.edges.values():
        p = ns[edge.name]
        g.add((p, RDF.type, OWL.ObjectProperty))
        g.add((p, RDFS.label, Literal(edge.name)))
        g.add((p, RDFS.comment, Literal(edge.description)))
        if edge.symmetric:
            g.add((p, RDF.type, OWL.SymmetricProperty))
        heads = sorted({h for h, _ in edge.endpoints})
        tails = sorted({t for _, t in edge.endpoints})
        for pred, single, values in ((_SDO.domainIncludes, RDFS.domain, heads), (_SDO.rangeIncludes, RDFS.range, tails)):
            if len(values) == 1:
                g.add((p, single, ns[values[0]]))
            else:
                for v in values:
                    g.add((p, pred, ns[v]))
    for name in sorted(datatype_domains):
        p = ns[name]
        g.add((p, RDF.type, OWL.DatatypeProperty))
        g.add((p, RDFS.range, _XSD_TYPES[datatype_types[name]]))
        for dom in sorted(datatype_domains[name]):
            g.add((p, _SDO.domainIncludes, ns[dom]))
    return g


def owl_turtle(schema: Schema) -> str:
    return owl_graph(schema).serialize(format="turtle")


def markdown(schema: Schema) -> str:
    """Human-readable schema reference (docs/SCHEMA.md)."""
    lines = [f"# medkg graph schema (version {schema.version})", "", "Generated from `schema/medkg.yaml` by `python -m schema.compile --write-golden`.", "", "## Nodes", ""]
    for node in schema.nodes.values():
        prefixes = ", ".join(node.curie_prefixes) or "-"
        lines += [f"### {node.name}", "", node.description, "", f"Key: `id` (CURIE prefixes: {prefixes})", "", "| property | type | description |", "|---|---|---|"]
        for name, prop in node.properties.items():
            lines.append(f"| `{name}` | {prop.type.value} | {prop.description} |")
        lines.append("")
    lines += ["## Edges", ""]
    for edge in schema.edges.values():
        ends = ", ".join(f"{h} -> {t}" for h, t in edge.endpoints)
        lines += [f"### {edge.name} ({edge.kind.value})", "", edge.description, "", f"Endpoints: {ends}", ""]
        props = schema.edge_properties(edge.name)
        if props:
            lines += ["| property | type | description |", "|---|---|---|"]
            lines += [f"| `{n}` | {p.type.value} | {p.description} |" for n, p in props.items()]
            lines.append("")
    return "\n".join(lines)


@dataclass(frozen=True)
class ImportFile:
    """One ``neo4j-admin database import`` input: a node label, or one endpoint pair of an edge type.

    Edge types with several endpoint pairs (e.g. CAUSES_ADVERSE_EFFECT: Drug -> Disease and
    Drug -> Symptom) get one file per pair, because the header names the ID space of each end.
    Every label is its own ID space, since the same CURIE may key nodes of two labels.
    """

    stem: str
    kind: Literal["nodes", "relationships"]
    name: str
    """Node label or relationship type."""
    properties: tuple[tuple[str, PropType], ...]
    """Property columns, in file order."""
    head: str | None = None
    tail: str | None = None

    def header(self) -> list[str]:
        """Typed header columns: ``id:ID(Label)``/``:START_ID(H)``..., ``prop:type``, ``:LABEL``/``:TYPE``."""
        if self.kind == "nodes":
            keys = [f"{KEY}:ID({self.name})", ":LABEL"]
        else:
            keys = [f":START_ID({self.head})", f":END_ID({self.tail})", ":TYPE"]
        return keys + [f"{name}:{_NEO4J_IMPORT_TYPES[t]}" for name, t in self.properties]


def neo4j_import_files(schema: Schema) -> list[ImportFile]:
    """The header/data file pairs for a bulk import, in schema order (nodes first)."""
    files = [
        ImportFile(stem=node.name, kind="nodes", name=node.name,
                   properties=tuple((n, p.type) for n, p in node.properties.items()))
        for node in schema.nodes.values()
    ]
    for edge in schema.edges.values():
        props = tuple((n, p.type) for n, p in schema.edge_properties(edge.name).items())
        files += [
            ImportFile(stem=f"{edge.name}.{h}.{t}", kind="relationships", name=edge.name, properties=props, head=h, tail=t)
            for h, t in edge.endpoints
        ]
    return files


def neo4j_import_headers(schema: Schema) -> str:
    """Every bulk-import header, one ``stem: header`` line per file (golden-tested)."""
    return "".join(f"{f.stem}: {','.join(f.header())}\n" for f in neo4j_import_files(schema))


GOLDEN_DIR = Path(__file__).resolve().parents[1] / "tests" / "schema" / "golden"


def render_all(schema: Schema) -> dict[str, str]:
    """Every compiled artefact by file name."""
    return {
        "neo4j.cypher": ";\n".join(neo4j_ddl(schema)) + ";\n",
        "ladybug.cypher": ";\n".join(ladybug_ddl(schema)) + ";\n",
        "schema.ttl": owl_turtle(schema),
        "SCHEMA.md": markdown(schema),
        "neo4j-import.headers": neo4j_import_headers(schema),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write-golden", action="store_true", help="rewrite tests/schema/golden and docs/SCHEMA.md")
    args = parser.parse_args(argv)
    outputs = render_all(load_schema())
    if args.write_golden:
        GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
        for name, text in outputs.items():
            (GOLDEN_DIR / name).write_text(text, encoding="utf-8")
        docs = GOLDEN_DIR.parents[2] / "docs"
        docs.mkdir(exist_ok=True)
        (docs / "SCHEMA.md").write_text(outputs["SCHEMA.md"], encoding="utf-8")
    else:
        for name, text in outputs.items():
            print(f"-- {name}\n{text}")


if __name__ == "__main__":
    main()
