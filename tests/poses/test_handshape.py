"""The 2D handshape steps (normalize_hands_2d, frames_with, even_frames, dominant_hand by frames) and the
handshape_2d preset of the strongest simple DTW baseline."""

from __future__ import annotations

import numpy as np
import pytest
from pose_format import Pose

from signclip.data.synthetic import synthetic_pose
from signclip.errors import ConfigError, PoseLayoutError
from signclip.poses import holistic
from signclip.poses.io import read_pose
from signclip.poses.transforms import Pipeline, mirror_pose
from signclip.poses.transforms.core import point_index
from signclip.poses.transforms.mirroring import hand_frames

RIGHT_HAND = [{"name": "select", "preset": "right_hand"}, {"name": "keep_dims", "dims": 2}]


def _hand_start(pose: Pose, hand: str) -> int:
    return point_index(pose.header)[(hand, "WRIST")]


def _without_hand(pose: Pose, hand: str, frames: np.ndarray) -> Pose:
    """`pose` with `hand` missing (confidence 0, zeros) in `frames`."""
    out = Pose(pose.header, pose.body.copy())
    start = _hand_start(pose, hand)
    data = np.ma.getdata(out.body.data).copy()
    data[frames, :, start : start + 21] = 0
    out.body.confidence[frames, :, start : start + 21] = 0
    out.body.data = np.ma.masked_array(data, mask=np.zeros_like(data, dtype=bool))
    return out


def test_normalize_hands_2d_puts_the_wrist_at_the_origin_at_unit_mean_radius():
    pose = synthetic_pose(4, 1)
    tensor = Pipeline.from_config([*RIGHT_HAND, "normalize_hands_2d"])(pose)
    hand = tensor.data.reshape(tensor.frames, 21, 2)
    np.testing.assert_allclose(hand[:, 0], 0, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(hand, axis=-1).mean(axis=1), 1.0, rtol=1e-5)


def test_normalize_hands_2d_ignores_place_and_size_but_not_shape():
    pipeline = Pipeline.from_config([*RIGHT_HAND, "normalize_hands_2d"])
    pose = synthetic_pose(4, 1)
    moved = Pose(pose.header, pose.body.copy())
    moved.body.data = np.ma.masked_array(np.ma.getdata(pose.body.data) * 1.7 + np.float32(123.0))
    np.testing.assert_allclose(pipeline(moved).data, pipeline(pose).data, atol=1e-4)
    other_gloss = pipeline(synthetic_pose(7, 1)).data
    frames = min(len(other_gloss), pipeline(pose).frames)
    assert np.abs(other_gloss[:frames] - pipeline(pose).data[:frames]).mean() > 0.05


def test_frames_with_drops_the_frames_without_the_hand():
    pose = synthetic_pose(4, 1)
    frames = pose.body.data.shape[0]
    gone = np.arange(0, frames, 3)
    tensor = Pipeline.from_config([*RIGHT_HAND, "frames_with"])(_without_hand(pose, holistic.RIGHT_HAND, gone))
    assert tensor.frames == frames - len(gone)
    assert (tensor.data.reshape(tensor.frames, 21, 2)[:, 0] != 0).any(axis=-1).all()


def test_frames_with_keeps_a_pose_that_never_shows_the_hand_and_names_a_missing_component():
    pose = synthetic_pose(4, 1)
    frames = pose.body.data.shape[0]
    never = _without_hand(pose, holistic.RIGHT_HAND, np.arange(frames))
    assert Pipeline.from_config([*RIGHT_HAND, "frames_with"])(never).frames == frames
    with pytest.raises(PoseLayoutError, match="no component 'LEFT_HAND_LANDMARKS'"):
        Pipeline.from_config([*RIGHT_HAND, {"name": "frames_with", "component": "LEFT_HAND_LANDMARKS"}])(pose)


def test_even_frames_keeps_the_first_and_last_frame_and_repeats_short_poses():
    pose = synthetic_pose(4, 1)
    full = Pipeline.from_config(RIGHT_HAND)(pose).data
    twelve = Pipeline.from_config([*RIGHT_HAND, {"name": "even_frames", "frames": 12}])(pose).data
    assert twelve.shape == (12, 42)
    np.testing.assert_array_equal(twelve[0], full[0])
    np.testing.assert_array_equal(twelve[-1], full[-1])
    many = Pipeline.from_config([*RIGHT_HAND, {"name": "even_frames", "frames": 3 * len(full)}])(pose).data
    assert len(many) == 3 * len(full)
    assert {tuple(row) for row in many} == {tuple(row) for row in full}
    with pytest.raises(ConfigError, match="at least 1 frame"):
        Pipeline.from_config([{"name": "even_frames", "frames": 0}])(pose)


def test_dominant_hand_by_frames_counts_presence_and_breaks_ties_by_movement():
    pose = synthetic_pose(3, 1)  # two-handed, the right hand moving most
    frames = pose.body.data.shape[0]
    mostly_left = _without_hand(pose, holistic.RIGHT_HAND, np.arange(frames // 2))
    counts = hand_frames(mostly_left)
    assert counts["left"] > counts["right"]
    by_frames = Pipeline.from_config([{"name": "dominant_hand", "by": "frames"}, *RIGHT_HAND])(mostly_left)
    np.testing.assert_array_equal(by_frames.data, Pipeline.from_config(RIGHT_HAND)(mirror_pose(mostly_left)).data)
    both = Pipeline.from_config([{"name": "dominant_hand", "by": "frames"}, *RIGHT_HAND])(pose)  # a tie: activity
    np.testing.assert_array_equal(both.data, Pipeline.from_config(RIGHT_HAND)(pose).data)
    with pytest.raises(ConfigError, match="by must be 'activity' or 'frames'"):
        Pipeline.from_config([{"name": "dominant_hand", "by": "speed"}])(pose)


def test_handshape_2d_reads_a_mirrored_pose_as_the_same_handshape():
    pipeline = Pipeline.from_config("handshape_2d")
    pose = synthetic_pose(1, 0, seed=0)
    right = pipeline(pose).data
    assert right.shape == (12, 42)
    np.testing.assert_allclose(pipeline(mirror_pose(pose)).data, right, atol=1e-4)
    assert np.abs(pipeline(synthetic_pose(2, 0, seed=0)).data - right).mean() > 0.05


def test_handshape_2d_on_a_real_fingerspelling_pose(fingerspelling_dir):
    pose = read_pose(next((fingerspelling_dir / "ase").glob("*.pose")))
    tensor = Pipeline.from_config("handshape_2d")(pose)
    assert tensor.data.shape == (12, 42)
    assert np.isfinite(tensor.data).all()
    np.testing.assert_allclose(np.linalg.norm(tensor.data.reshape(12, 21, 2), axis=-1).mean(axis=1), 1.0, rtol=1e-4)
