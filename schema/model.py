"""The schema as typed data, loaded from ``medkg.yaml`` and validated as a whole.

Node labels, edge types and property names are interpolated into Cypher (labels cannot be
query parameters), so validation restricts them to plain identifiers: nothing that reaches a
query string comes from user input, only from this validated schema.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, model_validator

from schema.errors import MedkgError
from schema.records import Record

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Cypher keywords that the embedded store's parser rejects as bare property names.
_RESERVED = frozenset({"end", "count", "case", "when", "then", "else", "match", "return", "where", "order", "limit", "skip", "with", "in", "is", "not", "and", "or", "null", "true", "false", "exists"})
KEY = "id"
"""Every node is keyed by ``id`` (a CURIE for concepts, a pseudonym for patients)."""


class SchemaError(MedkgError, ValueError):
    """The schema file is inconsistent (unknown endpoint, bad identifier, clash...)."""


class PropType(StrEnum):
    STRING = "string"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    STRING_LIST = "string[]"


class EdgeKind(StrEnum):
    RELATION = "relation"  # a fact, aggregated over evidence, carries provenance
    LINK = "link"  # structural (document/evidence wiring)


_Frozen = Record


class Property(_Frozen):
    type: PropType
    description: str = ""
    indexed: bool = False
    values: tuple[str, ...] = ()
    """A closed vocabulary, in precedence order: when curated sources state different values
    for one edge, the earliest in this order is stored (e.g. the most severe severity)."""


class NodeType(_Frozen):
    name: str
    description: str
    curie_prefixes: tuple[str, ...] = ()
    properties: dict[str, Property] = Field(default_factory=dict)

    def all_properties(self) -> dict[str, Property]:
        """Key first, then declared properties."""
        return {KEY: Property(type=PropType.STRING, description="Primary key."), **self.properties}


class EdgeType(_Frozen):
    name: str
    kind: EdgeKind
    description: str
    endpoints: tuple[tuple[str, str], ...]
    symmetric: bool = False
    properties: dict[str, Property] = Field(default_factory=dict)


class Schema(_Frozen):
    version: int
    namespace: str
    provenance_properties: dict[str, Property]
    nodes: dict[str, NodeType]
    edges: dict[str, EdgeType]

    @model_validator(mode="after")
    def _validate(self) -> "Schema":
        for name in [*self.nodes, *self.edges]:
            if not _IDENT.match(name):
                raise SchemaError(f"label/type {name!r} is not a plain identifier")
        clash = set(self.nodes) & set(self.edges)
        if clash:
            raise SchemaError(f"names used for both nodes and edges: {sorted(clash)}")
        for node in self.nodes.values():
            for prop in node.properties:
                if not _IDENT.match(prop) or prop == KEY or prop.lower() in _RESERVED:
                    raise SchemaError(f"{node.name}.{prop}: bad or reserved property name")
        for edge in self.edges.values():
            if not edge.endpoints:
                raise SchemaError(f"edge {edge.name} has no endpoints")
            for head, tail in edge.endpoints:
                for end in (head, tail):
                    if end not in self.nodes:
                        raise SchemaError(
                            f"edge {edge.name} refers to unknown node {end!r}; known: {sorted(self.nodes)}"
                        )
            if edge.symmetric and any(h != t for h, t in edge.endpoints):
                raise SchemaError(f"symmetric edge {edge.name} must join a label to itself")
            for prop in self.edge_properties(edge.name):
                if not _IDENT.match(prop) or prop.lower() in _RESERVED:
                    raise SchemaError(f"{edge.name}.{prop}: bad property name")
            if edge.kind is EdgeKind.RELATION:
                overlap = set(edge.properties) & set(self.provenance_properties)
                if overlap:
                    raise SchemaError(f"{edge.name} redeclares provenance properties {sorted(overlap)}")
        return self

    # -- lookups -------------------------------------------------------------------------
    def node(self, label: str) -> NodeType:
        try:
            return self.nodes[label]
        except KeyError:
            raise SchemaError(f"unknown node label {label!r}; known: {sorted(self.nodes)}") from None

    def edge(self, type_: str) -> EdgeType:
        try:
            return self.edges[type_]
        except KeyError:
            raise SchemaError(f"unknown edge type {type_!r}; known: {sorted(self.edges)}") from None

    def edge_properties(self, type_: str) -> dict[str, Property]:
        """Declared properties plus, for relation edges, the provenance properties."""
        edge = self.edge(type_)
        if edge.kind is EdgeKind.RELATION:
            return {**self.provenance_properties, **edge.properties}
        return dict(edge.properties)

    def relation_types(self) -> list[str]:
        return [e.name for e in self.edges.values() if e.kind is EdgeKind.RELATION]

    def check_endpoint(self, type_: str, head: str, tail: str) -> None:
        """Raise if ``(head)-[type]->(tail)`` is not declared."""
        if (head, tail) not in self.edge(type_).endpoints:
            raise SchemaError(
                f"{type_} does not join {head} -> {tail}; declared: {list(self.edge(type_).endpoints)}"
            )


def parse_schema(data: dict[str, Any]) -> Schema:
    """Build a :class:`Schema` from the YAML mapping (names are filled in from the keys)."""
    try:
        nodes = {k: {"name": k, **(v or {})} for k, v in data["nodes"].items()}
        edges = {k: {"name": k, **(v or {})} for k, v in data["edges"].items()}
        return Schema.model_validate({**data, "nodes": nodes, "edges": edges})
    except SchemaError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise SchemaError(f"invalid schema: {exc}") from exc


def load_schema_file(path: str | Path) -> Schema:
    with open(path, encoding="utf-8") as fh:
        return parse_schema(yaml.safe_load(fh))


@lru_cache(maxsize=1)
def load_schema() -> Schema:
    """The packaged schema (``schema/medkg.yaml``)."""
    text = resources.files("schema").joinpath("medkg.yaml").read_text(encoding="utf-8")
    return parse_schema(yaml.safe_load(text))


def severity_scale() -> tuple[str, ...]:
    """The interaction severity scale, most severe first (``INTERACTS_WITH.severity`` values):
    Contraindicated > Major > Moderate > Minor > Unknown. Unknown is last because it asserts
    nothing about severity. Every source's grades are mapped onto it (docs/CURATED.md)."""
    return load_schema().edge("INTERACTS_WITH").properties["severity"].values
