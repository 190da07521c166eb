"""The interaction check as a pharmacist reads it, on both stores: one severity scale across
sources, alert tiers (interrupt / warn / also documented), what each source said, combination
products, salts reaching their parent's node, extracted and curated evidence side by side, and
suggestions only when they are likely right.

Graph: the public DDI list fixture (real rows of ``public_pddi``, tests/fixtures/curated/pddi)
loaded through the real curated job (``pddi`` and the opt-in ``pddi-drugbank``), plus the real
DDInter rows and the DDI-2013 sentence of ``test_interactions`` and one more real DDInter row
(altretamine + cimetidine, Moderate) so one pair has curated and extracted evidence.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kg.build import build_batch
from kg.interactions import DrugResolver, ResolvedDrug, UnresolvedDrug, check_interactions, format_report
from kg.interactions.check import SourceStatement, tier_of
from kg.interactions.drug_names import (
    ResolvedProduct,
    combination_products,
    split_ingredients,
    strip_form,
    substance_key,
)
from kg.jobs.curated_job import load_curated
from kg.store.base import GraphStore
from schema.model import severity_scale
from schema.records import Document, EntityType, Mention, Relation
from tests.helpers import FIXTURES
from tests.kg.test_interactions import ALTRETAMINE, CIMETIDINE, ddi_sentence_document, ddinter_documents

PDDI = FIXTURES / "curated" / "pddi"
VERAPAMIL, DIGOXIN, LITHIUM = "DRUGBANK:DB14063", "DRUGBANK:DB00390", "DRUGBANK:DB01356"
SMX, TMP = "DRUGBANK:DB01015", "DRUGBANK:DB00440"


def altretamine_cimetidine_ddinter() -> Document:
    """DDInter row ``DDInter57,Altretamine,DDInter380,Cimetidine,Moderate``, mapped to DrugBank."""
    return Document(
        id="ddinter:DDInter57-DDInter380", source_format="ddinter", kind="curated",
        mentions=tuple(Mention(label=EntityType.DRUG, text=n, concept_id=c, concept_name=n, source="ddinter")
                       for n, c in (("Altretamine", ALTRETAMINE), ("Cimetidine", CIMETIDINE))),
        relations=(Relation(type="INTERACTS_WITH", head_id=ALTRETAMINE, head_label="Drug", tail_id=CIMETIDINE,
                            tail_label="Drug", score=1.0, source="ddinter", curated=True,
                            properties={"severity": "Moderate"}),),
    )


@pytest.fixture(scope="module")
def resolver() -> DrugResolver:
    return DrugResolver().warm()


@pytest.fixture
def graph(store: GraphStore) -> Iterator[GraphStore]:
    load_curated(store, ["pddi", "pddi-drugbank"], paths={"pddi": PDDI, "pddi-drugbank": PDDI},
                 accept_noncommercial=True, progress=False)
    store.write(build_batch([*ddinter_documents(), ddi_sentence_document(), altretamine_cimetidine_ddinter()]))
    yield store


# -- pure rules ---------------------------------------------------------------------------------


def test_one_scale_most_severe_first() -> None:
    assert severity_scale() == ("Contraindicated", "Major", "Moderate", "Minor", "Unknown")
    onc = SourceStatement(source="pddi", list="ONC-HighPriority", severity="Minor")
    assert tier_of("Contraindicated") == tier_of("Major") == "interrupt"
    assert tier_of("Moderate") == "warn" and tier_of("Minor") == tier_of("Unknown") == "info"
    assert tier_of("Minor", [onc]) == "interrupt"  # an interrupting list interrupts whatever the grade


def test_salt_form_and_combination_rules() -> None:
    assert substance_key("Warfarin sodium") == "warfarin"
    assert substance_key("Lithium carbonate") == substance_key("Lithium cation") == "lithium"
    assert substance_key("Metoprolol succinate") == substance_key("metoprolol tartrate") == "metoprolol"
    assert substance_key("potassium chloride") == "potassium chloride"  # only salt words: itself
    assert substance_key("Sodium bicarbonate") == "sodium bicarbonate"
    assert strip_form("nitroglycerin patch") == ("nitroglycerin", "transdermal")
    assert strip_form("timolol 0.5% eye drops".replace("0.5% ", "")) == ("timolol", "ophthalmic")
    assert split_ingredients("hydrocodone/acetaminophen 5/325") == ["hydrocodone", "acetaminophen"]
    assert split_ingredients("amoxicillin + clavulanate") == ["amoxicillin", "clavulanate"]
    assert split_ingredients("co-trimoxazole") == ["co-trimoxazole"]
    table = combination_products()
    assert table["bactrim"][1] == ("sulfamethoxazole", "trimethoprim") and len(table) > 100


# -- resolution -----------------------------------------------------------------------------------


def test_combination_products_resolve_to_every_ingredient(resolver: DrugResolver) -> None:
    bactrim, slash, hyphen, bad = resolver.resolve(["Bactrim DS", "sulfamethoxazole/trimethoprim",
                                                    "amoxicillin-clavulanate", "sulfamethoxazole/qqqzzxv"])
    for product in (bactrim, slash):
        assert isinstance(product, ResolvedProduct)
        assert [i.curie for i in product.ingredients] == [SMX, TMP]
    assert isinstance(hyphen, ResolvedProduct) and len(hyphen.ingredients) == 2
    # a part that does not resolve makes the whole unresolved, naming the part: nothing dropped silently
    assert isinstance(bad, UnresolvedDrug) and "qqqzzxv" in bad.reason


def test_salts_reach_the_parent_and_each_other(resolver: DrugResolver) -> None:
    lithium, carbonate = resolver.resolve(["lithium", "lithium carbonate"])
    assert isinstance(lithium, ResolvedDrug) and isinstance(carbonate, ResolvedDrug)
    assert LITHIUM in lithium.equivalent_ids and LITHIUM in carbonate.equivalent_ids
    assert carbonate.curie in lithium.equivalent_ids


def test_suggestions_only_when_likely_right(resolver: DrugResolver) -> None:
    near, far = resolver.resolve(["ommeprazzolle", "xyzzy"])
    assert isinstance(near, UnresolvedDrug) and near.suggestions[0].name == "Omeprazole"
    assert isinstance(far, UnresolvedDrug) and far.suggestions == ()


def test_dose_form_words_resolve_and_keep_the_route(resolver: DrugResolver) -> None:
    patch = resolver.resolve_one("nitroglycerin patch")
    assert isinstance(patch, ResolvedDrug) and patch.method == "exact" and patch.route == "transdermal"


# -- the check on both stores -------------------------------------------------------------------


def test_tiers_and_who_said_what(graph: GraphStore, resolver: DrugResolver) -> None:
    report = check_interactions(graph, ["moxifloxacin", "cisapride", "warfarin", "omeprazole", "tolmetin",
                                        "alprenolol", "aspirin"], resolver=resolver)
    alerts = {frozenset((x.drug_a.name, x.drug_b.name)): x for x in report.interactions}
    moxi = alerts[frozenset(("Moxifloxacin", "Cisapride"))]
    assert (moxi.tier, moxi.severity) == ("interrupt", "Major")
    assert {(s.list, s.severity) for s in moxi.said} == {("ONC-HighPriority", "Major"), ("NDF-RT", "Moderate")}
    assert "ONC high-priority" in moxi.why
    # DDInter Moderate and the ONC non-interruptive list disagree: the most severe wins, both shown
    wo = alerts[frozenset(("Warfarin", "Omeprazole"))]
    assert (wo.tier, wo.severity) == ("warn", "Moderate")
    assert {(s.source, s.list, s.severity) for s in wo.said} == {("ddinter", None, "Moderate"),
                                                                 ("pddi", "ONC-NonInteruptive", "Minor")}
    # only on the non-interruptive list: documented, not an alert
    assert [frozenset((x.drug_a.name, x.drug_b.name)) for x in report.also_documented] == [
        frozenset(("Tolmetin", "Alprenolol"))]
    assert [x.tier for x in report.interactions] == sorted((x.tier for x in report.interactions),
                                                           key=["interrupt", "warn", "info"].index)
    # the edge itself stores the most severe curated level (Cypher users see the same)
    rows = graph.query("MATCH (a:Drug)-[r:INTERACTS_WITH]-(b:Drug) WHERE a.id = $a AND b.id = $b "
                       "RETURN r.severity AS s", {"a": "DRUGBANK:DB00218", "b": "DRUGBANK:DB00604"})
    assert {r["s"] for r in rows} == {"Major"}


def test_unknown_severity_is_documented_not_alerted(graph: GraphStore, resolver: DrugResolver) -> None:
    # DrugBank 4.0 row with verapamil's old id DB00661: mapped by name to today's DB14063 at load
    report = check_interactions(graph, ["digoxin", "verapamil"], resolver=resolver)
    assert report.interactions == ()
    (x,) = report.also_documented
    assert {x.drug_a.id, x.drug_b.id} == {DIGOXIN, VERAPAMIL} and (x.tier, x.severity) == ("info", "Unknown")


def test_salt_name_reaches_the_parent_node(graph: GraphStore, resolver: DrugResolver) -> None:
    for name in ("lithium", "lithium carbonate", "Lithium cation"):
        report = check_interactions(graph, [name, "lisinopril"], resolver=resolver)
        (x,) = report.also_documented
        assert LITHIUM in {g for pair in x.graph_ids for g in pair}, name
        assert report.not_in_graph == ()


def test_combination_product_checks_each_ingredient(graph: GraphStore, resolver: DrugResolver) -> None:
    report = check_interactions(graph, ["warfarin", "Bactrim DS"], resolver=resolver)
    assert [p.input for p in report.products] == ["Bactrim DS"]
    assert {r.curie for r in report.resolved} == {"DRUGBANK:DB00682", SMX, TMP}
    pairs = [(x.drug_a, x.drug_b) for x in (*report.interactions, *report.also_documented)]
    # warfarin + sulfamethoxazole is found through the product ...
    assert any({a.id, b.id} == {"DRUGBANK:DB00682", SMX} and "Bactrim DS" in (a.product, b.product) for a, b in pairs)
    # ... and the product's own ingredients (a Major NDF-RT pair) are not reported against each other
    assert not any({a.id, b.id} == {SMX, TMP} for a, b in pairs)
    # listed separately, the same two ingredients are an interaction
    separate = check_interactions(graph, ["sulfamethoxazole", "trimethoprim"], resolver=resolver)
    assert [(x.tier, x.severity) for x in separate.interactions] == [("interrupt", "Major")]
    text = format_report(report)
    assert "Bactrim DS (Sulfamethoxazole)" in text and "combination products" in text


def test_curated_pair_with_literature_evidence_shows_both(graph: GraphStore, resolver: DrugResolver) -> None:
    report = check_interactions(graph, ["cimetidine", "altretamine"], resolver=resolver, max_evidence=2)
    (x,) = report.interactions
    assert x.curated and x.severity == "Moderate" and x.extracted_evidence_count == 1
    kinds = {(e.curated, e.source) for e in x.evidence}
    assert kinds == {(True, "ddinter"), (False, "re-minilm-test")}
    assert "1 extracted sentence" in x.why
    # without evidence rows the per-source statements and counts are still there
    lean = check_interactions(graph, ["cimetidine", "altretamine"], resolver=resolver, include_evidence=False)
    (y,) = lean.interactions
    assert y.evidence == () and y.said == x.said and y.extracted_evidence_count == 1
