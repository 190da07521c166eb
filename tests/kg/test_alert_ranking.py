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
    # only trailing counter-ions go: distinct substances and metabolites keep their own key
    assert substance_key("Zinc protoporphyrin") == "zinc protoporphyrin"
    assert substance_key("Hydrogen iodide") == "hydrogen iodide"
    assert substance_key("zidovudine diphosphate") == "zidovudine diphosphate"
    assert substance_key("methylprednisolone sodium succinate") == "methylprednisolone"
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
    assert bactrim.labelled and slash.labelled  # slash: the same ingredients as a labelled product
    # a part that does not resolve is reported, the others are still checked: nothing dropped silently
    assert isinstance(bad, ResolvedProduct) and [i.curie for i in bad.ingredients] == [SMX]
    assert [u.input for u in bad.unresolved] == ["qqqzzxv"]
    # strengths are removed per part, after splitting (RxNorm-style lines keep both ingredients)
    for text in ("hydrocodone 10 mg/acetaminophen 325 mg", "Sulfamethoxazole 800 MG / Trimethoprim 160 MG Oral Tablet"):
        product = resolver.resolve_one(text)
        assert isinstance(product, ResolvedProduct) and len(product.ingredients) == 2, text
    # two drugs typed in one field are two drugs, not a labelled product
    pair = resolver.resolve_one("warfarin and aspirin")
    assert isinstance(pair, ResolvedProduct) and not pair.labelled and len(pair.ingredients) == 2
    too_many = resolver.resolve_one("/".join(["aspirin"] * 12))
    assert isinstance(too_many, UnresolvedDrug) and "at most" in too_many.reason


def test_salts_reach_the_parent_and_each_other(resolver: DrugResolver) -> None:
    lithium, carbonate = resolver.resolve(["lithium", "lithium carbonate"])
    assert isinstance(lithium, ResolvedDrug) and isinstance(carbonate, ResolvedDrug)
    assert LITHIUM in lithium.equivalent_ids and LITHIUM in carbonate.equivalent_ids
    assert carbonate.curie in lithium.equivalent_ids


def test_suggestions_only_when_likely_right(resolver: DrugResolver) -> None:
    near, far, brand = resolver.resolve(["ommeprazzolle", "xyzzy", "Humulin"])
    assert isinstance(near, UnresolvedDrug) and near.suggestions[0].name == "Omeprazole"
    assert isinstance(far, UnresolvedDrug) and far.suggestions == ()
    # a brand the dictionary lacks is in the brand table, not typo-matched to Paromomycin ("humatin")
    assert isinstance(brand, ResolvedDrug) and brand.name == "Insulin human" and brand.method == "brand_table"


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


def test_drugs_typed_in_one_field_still_interact(graph: GraphStore, resolver: DrugResolver) -> None:
    report = check_interactions(graph, ["warfarin and aspirin"], resolver=resolver)
    assert [(x.tier, x.severity) for x in report.interactions] == [("interrupt", "Major")]


def test_ungraded_curated_listing_does_not_demote_extracted_evidence(graph: GraphStore, resolver: DrugResolver) -> None:
    # a real DDI-2013 Train sentence naming verapamil raising digoxin levels, as the relation
    # extractor would write it; the pair is otherwise only in DrugBank 4.0 (Unknown)
    text = ("Quinidine, verapamil, amiodarone, propafenone, indomethacin, itraconazole, alprazolam, and "
            "spironolactone raise the serum digoxin concentration due to a reduction in clearance and/or in volume "
            "of distribution of the drug, with the implication that digitalis intoxication may result.")
    head, tail = sorted((DIGOXIN, VERAPAMIL))
    graph.write(build_batch([Document(
        id="DDI-DrugBank.d450.s2", source_format="ddi2013", text=text,
        mentions=(Mention(label=EntityType.DRUG, text="verapamil", start=11, end=20, concept_id=VERAPAMIL,
                          concept_name="Verapamil", score=0.99, source="re-minilm-test"),
                  Mention(label=EntityType.DRUG, text="digoxin", start=text.index("digoxin"),
                          end=text.index("digoxin") + 7, concept_id=DIGOXIN, concept_name="Digoxin", score=0.99,
                          source="re-minilm-test")),
        relations=(Relation(type="INTERACTS_WITH", head_id=head, head_label="Drug", tail_id=tail, tail_label="Drug",
                            score=0.91, source="re-minilm-test", model="re-minilm-test", evidence_text=text,
                            evidence_start=0, evidence_end=len(text), properties={"interaction_type": "mechanism"}),),
    )]))
    (x,) = check_interactions(graph, ["digoxin", "verapamil"], resolver=resolver).interactions
    assert (x.tier, x.severity, x.severity_basis, x.curated) == ("warn", "Moderate", "model", True)
    assert [(s.source, s.severity) for s in x.said] == [("pddi-drugbank", "Unknown")]


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


def test_patient_combination_products_are_checked_per_ingredient(graph: GraphStore, resolver: DrugResolver) -> None:
    # Synthea-style RxNorm-coded combinations that share an ingredient must not collapse into one drug
    meds = [("RXNORM:1049621", "Oxycodone Hydrochloride 5 MG / Acetaminophen 325 MG Oral Tablet"),
            ("RXNORM:856987", "Hydrocodone Bitartrate 5 MG / Acetaminophen 325 MG Oral Tablet")]
    graph.write(build_batch([Document(
        id="fhir:Patient/pat-combo", source_format="fhir", kind="record", patient_id="pat-combo",
        mentions=tuple(Mention(label=EntityType.DRUG, text=n, concept_id=c, concept_name=n, source="fhir")
                       for c, n in meds))]))
    report = check_interactions(graph, patient_id="pat-combo", resolver=resolver)
    names = sorted({r.name for r in report.resolved})
    assert names == ["Acetaminophen", "Hydrocodone", "Oxycodone"]
    assert [d.name for d in report.duplicates] == ["Acetaminophen"]  # the shared ingredient, checked once
