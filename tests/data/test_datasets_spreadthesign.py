"""`spreadthesign`: a CSV of id, language, text and pose path, with locales or sign language codes."""

from __future__ import annotations

import layouts
import pytest

from signclip.data.datasets import DatasetError, prepare_dataset


def test_locales_and_codes(tmp_path):
    layouts.spreadthesign(
        tmp_path,
        [
            "pose_path,language,text",
            "poses/1.pose,en.us,house",
            "poses/2.pose,de.de,Haus",
            "poses/3.pose,bfi,house",
            "poses/4.pose,en.gb,tree",
        ],
        pose_folder=".",
    )
    table = prepare_dataset("spreadthesign", tmp_path, val_fraction=0.25, test_fraction=0.25).set_index("id")
    assert table.loc["0", ["spoken_language", "signed_language", "text"]].tolist() == ["en", "ase", "house"]
    assert table.loc["1", ["spoken_language", "signed_language"]].tolist() == ["de", "gsg"]
    assert table.loc["2", ["spoken_language", "signed_language"]].tolist() == ["", "bfi"]
    assert table.loc["3", "pose_path"] == str(tmp_path / "poses" / "4.pose")


def test_explicit_columns_pose_dir_and_split_lists(tmp_path):
    layouts.spreadthesign(
        tmp_path,
        [
            "id,path,signed_language,spoken_language,word",
            "a,1.pose,ase,en,house",
            "b,2.pose,gsg,de,Haus",
            "c,3.pose,fsl,fr,maison",
        ],
    )
    (tmp_path / "splits").mkdir()
    (tmp_path / "splits" / "train.txt").write_text("a\nb\n")
    (tmp_path / "splits" / "test.txt").write_text("c\n")
    table = prepare_dataset("spreadthesign", tmp_path, options={"pose_dir": "poses"}).set_index("id")
    assert table.attrs["split_by"] == "official"
    assert table["split"].to_dict() == {"a": "train", "b": "train", "c": "test"}
    assert table.loc["c", "text"] == "maison"


def test_unknown_language_and_missing_columns(tmp_path):
    layouts.spreadthesign(tmp_path, ["pose_path,language,text", "poses/1.pose,xx.yy,house", "poses/2.pose,en.us,tree"])
    with pytest.raises(DatasetError, match=r"unknown language 'xx.yy'"):
        prepare_dataset("spreadthesign", tmp_path)
    (tmp_path / "index.csv").write_text("video,language,text\nv.mp4,en.us,house\n")
    with pytest.raises(DatasetError, match="needs one of the columns \\['pose_path', 'pose', 'path'\\]"):
        prepare_dataset("spreadthesign", tmp_path)
