"""Shared fixtures for the loader tests: where the tiny fixtures and the shared data live."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from loaders.errors import RecordError

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = REPO_ROOT / "tests" / "fixtures"
SHARED_DATA = (REPO_ROOT / ".." / "shared" / "data").resolve()


@pytest.fixture
def fixtures() -> Path:
    """``tests/fixtures``: tiny real excerpts, each folder with a SOURCE.md."""
    return FIXTURES


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` (full corpora); tests using it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(
            f"shared data folder not found at {SHARED_DATA} (only CI and dev boxes have it)"
        )
    return SHARED_DATA


@pytest.fixture
def collect() -> tuple[list[RecordError], Callable[[RecordError], None]]:
    """A list and an ``on_error`` callback appending to it, for skip-mode tests."""
    errors: list[RecordError] = []
    return errors, errors.append
