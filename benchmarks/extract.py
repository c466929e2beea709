"""Video -> pose extraction speed: `signclip extract` against pose-format's `videos_to_poses`, same folder.

A temporary folder holds `--copies` copies of the fixture video (a real signer, 58 frames, 540x720).
Baseline: pose-format's own batch command, `videos_to_poses -d DIR --num-workers W` (MediaPipe Holistic,
a process pool, writes DIR/<name>.pose). Ours: `signclip extract DIR -o OUT --workers W`. Both run as
commands in fresh processes, so interpreter start-up and model loading count for both; their order
alternates between `--repeats`, and the best pass of each is kept (other work on a shared CPU only
slows passes down). Also measured in the same run: one MediaPipe stream in this process (frames/s
and cores used), giving the limit `single-stream fps x cores / cores-per-stream`, and whether each
output equals pose-format's `video_to_pose` of the video.

    python benchmarks/extract.py [--copies 6] [--workers 2] [--repeats 1] [--video PATH]
"""

from __future__ import annotations

import argparse
import io
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DEFAULT_VIDEO = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "test_video.mp4"


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_command(command: list[str]) -> tuple[float, float, str]:
    """Run `command`; return (wall seconds, CPU seconds of it and its children, stdout)."""
    cpu = children_cpu_seconds()
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return wall, children_cpu_seconds() - cpu, result.stdout


def single_stream(video: Path) -> tuple[float, float, int]:
    """One HolisticEstimator in this process: (frames/s, cores used, frames), after a warm-up video."""
    from signclip.poses.extract import HolisticEstimator

    with HolisticEstimator() as estimator:
        estimator.estimate(video, fps=5)
        cpu, start = time.process_time(), time.perf_counter()
        frames = estimator.estimate(video).body.data.shape[0]
        wall = time.perf_counter() - start
    return frames / wall, (time.process_time() - cpu) / wall, frames


def pose_format_reference(video: Path, folder: Path):
    """pose-format's `video_to_pose` of `video` (model_complexity=1), as a Pose."""
    from pose_format import Pose
    from pose_format.bin.pose_estimation import pose_video

    path = folder / "reference.pose"
    with open(os.devnull, "w") as quiet:
        stdout, sys.stdout = sys.stdout, quiet
        try:
            pose_video(str(video), str(path), "mediapipe", {"model_complexity": 1}, progress=False)
        finally:
            sys.stdout = stdout
    return Pose.read(path.read_bytes())


def compare(outputs: list[Path], reference) -> str:
    """How many `outputs` equal the reference pose, and the largest difference of the others."""
    from pose_format import Pose

    equal, worst_xyz, worst_confidence = 0, 0.0, 0.0
    for path in outputs:
        pose = Pose.read(path.read_bytes())
        xyz = np.abs(np.ma.getdata(pose.body.data) - np.ma.getdata(reference.body.data)).max()
        confidence = np.abs(pose.body.confidence - reference.body.confidence).max()
        header = io.BytesIO()
        pose.header.write(header)
        reference_header = io.BytesIO()
        reference.header.write(reference_header)
        if xyz <= 1e-3 and confidence <= 1e-5 and header.getvalue() == reference_header.getvalue():
            equal += 1
        worst_xyz, worst_confidence = max(worst_xyz, xyz), max(worst_confidence, confidence)
    text = f"{equal}/{len(outputs)} equal pose-format's video_to_pose"
    if equal < len(outputs):
        text += f" (others differ by up to {worst_xyz:.2f} px, {worst_confidence:.3f} confidence)"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    args = parser.parse_args()
    if not args.video.is_file():
        raise SystemExit(f"{args.video}: no such video (pass --video)")
    cores = len(os.sched_getaffinity(0))
    bin_dir = Path(sys.executable).parent

    with tempfile.TemporaryDirectory(prefix="extract-bench-") as temporary:
        root = Path(temporary)
        videos, ours_out = root / "videos", root / "poses"
        videos.mkdir()
        for index in range(args.copies):
            shutil.copy(args.video, videos / f"copy{index:03d}{args.video.suffix}")

        stream_fps, stream_cores, frames = single_stream(args.video)
        reference = pose_format_reference(args.video, root)
        total_frames = frames * args.copies
        limit = stream_fps * cores / stream_cores
        print(
            f"{args.copies} copies of {args.video.name} ({frames} frames), {args.workers} workers, {cores} cores\n"
            f"single stream (one MediaPipe graph, decode thread beside it): {stream_fps:.1f} frames/s using "
            f"{stream_cores:.2f} cores -> limit {stream_fps:.1f} x {cores} / {stream_cores:.2f} = {limit:.1f} frames/s"
        )

        ours = [sys.executable, "-m", "signclip.cli", "extract", str(videos), "-o", str(ours_out)]
        commands = {
            "pose-format": [str(bin_dir / "videos_to_poses"), "-d", str(videos), "--num-workers", str(args.workers)],
            "signclip": [*ours, "--workers", str(args.workers), "--no-progress"],
        }
        best: dict[str, tuple[float, float, str]] = {}
        equality: dict[str, str] = {}
        for repeat in range(args.repeats):
            for name in list(commands)[:: 1 if repeat % 2 == 0 else -1]:
                shutil.rmtree(ours_out, ignore_errors=True)
                for stale in videos.glob("*.pose"):
                    stale.unlink()
                measured = run_command(commands[name])
                if name not in best or measured[0] < best[name][0]:
                    best[name] = measured
                outputs = sorted((ours_out if name == "signclip" else videos).rglob("*.pose"))
                if len(outputs) != args.copies:
                    raise SystemExit(f"{name} wrote {len(outputs)} of {args.copies} .pose files")
                equality.setdefault(name, compare(outputs, reference))

        rates = {}
        for name, label in [
            ("pose-format", "videos_to_poses --num-workers"),
            ("signclip", "signclip extract --workers"),
        ]:
            wall, cpu, _ = best[name]
            rates[name] = total_frames / wall
            print(
                f"{label} {args.workers}: {wall:.2f} s, {args.copies / wall:.2f} videos/s, {rates[name]:.1f} frames/s "
                f"({rates[name] / limit:.0%} of the limit), {cpu / wall:.2f} cores busy; {equality[name]}"
            )
        print(f"ratio signclip / pose-format: {rates['signclip'] / rates['pose-format']:.2f}x (videos/s and frames/s)")
        worker_time = re.search(r"worker time: (.*)", best["signclip"][2])
        if worker_time:
            print(f"where signclip's worker time goes (summed over workers): {worker_time.group(1)}")


if __name__ == "__main__":
    main()
