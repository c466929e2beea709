"""The data door: load_table's sources and splits, read_item_pose's segments."""

from __future__ import annotations

from pathlib import Path

import layouts
import pytest

from signclip.data.synthetic import generate_dataset
from signclip.data.table import TableSource, load_table, read_item_pose
from signclip.errors import ConfigError, SignclipError
from signclip.poses.io import read_pose

BOSTON = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "rwth-boston-104"


def test_exactly_one_source_is_required():
    with pytest.raises(ConfigError, match="exactly one data source"):
        load_table(TableSource())
    with pytest.raises(ConfigError, match="exactly one data source"):
        load_table(TableSource(manifest="m.csv", dataset="folder", root="."))


def test_synthetic_hold_out_and_language_fill(tmp_path):
    source = TableSource(synthetic={"glosses": 3, "signers": 2, "repetitions": 1}, hold_out={"signer": "signer-1"})
    table = load_table(source, tmp_path)
    assert (tmp_path / "data" / "manifest.csv").is_file()
    assert table.groupby("signer")["split"].unique().map(list).to_dict() == {"signer-0": ["train"], "signer-1": ["val"]}
    manifest = generate_dataset(tmp_path / "m", glosses=2, signers=1, repetitions=1)
    filled = load_table(TableSource(manifest=str(manifest), signed_language="gsg"))
    assert set(filled["signed_language"]) == {"ase"}  # only rows without a language are filled


def test_read_item_pose_cuts_the_segment_and_names_a_row_without_pose(tmp_path):
    manifest = generate_dataset(tmp_path, glosses=1, signers=1, repetitions=1)
    row = load_table(TableSource(manifest=str(manifest))).iloc[0].to_dict()
    whole = read_pose(row["pose_path"])
    fps = float(whole.body.fps)
    cut = read_item_pose({**row, "start_ms": 1000 / fps * 2, "end_ms": 1000 / fps * 5})
    assert cut.body.data.shape[0] == 3
    assert (cut.body.data[0] == whole.body.data[2]).all()
    with pytest.raises(SignclipError, match="has no pose file"):
        read_item_pose({**row, "pose_path": ""})


@pytest.mark.skipif(not BOSTON.is_dir(), reason="needs ../shared/data/rwth-boston-104")
def test_an_adapter_that_writes_poses_gets_a_work_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("SIGNCLIP_HOME", str(tmp_path / "home"))
    table = load_table(TableSource(dataset="rwth-boston-104", root=str(BOSTON)))
    assert len(table) == 888
    assert Path(table["pose_path"].iloc[0]).is_relative_to(tmp_path / "home" / "datasets" / "rwth-boston-104")
    in_run = load_table(TableSource(dataset="rwth-boston-104", root=str(BOSTON)), tmp_path / "run")
    assert Path(in_run["pose_path"].iloc[0]).is_relative_to(tmp_path / "run" / "data" / "poses")


def test_a_video_dataset_gets_its_extracted_poses_from_poses_dir(tmp_path):
    root = layouts.asl_citizen(tmp_path / "asl-citizen", poses_dir=tmp_path / "poses")
    (tmp_path / "poses" / "113-APPLE.pose").unlink()
    table = load_table(TableSource(dataset="asl-citizen", root=str(root), poses_dir=str(tmp_path / "poses")))
    poses = table.set_index("id")["pose_path"]
    assert poses["111-APPLE"] == str(tmp_path / "poses" / "111-APPLE.pose") and poses["113-APPLE"] == ""
    assert (load_table(TableSource(dataset="asl-citizen", root=str(root)))["pose_path"] == "").all()
    with pytest.raises(ConfigError, match=r"data\.poses_dir goes with data\.dataset"):
        load_table(TableSource(manifest="m.csv", poses_dir=str(tmp_path / "poses")))
