"""API configuration: a typed object built once from the environment (or flags) and passed down."""

from __future__ import annotations

import os
from typing import Any

from pydantic import Field, SecretStr, ValidationError

from kg.config import QueryLimits
from kg.errors import ConfigError
from schema.records import Record

API_VERSION = "1"
MAX_DRUGS = 100
"""A medication list longer than this is almost certainly a mistake (or abuse); polypharmacy
lists in practice hold 5-20 drugs."""
MAX_NAME = 200
MAX_TEXT = 20_000
"""Free-text findings: a long clinical note is ~10k characters; more belongs in a batch job."""
MAX_FINDINGS = 200


class ApiSettings(Record):
    """API configuration, built once (from the environment by :meth:`from_env`)."""

    api_keys: tuple[SecretStr, ...] = ()
    allow_no_auth: bool = False
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    cors_origins: tuple[str, ...] = ()
    query: QueryLimits = QueryLimits()
    """Limits of ``/v1/query`` (time, memory, rows, response size, workers): ``MEDKG_QUERY_*``."""
    diagnosis_timeout_s: float = Field(default=10.0, ge=0, allow_inf_nan=False)
    """Wall-clock limit of one ``/v1/diagnosis/rank`` call (``MEDKG_API_DIAGNOSIS_TIMEOUT_S``;
    ``0``: none). With the curated knowledge, models loaded, on this project's 2-core CPU
    (``benchmarks/bench_diagnosis_limits.py``, BENCHMARKS.md): a 3,725-character ACI-Bench note
    ranks in 0.4 s, 20,000 characters of notes (the API's cap) in 1.3 s, and 200 findings of 200
    characters built to defeat the name lookup in 7.5 s without a limit (5.0 s, stopped, at 5 s).
    Past the limit the call stops and answers 400."""
    diagnosis_workers: int = Field(default=2, ge=1, le=64)
    """Diagnosis calls that run at once (``MEDKG_API_DIAGNOSIS_WORKERS``); a call waits
    ``query.queue_timeout_s`` for a slot, then the API answers 503 with ``Retry-After``."""
    warm: bool = False
    """Build the drug resolver and the diagnosis index in a background thread at start-up, so the
    first requests do not pay for them (seconds to a minute on a curated graph); ``/v1/health``
    reports ``ready`` once done. Requests arriving earlier wait for the build, as without warming."""

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, *, warm_default: bool = False, **overrides: Any) -> ApiSettings:
        """Settings from ``MEDKG_API_*`` variables; ``overrides`` (command-line flags) win over
        the environment, which wins over ``warm_default`` (on for ``medkg serve``)."""
        env = dict(os.environ) if env is None else env
        keys = tuple(SecretStr(k.strip()) for k in env.get("MEDKG_API_KEYS", "").split(",") if k.strip())
        origins = tuple(o.strip() for o in env.get("MEDKG_API_CORS_ORIGINS", "").split(",") if o.strip())
        values: dict[str, Any] = {"api_keys": keys, "cors_origins": origins, "warm": warm_default,
                                  "query": QueryLimits.from_env(env)}
        if env.get("MEDKG_API_MAX_BODY"):
            try:
                values["max_body_bytes"] = int(env["MEDKG_API_MAX_BODY"])
            except ValueError:
                raise ConfigError("MEDKG_API_MAX_BODY must be a number of bytes") from None
        diagnosis = {"diagnosis_timeout_s": "MEDKG_API_DIAGNOSIS_TIMEOUT_S",
                     "diagnosis_workers": "MEDKG_API_DIAGNOSIS_WORKERS"}
        values.update({name: env[var].strip() for name, var in diagnosis.items() if env.get(var, "").strip()})
        variables = {**diagnosis, "max_body_bytes": "MEDKG_API_MAX_BODY"}
        if env.get("MEDKG_API_WARM"):
            values["warm"] = env["MEDKG_API_WARM"].strip().lower() in ("1", "true", "yes", "on")
        values.update(overrides)
        try:
            return cls(**values)
        except ValidationError as exc:
            first = exc.errors()[0]
            name = str(first["loc"][0]) if first["loc"] else "?"
            where = variables[name] if name in variables and name not in overrides else name
            raise ConfigError(f"invalid API setting {where}: {first['msg']}") from None

    def check(self) -> None:
        """Refuse an unauthenticated API unless that was asked for explicitly."""
        if not self.api_keys and not self.allow_no_auth:
            raise ConfigError("no API keys configured: set MEDKG_API_KEYS=key1,key2 (or --no-auth for local experiments)")
        short = [i for i, k in enumerate(self.api_keys) if len(k.get_secret_value()) < 16]
        if short:
            raise ConfigError(f"API keys must be at least 16 characters (key number(s) {', '.join(str(i + 1) for i in short)} are shorter)")
