"""The Cypher the diagnosis index is built from: four read queries, parameterised, in the subset
Neo4j and LadybugDB both accept (no list comprehensions, no ``type(r)``, plain property access).

``$min_score`` keeps extracted (non-curated) HAS_SYMPTOM / LACKS_SYMPTOM edges only when their best
evidence score reaches it; curated edges are always kept.
"""

from __future__ import annotations

HAS_SYMPTOM = (
    "MATCH (d:Disease)-[r:HAS_SYMPTOM]->(s:Symptom) "
    "WHERE r.curated = true OR r.best_score >= $min_score "
    "RETURN d.id AS disease, d.name AS disease_name, s.id AS symptom, r.frequency AS frequency, "
    "r.weight AS weight, r.curated AS curated, r.evidence_count AS evidence_count, "
    "r.best_score AS best_score, r.sources AS sources "
    "ORDER BY disease, symptom"
)

LACKS_SYMPTOM = (
    "MATCH (d:Disease)-[r:LACKS_SYMPTOM]->(s:Symptom) "
    "WHERE r.curated = true OR r.best_score >= $min_score "
    "RETURN d.id AS disease, s.id AS symptom, r.curated AS curated, r.evidence_count AS evidence_count, "
    "r.best_score AS best_score, r.sources AS sources "
    "ORDER BY disease, symptom"
)

SYMPTOM_IS_A = "MATCH (c:Symptom)-[:IS_A]->(p:Symptom) RETURN c.id AS child, p.id AS parent ORDER BY child, parent"

SYMPTOMS = "MATCH (s:Symptom) RETURN s.id AS id, s.name AS name, s.synonyms AS synonyms ORDER BY id"
