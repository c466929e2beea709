"""Shared test fixtures: where ../shared lives, and skips when it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
FIXTURES = SHARED / "fixtures"
DATA = SHARED / "data"


def shared_path(relative: str) -> Path:
    """Return ../shared/<relative>, skipping the calling test when it is absent."""
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"{path} is not available (../shared is only beside the checkout in CI and development)")
    return path


@pytest.fixture
def fixtures_dir() -> Path:
    return shared_path("fixtures")


@pytest.fixture
def fingerspelling_dir() -> Path:
    return shared_path("data/fingerspelling")


@pytest.fixture
def boston_dir() -> Path:
    return shared_path("data/rwth-boston-104")


@pytest.fixture(scope="session")
def require_shared():
    """The `shared_path` function, for module- or session-scoped fixtures."""
    return shared_path
