"""Typed configuration of the extraction pipeline (no heavy imports, so the CLI can build it cheaply)."""

from __future__ import annotations

from schema.records import Record


class PipelineConfig(Record):
    """What the pipeline runs. Built once at the edge (CLI/API) and passed down.

    Model fields take a trained medkg model directory (default: the small models shipped in the
    package, trained by ``medkg train`` on the packaged MiniLM base) or ``None`` to skip a stage.
    """

    ner_model: str | None = "default"
    re_model: str | None = "default"
    re_symptom_model: str | None = "default"
    """A second relation model whose tasks replace the main model's same tasks: by default the
    shipped document-scope disease -> sign/symptom model (RareDis dev Produces 65.2 F1 against
    47.6 for the main model's sentence-scope head, BENCHMARKS.md "Relation extraction"), which
    pairs a disease with the signs of neighbouring sentences too. ``"default"`` applies it only
    with the shipped main model (a model you trained keeps its own tasks); a directory applies
    that model; ``None`` leaves the main model's tasks alone."""
    kb: str | None = "default"
    link_threshold: float | None = None
    link_ambiguity_margin: float | None = None
    """``None``: the linker's default (:data:`extractors.linking.linker.AMBIGUITY_MARGIN`); 0 links
    an approximate match even when another concept matches about as well."""
    keep_unlinked: bool = False
    """Keep entities the linker could not ground (they reach the graph under a ``LOCAL:`` id).
    Off by default: on BC5CDR dev many unlinked spans are not concepts at all ("increase",
    "platelet", "pallidotomy") and none can be found by a vocabulary id, so they are dropped
    before relation extraction (BENCHMARKS.md, "End to end"). Diagnosis keeps them to list
    the findings it could not map."""
    link_senses: bool = True
    """Link a mention whose KB entry has several ids of one vocabulary to the one a training
    corpus annotated its text with (:meth:`extractors.linking.linker.Linker.sense`): "hepatotoxicity"
    is MeSH *Chemical and Drug Induced Liver Injury*, not DO *hepatitis*. Diagnosis turns it off:
    it looks findings up by the entry's HPO/DO ids."""
    re_threshold: float = 0.5
    """Minimum probability of the positive class for a relation to be kept: the argmax
    decision of a softmax classifier, i.e. no extra calibration is assumed."""
    assertion: bool = True
    abbreviations: bool = True
    device: str = "auto"
    bf16: bool | None = None
    """bf16 autocast for NER and RE inference; ``None`` = decided where the models are loaded
    (:func:`extractors.transformer.pick_inference_device`: CUDA with bf16, or a CPU that computes
    bf16 natively). Batch jobs fix it once at the start, so every shard of a job, resumed or run
    on other machines, uses the same precision."""
    batch_size: int = 32
    model_name: str = "medkg"
