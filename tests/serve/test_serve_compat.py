"""The original SignCLIP server's GET form answers as the original did, with a converted original checkpoint:
the raw pooled vectors (the original's `embed_text`/`embed_pose`, scored by dot product), while the POST form
keeps its L2-normalized default."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Iterator

import numpy as np
import pytest

from signclip.data.synthetic import synthetic_pose
from signclip.model.hub import load_model
from signclip.poses.io import pose_to_bytes

PROMPT = "<en> <ase> house"


@pytest.fixture(scope="module")
def converted_client(settings, converted_mmpt) -> Iterator:
    from fastapi.testclient import TestClient

    from signclip.serve.app import create_app

    served = dataclasses.replace(settings, models=[str(converted_mmpt.output)])
    with TestClient(create_app(served)) as client:
        yield client


def test_the_get_form_answers_the_converted_models_raw_vectors(converted_client, converted_mmpt):
    model = load_model(converted_mmpt.output)
    raw_texts = model.embed_texts([PROMPT, "<en> <ase> tree"], normalize=False)
    got = converted_client.request("GET", "/api/embed/text", json={"text": [PROMPT, "<en> <ase> tree"]})
    assert got.status_code == 200, got.text
    np.testing.assert_allclose(got.json()["embeddings"], raw_texts, rtol=1e-5, atol=1e-5)
    assert not np.allclose(np.linalg.norm(raw_texts, axis=1), 1.0, atol=1e-3)  # raw: not unit vectors

    pose = synthetic_pose(gloss=1, signer=0, seed=2)
    encoded = base64.b64encode(pose_to_bytes(pose)).decode()
    raw_pose = model.embed_poses([pose], normalize=False)
    got = converted_client.request("GET", "/api/embed/pose", json={"pose": encoded})
    np.testing.assert_allclose(got.json()["embeddings"], raw_pose, rtol=1e-5, atol=1e-5)
    dot = np.asarray(got.json()["embeddings"]) @ raw_texts.T  # the original's score_pose_and_text
    np.testing.assert_allclose(dot, raw_pose @ raw_texts.T, rtol=1e-4)


def test_the_post_form_keeps_its_normalized_default(converted_client):
    posted = converted_client.post("/api/embed/text", json={"text": PROMPT}).json()["embeddings"]
    assert np.linalg.norm(posted[0]) == pytest.approx(1.0, abs=1e-5)
