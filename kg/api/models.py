"""Request and response bodies of the API: field limits live here, so a 4xx names the bad field."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from kg.api.settings import MAX_DRUGS, MAX_FINDINGS, MAX_NAME, MAX_TEXT
from schema.records import Record



_Request = Record


class InteractionRequest(_Request):
    """Either a medication list (names, brands or CURIEs) or a patient pseudonym."""

    drugs: list[str] = Field(default_factory=list, max_length=MAX_DRUGS, description="drug names, brands or CURIEs")
    patient_id: str | None = Field(default=None, min_length=1, max_length=MAX_NAME)
    include_evidence: bool = True
    max_evidence: int = Field(default=3, ge=0, le=20)

    @field_validator("drugs")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        for i, name in enumerate(value):
            if not name.strip() or len(name) > MAX_NAME:
                raise ValueError(f"drugs[{i}] must be 1-{MAX_NAME} characters")
        return value


class DiagnosisRequest(_Request):
    """Free text and/or coded findings; negated findings become exclusions."""

    text: str | None = Field(default=None, max_length=MAX_TEXT, description="free-text findings (never logged)")
    findings: list[str] = Field(default_factory=list, max_length=MAX_FINDINGS, description="HP:/SYMP:/MESH: CURIEs or names")
    excluded: list[str] = Field(default_factory=list, max_length=MAX_FINDINGS, description="findings known to be absent")
    age: int | None = Field(default=None, ge=0, le=130)
    sex: Literal["female", "male", "other", "unknown"] | None = None
    top_k: int = Field(default=10, ge=1, le=100)

    @field_validator("findings", "excluded")
    @classmethod
    def _codes(cls, value: list[str]) -> list[str]:
        for i, item in enumerate(value):
            if not item.strip() or len(item) > MAX_NAME:
                raise ValueError(f"item {i} must be 1-{MAX_NAME} characters")
        return value


class QueryRequest(_Request):
    cypher: str = Field(min_length=1, max_length=100_000, description="one read-only Cypher statement")
    params: dict[str, Any] = Field(default_factory=dict, description="query parameters ($name in the text)")


class QueryResponse(BaseModel):
    columns: list[str]
    rows: list[dict[str, Any]]
    truncated: bool
    """True when a cap stopped the reading; ``truncated_by`` says which (``rows`` or ``bytes``)."""
    truncated_by: Literal["rows", "bytes"] | None = None


class Health(BaseModel):
    status: Literal["ok"]
    store: str
    version: str
    ready: bool
    """Warm-up finished (see ``ApiSettings.warm``): the drug resolver is built and the diagnosis
    index is built or known to be empty (diagnosis then answers 404 per request). Requests work
    either way; before this they wait for the part they need."""
    diagnosis: Literal["pending", "ready", "empty", "failed"] = "pending"
