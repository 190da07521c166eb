"""The vignette sets of ``bench_vignettes`` are well formed and no diagnosis is in two of them
(a repeated diagnosis would make a held-back set partly a development one; a broad accepted name
such as "pneumonia" may be shared by two sets' different diagnoses)."""

from __future__ import annotations

import re

import pytest
import yaml

from benchmarks.bench_vignettes import SETS

FIELDS = {"id", "kind", "text", "age", "sex", "diagnosis", "accept", "ids"}


def _load(name: str) -> list[dict]:
    return yaml.safe_load(SETS[name].read_text(encoding="utf-8"))["vignettes"]


@pytest.mark.parametrize("name", sorted(SETS))
def test_a_set_is_well_formed(name: str) -> None:
    cases = _load(name)
    assert cases, name
    ids = [c["id"] for c in cases]
    assert len(ids) == len(set(ids)), name
    for c in cases:
        assert FIELDS <= set(c), (name, c.get("id"))
        assert c["kind"] in ("common", "rare"), c["id"]
        assert c["sex"] in ("male", "female"), c["id"]
        assert isinstance(c["age"], int) and 0 <= c["age"] <= 120, c["id"]
        assert c["accept"] and all(a == a.lower() for a in c["accept"]), c["id"]
        assert all(re.fullmatch(r"[A-Z]+:\S+", i) for i in c["ids"]), c["id"]


def test_no_diagnosis_is_in_two_sets() -> None:
    def key(s: str) -> str:
        return re.sub(r"[^a-z0-9]+", " ", s.lower()).strip()

    owner: dict[str, str] = {}
    for name in sorted(SETS):
        for c in _load(name):
            said = key(c["diagnosis"])
            assert owner.setdefault(said, name) == name, (said, owner[said], name)
