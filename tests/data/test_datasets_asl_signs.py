"""`asl-signs` (Kaggle Google ISLR) and `read_any_pose` for the parquet sequences it points to."""

from __future__ import annotations

import layouts
import numpy as np
import pytest

from signclip.data.datasets import DatasetError, prepare_dataset
from signclip.data.synthetic import synthetic_pose
from signclip.errors import PoseFileError
from signclip.poses.io import read_any_pose, write_pose


def test_rows_and_signer_split(tmp_path):
    table = prepare_dataset("asl-signs", layouts.asl_signs(tmp_path), seed=0)
    assert len(table) == 12
    assert table.attrs["split_by"] == "signer"
    assert (table.groupby("signer")["split"].nunique() == 1).all()
    row = table.set_index("id").loc["1004"]
    assert row["pose_path"] == str(tmp_path / "train_landmark_files" / "25571" / "1004.parquet")
    assert (row["text"], row["signer"], row["signed_language"]) == ("after", "25571", "ase")


def test_manifest_pose_paths_load_with_read_any_pose(tmp_path):
    table = prepare_dataset("asl-signs", layouts.asl_signs(tmp_path), verify=True)
    pose = read_any_pose(table["pose_path"][0])
    assert pose.body.data.shape == (3, 1, 543, 3)
    assert pose.body.fps == 30
    assert (pose.body.confidence[:, 0, 501:522] == 0).all()


def test_read_any_pose_dispatches_on_suffix(tmp_path):
    parquet = read_any_pose(layouts.kaggle_sequence(tmp_path / "a.parquet"))
    same = read_any_pose(write_pose(parquet, tmp_path / "a.pose"))
    np.testing.assert_allclose(np.ma.getdata(same.body.data), np.ma.getdata(parquet.body.data))
    (tmp_path / "a.json").write_text("{}")
    with pytest.raises(PoseFileError, match=r"unknown pose file type '.json'"):
        read_any_pose(tmp_path / "a.json")
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    with pytest.raises(PoseFileError, match="not a readable parquet"):
        read_any_pose(tmp_path / "bad.parquet")


def test_missing_parquet_and_wrong_layout(tmp_path):
    layouts.asl_signs(tmp_path)
    (tmp_path / "train_landmark_files" / "16069" / "1000.parquet").unlink()
    with pytest.raises(DatasetError, match=r"1000.parquet"):
        prepare_dataset("asl-signs", tmp_path)
    with pytest.raises(DatasetError, match=r"train.csv: no such file"):
        prepare_dataset("asl-signs", tmp_path / "train_landmark_files")


def test_a_holistic_pose_written_as_a_kaggle_sequence_reads_back(tmp_path):
    pose = synthetic_pose(gloss=2, signer=1)
    back = read_any_pose(layouts.kaggle_sequence_of(pose, tmp_path / "s.parquet"))
    present = pose.body.confidence[:, 0] > 0
    assert (back.body.confidence[:, 0] > 0).tolist() == present.tolist()
    np.testing.assert_allclose(
        np.ma.getdata(back.body.data)[:, 0][present], np.ma.getdata(pose.body.data)[:, 0][present], atol=1e-3
    )
