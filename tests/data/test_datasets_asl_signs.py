"""`asl-signs` (Kaggle Google ISLR) and `read_any_pose` for the parquet sequences it points to."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from signclip.data.datasets import DatasetError, prepare_dataset
from signclip.errors import PoseFileError
from signclip.poses.io import read_any_pose, write_pose

TYPES = {"face": 468, "left_hand": 21, "pose": 33, "right_hand": 21}


def _sequence(path, frames=3, seed=0):
    rng = np.random.default_rng(seed)
    rows = [
        {"frame": 20 + f, "row_id": f"{20 + f}-{kind}-{i}", "type": kind, "landmark_index": i}
        for f in range(frames)
        for kind, count in TYPES.items()
        for i in range(count)
    ]
    table = pd.DataFrame(rows)
    table[["x", "y", "z"]] = rng.random((len(table), 3))
    table.loc[table["type"] == "left_hand", ["x", "y", "z"]] = np.nan
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_parquet(path)
    return path


def _kaggle(root, participants=(16069, 25571, 26734, 28656), signs=("TV", "after", "airplane")):
    lines = ["path,participant_id,sequence_id,sign"]
    sequence = 1000
    for participant in participants:
        for sign in signs:
            relative = f"train_landmark_files/{participant}/{sequence}.parquet"
            _sequence(root / relative, seed=sequence)
            lines.append(f"{relative},{participant},{sequence},{sign}")
            sequence += 1
    (root / "train.csv").write_text("\n".join(lines) + "\n")
    return root


def test_rows_and_signer_split(tmp_path):
    table = prepare_dataset("asl-signs", _kaggle(tmp_path), seed=0)
    assert len(table) == 12
    assert table.attrs["split_by"] == "signer"
    assert (table.groupby("signer")["split"].nunique() == 1).all()
    row = table.set_index("id").loc["1004"]
    assert row["pose_path"] == str(tmp_path / "train_landmark_files" / "25571" / "1004.parquet")
    assert (row["text"], row["signer"], row["signed_language"]) == ("after", "25571", "ase")


def test_manifest_pose_paths_load_with_read_any_pose(tmp_path):
    table = prepare_dataset("asl-signs", _kaggle(tmp_path), verify=True)
    pose = read_any_pose(table["pose_path"][0])
    assert pose.body.data.shape == (3, 1, 543, 3)
    assert pose.body.fps == 30
    assert (pose.body.confidence[:, 0, 501:522] == 0).all()


def test_read_any_pose_dispatches_on_suffix(tmp_path):
    parquet = read_any_pose(_sequence(tmp_path / "a.parquet"))
    same = read_any_pose(write_pose(parquet, tmp_path / "a.pose"))
    np.testing.assert_allclose(np.ma.getdata(same.body.data), np.ma.getdata(parquet.body.data))
    (tmp_path / "a.json").write_text("{}")
    with pytest.raises(PoseFileError, match=r"unknown pose file type '.json'"):
        read_any_pose(tmp_path / "a.json")
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    with pytest.raises(PoseFileError, match="not a readable parquet"):
        read_any_pose(tmp_path / "bad.parquet")


def test_missing_parquet_and_wrong_layout(tmp_path):
    _kaggle(tmp_path)
    (tmp_path / "train_landmark_files" / "16069" / "1000.parquet").unlink()
    with pytest.raises(DatasetError, match=r"1000.parquet"):
        prepare_dataset("asl-signs", tmp_path)
    with pytest.raises(DatasetError, match=r"train.csv: no such file"):
        prepare_dataset("asl-signs", tmp_path / "train_landmark_files")
