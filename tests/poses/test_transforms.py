"""Preprocessing transforms: layouts, invariances, mirroring, augmentation, length handling, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pose_format import Pose

from signclip.data.synthetic import synthetic_pose
from signclip.errors import ConfigError, PoseLayoutError
from signclip.poses import holistic
from signclip.poses.io import read_pose
from signclip.poses.transforms import (
    Pipeline,
    PoseTensor,
    component_preset,
    crop_pose,
    fit_length,
    fitting_preprocess,
    hand_activity,
    layout_preset,
    mirror_pose,
    pose_to_tensor,
)


def _transformed(pose: Pose, offset=(0.0, 0.0, 0.0), scale: float = 1.0) -> Pose:
    data = np.ma.getdata(pose.body.data) * scale + np.array(offset, dtype=np.float32)
    out = Pose(pose.header, pose.body.copy())
    out.body.data = np.ma.masked_array(data.astype(np.float32), mask=np.ma.getmaskarray(pose.body.data))
    return out


def _data(pose: Pose) -> np.ndarray:
    return np.ma.getdata(pose.body.data)


def test_reduced_face_is_609_features_in_header_order(fixtures_dir):
    pose = read_pose(fixtures_dir / "house.pose")
    pipeline = Pipeline.from_config([{"name": "select", "preset": "reduced_face"}])
    selected = pipeline.apply(pose)
    names = [(c.name, p) for c in selected.header.components for p in c.points]
    assert len(names) == 203
    assert pipeline(pose).data.shape == (73, 609)
    contour = holistic.face_contour_points()
    expected = (
        [(holistic.BODY, p) for p in holistic.body_points()]
        + [(holistic.FACE, p) for p in contour]
        + [(holistic.LEFT_HAND, p) for p in holistic.hand_points()]
        + [(holistic.RIGHT_HAND, p) for p in holistic.hand_points()]
    )
    assert names == expected
    tensor = pipeline(pose).data.reshape(73, 203, 3)
    source = {(c.name, p): i for i, (c, p) in enumerate((c, p) for c in pose.header.components for p in c.points)}
    present = pose.body.confidence[:, 0] > 0
    for j, key in enumerate(names):
        i = source[key]
        expected_values = np.where(present[:, i, None], _data(pose)[:, 0, i], 0)
        np.testing.assert_array_equal(tensor[:, j], expected_values, err_msg=str(key))


def test_known_face_contour_points():
    contour = holistic.face_contour_points()
    assert len(contour) == 128
    assert contour[:4] == ["0", "7", "10", "13"]
    assert len(component_preset("right_hand")[0][1]) == 21


def test_reduced_pose_lacking_points_is_refused_or_zero_filled(fixtures_dir):
    pose = read_pose(fixtures_dir / "mediapipe.pose")  # 178 points: 8 body points only
    with pytest.raises(PoseLayoutError, match="lacks 25 of the 203 points"):
        Pipeline.from_config("signclip_v1")(pose)
    filled = Pipeline.from_config([{"name": "select", "preset": "reduced_face", "missing": "zero"}])(pose)
    assert filled.data.shape == (170, 609)
    body = filled.data.reshape(170, 203, 3)[:, :33]
    nose = holistic.body_points().index("NOSE")
    shoulder = holistic.body_points().index("LEFT_SHOULDER")
    assert (body[:, nose] == 0).all()
    assert (body[:, shoulder] != 0).any()
    with pytest.raises(PoseLayoutError, match="lacks 25 of the 203 points"):  # the header's selection is reused
        Pipeline.from_config("signclip_v1")(pose)
    hand = Pipeline.from_config([{"name": "select", "preset": "right_hand"}])(pose)  # another layout, same header
    assert hand.data.shape == (170, 63)


@pytest.mark.parametrize("preset", ["signclip_v1", "hands"])
def test_shoulder_normalization_is_translation_and_scale_invariant(preset):
    pose = synthetic_pose(4, 2, seed=1)
    pipeline = Pipeline.from_config(preset)
    base = pipeline(pose).data
    moved = pipeline(_transformed(pose, offset=(37.0, -12.0, 0.0), scale=1.7)).data
    np.testing.assert_allclose(moved, base, atol=1e-4)


def test_shoulder_normalization_units():
    pose = synthetic_pose(1, 0)
    normalized = Pipeline.from_config(["normalize_shoulders"]).apply(pose)
    body = _data(normalized)[:, 0, :33, :2]
    left = body[:, holistic.body_points().index("LEFT_SHOULDER")]
    right = body[:, holistic.body_points().index("RIGHT_SHOULDER")]
    assert np.linalg.norm(left - right, axis=-1).mean() == pytest.approx(1.0, rel=1e-5)
    np.testing.assert_allclose(((left + right) / 2).mean(axis=0), [0, 0], atol=1e-5)


def test_hands_3d_normalization_is_invariant_to_rotation_and_scale():
    pose = synthetic_pose(5, 1)
    pipeline = Pipeline.from_config(["normalize_hands_3d", {"name": "select", "preset": "dominant_hand"}])
    base = pipeline(pose).data.reshape(-1, 21, 3)
    np.testing.assert_allclose(base[:, 0], 0, atol=1e-6)  # wrist at the origin
    assert (base[:, 9, 1] > 0).all()  # middle MCP along +y
    np.testing.assert_allclose(base[:, 9, [0, 2]], 0, atol=1e-5)
    angle = 0.7
    rotation = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    rotated = Pose(pose.header, pose.body.copy())
    rotated.body.data = np.ma.masked_array(
        (_data(pose) @ rotation.T * 2.5).astype(np.float32), mask=np.ma.getmaskarray(pose.body.data)
    )
    np.testing.assert_allclose(pipeline(rotated).data.reshape(-1, 21, 3), base, atol=1e-4)


def test_scale_z_makes_depth_commensurate_with_the_frame_width(fingerspelling_dir):
    pose = read_pose(next(fingerspelling_dir.glob("ase/*.pose")))
    scaled = Pipeline.from_config(["scale_z"]).apply(pose)
    image = np.array(["WORLD" not in c.name for c in pose.header.components for _ in c.points])
    np.testing.assert_array_equal(_data(scaled)[..., :2], _data(pose)[..., :2])
    expected = _data(pose)[:, :, image, 2] * pose.header.dimensions.width
    np.testing.assert_allclose(_data(scaled)[:, :, image, 2], expected, rtol=1e-6)
    hand = Pipeline.from_config([{"name": "select", "preset": "dominant_hand"}])
    depth, width = (np.ptp(hand(p).data.reshape(-1, 21, 3), axis=1).mean(axis=0) for p in (pose, scaled))
    assert depth[2] < 0.01 * depth[0]  # as stored: a hand about a thousand times flatter than wide
    assert 0.2 * width[0] < width[2] < 2 * width[0]  # scaled: as deep as a hand is


def test_scale_z_by_an_explicit_factor_leaves_world_landmarks(fixtures_dir):
    pose = read_pose(fixtures_dir / "house.pose")
    scaled = Pipeline.from_config([{"name": "scale_z", "factor": 3.0}]).apply(pose)
    names = [c.name for c in pose.header.components for _ in c.points]
    world = np.array(["WORLD" in name for name in names])
    np.testing.assert_allclose(_data(scaled)[:, :, ~world, 2], _data(pose)[:, :, ~world, 2] * 3.0, rtol=1e-6)
    np.testing.assert_array_equal(_data(scaled)[:, :, world], _data(pose)[:, :, world])


def test_hide_legs_keeps_slots_with_zero_confidence():
    pose = synthetic_pose(0, 0)
    hidden = Pipeline.from_config(["hide_legs"]).apply(pose)
    assert _data(hidden).shape == _data(pose).shape
    names = holistic.body_points()
    for name in ("LEFT_KNEE", "RIGHT_ANKLE", "LEFT_HEEL", "RIGHT_FOOT_INDEX"):
        i = names.index(name)
        assert (hidden.body.confidence[:, 0, i] == 0).all()
        assert (_data(hidden)[:, 0, i] == 0).all()
    assert (hidden.body.confidence[:, 0, names.index("LEFT_HIP")] > 0).all()


def test_mirroring_twice_is_identity(fixtures_dir):
    pose = read_pose(fixtures_dir / "house.pose")
    twice = mirror_pose(mirror_pose(pose))
    visible = pose.body.confidence[..., None] > 0
    np.testing.assert_allclose(_data(twice), np.where(visible, _data(pose), 0), atol=1e-4)
    np.testing.assert_array_equal(twice.body.confidence, pose.body.confidence)


def test_mirroring_swaps_hands_and_paired_points():
    pose = synthetic_pose(3, 0)  # two-handed gloss
    mirrored = mirror_pose(pose)
    left = slice(33 + 468, 33 + 468 + 21)
    right = slice(33 + 468 + 21, 33 + 468 + 42)
    np.testing.assert_array_equal(mirrored.body.confidence[:, 0, left], pose.body.confidence[:, 0, right])
    names = holistic.body_points()
    original_y = _data(pose)[:, 0, names.index("RIGHT_SHOULDER"), 1]
    np.testing.assert_allclose(_data(mirrored)[:, 0, names.index("LEFT_SHOULDER"), 1], original_y, atol=1e-4)
    # x is reflected: the right hand's x offsets from the centre change sign
    x_before = _data(pose)[:, 0, right, 0]
    x_after = _data(mirrored)[:, 0, left, 0]
    center = (x_before + x_after) / 2
    np.testing.assert_allclose(center, center[0, 0], atol=1e-3)


def test_dominant_hand_mirrors_left_handed_signing():
    right_handed = synthetic_pose(1, 0, seed=0)
    left_handed = synthetic_pose(1, 0, seed=0, left_handed=True)
    assert hand_activity(left_handed)["left"] > hand_activity(left_handed)["right"]
    pipeline = Pipeline.from_config("fingerclip")
    mirrored, reference = pipeline(left_handed).data, pipeline(right_handed).data
    other_gloss = pipeline(synthetic_pose(2, 0, seed=0)).data
    frames = min(len(reference), len(other_gloss))
    same_sign_gap = np.abs(mirrored - reference).mean()  # only the per-point jitter differs
    assert same_sign_gap < 0.1 * np.abs(reference).mean()
    assert same_sign_gap < 0.2 * np.abs(other_gloss[:frames] - reference[:frames]).mean()


AUGMENTED = [
    "normalize_shoulders",
    {"name": "select", "preset": "upper_body_hands"},
    {"name": "affine"},
    {"name": "speed"},
    {"name": "noise", "std": 0.02},
    {"name": "frame_dropout", "p": 0.2},
]


def test_augmentation_is_deterministic_under_a_seed():
    pose = synthetic_pose(2, 1)
    pipeline = Pipeline.from_config(AUGMENTED)
    first = pipeline(pose, train=True, rng=np.random.default_rng(5))
    second = pipeline(pose, train=True, rng=np.random.default_rng(5))
    other = pipeline(pose, train=True, rng=np.random.default_rng(6))
    np.testing.assert_array_equal(first.data, second.data)
    assert first.data.shape != other.data.shape or not np.allclose(first.data, other.data)


def test_augmentation_only_in_training():
    pose = synthetic_pose(2, 1)
    plain = Pipeline.from_config(AUGMENTED[:2])(pose).data
    np.testing.assert_array_equal(Pipeline.from_config(AUGMENTED)(pose, train=False).data, plain)


def test_affine_moves_points_but_keeps_missing_zero():
    pose = synthetic_pose(1, 1)  # one-handed: the left hand is absent
    augmented = Pipeline.from_config(
        ["normalize_shoulders", {"name": "select", "preset": "upper_body_hands"}, {"name": "affine"}]
    )(pose, train=True, rng=np.random.default_rng(0)).data.reshape(-1, 67, 3)
    assert (augmented[:, 25:46] == 0).all()
    plain = Pipeline.from_config(AUGMENTED[:2])(pose).data.reshape(-1, 67, 3)
    assert not np.allclose(augmented[:, 46:], plain[:, 46:])


def test_speed_changes_length():
    pose = synthetic_pose(0, 0)
    lengths = {
        Pipeline.from_config([{"name": "speed", "std": 0.3}])(pose, train=True, rng=np.random.default_rng(s)).frames
        for s in range(6)
    }
    assert len(lengths) > 1


def test_resample_fps():
    pose = synthetic_pose(0, 0, fps=25)
    frames = pose.body.data.shape[0]
    doubled = Pipeline.from_config([{"name": "resample_fps", "fps": 50}]).apply(pose)
    assert doubled.body.fps == 50
    assert doubled.body.data.shape[0] == 2 * (frames - 1) + 1
    np.testing.assert_allclose(_data(doubled)[::2], _data(pose), atol=1e-3)


def test_anonymize_keeps_hands(fixtures_dir):
    pose = read_pose(fixtures_dir / "house.pose")
    anonymized = Pipeline.from_config(["anonymize"]).apply(pose)
    assert _data(anonymized).shape[2] == _data(pose).shape[2]
    assert not np.allclose(_data(anonymized)[:, 0, :33], _data(pose)[:, 0, :33])


def test_zero_and_one_frame_poses():
    pose = synthetic_pose(0, 0)
    empty = crop_pose(pose, 0, 0)
    assert empty.body.data.shape[0] == 0
    with pytest.raises(PoseLayoutError, match="0 frames"):
        Pipeline.from_config("signclip_v1")(empty)
    one = crop_pose(pose, 0, 1000 / 25 * 0.5)
    assert one.body.data.shape[0] == 1
    out = Pipeline.from_config(AUGMENTED)(one, train=True, rng=np.random.default_rng(0))
    assert out.data.shape == (1, 201)


def test_crop_pose_by_milliseconds():
    pose = synthetic_pose(0, 0, fps=25)
    cropped = crop_pose(pose, 200, 600)
    assert cropped.body.data.shape[0] == 10
    np.testing.assert_array_equal(_data(cropped), _data(pose)[5:15])


def test_crop_pose_frame_boundaries_survive_float_round_trips():
    pose = synthetic_pose(0, 0, fps=30)
    for start in range(0, 20):
        for length in (1, 2, 3):
            cropped = crop_pose(pose, start / 30 * 1000, (start + length) / 30 * 1000)
            assert cropped.body.data.shape[0] == min(length, max(0, pose.body.data.shape[0] - start))


def test_fit_length_modes():
    tensor = PoseTensor(np.arange(100, dtype=np.float32)[:, None], np.ones(100, dtype=bool))
    assert fit_length(tensor, 200)[0] is tensor
    (truncated,) = fit_length(tensor, 10, "truncate")
    assert truncated.data[:, 0].tolist() == list(range(10))
    (sub,) = fit_length(tensor, 10, "subsample")
    assert sub.data[0, 0] == 0 and sub.data[-1, 0] == 99 and sub.frames == 10
    windows = fit_length(tensor, 40, "windows")
    assert all(w.frames == 40 for w in windows)
    assert windows[0].data[0, 0] == 0 and windows[-1].data[-1, 0] == 99
    covered = set(np.concatenate([w.data[:, 0] for w in windows]).tolist())
    assert covered == set(range(100))
    with pytest.raises(PoseLayoutError):
        fit_length(PoseTensor(np.zeros((0, 3), np.float32), np.zeros(0, bool)), 10)
    with pytest.raises(ConfigError, match="unknown length mode"):
        fit_length(tensor, 10, "squeeze")  # type: ignore[arg-type]


def test_pose_to_tensor_zeros_missing_points():
    pose = synthetic_pose(1, 0)  # one-handed: left hand absent
    tensor = pose_to_tensor(pose)
    assert tensor.data.dtype == np.float32
    assert tensor.mask.all()
    left = tensor.data.reshape(tensor.frames, -1, 3)[:, 33 + 468 : 33 + 468 + 21]
    assert (left == 0).all()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("no_such_preset", "unknown preprocessing preset"),
        ([{"name": "twirl"}], "unknown transform 'twirl'"),
        ([{"name": "affine", "rotation": 1}], r"has no parameter\(s\) \['rotation'\]"),
        ([{"name": "select", "preset": "toes"}], "unknown component preset"),
    ],
)
def test_bad_configs_name_the_problem(config, message):
    with pytest.raises(ConfigError, match=message):
        Pipeline.from_config(config)(synthetic_pose(0, 0))


def test_fingerspelling_pose_through_every_preset(fingerspelling_dir):
    pose = read_pose(next((fingerspelling_dir / "ase").glob("*.pose")))
    sizes = {name: Pipeline.from_config(name)(pose).data.shape[1] for name in ("signclip_v1", "fingerclip", "hands")}
    assert sizes == {"signclip_v1": 609, "fingerclip": 63, "hands": 201}


def test_select_keeps_points_as_they_are_and_mirroring_is_its_own_step():
    left_handed = synthetic_pose(1, 0, seed=0, left_handed=True)
    right_hand = Pipeline.from_config([{"name": "select", "preset": "right_hand"}])
    names = [(c.name, p) for c in left_handed.header.components for p in c.points]
    start = names.index((holistic.RIGHT_HAND, "WRIST"))
    expected = np.where(
        left_handed.body.confidence[:, 0, start : start + 21, None] > 0,
        _data(left_handed)[:, 0, start : start + 21],
        0,
    )
    np.testing.assert_array_equal(right_hand(left_handed).data, expected.reshape(len(expected), -1))
    mirrored = Pipeline.from_config(["dominant_hand", {"name": "select", "preset": "right_hand"}])
    assert not np.array_equal(mirrored(left_handed).data, right_hand(left_handed).data)


def test_the_former_select_preset_dominant_hand_is_written_out_as_two_steps():
    pipeline = Pipeline.from_config([{"name": "select", "preset": "dominant_hand"}])
    assert pipeline.config == [{"name": "dominant_hand", "side": "right"}, {"name": "select", "preset": "right_hand"}]
    left_handed = synthetic_pose(3, 1, seed=2, left_handed=True)
    explicit = Pipeline.from_config(["dominant_hand", {"name": "select", "preset": "right_hand"}])
    np.testing.assert_array_equal(pipeline(left_handed).data, explicit(left_handed).data)


def _keypoint_pose(tmp_path) -> Pose:
    from signclip.poses.io import read_keypoint_csv

    csv = tmp_path / "hands.csv"
    frames = np.arange(6)
    columns = {"frame": frames, "left-x": 100 + 5 * frames, "left-y": 200 - frames, "right-x": 150 + 0 * frames}
    columns |= {"right-y": 190 + 2 * frames, "nose-x": 170 + frames % 2, "nose-y": 60 + 0 * frames}
    csv.write_text(pd.DataFrame(columns).to_csv(index=False))
    return read_keypoint_csv(csv, group_column="video")[""]


def test_two_d_keypoints_choose_their_layouts_preset_and_are_centred_on_the_nose(tmp_path):
    pose = _keypoint_pose(tmp_path)
    assert layout_preset(pose.header) == "keypoints_2d"
    assert layout_preset(synthetic_pose(0, 0).header) is None
    data = Pipeline.from_config("keypoints_2d")(pose).data.reshape(6, 3, 2)
    np.testing.assert_allclose(data[:, 2].mean(axis=0), 0, atol=1e-6)  # the nose's mean is the origin
    np.testing.assert_allclose(data[:, 0, 0] - data[0, 0, 0], 5 * np.arange(6) / 1000, atol=1e-6)  # / width
    chosen, note = fitting_preprocess("hands", pose)
    assert chosen == "keypoints_2d" and "shoulder normalization needs both shoulders" in note
    assert fitting_preprocess("hands", synthetic_pose(0, 0)) == ("hands", None)
    with pytest.raises(PoseLayoutError, match="shoulder"):
        fitting_preprocess("hands", _without_shoulders(synthetic_pose(0, 0)))


def _without_shoulders(pose: Pose) -> Pose:
    return pose.get_components([holistic.LEFT_HAND, holistic.RIGHT_HAND, holistic.BODY], {holistic.BODY: ["NOSE"]})
