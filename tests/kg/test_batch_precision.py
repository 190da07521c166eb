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
