"""`signclip segment POSE`: segments as JSON and ELAN, and a layout the segmenter cannot read."""

from __future__ import annotations

import json

import pytest

from signclip.cli import main
from signclip.poses.io import write_pose


def test_cli_segments_a_pose_to_json_and_eaf(fixtures_dir, tmp_path, capsys):
    pose = str(fixtures_dir / "continuous_signing.pose")
    assert main(["segment", pose]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [(s["start_frame"], s["end_frame"]) for s in out["sign"]] == [(17, 34), (35, 58), (59, 93)]
    assert out["sign"][0]["start_ms"] == pytest.approx(566.7) and "score" in out["sign"][0]
    assert main(["segment", pose, "-o", str(tmp_path / "out.eaf")]) == 0
    assert (tmp_path / "out.eaf").read_text().count("<ANNOTATION>") == 7


def test_cli_a_2d_pose_with_dgs2023_fails_with_the_reason(boston_dir, tmp_path, capsys):
    from signclip.poses.io import read_keypoint_csv

    pose = read_keypoint_csv(boston_dir / "hands_condensed.csv", group_column="video")["2"]
    path = write_pose(pose, tmp_path / "2.pose")
    assert main(["segment", str(path)]) == 1
    assert "motion" in capsys.readouterr().err
    assert main(["segment", str(path), "--segmenter", "motion", "--level", "sign"]) == 0
