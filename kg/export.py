"""Export a stored graph: networkx (GraphML / node-link JSON) and RDF Turtle with PROV-O provenance."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import networkx as nx
from rdflib import RDF, RDFS, SKOS, Graph, Literal as RDFLiteral, Namespace, URIRef
from rdflib.namespace import PROV, XSD

from kg.store.base import GraphStore
from schema.model import EdgeKind

ExportFormat = Literal["turtle", "graphml", "json", "neo4j-import"]

ID_NS = Namespace("https://w3id.org/medkg/id/")
_PREFIX_IRIS = {
    "MESH": "http://id.nlm.nih.gov/mesh/",
    "HP": "http://purl.obolibrary.org/obo/HP_",
    "DOID": "http://purl.obolibrary.org/obo/DOID_",
    "SYMP": "http://purl.obolibrary.org/obo/SYMP_",
    "CHEBI": "http://purl.obolibrary.org/obo/CHEBI_",
    "DRUGBANK": "https://go.drugbank.com/drugs/",
    "RXNORM": "http://purl.bioontology.org/ontology/RXNORM/",
    "SNOMEDCT": "http://snomed.info/id/",
    "OMIM": "https://omim.org/entry/",
    "ORPHA": "http://www.orpha.net/ORDO/Orphanet_",
    "PMID": "https://pubmed.ncbi.nlm.nih.gov/",
}


def iri(curie: str) -> URIRef:
    """Expand a CURIE with the well-known prefix IRIs; anything else goes under the medkg id space."""
    prefix, _, local = curie.partition(":")
    base = _PREFIX_IRIS.get(prefix.upper())
    if base and local and not _iri_unsafe(local):
        return URIRef(base + local)
    return ID_NS[hashlib.sha1(curie.encode()).hexdigest()[:20] if _iri_unsafe(curie) else curie]


def _iri_unsafe(text: str) -> bool:
    """Characters an IRI may not hold (Turtle's IRIREF): controls and space, and <>"{}|\\^`."""
    return any(c <= " " or c == "\x7f" or c in '<>"{}|\\^`' for c in text)


def to_networkx(store: GraphStore) -> nx.MultiDiGraph:
    """Concept, patient, document and evidence nodes with every stored edge (keyed by type)."""
    g = nx.MultiDiGraph()
    for label in store.schema.nodes:
        for row in store.iter_nodes(label):
            g.add_node(f"{label}:{row['id']}", label=label, **{k: v for k, v in row.items() if v is not None})
    for type_ in store.schema.edges:
        for head, tail, row in store.iter_edges(type_):
            props = {k: v for k, v in row.items() if k not in ("head", "tail") and v is not None}
            g.add_edge(f"{head}:{row['head']}", f"{tail}:{row['tail']}", key=type_, type=type_, **props)
    return g


def _graphml_safe(g: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """GraphML has no list type: lists become '|'-joined strings."""
    h = g.copy()
    for _, data in h.nodes(data=True):
        for k, v in list(data.items()):
            if isinstance(v, list):
                data[k] = "|".join(map(str, v))
    for *_, data in h.edges(data=True, keys=True):
        for k, v in list(data.items()):
            if isinstance(v, list):
                data[k] = "|".join(map(str, v))
    return h


def _statement(type_: str, head: str, tail: str) -> URIRef:
    return ID_NS["stmt-" + hashlib.sha1(f"{type_}|{head}|{tail}".encode()).hexdigest()[:20]]


def to_rdf(store: GraphStore) -> Graph:
    """Concepts as typed resources; each relation as a direct triple plus an ``rdf:Statement``
    carrying its provenance, ``prov:wasDerivedFrom`` its Evidence, which derives from a Document."""
    schema = store.schema
    ns = Namespace(schema.namespace)
    g = Graph()
    g.bind("medkg", ns)
    g.bind("prov", PROV)
    g.bind("skos", SKOS)
    for label in schema.nodes:
        for row in store.iter_nodes(label):
            subject = iri(row["id"])
            g.add((subject, RDF.type, ns[label]))
            if label == "Evidence":
                g.add((subject, RDF.type, PROV.Entity))
                g.add((subject, PROV.wasDerivedFrom, iri(row["doc_id"])))
            for key, value in row.items():
                if value is None or key == "id":
                    continue
                if key == "name":
                    g.add((subject, RDFS.label, RDFLiteral(value)))
                elif key == "synonyms":
                    for s in value:
                        g.add((subject, SKOS.altLabel, RDFLiteral(s)))
                elif isinstance(value, list):
                    for v in value:
                        g.add((subject, ns[key], RDFLiteral(v)))
                else:
                    g.add((subject, ns[key], RDFLiteral(value)))
            g.add((subject, ns["id"], RDFLiteral(row["id"], datatype=XSD.string)))
    for type_, edge in schema.edges.items():
        if edge.kind is not EdgeKind.RELATION:
            continue
        for _, _, row in store.iter_edges(type_):
            h, t = iri(row["head"]), iri(row["tail"])
            g.add((h, ns[type_], t))
            stmt = _statement(type_, row["head"], row["tail"])
            g.add((stmt, RDF.type, RDF.Statement))
            g.add((stmt, RDF.subject, h))
            g.add((stmt, RDF.predicate, ns[type_]))
            g.add((stmt, RDF.object, t))
            for key, value in row.items():
                if key in ("head", "tail") or value is None:
                    continue
                for v in value if isinstance(value, list) else [value]:
                    g.add((stmt, ns[key], RDFLiteral(v)))
    for row in store.iter_nodes("Evidence"):  # each statement derives from its evidence records
        g.add((_statement(row["rel_type"], row["head"], row["tail"]), PROV.wasDerivedFrom, iri(row["id"])))
    return g


def export(store: GraphStore, fmt: ExportFormat, out: str | Path) -> Path:
    """Write the whole graph to ``out`` in ``fmt``; returns the path written.

    ``neo4j-import`` writes a directory of ``neo4j-admin database import`` CSVs (:mod:`kg.bulk`).
    """
    out = Path(out)
    if fmt == "neo4j-import":
        from kg.bulk import export_neo4j_import

        return export_neo4j_import(store, out).out_dir
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "turtle":
        to_rdf(store).serialize(destination=str(out), format="turtle")
    elif fmt == "graphml":
        nx.write_graphml(_graphml_safe(to_networkx(store)), out)
    elif fmt == "json":
        data: dict[str, Any] = nx.node_link_data(to_networkx(store), edges="edges")
        out.write_text(json.dumps(data, indent=1, sort_keys=True, default=str), encoding="utf-8")
    else:  # pragma: no cover - guarded by the CLI's choices
        raise ValueError(f"unknown export format {fmt!r}; choose turtle, graphml, json or neo4j-import")
    return out
