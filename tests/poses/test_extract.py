"""Video -> pose extraction: equal to pose-format's `video_to_pose`, resumable, atomic, robust to bad videos.

Real MediaPipe on the real fixture video (58 frames); the expensive runs are module-scoped and shared.
"""

from __future__ import annotations

import io
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from pose_format import Pose

from signclip.cli import main
from signclip.errors import SignclipError
from signclip.poses import holistic
from signclip.poses.extract import (
    ERROR_LOG_NAME,
    HolisticEstimator,
    VideoError,
    extract_poses,
    plan_extraction,
    video_to_pose,
)
from signclip.poses.io import read_pose

FIXTURE_FRAMES = 58


@pytest.fixture(scope="module")
def video(require_shared) -> Path:
    return require_shared("fixtures/test_video.mp4")


@pytest.fixture(scope="module")
def reference(video, tmp_path_factory) -> Pose:
    """pose-format's own `video_to_pose` output for the fixture (model_complexity=1)."""
    from pose_format.bin.pose_estimation import pose_video

    path = tmp_path_factory.mktemp("reference") / "reference.pose"
    pose_video(str(video), str(path), "mediapipe", {"model_complexity": 1}, progress=False)
    return Pose.read(path.read_bytes())


@pytest.fixture(scope="module")
def estimated(video) -> dict[str, Pose]:
    """One estimator, reused: first the video at 5 fps, then the whole video (after a reset)."""
    with HolisticEstimator() as estimator:
        at_5_fps = video_to_pose(video, fps=5, estimator=estimator)
        full = video_to_pose(video, estimator=estimator)
    return {"5fps": at_5_fps, "full": full}


@pytest.fixture(scope="module")
def batch(video, tmp_path_factory):
    """A folder with one good video in a sub-folder, a 0-byte .mp4, a text file named .mp4 and a note.

    Extracted at 5 fps to keep the test short; the worker processes' output must equal `estimated`.
    """
    root = tmp_path_factory.mktemp("batch")
    inputs = root / "videos"
    (inputs / "signer1").mkdir(parents=True)
    shutil.copy(video, inputs / "signer1" / "house.mp4")
    (inputs / "empty.mp4").write_bytes(b"")
    (inputs / "signer1" / "notes.mp4").write_text("not a video\n")
    (inputs / "readme.txt").write_text("ignored\n")
    report = extract_poses([inputs], root / "poses", workers=2, fps=5, progress=False)
    return inputs, root / "poses", report


def header_bytes(pose: Pose) -> bytes:
    buffer = io.BytesIO()
    pose.header.write(buffer)
    return buffer.getvalue()


def assert_same_pose(ours: Pose, reference: Pose) -> None:
    assert header_bytes(ours) == header_bytes(reference)
    assert ours.body.fps == pytest.approx(reference.body.fps, rel=1e-6)
    assert ours.body.data.shape == reference.body.data.shape
    np.testing.assert_array_equal(ours.body.confidence > 0, reference.body.confidence > 0)
    np.testing.assert_allclose(ours.body.confidence, reference.body.confidence, atol=1e-5)
    np.testing.assert_allclose(np.ma.getdata(ours.body.data), np.ma.getdata(reference.body.data), atol=1e-3)


def right_hand_frames(pose: Pose) -> int:
    start = sum(len(c.points) for c in pose.header.components[:3])
    assert pose.header.components[3].name == holistic.RIGHT_HAND
    return int((pose.body.confidence[:, 0, start : start + 21] > 0).any(axis=-1).sum())


def test_equals_pose_format_video_to_pose_after_reuse(estimated, reference):
    assert reference.body.data.shape == (FIXTURE_FRAMES, 1, 576, 3)
    assert right_hand_frames(reference) >= 15  # the signer's right hand is found in 20 of 58 frames
    assert_same_pose(estimated["full"], reference)


def test_fps_drops_frames_before_inference(estimated, reference):
    pose = estimated["5fps"]
    assert pose.body.fps == 5
    assert abs(pose.body.data.shape[0] - FIXTURE_FRAMES * 5 / reference.body.fps) <= 1
    assert header_bytes(pose) == header_bytes(reference)


def test_batch_writes_mirrored_outputs_equal_to_one_video_extraction(batch, estimated):
    _, out, report = batch
    assert report.written == [out / "signer1" / "house.pose"]
    assert report.frames == estimated["5fps"].body.data.shape[0]
    assert_same_pose(read_pose(out / "signer1" / "house.pose"), estimated["5fps"])
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == [
        ERROR_LOG_NAME,
        "signer1",
        "signer1/house.pose",
    ]


def test_batch_reports_and_logs_bad_videos(batch):
    inputs, out, report = batch
    failed = dict(report.failed)
    assert set(failed) == {inputs / "empty.mp4", inputs / "signer1" / "notes.mp4"}
    assert "empty" in failed[inputs / "empty.mp4"]
    assert "not a readable video" in failed[inputs / "signer1" / "notes.mp4"]
    log = (out / ERROR_LOG_NAME).read_text()
    assert str(inputs / "empty.mp4") in log and str(inputs / "signer1" / "notes.mp4") in log
    assert report.error_log == out / ERROR_LOG_NAME
    assert any("2 failed" in line for line in report.lines())


def test_second_run_skips_existing_and_retries_failures(batch):
    inputs, out, _ = batch
    output = out / "signer1" / "house.pose"
    before = (output.read_bytes(), output.stat().st_mtime_ns)
    log_lines = len((out / ERROR_LOG_NAME).read_text().splitlines())
    report = extract_poses([inputs], out, workers=1, fps=5, progress=False)
    assert report.skipped == [output]
    assert report.written == [] and len(report.failed) == 2
    assert (output.read_bytes(), output.stat().st_mtime_ns) == before
    assert len((out / ERROR_LOG_NAME).read_text().splitlines()) == log_lines + 2
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]


def test_cli_exit_codes_resume_and_overwrite(video, tmp_path, capsys):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    out = tmp_path / "poses"
    arguments = ["extract", "-o", str(out), "--fps", "5", "--workers", "1", "--no-progress"]

    assert main([*arguments, str(video), str(empty)]) == 1
    printed = capsys.readouterr().out
    assert "1 done, 0 skipped (already extracted), 1 failed" in printed
    assert str(empty) in (out / ERROR_LOG_NAME).read_text()
    output = out / "test_video.pose"
    assert read_pose(output).body.fps == 5

    output.write_bytes(b"stale")
    assert main([*arguments, str(video)]) == 0
    assert "0 done, 1 skipped" in capsys.readouterr().out
    assert output.read_bytes() == b"stale"

    assert main([*arguments, str(video), "--overwrite"]) == 0
    assert "1 done, 0 skipped" in capsys.readouterr().out
    pose = read_pose(output)
    assert abs(pose.body.data.shape[0] - FIXTURE_FRAMES * 5 / 29.9167) <= 1
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_model_complexity_2_is_refused(video, tmp_path, capsys):
    with pytest.raises(SignclipError, match="model_complexity=2"):
        extract_poses([video], tmp_path, model_complexity=2, progress=False)
    with pytest.raises(SignclipError, match="downloads"):
        video_to_pose(video, model_complexity=2)
    assert main(["extract", str(video), "-o", str(tmp_path), "--model-complexity", "2"]) == 1
    assert "model_complexity=2" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_unreadable_videos_raise_video_error(tmp_path):
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "text.mp4").write_text("hello")
    with pytest.raises(VideoError, match="empty"):
        video_to_pose(tmp_path / "empty.mp4")
    with pytest.raises(VideoError, match="not a readable video"):
        video_to_pose(tmp_path / "text.mp4")
    with pytest.raises(VideoError, match="no such file"):
        video_to_pose(tmp_path / "missing.mp4")


def test_bad_arguments_are_refused(video, tmp_path):
    with pytest.raises(SignclipError, match="fps"):
        extract_poses([video], tmp_path, fps=0, progress=False)
    with pytest.raises(SignclipError, match="workers"):
        extract_poses([video], tmp_path, workers=0, progress=False)
    with pytest.raises(SignclipError, match="no such file or folder"):
        extract_poses([tmp_path / "missing"], tmp_path / "out", progress=False)


def test_missing_mediapipe_gives_install_hint(video, tmp_path, monkeypatch):
    for name in [n for n in sys.modules if n == "mediapipe" or n.startswith("mediapipe.")] + ["mediapipe"]:
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(SignclipError, match=r"signclip\[video\]"):
        video_to_pose(video)
    with pytest.raises(SignclipError, match=r"signclip\[video\]"):
        extract_poses([video], tmp_path, progress=False)


def test_importing_signclip_does_not_import_mediapipe():
    code = "import sys, signclip.cli, signclip.poses.extract; print('mediapipe' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_plan_mirrors_folders_and_finds_collisions(tmp_path):
    videos = tmp_path / "videos"
    (videos / "a" / "b").mkdir(parents=True)
    for name in ["a/b/one.mp4", "a/two.MOV", "three.webm", "a/skip.txt", ".hidden.mp4"]:
        (videos / name).write_bytes(b"x")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "three.pose").write_bytes(b"done")
    plan = plan_extraction([videos], tmp_path / "out")
    assert {(j.video.relative_to(videos).as_posix(), j.output.relative_to(tmp_path).as_posix()) for j in plan.jobs} == {
        ("a/b/one.mp4", "out/a/b/one.pose"),
        ("a/two.MOV", "out/a/two.pose"),
    }
    assert [j.output for j in plan.skipped] == [tmp_path / "out" / "three.pose"]
    assert len(plan_extraction([videos], tmp_path / "out", overwrite=True).jobs) == 3

    (videos / "a" / "b" / "one.webm").write_bytes(b"x")
    with pytest.raises(SignclipError, match=r"one\.m.*one\.w.*both be written"):
        plan_extraction([videos], tmp_path / "out")
    (tmp_path / "no_videos").mkdir()
    with pytest.raises(SignclipError, match="no videos"):
        plan_extraction([tmp_path / "no_videos"], tmp_path / "other")


@pytest.mark.slow
def test_interrupted_run_leaves_only_complete_files(video, estimated, tmp_path):
    inputs = tmp_path / "videos"
    inputs.mkdir()
    copies = 10
    for index in range(copies):
        shutil.copy(video, inputs / f"copy{index}.mp4")
    out = tmp_path / "poses"
    command = [sys.executable, "-m", "signclip.cli", "extract", str(inputs), "-o", str(out), "--no-progress"]
    process = subprocess.Popen(
        [*command, "--workers", "2", "--fps", "5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # a test run started in the background of a shell inherits SIGINT ignored, and Python then never
        # raises KeyboardInterrupt: give the command the disposition a terminal's Ctrl-C meets
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 120
    while not list(out.rglob("*.pose")) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr.decode()
    assert b"Traceback" not in stderr
    written = list(out.rglob("*.pose"))
    assert 1 <= len(written) < copies
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    assert {read_pose(path).body.data.shape[0] for path in written} == {estimated["5fps"].body.data.shape[0]}


def test_one_video_in_this_process_prints_no_mediapipe_log_lines(video):
    code = (
        "import sys\n"
        "from signclip.poses.extract import video_to_pose\n"
        f"pose = video_to_pose({str(video)!r})\n"
        "print('python stderr still works', file=sys.stderr)\n"
        "print(pose.body.data.shape[0])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    assert int(result.stdout) > 0
    assert result.stderr.strip() == "python stderr still works"  # no TensorFlow Lite / MediaPipe lines
