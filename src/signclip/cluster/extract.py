"""Pose extraction on Ray Data: the process pool's work, spread over a cluster's CPU actors.

Each actor holds one MediaPipe graph (loaded once) and extracts one video per batch with the same code
as a pool worker (`extract_one`: the graph run restarted between videos, the .pose written atomically),
so a video gives the same bytes on either engine. Ray restarts an actor whose process dies and retries
its batch (`engine.MAX_RETRIES`); outputs that exist are skipped before the run, which makes a rerun
resume where the last one stopped (Ray keeps no such record itself).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from signclip.cluster.session import RayOptions, map_with_actors, ray_session
from signclip.poses.extract_pool import (
    WORKER_THREAD_ENV,
    ExtractSettings,
    JobOutcome,
    JobRunner,
    VideoJob,
    extract_one,
)
from signclip.poses.video_frames import StageTimes


class ExtractActor:
    """A Ray Data actor: one MediaPipe graph; each call extracts the videos of a batch (video, output)."""

    def __init__(self, model_complexity: int, fps: float | None):
        from signclip.poses.holistic_estimator import HolisticEstimator, native_logs_silenced

        os.environ.update(WORKER_THREAD_ENV)
        self.quiet = contextlib.ExitStack()  # the actor's whole life: MediaPipe logs on every video
        self.quiet.enter_context(native_logs_silenced())
        self.started = time.perf_counter()
        self.estimator = HolisticEstimator(model_complexity)
        self.startup_seconds = time.perf_counter() - self.started
        self.fps = fps

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list]:
        """Extract each (video, output) row; returns the outcome columns, one row per video."""
        outcomes = [
            extract_one(self.estimator, VideoJob(Path(video), Path(output)), self.fps)
            for video, output in zip(batch["video"], batch["output"], strict=True)
        ]
        return {
            "video": [str(o.job.video) for o in outcomes],
            "output": [str(o.job.output) for o in outcomes],
            "frames": [o.frames for o in outcomes],
            "error": [o.error or "" for o in outcomes],
            "decode": [o.times.decode for o in outcomes],
            "inference": [o.times.inference for o in outcomes],
            "write": [o.times.write for o in outcomes],
            "startup": [self.startup_seconds for _ in outcomes],
        }


def ray_runner(options: RayOptions) -> JobRunner:
    """Return a job runner for `extract_poses(..., runner=...)` that extracts on Ray actors.

    The runner takes (jobs, settings, on_outcome) like the process pool's `run_jobs` (settings.workers is
    the number of actors), calls `on_outcome` per video as results stream back, and returns the slowest
    actor's model start-up seconds.
    """

    def run(jobs: list[VideoJob], settings: ExtractSettings, on_outcome: Callable[[JobOutcome], None]) -> float | None:
        with ray_session(options) as ray:
            items = [{"video": str(job.video), "output": str(job.output)} for job in jobs]
            dataset = ray.data.from_items(items, override_num_blocks=len(items))
            arguments = (settings.model_complexity, settings.fps)
            actors = min(settings.workers, len(jobs))
            results = map_with_actors(dataset, ExtractActor, arguments, actors=actors, batch_size=1)
            startup = None
            for row in results.iter_rows():
                times = StageTimes(float(row["decode"]), float(row["inference"]), float(row["write"]))
                job = VideoJob(Path(row["video"]), Path(row["output"]))
                on_outcome(JobOutcome(job, int(row["frames"]), row["error"] or None, times))
                startup = max(startup or 0.0, float(row["startup"]))
            return startup

    return run
