"""Pose extraction on a local Ray: the same bytes as the process pool, resumable, and a killed actor retried."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("ray")
pytest.importorskip("mediapipe")

from signclip.cluster.extract import ray_runner
from signclip.cluster.session import RayOptions
from signclip.poses.extract import extract_poses

VIDEO = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "test_video.mp4"
pytestmark = pytest.mark.skipif(not VIDEO.is_file(), reason="needs ../shared/fixtures/test_video.mp4")


@pytest.fixture
def videos(tmp_path) -> Path:
    folder = tmp_path / "videos"
    (folder / "nested").mkdir(parents=True)
    shutil.copy(VIDEO, folder / "a.mp4")
    shutil.copy(VIDEO, folder / "nested" / "b.mp4")
    (folder / "broken.mp4").write_bytes(b"not a video")
    return folder


@pytest.fixture(scope="module")
def pool_pose(tmp_path_factory) -> bytes:
    out = tmp_path_factory.mktemp("pool")
    report = extract_poses([VIDEO], out, workers=1, progress=False)
    assert not report.failed
    return (out / "test_video.pose").read_bytes()


def test_ray_writes_the_pool_s_bytes_and_reports_failures(ray_local, videos, tmp_path, pool_pose):
    out = tmp_path / "poses"
    report = extract_poses([videos], out, workers=2, progress=False, runner=ray_runner(RayOptions()))
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.pose")) == ["a.pose", "nested/b.pose"]
    assert (out / "a.pose").read_bytes() == pool_pose
    assert (out / "nested" / "b.pose").read_bytes() == pool_pose
    assert [Path(video).name for video, _ in report.failed] == ["broken.mp4"]
    assert "not a readable video" in report.failed[0][1]
    assert "broken.mp4" in (out / "extract_errors.log").read_text()
    assert report.frames == 2 * 58

    rerun = extract_poses([videos], out, workers=2, progress=False, runner=ray_runner(RayOptions()))
    assert sorted(p.name for p in rerun.skipped) == ["a.pose", "b.pose"] and not rerun.written


def test_a_killed_actor_is_restarted_and_every_output_written_once(ray_local, tmp_path, pool_pose):
    import psutil

    folder = tmp_path / "videos"
    folder.mkdir()
    for index in range(4):
        shutil.copy(VIDEO, folder / f"v{index}.mp4")
    out = tmp_path / "poses"
    killed: list[int] = []

    def kill_one_busy_actor() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            for process in psutil.process_iter(["pid", "cmdline"]):
                command = " ".join(process.info["cmdline"] or [])
                if "ExtractActor" in command and process.cpu_percent(interval=0.2) > 20:
                    process.kill()
                    killed.append(process.info["pid"])
                    return
            time.sleep(0.1)

    killer = threading.Thread(target=kill_one_busy_actor)
    killer.start()
    report = extract_poses([folder], out, workers=2, progress=False, runner=ray_runner(RayOptions()))
    killer.join()
    assert killed, "no busy extraction actor was found to kill"
    assert not report.failed
    assert sorted(p.name for p in report.written) == [f"v{i}.pose" for i in range(4)]
    assert sorted(p.name for p in out.iterdir()) == [f"v{i}.pose" for i in range(4)]  # no temporary files left
    assert all((out / f"v{i}.pose").read_bytes() == pool_pose for i in range(4))
