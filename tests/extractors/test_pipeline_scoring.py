"""End-to-end scoring: the pure scorer on hand-built documents (exact counts), and the whole
path (raw text -> shipped pipeline -> scores) on the real BC5CDR excerpt."""

from __future__ import annotations

from extractors.pipeline_scoring import Grounder, evaluate_pipeline, score, strip
from schema.records import Document, EntityType, Mention, Relation
from tests.helpers import FIXTURES

TEXT = "Famotidine-associated delirium. Aspirin caused nausea."
# offsets:  Famotidine 0-10, delirium 22-30, Aspirin 32-39, nausea 47-53


def _m(label: EntityType, start: int, end: int, cid: str | None, source: str = "model") -> Mention:
    return Mention(label=label, text=TEXT[start:end], start=start, end=end, concept_id=cid, source=source)


GOLD = Document(
    id="PMID:1", source_format="pubtator", text=TEXT,
    mentions=(
        _m(EntityType.DRUG, 0, 10, "MESH:D015738", "gold:bc5cdr"),
        _m(EntityType.DISEASE, 22, 30, "MESH:D003693", "gold:bc5cdr"),
        _m(EntityType.DRUG, 32, 39, "MESH:D001241", "gold:bc5cdr"),
        _m(EntityType.DISEASE, 47, 53, "MESH:D009325", "gold:bc5cdr"),
    ),
    relations=(
        Relation(type="CAUSES_ADVERSE_EFFECT", head_id="MESH:D015738", head_label="Drug", tail_id="MESH:D003693",
                 tail_label="Disease", source="gold:bc5cdr"),
        Relation(type="CAUSES_ADVERSE_EFFECT", head_id="MESH:D001241", head_label="Drug", tail_id="MESH:D009325",
                 tail_label="Disease", source="gold:bc5cdr"),
    ),
)

# The pipeline's view: "Famotidine-associated" tagged as one unlinked span (a LOCAL id), delirium
# linked to HPO (with a MeSH xref), aspirin to DrugBank (with a MeSH xref), nausea linked to an HPO
# term without one; both CID relations predicted.
FAMO_LOCAL = "LOCAL:drug:famotidine-associated"
PRED = GOLD.model_copy(update={
    "mentions": (
        _m(EntityType.DRUG, 0, 21, None),
        _m(EntityType.SYMPTOM, 22, 30, "HP:0100598"),
        _m(EntityType.DRUG, 32, 39, "DRUGBANK:DB00945"),
        _m(EntityType.SYMPTOM, 47, 53, "HP:0002018"),
    ),
    "relations": (
        Relation(type="CAUSES_ADVERSE_EFFECT", head_id=FAMO_LOCAL, head_label="Drug", tail_id="HP:0100598",
                 tail_label="Symptom", source="model"),
        Relation(type="CAUSES_ADVERSE_EFFECT", head_id="DRUGBANK:DB00945", head_label="Drug", tail_id="HP:0002018",
                 tail_label="Symptom", source="model"),
    ),
})
XREFS = {"HP:0100598": ("MESH:D003693", "UMLS:C0011206"), "DRUGBANK:DB00945": ("MESH:D001241",)}


def test_scores_are_counted_at_concept_level_with_and_without_linking() -> None:
    grounder = Grounder(lambda cid: XREFS.get(cid, ()), ("MESH",))
    s = score([GOLD], [PRED], corpus="bc5cdr", grounder=grounder)
    drug, disease = s.concepts["Drug"], s.concepts["Disease"]
    assert (drug.tp, drug.fp, drug.fn) == (1, 1, 1)  # aspirin via DrugBank xref; the LOCAL span is wrong
    assert (disease.tp, disease.fp, disease.fn) == (1, 1, 1)  # delirium via HPO xref; nausea has none
    assert s.grounding == {"Drug": 0.5, "Disease": 0.5}
    assert s.pairs is not None and (s.pairs.tp, s.pairs.fp, s.pairs.fn) == (0, 0, 2)  # no pair grounds at both ends
    bypass = s.pairs_gold_spans
    assert bypass is not None and (bypass.tp, bypass.fp, bypass.fn) == (2, 0, 0)  # the relations were right
    assert "CID pairs, linking bypassed" in s.table()


def test_strip_keeps_text_and_drops_annotations() -> None:
    raw = strip(GOLD)
    assert raw.text == GOLD.text and raw.mentions == () and raw.relations == ()


def test_whole_path_on_real_abstracts() -> None:
    """Raw BC5CDR abstracts through the shipped models: scores exist for every measure and the
    gold pairs are all counted (recall's denominator is the corpus's, whatever is predicted)."""
    s = evaluate_pipeline(FIXTURES / "bc5cdr" / "CDR_TrainingSet_excerpt.PubTator.txt", corpus="bc5cdr")
    assert s.documents == 3
    assert s.pairs is not None and s.pairs.tp + s.pairs.fn > 0
    assert s.pairs_gold_spans is not None and s.pairs_gold_spans.tp + s.pairs_gold_spans.fn == s.pairs.tp + s.pairs.fn
    assert s.concepts["Drug"].tp > 0 and s.concepts["Disease"].tp > 0
