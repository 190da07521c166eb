"""All Cypher the stores run, in one place, parameterised and batched (``UNWIND $rows``).

Both stores accept the same Cypher for everything here except what :class:`Dialect` isolates:

* LadybugDB infers a parameter's type from its values, so a column that is ``null`` in every row
  of a batch is typed STRING and then refused by an INT64/BOOLEAN/list property; values written
  to typed properties are therefore wrapped in ``CAST(... AS T)`` there (Neo4j needs no cast).
* Schema DDL differs (Neo4j constraints/indexes vs Ladybug node/rel tables); see ``schema.compile``.

Labels, relationship types and property names are interpolated into query text because Cypher
cannot parameterise them; they only ever come from the validated schema (plain identifiers),
never from user input. Values always travel as parameters.

Write shapes follow what was measured for Ladybug (DESIGN.md): dedup in Python then ``CREATE``;
relationships via separate ``MATCH`` clauses (the comma-joined pattern is ~1000x slower).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from schema.compile import ladybug_type
from schema.model import KEY, PropType, Schema


@dataclass(frozen=True)
class Dialect:
    """The few differences between Neo4j and LadybugDB Cypher that matter to us."""

    name: str
    casts: bool

    def value(self, expr: str, ptype: PropType) -> str:
        """An expression assigned to a property of type ``ptype``."""
        return f"CAST({expr} AS {ladybug_type(ptype)})" if self.casts else expr

    def rel_type(self, var: str) -> str:
        """Expression for a relationship's type name."""
        return f"label({var})" if self.casts else f"type({var})"


NEO4J = Dialect(name="neo4j", casts=False)
LADYBUG = Dialect(name="ladybug", casts=True)


def _assignments(var: str, props: dict[str, PropType], dialect: Dialect) -> str:
    return ", ".join(f"{var}.{name} = {dialect.value(f'row.{name}', t)}" for name, t in props.items())


def node_props(schema: Schema, label: str) -> dict[str, PropType]:
    return {name: p.type for name, p in schema.node(label).all_properties().items()}


def edge_props(schema: Schema, type_: str) -> dict[str, PropType]:
    return {name: p.type for name, p in schema.edge_properties(type_).items()}


# -- nodes ---------------------------------------------------------------------------------
def create_nodes(schema: Schema, label: str, dialect: Dialect) -> str:
    """CREATE nodes from ``$rows`` (each row has every property of the label, nulls allowed)."""
    props = node_props(schema, label)
    body = ", ".join(f"{name}: {dialect.value(f'row.{name}', t)}" for name, t in props.items())
    return f"UNWIND $rows AS row CREATE (n:{label} {{{body}}})"


def update_nodes(schema: Schema, label: str, dialect: Dialect) -> str:
    """SET every non-key property of existing nodes from ``$rows``."""
    props = {k: v for k, v in node_props(schema, label).items() if k != KEY}
    return f"UNWIND $rows AS row MATCH (n:{label} {{{KEY}: row.{KEY}}}) SET {_assignments('n', props, dialect)}"


def fetch_nodes(schema: Schema, label: str) -> str:
    """Stored properties of the nodes whose ids are in ``$ids``."""
    cols = ", ".join(f"n.{name} AS {name}" for name in node_props(schema, label))
    return f"UNWIND $ids AS id MATCH (n:{label} {{{KEY}: id}}) RETURN {cols}"


def count_nodes(label: str) -> str:
    return f"MATCH (n:{label}) RETURN count(n) AS count"


def count_edges(type_: str) -> str:
    return f"MATCH ()-[r:{type_}]->() RETURN count(r) AS count"


def all_nodes(schema: Schema, label: str) -> str:
    cols = ", ".join(f"n.{name} AS {name}" for name in node_props(schema, label))
    return f"MATCH (n:{label}) RETURN {cols} ORDER BY n.{KEY}"


def all_edges(schema: Schema, type_: str, head: str, tail: str) -> str:
    cols = ", ".join(f"r.{name} AS {name}" for name in edge_props(schema, type_))
    sep = ", " if cols else ""
    return (
        f"MATCH (h:{head})-[r:{type_}]->(t:{tail}) "
        f"RETURN h.{KEY} AS head, t.{KEY} AS tail{sep}{cols} ORDER BY head, tail"
    )


# -- documents and their contributions ------------------------------------------------------
FETCH_DOCUMENT_HASHES = "UNWIND $ids AS id MATCH (d:Document {id: id}) RETURN d.id AS id, d.content_hash AS hash"

FETCH_DOCUMENT_EVIDENCE_KEYS = (
    "UNWIND $ids AS id MATCH (d:Document {id: id})-[:HAS_EVIDENCE]->(e:Evidence) "
    "RETURN e.rel_type AS type, e.head_label AS head_label, e.head AS head, "
    "e.tail_label AS tail_label, e.tail AS tail"
)

DELETE_DOCUMENT_EVIDENCE = (
    "UNWIND $ids AS id MATCH (d:Document {id: id})-[:HAS_EVIDENCE]->(e:Evidence) DETACH DELETE e"
)


def delete_document_mentions(label: str) -> str:
    return f"UNWIND $ids AS id MATCH (d:Document {{id: id}})-[m:MENTIONS]->(c:{label}) DELETE m"


def create_mentions(label: str, dialect: Dialect) -> str:
    return (
        f"UNWIND $rows AS row MATCH (d:Document {{id: row.doc_id}}) MATCH (c:{label} {{id: row.concept_id}}) "
        f"CREATE (d)-[:MENTIONS {{mention_count: {dialect.value('row.count', PropType.INT)}, "
        f"best_score: {dialect.value('row.best_score', PropType.FLOAT)}, "
        f"assertions: {dialect.value('row.assertions', PropType.STRING_LIST)}}}]->(c)"
    )


CREATE_HAS_EVIDENCE = (
    "UNWIND $rows AS row MATCH (d:Document {id: row.doc_id}) MATCH (e:Evidence {id: row.id}) "
    "CREATE (d)-[:HAS_EVIDENCE]->(e)"
)


def create_supported_by(head_label: str) -> str:
    return (
        f"UNWIND $rows AS row MATCH (h:{head_label} {{id: row.head}}) MATCH (e:Evidence {{id: row.id}}) "
        f"CREATE (h)-[:SUPPORTED_BY]->(e)"
    )


# -- relation edges, derived from evidence ---------------------------------------------------
EVIDENCE_COLUMNS = (
    "id", "doc_id", "rel_type", "head_label", "head", "tail_label", "tail",
    "text", "span_start", "span_end", "score", "source", "curated", "model", "properties_json",
)


def fetch_evidence_for_keys(head_label: str) -> str:
    """All stored evidence for ``$rows`` of (head, tail) keys of relation type ``$rel_type``."""
    cols = ", ".join(f"e.{c} AS {c}" for c in EVIDENCE_COLUMNS)
    return (
        f"UNWIND $rows AS row MATCH (h:{head_label} {{id: row.head}})-[:SUPPORTED_BY]->(e:Evidence) "
        f"WHERE e.rel_type = $rel_type AND e.tail = row.tail RETURN {cols}"
    )


def merge_edges(schema: Schema, type_: str, head: str, tail: str, dialect: Dialect) -> str:
    props = edge_props(schema, type_)
    return (
        f"UNWIND $rows AS row MATCH (h:{head} {{id: row.head}}) MATCH (t:{tail} {{id: row.tail}}) "
        f"MERGE (h)-[r:{type_}]->(t) SET {_assignments('r', props, dialect)}"
    )


EVIDENCE_KEYS_OF_TYPE = (
    "MATCH (e:Evidence) WHERE e.rel_type = $rel_type "
    "RETURN DISTINCT e.head_label AS head_label, e.head AS head, e.tail_label AS tail_label, e.tail AS tail"
)


def existing_edges(type_: str, head: str, tail: str) -> str:
    """(head, tail) of the ``$rows`` keys that have a stored ``type_`` edge (write verification)."""
    return (
        f"UNWIND $rows AS row MATCH (h:{head} {{id: row.head}})-[r:{type_}]->(t:{tail} {{id: row.tail}}) "
        "RETURN DISTINCT h.id AS head, t.id AS tail"
    )


def delete_edges(type_: str, head: str, tail: str) -> str:
    return (
        f"UNWIND $rows AS row MATCH (h:{head} {{id: row.head}})-[r:{type_}]->(t:{tail} {{id: row.tail}}) DELETE r"
    )


# -- interaction check (kg.interactions) ----------------------------------------------------
# A fixed number of read queries per check, whatever the list length: ids travel as one list
# parameter. Both stores accept these as written (undirected patterns included), so no Dialect.
INTERACTION_PATIENT_DRUGS = (
    "MATCH (p:Patient {id: $patient_id}) OPTIONAL MATCH (p)-[:TAKES]->(d:Drug) "
    "RETURN p.id AS patient, d.id AS id, d.name AS name"
)
"""One row with ``id = null`` for a patient who takes nothing; no row for an unknown patient."""

INTERACTION_DRUG_NODES = (
    "MATCH (d:Drug) WHERE d.id IN $ids OPTIONAL MATCH (d)-[:IS_A]->(c:Drug) "
    "RETURN d.id AS id, d.name AS name, c.id AS class_id, c.name AS class_name"
)
"""Which of ``$ids`` are in the graph, their names, and their curated drug classes (IS_A).

The ``MATCH ... WHERE x.id IN $list`` form (rather than ``UNWIND $list AS x MATCH (:Drug {id: x})``)
is 2-3x faster on the embedded store for these short lists and an index seek on Neo4j; measured
with ``benchmarks/bench_interactions.py``."""

_INTERACTION_EDGE_COLUMNS = (
    "a.id AS head, a.name AS head_name, b.id AS tail, b.name AS tail_name, r.severity AS severity, "
    "r.interaction_type AS interaction_type, r.mechanism AS mechanism, r.sources AS sources, "
    "r.curated AS curated, r.evidence_count AS evidence_count, r.best_score AS best_score"
)

INTERACTION_PAIRS = (
    "MATCH (a:Drug)-[r:INTERACTS_WITH]->(b:Drug) WHERE a.id IN $ids AND b.id IN $ids "
    "OPTIONAL MATCH (a)-[:SUPPORTED_BY]->(e:Evidence) "
    "WHERE e.rel_type = 'INTERACTS_WITH' AND e.tail = b.id AND e.curated = true "
    f"RETURN {_INTERACTION_EDGE_COLUMNS}, e.doc_id AS ev_doc_id, e.source AS ev_source, "
    "e.curated AS ev_curated, e.properties_json AS ev_props"
)
"""Every stored INTERACTS_WITH edge among ``$ids`` (stored once per pair, head id < tail id), one
row per *curated* Evidence (what each source said: its own severity in ``ev_props``); null
evidence columns for an extracted-only edge."""

INTERACTION_PAIRS_WITH_EVIDENCE = (
    "MATCH (a:Drug)-[r:INTERACTS_WITH]->(b:Drug) WHERE a.id IN $ids AND b.id IN $ids "
    "OPTIONAL MATCH (a)-[:SUPPORTED_BY]->(e:Evidence) WHERE e.rel_type = 'INTERACTS_WITH' AND e.tail = b.id "
    f"RETURN {_INTERACTION_EDGE_COLUMNS}, e.doc_id AS ev_doc_id, e.source AS ev_source, e.text AS ev_text, "
    "e.score AS ev_score, e.curated AS ev_curated, e.properties_json AS ev_props"
)
"""As :data:`INTERACTION_PAIRS`, one row per supporting Evidence, curated or extracted. One query,
not pairs then evidence: the embedded store expands a bound ``a``'s evidence quickly but plans a
separate ``MATCH (a:Drug {id: $head})-[:SUPPORTED_BY]->(e)`` as a scan of all Evidence (~100x slower)."""

INTERACTION_CLASS_SIBLINGS = (
    "MATCH (a:Drug)-[r:INTERACTS_WITH]-(b:Drug) WHERE a.id IN $siblings AND b.id IN $ids AND r.curated = true "
    "RETURN a.id AS sibling, a.name AS sibling_name, b.id AS target, r.severity AS severity, "
    "r.interaction_type AS interaction_type, r.best_score AS best_score, r.sources AS sources"
)
"""Curated interactions of class siblings (``$siblings``) with the checked drugs (``$ids``)."""

INTERACTION_DRUGS_BY_NAME = (
    "MATCH (d:Drug) WHERE toLower(d.name) IN $names RETURN toLower(d.name) AS name_key, d.id AS id, d.name AS name"
)
"""Drug nodes named exactly (case-insensitively) like ``$names`` (lower-cased): the fallback for
names the linker's vocabulary lacks but a curated source put in the graph (unmapped DDInter drugs).
One pass over the Drug nodes with a list membership test: ~3x faster on Neo4j than ``UNWIND $names``
with a scan per name (no index can serve ``toLower``)."""


# -- diagnosis index (kg.diagnosis) ------------------------------------------------------------
# The reads the index is built from, in the subset both stores accept. ``$min_score`` keeps
# extracted (non-curated) HAS_SYMPTOM / LACKS_SYMPTOM edges only when their best evidence score
# reaches it; curated edges are always kept.
DIAGNOSIS_HAS_SYMPTOM = (
    "MATCH (d:Disease)-[r:HAS_SYMPTOM]->(s:Symptom) "
    "WHERE r.curated = true OR r.best_score >= $min_score "
    "RETURN d.id AS disease, d.name AS disease_name, s.id AS symptom, r.frequency AS frequency, "
    "r.weight AS weight, r.curated AS curated, r.evidence_count AS evidence_count, "
    "r.best_score AS best_score, r.sources AS sources "
    "ORDER BY disease, symptom"
)

DIAGNOSIS_LACKS_SYMPTOM = (
    "MATCH (d:Disease)-[r:LACKS_SYMPTOM]->(s:Symptom) "
    "WHERE r.curated = true OR r.best_score >= $min_score "
    "RETURN d.id AS disease, s.id AS symptom, r.curated AS curated, r.evidence_count AS evidence_count, "
    "r.best_score AS best_score, r.sources AS sources "
    "ORDER BY disease, symptom"
)

DIAGNOSIS_SYMPTOM_IS_A = "MATCH (c:Symptom)-[:IS_A]->(p:Symptom) RETURN c.id AS child, p.id AS parent ORDER BY child, parent"

DIAGNOSIS_DISEASE_IS_A = "MATCH (c:Disease)-[:IS_A]->(p:Disease) RETURN c.id AS child, p.id AS parent ORDER BY child, parent"
"""The disease hierarchy, along which the index lends defining findings and subtypes' findings."""

DIAGNOSIS_DISEASE_PROFILES = (
    "MATCH (d:Disease) WHERE d.xrefs IS NOT NULL OR d.prevalence_per_100k IS NOT NULL OR d.cant_miss IS NOT NULL "
    "OR d.typical_sex IS NOT NULL OR d.onset_age_min IS NOT NULL OR d.onset_age_max IS NOT NULL "
    "RETURN d.id AS disease, d.xrefs AS xrefs, d.prevalence_per_100k AS prevalence_per_100k, "
    "d.prevalence_basis AS prevalence_basis, d.prevalence_source AS prevalence_source, d.typical_sex AS typical_sex, "
    "d.onset_age_min AS onset_age_min, d.onset_age_max AS onset_age_max, d.cant_miss AS cant_miss "
    "ORDER BY disease"
)
"""What the graph states about diseases themselves: xrefs (equivalence) and the common-disease
profile (prior, age/sex, can't-miss), read by the diagnosis index."""

DIAGNOSIS_SYMPTOMS = "MATCH (s:Symptom) RETURN s.id AS id, s.name AS name, s.synonyms AS synonyms ORDER BY id"

DOCUMENTS_OF_SOURCE = (
    "MATCH (d:Document) WHERE d.source_format = $source AND d.kind = 'curated' RETURN d.id AS id, d.title AS title"
)
"""Stored curated documents of one source (the curated job empties those a new read no longer has)."""

DIAGNOSIS_FINGERPRINT = "MATCH (d:Document) RETURN d.id AS id, d.content_hash AS hash"
"""Every Document's id and content hash: what :func:`kg.diagnosis.cache.graph_fingerprint` hashes."""


# -- store maintenance, bulk import fix-ups, query cancellation ------------------------------------


def delete_all_nodes(label: str) -> str:
    """Every node of ``label`` and its relationships (embedded store: one label at a time)."""
    return f"MATCH (n:{label}) DETACH DELETE n"


DELETE_ALL_RELATIONSHIPS_IN_BATCHES = "MATCH ()-[r]->() CALL (r) { DELETE r } IN TRANSACTIONS OF 10000 ROWS"
DELETE_ALL_IN_BATCHES = "MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS"
"""Neo4j: everything, in batches (needs an auto-commit transaction). Run after
:data:`DELETE_ALL_RELATIONSHIPS_IN_BATCHES`: detaching a hub node (a symptom with thousands of
edges) inside a 10k-node batch exceeded the server's transaction memory pool on the full
curated graph."""


def empty_list_fixup(owner: str, prop: str, *, is_node: bool, batch_rows: int) -> str:
    """Neo4j after ``neo4j-admin import``: ``prop`` of every ``owner`` node/relationship that
    imported as null becomes ``[]`` (the importer cannot write empty arrays), in batches."""
    pattern = f"(x:{owner})" if is_node else f"()-[x:{owner}]->()"
    return (f"MATCH {pattern} WHERE x.{prop} IS NULL "
            f"CALL (x) {{ SET x.{prop} = [] }} IN TRANSACTIONS OF {batch_rows} ROWS")


FIND_TAGGED_TRANSACTIONS = (
    "SHOW TRANSACTIONS YIELD transactionId, metaData WHERE metaData.medkg_query = $tag RETURN transactionId AS id"
)
"""Neo4j: the running transactions a user query was tagged with (``metadata={"medkg_query": tag}``)."""

TERMINATE_TRANSACTIONS = "TERMINATE TRANSACTIONS $ids"


# -- several independent reads as one statement (Neo4j) ---------------------------------------

_SIMPLE_COLUMN = re.compile(r"^\s*([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)?)\s+AS\s+([A-Za-z_]\w*)\s*$", re.IGNORECASE)
_RETURN = re.compile(r"\bRETURN\b", re.IGNORECASE)
_NOT_COMBINABLE = re.compile(r"\b(UNION|ORDER\s+BY|SKIP|LIMIT|DISTINCT|CALL|USE|CREATE|MERGE|SET|DELETE|REMOVE|FOREACH|LOAD)\b",
                             re.IGNORECASE)


def _collected_columns(query: str) -> tuple[str, list[tuple[str, str]]] | None:
    """``(body, [(expr, alias)])`` for a query ``body RETURN v.p AS a, ...`` whose columns are plain
    variables or properties; ``None`` for anything else (aggregates, ORDER BY, writes...)."""
    if _NOT_COMBINABLE.search(query):
        return None
    parts = _RETURN.split(query)
    if len(parts) != 2:
        return None
    columns = []
    for column in parts[1].split(","):
        match = _SIMPLE_COLUMN.match(column)
        if match is None:
            return None
        columns.append((match.group(1), match.group(2)))
    return parts[0].strip(), columns


def combine_reads(queries: list[str]) -> str | None:
    """One Neo4j statement running each read query in its own subquery, returning one row whose
    column ``r<i>`` holds query ``i``'s rows as a list of maps (same keys as its columns).

    Saves the per-statement round trip and transaction of each extra query (~3-5 ms each on the
    curated graph, ``benchmarks/bench_interactions.py``). Only for small lookups (the rows are
    collected in one list) whose ``RETURN`` is plain ``var.prop AS alias`` columns; returns
    ``None`` when a query does not have that shape, and callers then run the queries one by one.
    Subqueries import nothing, so each matches exactly as it would alone (an empty result is []).
    """
    blocks = []
    for i, query in enumerate(queries):
        shape = _collected_columns(query)
        if shape is None:
            return None
        body, columns = shape
        fields = ", ".join(f"{alias}: {expr}" for expr, alias in columns)
        blocks.append(f"CALL {{ {body} RETURN collect({{{fields}}}) AS r{i} }}")
    return "\n".join(blocks) + "\nRETURN " + ", ".join(f"r{i}" for i in range(len(queries)))
