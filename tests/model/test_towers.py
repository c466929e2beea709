"""Several pose towers in one model (`towers`): an ensemble whose similarity is the mean of its towers' cosines."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from signclip.errors import ConfigError
from signclip.model.hub import create_model, load_model, save_model
from signclip.model.loss import contrastive_loss


@pytest.fixture(scope="module")
def towers_model(tiny_config):
    return create_model({**tiny_config, "name": "tiny-towers", "towers": 3})


def test_embeddings_hold_one_normalized_slice_per_tower(towers_model, poses):
    embeddings = towers_model.embed_poses(poses[:4])
    assert towers_model.embed_dim == 3 * 16 and embeddings.shape == (4, 48)
    slices = embeddings.reshape(4, 3, 16)
    assert np.allclose(np.linalg.norm(slices, axis=-1), 1 / np.sqrt(3), atol=1e-5)
    assert np.allclose(np.linalg.norm(embeddings, axis=-1), 1, atol=1e-5)
    assert not np.allclose(slices[:, 0], slices[:, 1], atol=1e-3)  # the towers start from different weights


def test_similarity_is_the_mean_of_the_towers_cosines(towers_model, poses):
    pose_embeddings = towers_model.embed_poses(poses[:2]).reshape(2, 3, 16) * np.sqrt(3)
    text_embeddings = towers_model.embed_texts(["a house", "a tree"]).reshape(2, 3, 16) * np.sqrt(3)
    per_tower = np.einsum("pke,tke->ptk", pose_embeddings, text_embeddings)
    scores = towers_model.score(poses[0], ["a house", "a tree"])
    assert np.allclose(scores, per_tower[0].mean(axis=-1), atol=1e-5)


def test_a_tower_model_does_not_depend_on_its_batch(towers_model, poses):
    alone = towers_model.embed_poses(poses[:1])
    together = towers_model.embed_poses(poses[::-1], batch_size=4)
    assert np.abs(alone[0] - together[-1]).max() < 1e-5


def test_a_tower_model_round_trips(towers_model, poses, tmp_path):
    loaded = load_model(save_model(towers_model, tmp_path / "towers"))
    assert loaded.config.towers == 3
    assert np.array_equal(loaded.embed_poses(poses[:2]), towers_model.embed_poses(poses[:2]))


def test_the_loss_of_towers_is_the_mean_of_each_towers_loss():
    generator = torch.Generator().manual_seed(0)
    poses = [F.normalize(torch.randn(5, 4, generator=generator), dim=-1) for _ in range(2)]
    texts = [F.normalize(torch.randn(5, 4, generator=generator), dim=-1) for _ in range(2)]
    joined_poses = torch.cat(poses, dim=-1) / np.sqrt(2)
    joined_texts = torch.cat(texts, dim=-1) / np.sqrt(2)
    expected = (contrastive_loss(poses[0], texts[0], 10.0) + contrastive_loss(poses[1], texts[1], 10.0)) / 2
    assert torch.allclose(contrastive_loss(joined_poses, joined_texts, 10.0, towers=2), expected)


def test_a_tower_learns_only_from_its_own_loss(towers_model):
    frames, mask = torch.randn(4, 10, towers_model.config.input_features), torch.ones(4, 10, dtype=torch.bool)
    towers_model.zero_grad()
    pose = towers_model.encode_poses(frames, mask).unflatten(-1, (3, 16))
    pose[:, 0].sum().backward()
    grads = [tower.frame_mlp.fc1.weight.grad for tower in towers_model.pose_encoder.towers]
    assert grads[0].abs().sum() > 0
    assert all(grad is None or not grad.any() for grad in grads[1:])
    towers_model.zero_grad()


def test_towers_must_be_positive(tiny_config):
    with pytest.raises(ConfigError, match="towers must be at least 1"):
        create_model({**tiny_config, "towers": 0})
