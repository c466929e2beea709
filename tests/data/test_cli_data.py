"""`signclip dataset list|prepare`: thin CLI over prepare_dataset, atomic manifest, clean errors."""

from __future__ import annotations

import subprocess
import sys

from signclip.cli import main
from signclip.data.datasets import dataset_names
from signclip.data.manifest import read_manifest
from signclip.data.synthetic import synthetic_pose
from signclip.poses.io import write_pose


def _tree(root):
    for gloss_number, gloss in enumerate(["house", "tree", "water", "fire"]):
        for signer in range(3):
            write_pose(synthetic_pose(gloss_number, signer), root / gloss / f"s{signer}.pose")
    return root


def test_list_names_every_adapter(capsys):
    assert main(["dataset", "list"]) == 0
    out = capsys.readouterr().out
    for name in dataset_names():
        assert f"{name}: " in out
    assert "option camera (default 'cam2')" in out


def test_prepare_writes_a_portable_manifest(tmp_path, capsys):
    _tree(tmp_path / "data")
    output = tmp_path / "manifest.csv"
    args = ["dataset", "prepare", "folder", "--root", str(tmp_path / "data"), "--seed", "5", "--test-fraction", "0.25"]
    assert main([*args, "-o", str(output), "--signed-language", "ase", "--spoken-language", "en"]) == 0
    out = capsys.readouterr().out
    assert "rows: 12 (train" in out and "split by random, seed 5" in out
    assert "data/house/s0.pose" in output.read_text()
    table = read_manifest(output, check_files=True)
    assert table["pose_path"][0].startswith(str(tmp_path / "data"))
    assert set(table["signed_language"]) == {"ase"}
    again = tmp_path / "again.parquet"
    assert main([*args, "-o", str(again)]) == 0
    assert read_manifest(again)["split"].tolist() == table["split"].tolist()


def test_prepare_boston_writes_poses_beside_the_manifest(boston_dir, tmp_path, capsys):
    output = tmp_path / "boston" / "manifest.csv"
    assert main(["dataset", "prepare", "rwth-boston-104", "--root", str(boston_dir), "-o", str(output)]) == 0
    assert "rows: 888 (train 710, test 178)" in capsys.readouterr().out
    assert (tmp_path / "boston" / "poses" / "1.pose").is_file()
    assert ",poses/1.pose," in output.read_text()
    assert len(read_manifest(output, check_files=True)) == 888


def test_skip_problems_prints_them(tmp_path, capsys):
    _tree(tmp_path / "data")
    (tmp_path / "list.csv").write_text("path,text\ndata/house/s0.pose,house\ndata/gone.pose,gone\n")
    output = tmp_path / "m.csv"
    args = ["dataset", "prepare", "folder", "--root", str(tmp_path / "list.csv"), "-o", str(output)]
    assert main([*args, "--val-fraction", "0", "--test-fraction", "0", "--skip-problems"]) == 0
    out = capsys.readouterr().out
    assert "skipped 1 rows with problems" in out and "gone.pose" in out
    assert len(read_manifest(output)) == 1


def test_errors_exit_1_without_traceback_and_keep_the_old_manifest(tmp_path):
    output = tmp_path / "manifest.csv"
    output.write_text("keep me")
    (tmp_path / "empty").mkdir()
    for extra in (["folder", "--root", str(tmp_path / "empty")], ["folder", "--root", ".", "--option", "camera"]):
        result = subprocess.run(
            [sys.executable, "-m", "signclip.cli", "dataset", "prepare", *extra, "-o", str(output)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr and result.stderr.startswith("error: ")
    assert output.read_text() == "keep me"
