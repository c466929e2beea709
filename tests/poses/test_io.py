"""Pose I/O: .pose round trips, Kaggle asl-signs parquet, keypoint CSVs, and every bad input."""

from __future__ import annotations

import os
import stat

import numpy as np
import pandas as pd
import pytest

from signclip.data.synthetic import synthetic_pose
from signclip.errors import PoseFileError
from signclip.poses import holistic
from signclip.poses.io import (
    pose_from_array,
    pose_to_bytes,
    read_asl_signs_parquet,
    read_keypoint_csv,
    read_pose,
    summarize_pose,
    write_pose,
)


def test_round_trip_preserves_header_and_data(tmp_path):
    pose = synthetic_pose(gloss=2, signer=1, seed=3)
    path = write_pose(pose, tmp_path / "nested" / "sign.pose")
    again = read_pose(path)
    assert again.header.components[0].points == pose.header.components[0].points
    assert [len(c.points) for c in again.header.components] == [33, 468, 21, 21]
    np.testing.assert_allclose(np.ma.getdata(again.body.data), np.ma.getdata(pose.body.data), atol=1e-4)
    np.testing.assert_array_equal(again.body.confidence, pose.body.confidence)
    assert again.body.fps == pose.body.fps
    assert not list(tmp_path.rglob("*.tmp"))


def test_write_is_atomic_when_serialization_fails(tmp_path):
    path = write_pose(synthetic_pose(0, 0), tmp_path / "kept.pose")
    before = path.read_bytes()
    with pytest.raises(AttributeError):
        write_pose(object(), path)  # type: ignore[arg-type]
    assert path.read_bytes() == before


def test_reads_real_fixture(fixtures_dir):
    pose = read_pose(fixtures_dir / "house.pose")
    summary = summarize_pose(pose)
    assert summary.frames == 73
    assert summary.fps == 25
    assert [name for name, _, _ in summary.components][:4] == [
        holistic.BODY,
        holistic.FACE,
        holistic.LEFT_HAND,
        holistic.RIGHT_HAND,
    ]
    assert sum(n for _, n, _ in summary.components) == 576
    assert 0 < summary.hand_presence["right hand"] <= 1


def test_reduced_fixture_summary(fixtures_dir):
    summary = summarize_pose(read_pose(fixtures_dir / "mediapipe.pose"))
    assert (summary.frames, summary.fps) == (170, 24)
    assert summary.duration_s == pytest.approx(170 / 24)
    assert sum(n for _, n, _ in summary.components) == 178
    assert summary.hand_presence["left hand"] < summary.hand_presence["right hand"]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "empty"),
        (b"this is not a pose file at all, just text\n" * 3, "not a readable .pose"),
        (b"\x00\x01\x02", "not a readable .pose"),
    ],
)
def test_bad_files_raise_one_clear_error(tmp_path, content, problem):
    path = tmp_path / "bad.pose"
    path.write_bytes(content)
    with pytest.raises(PoseFileError, match=problem) as error:
        read_pose(path)
    assert str(path) in str(error.value)


def test_truncated_file(tmp_path):
    data = pose_to_bytes(synthetic_pose(1, 1))
    path = tmp_path / "truncated.pose"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(PoseFileError, match=r"truncated\.pose"):
        read_pose(path)


def test_missing_file(tmp_path):
    with pytest.raises(PoseFileError, match="no such file"):
        read_pose(tmp_path / "absent.pose")


def test_nan_coordinates_are_an_error_unless_allowed(tmp_path):
    pose = synthetic_pose(0, 0)
    data = np.ma.getdata(pose.body.data).copy()
    data[3, 0, 40, 1] = np.nan
    pose.body.data = np.ma.masked_array(data, mask=np.zeros_like(data, dtype=bool))
    path = write_pose(pose, tmp_path / "nan.pose")
    with pytest.raises(PoseFileError, match=r"NaN.*frame 3"):
        read_pose(path)
    masked = read_pose(path, allow_nan=True)
    assert masked.body.confidence[3, 0, 40] == 0
    assert np.ma.getdata(masked.body.data)[3, 0, 40, 1] == 0


def _asl_signs_table(frames: int) -> pd.DataFrame:
    rows = []
    for frame in range(frames):
        for kind, count in (("face", 468), ("left_hand", 21), ("pose", 33), ("right_hand", 21)):
            for landmark in range(count):
                missing = kind == "left_hand" and frame == 0
                rows.append(
                    {
                        "frame": 20 + frame,
                        "row_id": f"{20 + frame}-{kind}-{landmark}",
                        "type": kind,
                        "landmark_index": landmark,
                        "x": np.nan if missing else 0.001 * landmark,
                        "y": np.nan if missing else 0.5,
                        "z": np.nan if missing else -0.01,
                    }
                )
    return pd.DataFrame(rows)


def test_asl_signs_parquet(tmp_path):
    path = tmp_path / "1000035562.parquet"
    _asl_signs_table(3).to_parquet(path)
    pose = read_asl_signs_parquet(path, fps=30)
    assert pose.body.data.shape == (3, 1, 543, 3)
    assert [c.name for c in pose.header.components] == [
        holistic.BODY,
        holistic.FACE,
        holistic.LEFT_HAND,
        holistic.RIGHT_HAND,
    ]
    left_hand = 33 + 468
    assert (pose.body.confidence[0, 0, left_hand : left_hand + 21] == 0).all()
    assert (pose.body.confidence[1, 0, left_hand : left_hand + 21] == 1).all()
    # the right hand's landmark 7 sits at x = 0.007 of a 1000-pixel image
    assert np.ma.getdata(pose.body.data)[1, 0, left_hand + 21 + 7, 0] == pytest.approx(7.0)
    # the body's landmark 12 (right shoulder) is read from the "pose" rows
    assert np.ma.getdata(pose.body.data)[2, 0, 12, 0] == pytest.approx(12.0)


def test_asl_signs_parquet_wrong_layout(tmp_path):
    path = tmp_path / "other.parquet"
    pd.DataFrame({"a": [1]}).to_parquet(path)
    with pytest.raises(PoseFileError, match="missing columns"):
        read_asl_signs_parquet(path)


def test_keypoint_csv(tmp_path):
    path = tmp_path / "hands.csv"
    path.write_text(
        "video,frame,left-x,left-y,right-x,right-y,nose-x,nose-y\n"
        "7,0,1,2,3,4,5,6\n7,2,11,12,13,14,15,16\n9,0,0,0,1,1,2,2\n"
    )
    poses = read_keypoint_csv(path, fps=30)
    assert sorted(poses) == ["7", "9"]
    pose = poses["7"]
    assert pose.header.components[0].points == ["left", "right", "nose"]
    assert pose.body.data.shape == (3, 1, 3, 2)
    assert (pose.body.confidence[1] == 0).all()  # frame 1 is absent from the CSV
    np.testing.assert_allclose(np.ma.getdata(pose.body.data)[2, 0, 2], [15, 16])


def test_keypoint_csv_real_boston(boston_dir):
    poses = read_keypoint_csv(boston_dir / "hands_condensed.csv")
    assert len(poses) > 100
    pose = poses["98"]
    assert pose.header.components[0].points == ["left", "right", "nose"]
    assert pose.body.data.shape[1:] == (1, 3, 2)


def test_keypoint_csv_without_keypoints(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(PoseFileError, match="no keypoint columns"):
        read_keypoint_csv(path)


def test_pose_from_array_marks_nan_missing():
    header = holistic.holistic_header()
    data = np.zeros((2, 1, 543, 3))
    data[1, 0, 0] = np.nan
    pose = pose_from_array(header, data, fps=25)
    assert pose.body.confidence[1, 0, 0] == 0
    assert pose.body.confidence[0, 0, 0] == 1


def test_written_files_get_the_mode_of_the_users_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        shared = write_pose(synthetic_pose(0, 0), tmp_path / "shared.pose")
        os.umask(0o077)
        private = write_pose(synthetic_pose(0, 0), tmp_path / "private.pose")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(shared.stat().st_mode) == 0o644  # not mkstemp's 0600
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert not list(tmp_path.glob(".*.tmp"))
