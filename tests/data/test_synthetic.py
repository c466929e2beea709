"""The synthetic signer: deterministic, Holistic-shaped, and with class structure a model can learn."""

from __future__ import annotations

import numpy as np

from signclip.data.manifest import read_manifest
from signclip.data.synthetic import generate_dataset, synthetic_pose
from signclip.poses.io import read_pose
from signclip.poses.transforms import Pipeline


def test_deterministic_under_seed():
    first, second = synthetic_pose(3, 1, seed=7), synthetic_pose(3, 1, seed=7)
    np.testing.assert_array_equal(np.ma.getdata(first.body.data), np.ma.getdata(second.body.data))
    other = synthetic_pose(3, 1, seed=8)
    assert first.body.data.shape != other.body.data.shape or not np.allclose(
        np.ma.getdata(first.body.data), np.ma.getdata(other.body.data)
    )


def test_holistic_shape_and_hands():
    one_handed, two_handed = synthetic_pose(1, 0), synthetic_pose(3, 0)
    assert [len(c.points) for c in one_handed.header.components] == [33, 468, 21, 21]
    left = slice(33 + 468, 33 + 468 + 21)
    right = slice(33 + 468 + 21, None)
    assert (one_handed.body.confidence[:, 0, left] == 0).all()
    assert (one_handed.body.confidence[:, 0, right] == 1).all()
    assert (two_handed.body.confidence[:, 0, left] == 1).all()


def _features(gloss: int, signer: int, seed: int) -> np.ndarray:
    tensor = Pipeline.from_config("hands")(synthetic_pose(gloss, signer, seed)).data
    return np.concatenate([tensor.mean(axis=0), tensor.std(axis=0)])


def test_class_structure_across_signers():
    """Nearest neighbour on simple pooled features recovers the gloss across signers, far above chance."""
    glosses, signers = 8, 3
    features = np.array([_features(g, s, 0) for g in range(glosses) for s in range(signers)])
    labels = np.repeat(np.arange(glosses), signers)
    signer_of = np.tile(np.arange(signers), glosses)
    distances = ((features[:, None] - features[None]) ** 2).sum(-1)
    distances[signer_of[:, None] == signer_of[None]] = np.inf  # only other signers count
    accuracy = (labels[distances.argmin(axis=1)] == labels).mean()
    assert accuracy > 0.6  # chance is 1/8


def test_signers_differ():
    a, b = synthetic_pose(0, 0), synthetic_pose(0, 1)
    shoulders_a = np.ma.getdata(a.body.data)[0, 0, 11:13, 0]
    shoulders_b = np.ma.getdata(b.body.data)[0, 0, 11:13, 0]
    assert abs(np.ptp(shoulders_a) - np.ptp(shoulders_b)) > 1


def test_generate_dataset(tmp_path):
    manifest_path = generate_dataset(tmp_path, glosses=4, signers=2, repetitions=2)
    manifest = read_manifest(manifest_path, check_files=True)
    assert len(manifest) == 16
    assert manifest["id"].is_unique
    assert set(manifest["split"]) == {"train", "test"}
    assert set(manifest.loc[manifest["split"] == "test", "signer"]) == {"signer-1"}
    assert manifest["gloss"].nunique() == 4
    pose = read_pose(manifest["pose_path"][0])
    assert pose.body.data.shape[2] == 543
