"""Video datasets in their real layouts: rwth-fingerspelling, asl-citizen, sem-lex, wlasl."""

from __future__ import annotations

import json

import layouts
import pandas as pd
import pytest

from signclip.data.datasets import DatasetError, prepare_dataset
from signclip.data.splits import SplitError
from signclip.data.synthetic import synthetic_pose
from signclip.errors import ConfigError
from signclip.poses.io import write_pose


def test_rwth_fingerspelling_cam2_signer_split(tmp_path):
    table = prepare_dataset("rwth-fingerspelling", layouts.rwth_fingerspelling(tmp_path), seed=0)
    assert len(table) == 4 * 4 * 2
    assert table["id"].str.endswith("_cam2").all()
    assert table.attrs["split_by"] == "signer"
    assert (table.groupby("signer")["split"].nunique() == 1).all()
    assert sorted(table["gloss"].unique()) == ["3", "A", "SCH", "Ä"]
    assert set(table["signed_language"]) == {"gsg"} and set(table["spoken_language"]) == {"de"}


def test_rwth_fingerspelling_options_and_official_folders(tmp_path):
    layouts.rwth_fingerspelling(tmp_path, folders={1: "train", 2: "test"})
    table = prepare_dataset("rwth-fingerspelling", tmp_path, options={"camera": "all"})
    assert len(table) == 4 * 4 * 2 * 2
    assert table.attrs["split_by"] == "official"
    assert set(table.loc[table["id"].str.contains("_1_cam"), "split"]) == {"train"}
    assert set(table.loc[table["id"].str.contains("_2_cam"), "split"]) == {"test"}
    with pytest.raises(DatasetError, match="camera must be one of"):
        prepare_dataset("rwth-fingerspelling", tmp_path, options={"camera": "cam9"})


def test_rwth_fingerspelling_split_lists_and_poses(tmp_path):
    layouts.rwth_fingerspelling(tmp_path)
    names = sorted(p.name for p in tmp_path.glob("*_cam2.mpg"))
    (tmp_path / "train.txt").write_text("\n".join(n for n in names if "_1_" in n))
    (tmp_path / "test.txt").write_text("\n".join(n for n in names if "_2_" in n))
    write_pose(synthetic_pose(0, 0), tmp_path / "1_a_1_cam2.pose")
    table = prepare_dataset("rwth-fingerspelling", tmp_path).set_index("id")
    assert table.loc["1_a_1_cam2", "split"] == "train" and table.loc["4_3_2_cam2", "split"] == "test"
    assert table.loc["1_a_1_cam2", "pose_path"].endswith("1_a_1_cam2.pose")
    assert table.loc["1_a_1_cam2", "video_path"].endswith("1_a_1_cam2.mpg")


def test_rwth_fingerspelling_bad_names(tmp_path):
    layouts.rwth_fingerspelling(tmp_path, signers=(1, 2, 3))
    layouts.touch_video(tmp_path / "holiday.mpg")
    layouts.touch_video(tmp_path / "1_qu_1_cam2.mpg")
    with pytest.raises(DatasetError, match="2 problems") as error:
        prepare_dataset("rwth-fingerspelling", tmp_path)
    assert "holiday.mpg" in str(error.value) and "unknown gesture 'qu'" in str(error.value)
    assert len(prepare_dataset("rwth-fingerspelling", tmp_path, skip_problems=True)) == 24
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no video or pose files"):
        prepare_dataset("rwth-fingerspelling", tmp_path / "empty")


# ----------------------------------------------------------------------------- asl-citizen


def test_asl_citizen_official_split(tmp_path):
    table = prepare_dataset("asl-citizen", layouts.asl_citizen(tmp_path)).set_index("id")
    assert table.attrs["split_by"] == "official"
    assert table.loc["112-GO2", "gloss"] == "GO2" and table.loc["112-GO2", "text"] == "go"
    assert table.loc["211-GO2", "split"] == "val" and table.loc["312-GO2", "signer"] == "P4"
    assert table.loc["111-APPLE", "video_path"] == str(tmp_path / "videos" / "111-APPLE.mp4")


def test_asl_citizen_missing_videos_and_layout(tmp_path):
    layouts.asl_citizen(tmp_path)
    (tmp_path / "videos" / "113-APPLE.mp4").unlink()
    with pytest.raises(DatasetError, match=r"video file missing: .*113-APPLE.mp4"):
        prepare_dataset("asl-citizen", tmp_path)
    with pytest.raises(DatasetError, match="no ASL Citizen split files"):
        prepare_dataset("asl-citizen", tmp_path / "videos")


# ----------------------------------------------------------------------------- sem-lex


def test_sem_lex_rows(tmp_path):
    table = prepare_dataset("sem-lex", layouts.sem_lex(tmp_path)).set_index("id")
    assert len(table) == 4
    assert table.loc["v1", "text"] == "last year" and table.loc["v1", "gloss"] == "last_year"
    assert table.loc["v2", "text"] == "think chin"
    assert table.loc["v2", "pose_path"] == str(tmp_path / "poses" / "v2.pose")
    assert table.loc["v3", "split"] == "val" and table.loc["v4", "signer"] == "s4"


def test_sem_lex_conflicting_duplicates(tmp_path):
    layouts.sem_lex(tmp_path)
    metadata = tmp_path / "sem-lex-metadata.csv"
    metadata.write_text(metadata.read_text() + "v3,s3,0.9,test,asllex,pear\n")
    with pytest.raises(DatasetError, match="v3 listed again"):
        prepare_dataset("sem-lex", tmp_path)
    table = prepare_dataset("sem-lex", tmp_path, skip_problems=True).set_index("id")
    assert table.loc["v3", "gloss"] == "apple"


def test_sem_lex_needs_a_label(tmp_path):
    (tmp_path / "metadata.csv").write_text("video_id,signer_id\nv1,s1\n")
    with pytest.raises(DatasetError, match="no label or gloss column"):
        prepare_dataset("sem-lex", tmp_path)


# ----------------------------------------------------------------------------- wlasl


def _instance(video_id, signer, split, url="https://www.youtube.com/watch?v=abc", start=1, end=-1):
    return {
        "video_id": video_id,
        "signer_id": signer,
        "split": split,
        "frame_start": start,
        "frame_end": end,
        "fps": 25,
        "url": url,
        "bbox": [0, 0, 10, 10],
        "instance_id": 0,
        "source": "test",
        "variation_id": 0,
    }


def _wlasl(root):
    entries = [
        {
            "gloss": "book",
            "instances": [
                _instance("00001", 1, "train"),
                _instance("00002", 2, "val", url="http://aslsignbank.example/book.mp4", start=11, end=60),
                _instance("00003", 3, "test"),
            ],
        },
        {"gloss": "drink", "instances": [_instance("00004", 1, "train"), _instance("00005", 3, "test")]},
    ]
    (root / "WLASL_v0.3.json").write_text(json.dumps(entries))
    for number in range(1, 6):
        layouts.touch_video(root / "videos" / f"0000{number}.mp4")
    return root


def test_wlasl_rows_and_segments(tmp_path):
    table = prepare_dataset("wlasl", _wlasl(tmp_path)).set_index("id")
    assert len(table) == 5
    assert table.loc["00002", "start_ms"] == 400 and table.loc["00002", "end_ms"] == 2400
    assert pd.isna(table.loc["00001", "start_ms"]) and pd.isna(table.loc["00001", "end_ms"])
    assert table.loc["00003", "split"] == "test" and table.loc["00004", "gloss"] == "drink"
    assert table.loc["00005", "signer"] == "3"


def test_wlasl_subset_and_missing_videos(tmp_path):
    _wlasl(tmp_path)
    assert set(prepare_dataset("wlasl", tmp_path, options={"subset": "1"})["gloss"]) == {"book"}
    with pytest.raises(DatasetError, match="subset must be a number"):
        prepare_dataset("wlasl", tmp_path, options={"subset": "many"})
    (tmp_path / "videos" / "00003.mp4").unlink()
    table = prepare_dataset("wlasl", tmp_path, skip_problems=True)
    assert "00003" not in set(table["id"])
    assert any("00003.mp4" in p for p in table.attrs["problems"])


def test_wlasl_bad_json(tmp_path):
    with pytest.raises(DatasetError, match="no WLASL_v"):
        prepare_dataset("wlasl", tmp_path)
    (tmp_path / "WLASL_v0.3.json").write_text("{not json")
    with pytest.raises(DatasetError, match="not a readable JSON"):
        prepare_dataset("wlasl", tmp_path)
    (tmp_path / "WLASL_v0.3.json").write_text(json.dumps([{"gloss": "x"}]))
    with pytest.raises(DatasetError, match="needs a gloss and a list of instances"):
        prepare_dataset("wlasl", tmp_path)


def test_official_split_can_be_overridden(tmp_path):
    table = prepare_dataset("wlasl", _wlasl(tmp_path), split_by="signer", seed=0)
    assert (table.groupby("signer")["split"].nunique() == 1).all()
    with pytest.raises(SplitError, match="no official split"):
        prepare_dataset("rwth-fingerspelling", layouts.rwth_fingerspelling(tmp_path / "rwth"), split_by="official")
    with pytest.raises(ConfigError, match="fraction"):
        prepare_dataset("wlasl", tmp_path, val_fraction=0.6, test_fraction=0.6)
