"""The generic `folder` adapter: gloss folders of poses/videos, or a CSV with path and text."""

from __future__ import annotations

import pytest

from signclip.data.datasets import DatasetError, prepare_dataset
from signclip.data.synthetic import synthetic_pose
from signclip.poses.io import write_pose


def _tree(root):
    for gloss_number, gloss in enumerate(["house", "tree", "water"]):
        for take in range(2):
            write_pose(synthetic_pose(gloss_number, take), root / gloss / f"take{take}.pose")
    (root / "house" / "take0.mp4").write_bytes(b"video bytes")
    (root / "water" / "extra").mkdir()
    (root / "water" / "extra" / "clip.mp4").write_bytes(b"video bytes")
    (root / "README.txt").write_text("not a sign")
    return root


def test_gloss_folders(tmp_path):
    table = prepare_dataset("folder", _tree(tmp_path), signed_language="ase", spoken_language="en", seed=2)
    assert len(table) == 7
    rows = table.set_index("id")
    assert rows.loc["house-take0", "pose_path"] == str(tmp_path / "house" / "take0.pose")
    assert rows.loc["house-take0", "video_path"] == str(tmp_path / "house" / "take0.mp4")
    assert rows.loc["water-extra-clip", "text"] == "water"
    assert rows.loc["water-extra-clip", "pose_path"] == ""
    assert set(table["signed_language"]) == {"ase"} and set(table["spoken_language"]) == {"en"}
    assert set(table["split"]) == {"train", "val", "test"}


def test_poses_dir_attaches_extracted_poses(tmp_path):
    data = tmp_path / "data"
    (data / "tree").mkdir(parents=True)
    (data / "tree" / "a.mp4").write_bytes(b"video")
    (data / "tree" / "b.mp4").write_bytes(b"video")
    write_pose(synthetic_pose(1, 0), tmp_path / "poses" / "a.pose")
    table = prepare_dataset("folder", data, poses_dir=tmp_path / "poses", val_fraction=0, test_fraction=0)
    rows = table.set_index("id")
    assert rows.loc["tree-a", "pose_path"] == str(tmp_path / "poses" / "a.pose")
    assert rows.loc["tree-b", "pose_path"] == ""


def test_csv_layout(tmp_path):
    write_pose(synthetic_pose(0, 0), tmp_path / "poses" / "one.pose")
    (tmp_path / "clips").mkdir()
    (tmp_path / "clips" / "two.mp4").write_bytes(b"video")
    (tmp_path / "list.csv").write_text(
        "path,text,signer,split,start_ms,end_ms,signed_language\n"
        "poses/one.pose,hello,anna,train,100,900,gsg\n"
        "clips/two.mp4,good morning,ben,test,,,gsg\n"
    )
    table = prepare_dataset("folder", tmp_path / "list.csv")
    assert table.attrs["split_by"] == "official"
    rows = table.set_index("id")
    assert rows.loc["poses-one", "start_ms"] == 100 and rows.loc["poses-one", "end_ms"] == 900
    assert rows.loc["poses-one", "gloss"] == "hello"
    assert rows.loc["clips-two", "video_path"] == str(tmp_path / "clips" / "two.mp4")
    assert rows.loc["clips-two", "split"] == "test"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("path,text,colour\nx.pose,a,red\n", "unknown columns \\['colour'\\]"),
        ("path\nx.pose\n", "missing columns \\['text'\\]"),
        ("path,text,start_ms\nx.pose,a,soon\n", "must be numbers"),
        ("path,text\nmissing.pose,a\n", "pose file missing"),
        ("path,text\nx.pose,\n", "no text"),
    ],
)
def test_bad_csv(tmp_path, content, message):
    write_pose(synthetic_pose(0, 0), tmp_path / "x.pose")
    (tmp_path / "list.csv").write_text(content)
    with pytest.raises(DatasetError, match=message):
        prepare_dataset("folder", tmp_path / "list.csv")


def test_empty_folder_and_loose_files(tmp_path):
    with pytest.raises(DatasetError, match="no pose or video files"):
        prepare_dataset("folder", tmp_path)
    (tmp_path / "sign.mp4").write_bytes(b"video")
    with pytest.raises(
        DatasetError, match=r"1 files lie directly in the dataset folder, without a gloss folder: sign\.mp4"
    ):
        prepare_dataset("folder", tmp_path)
    for number in range(22):
        (tmp_path / f"take{number:02d}.pose").write_bytes(b"pose")
    with pytest.raises(
        DatasetError, match=r"23 files lie directly .*: sign\.mp4, take00\.pose, .* and 3 more"
    ) as caught:
        prepare_dataset("folder", tmp_path)
    assert "take18.pose" in str(caught.value) and "take19.pose" not in str(caught.value)  # 20 named, then a count


def test_not_a_csv_file(tmp_path):
    (tmp_path / "list.txt").write_text("x")
    with pytest.raises(DatasetError, match=r"directory or a .csv"):
        prepare_dataset("folder", tmp_path / "list.txt")
