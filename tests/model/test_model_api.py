"""The embedding API: Poses and paths in, L2-normalized float32 out; padding, long and short poses."""

import subprocess
import sys

import numpy as np
import pytest
import torch

import signclip
from signclip.data.synthetic import synthetic_pose
from signclip.errors import ConfigError, PoseLayoutError
from signclip.model.hub import create_model
from signclip.poses.io import pose_from_array, read_pose, write_pose
from signclip.poses.transforms import PoseTensor, crop_pose, mirror_pose


@pytest.fixture(scope="module")
def small_model():
    """The default signclip-small (untrained pose tower, real all-MiniLM-L6-v2 text tower)."""
    return create_model("signclip-small")


def _long_pose(frames: int):
    pose = synthetic_pose(gloss=3, signer=1, seed=7)
    data = np.concatenate([np.ma.getdata(pose.body.data)] * (frames // pose.body.data.shape[0] + 1))[:frames]
    confidence = np.concatenate([pose.body.confidence] * (frames // len(pose.body.confidence) + 1))[:frames]
    return pose_from_array(pose.header, np.where(confidence[..., None] > 0, data, np.nan), 25.0)


def test_embed_poses_gives_normalized_float32_rows(small_model, poses):
    embeddings = small_model.embed_poses(poses)
    assert embeddings.shape == (len(poses), small_model.embed_dim) and embeddings.dtype == np.float32
    assert np.allclose(np.linalg.norm(embeddings, axis=1), 1, atol=1e-5)
    assert len({tuple(row.round(5)) for row in embeddings}) == len(poses)


def test_a_pose_embeds_the_same_whatever_shares_its_batch(small_model, poses):
    alone = small_model.embed_poses(poses[:1])
    together = small_model.embed_poses([poses[0], _long_pose(300), *poses[1:]], batch_size=3)
    reordered = small_model.embed_poses([*poses[::-1], _long_pose(120)], batch_size=len(poses) + 1)
    assert np.abs(alone[0] - together[0]).max() < 1e-5
    assert np.abs(alone[0] - reordered[len(poses) - 1]).max() < 1e-5


def test_paths_and_poses_embed_alike(small_model, poses, tmp_path):
    paths = [write_pose(pose, tmp_path / f"{i}.pose") for i, pose in enumerate(poses[:2])]
    assert np.abs(small_model.embed_poses(paths) - small_model.embed_poses(poses[:2])).max() < 1e-5


def test_long_poses_are_windowed_and_averaged(tiny_model):
    pose = _long_pose(80)  # tiny_model: max_frames 32, long_pose "windows" (stride 16)
    tensor = tiny_model.preprocess(pose)
    windows = [PoseTensor(tensor.data[s : s + 32], tensor.mask[s : s + 32]) for s in (0, 16, 32, 48)]
    expected = tiny_model.embed_pose_tensors(windows).mean(axis=0)
    expected /= np.linalg.norm(expected)
    assert np.abs(tiny_model.embed_poses([pose])[0] - expected).max() < 1e-5


def test_long_poses_can_be_subsampled_instead(tiny_config):
    model = create_model({**tiny_config, "long_pose": "subsample"})
    embedding = model.embed_poses([_long_pose(500)])
    assert embedding.shape == (1, 16) and np.isfinite(embedding).all()
    tensor = model.preprocess(_long_pose(500))
    evenly = np.round(np.arange(32) * 499 / 31).astype(int)  # 32 frames from first to last, evenly spaced
    expected = model.embed_pose_tensors([PoseTensor(tensor.data[evenly], tensor.mask[evenly])])
    assert np.abs(embedding - expected).max() < 1e-5
    assert np.abs(embedding - model.embed_pose_tensors([PoseTensor(tensor.data[:32], tensor.mask[:32])])).max() > 1e-3


def test_one_frame_poses_embed_and_zero_frame_poses_are_refused(tiny_model):
    pose = synthetic_pose(gloss=0, signer=0, seed=0)
    assert np.isfinite(tiny_model.embed_poses([crop_pose(pose, 0, 1)])).all()
    with pytest.raises(PoseLayoutError, match="0 frames"):
        tiny_model.embed_poses([crop_pose(pose, 0, 0)])


def test_a_preprocessing_that_does_not_fit_input_features_is_a_clear_error(tiny_config, poses):
    model = create_model({**tiny_config, "preprocess": "fingerclip"})
    with pytest.raises(PoseLayoutError, match=r"gives 63 features .* expects input_features=609"):
        model.embed_poses(poses[:1])


def test_a_pose_file_that_is_missing_is_named(tiny_model, tmp_path):
    with pytest.raises(signclip.errors.PoseFileError, match=r"nope\.pose"):
        tiny_model.embed_poses([tmp_path / "nope.pose"])


def test_embed_texts_is_normalized_and_independent_of_padding(small_model):
    texts = ["<en> <ase> house", "<en> <ase> a rather long prompt about the weather in spring", "sun"]
    together = small_model.embed_texts(texts)
    alone = np.stack([small_model.embed_texts([t])[0] for t in texts])
    assert together.shape == (3, small_model.embed_dim) and together.dtype == np.float32
    assert np.allclose(np.linalg.norm(together, axis=1), 1, atol=1e-5)
    assert np.abs(together - alone).max() < 1e-5


def test_the_text_tower_keeps_minilm_meaning_before_training(small_model):
    tokens = small_model.tokenize(["a house", "the house", "a banana"])
    with torch.no_grad():
        pooled = torch.nn.functional.normalize(small_model.text_encoder(**tokens), dim=-1)
    similarity = pooled @ pooled.T
    assert similarity[0, 1] > similarity[0, 2] + 0.1


def test_score_is_the_cosine_of_the_two_embeddings(small_model, poses):
    texts = ["<en> <ase> house", "<en> <ase> sun"]
    expected = small_model.embed_texts(texts) @ small_model.embed_poses(poses[:1])[0]
    assert np.allclose(small_model.score(poses[0], texts), expected, atol=1e-6)


def test_module_level_functions_take_a_model(tiny_model, poses):
    assert np.allclose(signclip.embed_poses(poses[:2], model=tiny_model), tiny_model.embed_poses(poses[:2]))
    assert np.allclose(signclip.embed_texts(["a"], model=tiny_model), tiny_model.embed_texts(["a"]))
    assert signclip.score(poses[0], ["a", "b"], model=tiny_model).shape == (2,)
    assert np.allclose(signclip.score(poses[0], ["a", "b"], model=tiny_model), tiny_model.score(poses[0], ["a", "b"]))
    assert "signclip-small" in signclip.list_models()


def test_embedding_leaves_the_training_mode_as_it_was(tiny_model, poses):
    tiny_model.train()
    try:
        tiny_model.embed_poses(poses[:1])
        assert tiny_model.training
    finally:
        tiny_model.eval()


def test_untrained_models_are_reproducible_from_their_seed(tiny_config, poses):
    first = create_model(tiny_config, seed=3).embed_poses(poses[:1])
    again = create_model(tiny_config, seed=3).embed_poses(poses[:1])
    other = create_model(tiny_config, seed=4).embed_poses(poses[:1])
    assert np.array_equal(first, again) and not np.allclose(first, other)


def test_a_frozen_text_tower_gets_no_gradients_and_no_dropout(tiny_config):
    model = create_model({**tiny_config, "freeze_text": True}).train()
    assert not any(p.requires_grad for p in model.text_encoder.model.parameters())
    assert not model.text_encoder.model.training
    assert all(p.requires_grad for p in model.text_projection.parameters())


def test_the_logit_scale_starts_at_one_over_0_07_and_is_clamped_at_100(tiny_model):
    assert float(tiny_model.scale().detach()) == pytest.approx(1 / 0.07, rel=1e-5)
    with torch.no_grad():
        tiny_model.logit_scale.fill_(10.0)
    try:
        assert float(tiny_model.scale().detach()) == pytest.approx(100.0)
    finally:
        with torch.no_grad():
            tiny_model.logit_scale.fill_(tiny_model.config.logit_scale_init)


def test_an_unknown_text_model_folder_is_a_config_error(tiny_config, tmp_path):
    with pytest.raises(ConfigError, match=r"text_encoder\.name"):
        create_model({**tiny_config, "text_encoder": {"name": str(tmp_path)}})


def test_the_house_fixture_scores_against_texts(small_model, fixtures_dir):
    texts = ["<en> <ase> house", "<en> <ase> sun"]
    scores = small_model.score(fixtures_dir / "house.pose", texts)
    assert scores.shape == (2,) and np.isfinite(scores).all() and (np.abs(scores) <= 1 + 1e-6).all()
    house = read_pose(fixtures_dir / "house.pose")
    expected = small_model.embed_texts(texts) @ small_model.embed_poses([house])[0]
    assert np.allclose(scores, expected, atol=1e-6)
    mirrored = small_model.score(mirror_pose(house), texts)
    assert np.abs(mirrored - scores).max() > 1e-4  # the pose itself reaches the score, not only its shape


def test_importing_signclip_stays_light():
    code = "import signclip, sys; print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_one_pose_or_one_text_instead_of_a_list_is_refused(tiny_model, poses):
    with pytest.raises(TypeError, match="list"):
        tiny_model.embed_poses("sign.pose")
    with pytest.raises(TypeError, match="list"):
        tiny_model.embed_poses(poses[0])
    with pytest.raises(TypeError, match="list"):
        tiny_model.embed_texts("house")
