"""A batch job decides its inference precision once, on the driver, and records it."""

from __future__ import annotations

import pytest

from extractors.config import PipelineConfig
from kg.batch.engine import resolve_models


@pytest.mark.parametrize(("env", "want"), [("0", False), ("1", True)])
def test_the_driver_fixes_bf16_for_every_shard(monkeypatch: pytest.MonkeyPatch, env: str, want: bool) -> None:
    monkeypatch.setenv("MEDKG_CPU_BF16", env)
    resolved = resolve_models(PipelineConfig(device="cpu"))
    assert resolved.bf16 is want and resolved.model_dump()["bf16"] is want  # what the manifest stores
    # an explicit choice and a pipeline without models are left as they are
    assert resolve_models(PipelineConfig(device="cpu", bf16=not want)).bf16 is (not want)
    assert resolve_models(PipelineConfig(ner_model=None)).bf16 is None


def test_an_unknown_override_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from extractors.transformer import pick_inference_device

    monkeypatch.setenv("MEDKG_CPU_BF16", "ture")
    with pytest.raises(ValueError, match="MEDKG_CPU_BF16 must be"):
        pick_inference_device("cpu")


def test_the_symptom_model_is_resolved_to_a_path_and_fingerprinted_only_beside_the_shipped_main_model(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``re_symptom_model="default"`` is the shipped document-scope model with the shipped main
    model, nothing beside a model of one's own; the manifest records the resolved path and the
    model's digest, so a resume with other symptom weights is refused like any model change."""
    from pathlib import Path

    from extractors.relations.model import DEFAULT_RE_MODEL, DEFAULT_SYMPTOM_RE_MODEL
    from kg.batch.engine import model_fingerprints

    shipped = resolve_models(PipelineConfig(device="cpu", bf16=False))
    assert shipped.re_symptom_model == DEFAULT_SYMPTOM_RE_MODEL and Path(shipped.re_symptom_model).is_dir()
    assert resolve_models(PipelineConfig(re_model=DEFAULT_RE_MODEL, bf16=False)).re_symptom_model == DEFAULT_SYMPTOM_RE_MODEL
    own = tmp_path / "my-re"
    assert resolve_models(PipelineConfig(re_model=str(own), bf16=False)).re_symptom_model is None
    assert resolve_models(PipelineConfig(re_model=None, bf16=False)).re_symptom_model is None
    assert resolve_models(PipelineConfig(re_symptom_model=None, bf16=False)).re_symptom_model is None
    assert resolve_models(PipelineConfig(re_model=str(own), re_symptom_model=str(own), bf16=False)).re_symptom_model == str(own)
    prints = model_fingerprints(PipelineConfig(bf16=False))
    assert prints["re_symptom"]["path"] == str(Path(DEFAULT_SYMPTOM_RE_MODEL).resolve())
    assert "adapter_model.safetensors" in prints["re_symptom"]["files"]
    assert "re_symptom" not in model_fingerprints(PipelineConfig(re_symptom_model=None, bf16=False))
