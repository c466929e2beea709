"""Video -> pose extraction with MediaPipe Holistic, for one video or whole folders of them.

`video_to_pose(path)` returns one video's Pose; `extract_poses(inputs, out_dir)` writes one `.pose`
per video with a pool of worker processes (MediaPipe loaded once per worker), skipping outputs that
already exist, writing atomically, and reporting (not raising on) videos that cannot be read.
The output equals pose-format's `video_to_pose` for the same video (header and frames).
"""

from __future__ import annotations

import importlib.util
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from pose_format import Pose
from tqdm import tqdm

from signclip.errors import SignclipError
from signclip.poses.extract_pool import ExtractSettings, JobOutcome, JobRunner, VideoJob, run_jobs
from signclip.poses.files import VIDEO_SUFFIXES, is_media, is_video
from signclip.poses.holistic_estimator import (
    SUPPORTED_MODEL_COMPLEXITY,
    HolisticEstimator,
    check_model_complexity,
    import_mediapipe_holistic,
    native_logs_silenced,
)
from signclip.poses.video_frames import StageTimes, VideoError

__all__ = [
    "ERROR_LOG_NAME",
    "ExtractPlan",
    "ExtractReport",
    "ExtractSettings",
    "HolisticEstimator",
    "JobRunner",
    "StageTimes",
    "VideoError",
    "VideoJob",
    "extract_poses",
    "plan_extraction",
    "run_extraction",
    "run_jobs",
    "video_to_pose",
]

ERROR_LOG_NAME = "extract_errors.log"


def video_to_pose(
    path: str | os.PathLike,
    fps: float | None = None,
    model_complexity: int = SUPPORTED_MODEL_COMPLEXITY,
    estimator: HolisticEstimator | None = None,
) -> Pose:
    """Extract the MediaPipe Holistic Pose of one video in this process.

    Returns a Pose with data (frames, 1, 576, 3) in pixels: body 33, face 468, left hand 21, right
    hand 21, body world 33 points. `fps` first drops frames to about that rate (see `extract_poses`).
    Pass an `estimator` to reuse a loaded model across calls. Raises VideoError for unreadable videos.
    MediaPipe's native log lines are silenced (as in the extraction workers).
    """
    _check_fps(fps)
    with native_logs_silenced():
        if estimator is not None:
            return estimator.estimate(path, fps=fps)
        with HolisticEstimator(model_complexity) as own_estimator:
            return own_estimator.estimate(path, fps=fps)


@dataclass
class ExtractPlan:
    """The videos to extract and the outputs left alone because they exist."""

    jobs: list[VideoJob]
    skipped: list[VideoJob]


def plan_extraction(
    inputs: Sequence[str | os.PathLike], out_dir: str | os.PathLike, overwrite: bool = False
) -> ExtractPlan:
    """Find the videos in `inputs` (files, or folders searched recursively) and their output paths.

    A folder's videos keep their folder structure under `out_dir` (`in/a/b.mp4` -> `out/a/b.pose`); a
    file named directly goes to `out/<stem>.pose`. Existing outputs are skipped unless `overwrite`.
    Raises SignclipError for a missing input, no videos at all, or two videos sharing one output.
    """
    out_dir = Path(out_dir)
    sources = [Path(inputs)] if isinstance(inputs, str | os.PathLike) else [Path(i) for i in inputs]
    found: dict[Path, Path] = {}
    for source in sources:
        if source.is_dir():
            pairs = [(v, v.relative_to(source)) for v in sorted(source.rglob("*")) if is_media(v) and is_video(v)]
        elif source.is_file():
            pairs = [(source, Path(source.name))]
        else:
            raise SignclipError(f"{source}: no such file or folder")
        for video, relative in pairs:
            output = out_dir / relative.with_suffix(".pose")
            if found.get(output, video).resolve() != video.resolve():
                raise SignclipError(
                    f"{found[output]} and {video} would both be written to {output}; rename one of them"
                )
            found[output] = video
    if not found:
        raise SignclipError(f"no videos ({', '.join(VIDEO_SUFFIXES)}) found in {', '.join(map(str, sources))}")
    plan = ExtractPlan(jobs=[], skipped=[])
    for output, video in found.items():
        (plan.skipped if output.exists() and not overwrite else plan.jobs).append(VideoJob(video, output))
    return plan


@dataclass
class ExtractReport:
    """The result of `extract_poses`: what was written, skipped and failed, and where the time went."""

    written: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    frames: int = 0
    seconds: float = 0.0
    workers: int = 0
    startup_seconds: float | None = None
    times: StageTimes = field(default_factory=StageTimes)
    error_log: Path | None = None

    @property
    def frames_per_second(self) -> float:
        """Frames extracted per wall-clock second of the whole run."""
        return self.frames / self.seconds if self.seconds else 0.0

    @property
    def videos_per_second(self) -> float:
        """Videos written per wall-clock second of the whole run."""
        return len(self.written) / self.seconds if self.seconds else 0.0

    def lines(self) -> list[str]:
        """Return the report as printable lines."""
        out = [
            f"videos: {len(self.written)} done, {len(self.skipped)} skipped (already extracted), "
            f"{len(self.failed)} failed"
        ]
        if self.workers:
            out.append(
                f"frames: {self.frames} in {self.seconds:.1f} s ({self.frames_per_second:.1f} frames/s, "
                f"{self.videos_per_second:.2f} videos/s) with {self.workers} worker(s)"
            )
            startup = f"{self.startup_seconds:.1f} s" if self.startup_seconds is not None else "n/a"
            out.append(
                f"worker time: start-up {startup}, decode {self.times.decode:.1f} s (overlapped with "
                f"inference), inference {self.times.inference:.1f} s, writing {self.times.write:.1f} s"
            )
        out += [f"failed: {message}" for _, message in self.failed]
        if self.error_log is not None:
            out.append(f"errors logged to {self.error_log}")
        return out


def default_workers() -> int:
    """Return the number of CPUs this process may use (one worker per core)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _check_fps(fps: float | None) -> None:
    if fps is not None and not fps > 0:
        raise SignclipError(f"fps must be a positive number of frames per second, not {fps}")


def log_failures(failed: list[tuple[Path, str]], log_path: Path) -> None:
    """Append `time<TAB>input<TAB>message` lines for the failed inputs to `log_path`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().isoformat(timespec="seconds")
    with log_path.open("a", encoding="utf-8") as log:
        log.writelines(f"{stamp}\t{video}\t{message}\n" for video, message in failed)


def extract_poses(
    inputs: Sequence[str | os.PathLike],
    out_dir: str | os.PathLike,
    workers: int | None = None,
    fps: float | None = None,
    overwrite: bool = False,
    progress: bool = True,
    model_complexity: int = SUPPORTED_MODEL_COMPLEXITY,
    runner: JobRunner = run_jobs,
) -> ExtractReport:
    """Write one MediaPipe Holistic `.pose` per video in `inputs` under `out_dir`; returns the report.

    `inputs` are video files or folders (searched recursively for VIDEO_SUFFIXES; see
    `plan_extraction` for output names); the plan's jobs run as `run_extraction` runs them, and videos
    that fail are appended to `out_dir/extract_errors.log`. Existing outputs are skipped unless `overwrite`.
    """
    plan = plan_extraction(inputs, out_dir, overwrite=overwrite)
    report = run_extraction(
        plan.jobs, workers, fps, progress, model_complexity, runner, error_log=Path(out_dir) / ERROR_LOG_NAME
    )
    report.skipped = [job.output for job in plan.skipped]
    return report


def run_extraction(
    jobs: Sequence[VideoJob],
    workers: int | None = None,
    fps: float | None = None,
    progress: bool = True,
    model_complexity: int = SUPPORTED_MODEL_COMPLEXITY,
    runner: JobRunner = run_jobs,
    error_log: Path | None = None,
) -> ExtractReport:
    """Extract each job's video into its `.pose` output (written atomically); returns the report.

    `workers` processes (default: one per CPU) each load the model once. `fps` drops frames to about
    that many per second before inference (the first frame of each 1/fps interval; frames are never
    duplicated, so an fps at or above the video's keeps all frames); the pose's fps is the resulting rate.
    Videos that fail are listed in the report (and appended to `error_log` when given); the others are
    still extracted. `runner` runs the jobs: the local process pool (`run_jobs`), or
    `signclip.cluster.extract.ray_runner(...)` for Ray.
    """
    check_model_complexity(model_complexity)
    _check_fps(fps)
    workers = default_workers() if workers is None else workers
    if workers < 1:
        raise SignclipError(f"workers must be at least 1, not {workers}")
    report = ExtractReport()
    if not jobs:
        return report
    if importlib.util.find_spec("mediapipe") is None:
        import_mediapipe_holistic()  # raises the install hint
    report.workers = min(workers, len(jobs))
    start = time.perf_counter()
    bar = tqdm(total=len(jobs), unit="video", desc="extracting poses", disable=not progress)

    def record(outcome: JobOutcome) -> None:
        report.times.add(outcome.times)
        if outcome.error is None:
            report.written.append(outcome.job.output)
            report.frames += outcome.frames
        else:
            report.failed.append((outcome.job.video, outcome.error))
        bar.update()
        frames_per_second = report.frames / (time.perf_counter() - start)
        bar.set_postfix({"frames/s": f"{frames_per_second:.1f}", "failed": len(report.failed)})

    largest_first = sorted(jobs, key=lambda job: job.video.stat().st_size, reverse=True)
    try:
        settings = ExtractSettings(report.workers, model_complexity, fps)
        report.startup_seconds = runner(largest_first, settings, record)
    finally:
        bar.close()
        report.seconds = time.perf_counter() - start
        if report.failed and error_log is not None:
            report.error_log = error_log
            log_failures(report.failed, report.error_log)
    return report
