"""pose-dtw, the training-free pose index: vectors whose distances follow DTW's, fingerprinted, no text."""

from __future__ import annotations

import numpy as np
import pytest

from signclip.data.synthetic import synthetic_pose
from signclip.evaluation.dtw import dtw_distance_matrix
from signclip.model.hub import load_model
from signclip.model.pose_dtw import PoseDTWConfig, PoseDTWIndex, TextSearchError
from signclip.poses.transforms.timing import interpolate_frames


def test_it_loads_by_name_and_embeds_poses_into_fixed_size_vectors():
    index = load_model("pose-dtw")
    assert isinstance(index, PoseDTWIndex) and index.metric == "l2" and index.provenance.kind == "training-free"
    vectors = index.embed_poses([synthetic_pose(0, 0), synthetic_pose(1, 0)])
    assert vectors.shape == (2, 256) and vectors.dtype == np.float32 and np.isfinite(vectors).all()
    assert index.embed_poses([]).shape == (0, 256)


def test_a_slower_performance_of_a_sign_stays_nearer_than_another_sign():
    index = PoseDTWIndex()
    sign, other = synthetic_pose(0, 0), synthetic_pose(3, 0)
    frames = sign.body.data.shape[0]
    slower = interpolate_frames(sign, np.linspace(0, frames - 1, int(frames * 1.6)), float(sign.body.fps))
    vectors = index.embed_poses([sign, slower, other])
    assert np.linalg.norm(vectors[0] - vectors[1]) < 0.5 * np.linalg.norm(vectors[0] - vectors[2])
    tensors = [index.preprocess(pose)[0] for pose in (sign, slower, other)]
    dtw = dtw_distance_matrix(tensors[:1], tensors[1:])[0]
    assert dtw[0] < dtw[1]  # DTW agrees on which is nearer


def test_the_fingerprint_follows_the_settings_and_text_is_refused():
    assert PoseDTWIndex().known_fingerprint == PoseDTWIndex().known_fingerprint
    assert PoseDTWIndex(PoseDTWConfig(frames=16)).known_fingerprint != PoseDTWIndex().known_fingerprint
    with pytest.raises(TextSearchError, match="text search needs a trained or converted model: 'pose-dtw'"):
        PoseDTWIndex().embed_texts(["house"])


def test_2d_tracks_take_their_layouts_preset(boston_dir):
    from signclip.poses.io import read_keypoint_csv

    pose = read_keypoint_csv(boston_dir / "hands_condensed.csv", group_column="video")["2"]
    tensor, preset = PoseDTWIndex().preprocess(pose)
    assert preset == "keypoints_2d" and tensor.data.shape[1] == 6
    assert np.isfinite(PoseDTWIndex().embed_poses([pose])).all()
