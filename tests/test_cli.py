"""The CLI shell: `signclip info` output and clean errors without tracebacks."""

from __future__ import annotations

import subprocess
import sys

from signclip.cli import main
from signclip.data.synthetic import synthetic_pose
from signclip.poses.io import write_pose


def test_info_prints_summary(tmp_path, capsys):
    path = write_pose(synthetic_pose(1, 0), tmp_path / "sign.pose")
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "fps: 25" in out
    assert "RIGHT_HAND_LANDMARKS: 21 points" in out
    assert "left hand present: 0% of frames" in out
    assert "right hand present: 100% of frames" in out


def test_info_on_fixture(fixtures_dir, capsys):
    assert main(["info", str(fixtures_dir / "mediapipe.pose")]) == 0
    out = capsys.readouterr().out
    assert "frames: 170" in out
    assert "points: 178 (3D)" in out


def test_bad_file_exits_non_zero_without_traceback(tmp_path):
    bad = tmp_path / "bad.pose"
    bad.write_bytes(b"garbage")
    result = subprocess.run(
        [sys.executable, "-m", "signclip.cli", "info", str(bad)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert str(bad) in result.stderr and "not a readable .pose file" in result.stderr
