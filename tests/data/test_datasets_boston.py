"""`rwth-boston-104`: word segments over per-frame hand positions, written as one .pose per video."""

from __future__ import annotations

import pandas as pd
import pytest

from signclip.data.datasets import DatasetError, prepare_dataset
from signclip.errors import ConfigError
from signclip.poses.io import read_pose
from signclip.poses.transforms import crop_pose

HANDS_HEADER = "video,frame,left-x,left-y,right-x,right-y,nose-x,nose-y\n"


def _boston(root):
    root.mkdir(parents=True, exist_ok=True)
    hands = [HANDS_HEADER]
    for video, frames in ((1, 40), (2, 30), (3, 35)):
        hands += [f"{video},{f},{100 + f},{150},{170 + video},{175 - f},161,62\n" for f in range(frames)]
    (root / "hands_condensed.csv").write_text("".join(hands))
    (root / "train_words.csv").write_text(
        "video,speaker,word,startframe,endframe\n1,woman-1,JOHN,3,9\n1,woman-1,GO,10,20\n2,man-1,JOHN,0,29\n"
    )
    (root / "test_words.csv").write_text("video,speaker,word,startframe,endframe\n3,woman-2,GO,5,6\n")
    (root / "speaker.csv").write_text("video,speaker\n1,woman-1\n2,man-1\n3,woman-2\n")
    return root


def test_segments_and_written_poses(tmp_path):
    table = prepare_dataset("rwth-boston-104", _boston(tmp_path / "data"), work_dir=tmp_path / "poses")
    assert table.attrs["split_by"] == "official"
    rows = table.set_index("id")
    assert rows["split"].to_dict() == {"1-3-9": "train", "1-10-20": "train", "2-0-29": "train", "3-5-6": "test"}
    assert rows.loc["1-3-9", "start_ms"] == 100 and rows.loc["1-3-9", "end_ms"] == 1000 / 3
    assert rows.loc["3-5-6", "signer"] == "woman-2" and rows.loc["1-10-20", "text"] == "GO"
    pose = read_pose(rows.loc["1-3-9", "pose_path"])
    assert pose.body.data.shape == (40, 1, 3, 2) and pose.body.fps == 30
    word = crop_pose(pose, rows.loc["1-3-9", "start_ms"], rows.loc["1-3-9", "end_ms"])
    assert word.body.data[:, 0, 0, 0].tolist() == [103, 104, 105, 106, 107, 108, 109]
    assert sorted(p.name for p in (tmp_path / "poses").iterdir()) == ["1.pose", "2.pose", "3.pose"]


def test_signer_split(tmp_path):
    table = prepare_dataset("rwth-boston-104", _boston(tmp_path), work_dir=tmp_path / "poses", split_by="signer")
    assert (table.groupby("signer")["split"].nunique() == 1).all()
    assert set(table["split"]) == {"train", "val", "test"}


def test_bad_segments_are_problems(tmp_path):
    _boston(tmp_path)
    with open(tmp_path / "test_words.csv", "a") as file:
        file.write("3,woman-2,LATE,30,40\n9,woman-2,GO,1,2\n")
    with pytest.raises(DatasetError, match="2 problems") as error:
        prepare_dataset("rwth-boston-104", tmp_path, work_dir=tmp_path / "poses")
    assert "outside video 3" in str(error.value) and "'9' has no frames" in str(error.value)


def test_needs_work_dir_and_layout(tmp_path):
    _boston(tmp_path)
    with pytest.raises(ConfigError, match="work_dir"):
        prepare_dataset("rwth-boston-104", tmp_path)
    (tmp_path / "hands_condensed.csv").unlink()
    with pytest.raises(DatasetError, match=r"no hands_condensed.csv"):
        prepare_dataset("rwth-boston-104", tmp_path, work_dir=tmp_path / "poses")


def test_real_boston_data(boston_dir, tmp_path):
    words = pd.concat([pd.read_csv(boston_dir / name) for name in ("train_words.csv", "test_words.csv")])
    table = prepare_dataset("rwth-boston-104", boston_dir, work_dir=tmp_path / "poses", split_by="signer", seed=0)
    assert len(table) == len(words) == 888
    assert table["gloss"].nunique() == words["word"].nunique()
    assert sorted(table["signer"].unique()) == ["man-1", "woman-1", "woman-2"]
    assert (table.groupby("signer")["split"].nunique() == 1).all()
    assert len(list((tmp_path / "poses").glob("*.pose"))) == words["video"].nunique()
    official = prepare_dataset("rwth-boston-104", boston_dir, work_dir=tmp_path / "poses")
    assert official["split"].value_counts().to_dict() == {"train": 710, "test": 178}
