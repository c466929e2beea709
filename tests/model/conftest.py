"""Fixtures for the model tests: small model configs over the tiny text model of tests/conftest.py.

The tiny text model is a real (randomly initialised) BERT saved with the all-MiniLM-L6-v2 tokenizer,
so save/load tests write kilobytes-to-megabytes instead of the 90 MB MiniLM weights.
"""

from __future__ import annotations

import pytest

from signclip.data.synthetic import synthetic_pose


@pytest.fixture(scope="session")
def tiny_config(small_model_config) -> dict:
    """A small signclip_v1 model config (as a mapping over signclip-small) using the tiny text model."""
    return small_model_config("tiny", tower_dim=16, max_frames=32, max_length=16)


@pytest.fixture(scope="session")
def tiny_model(tiny_config: dict):
    from signclip.model.hub import create_model

    return create_model(tiny_config)


@pytest.fixture(scope="session")
def poses() -> list:
    """Six synthetic Holistic poses of different glosses and lengths."""
    return [synthetic_pose(gloss=g, signer=g % 2, seed=g) for g in range(6)]
