"""Worker processes for pose extraction: each loads MediaPipe once and extracts the videos it is sent.

The parent sends one job at a time down a pipe to each worker and reads back "ready" / "finished" /
"fatal" messages; it notices a worker that died (e.g. MediaPipe crashing on a video) through the
process sentinel, reports that video as failed and starts a replacement. Workers write their .pose
files atomically themselves, ignore Ctrl-C (the parent handles it) and turn SIGTERM into SystemExit
so that a temporary file being written is removed.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path

from signclip.errors import SignclipError
from signclip.poses.io import write_pose
from signclip.poses.video_frames import StageTimes

# Per worker: one decode thread (PyAV single-threaded) beside one MediaPipe graph; keep OpenMP and
# OpenCV pools at one thread so N workers on N cores do not oversubscribe them.
WORKER_THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENCV_FOR_THREADS_NUM": "1"}
_STOP_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class VideoJob:
    """One video to extract and the .pose file to write."""

    video: Path
    output: Path


@dataclass(frozen=True)
class ExtractSettings:
    """How a run extracts: `workers` processes (or actors), MediaPipe's `model_complexity`, and the frame
    rate `fps` to drop frames to (None keeps every frame)."""

    workers: int
    model_complexity: int
    fps: float | None = None


@dataclass
class JobOutcome:
    """What extracting one video gave: frames written, or the error message."""

    job: VideoJob
    frames: int = 0
    error: str | None = None
    times: StageTimes = field(default_factory=StageTimes)


def extract_one(estimator, job: VideoJob, fps: float | None) -> JobOutcome:
    """Extract one video with a loaded estimator and write its .pose; errors go into the outcome."""
    outcome = JobOutcome(job)
    try:
        pose = estimator.estimate(job.video, fps=fps, times=outcome.times)
        start = time.perf_counter()
        write_pose(pose, job.output)
        outcome.times.write += time.perf_counter() - start
        outcome.frames = pose.body.data.shape[0]
    except SignclipError as error:
        outcome.error = str(error)
    except Exception as error:  # one bad video must not stop the batch
        outcome.error = f"{job.video}: {type(error).__name__}: {error}"
    return outcome


def _raise_system_exit(*_) -> None:
    raise SystemExit(143)


def worker_main(connection: Connection, model_complexity: int, fps: float | None) -> None:
    """Run in a worker process: load the model, then extract jobs received until None arrives."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _raise_system_exit)
    os.environ.update(WORKER_THREAD_ENV)
    from signclip.poses.holistic_estimator import HolisticEstimator, native_logs_silenced

    with native_logs_silenced():
        try:
            estimator = HolisticEstimator(model_complexity)
        except Exception as error:
            connection.send(("fatal", f"{error}" if isinstance(error, SignclipError) else repr(error)))
            return
        connection.send(("ready", None))
        with estimator:
            try:
                while (job := connection.recv()) is not None:
                    connection.send(("finished", extract_one(estimator, job, fps)))
            except (EOFError, BrokenPipeError):
                return  # the parent is gone


@dataclass(eq=False)
class _Worker:
    process: multiprocessing.Process
    connection: Connection
    job: VideoJob | None = None
    ready: bool = False


class WorkerPool:
    """`workers` extraction processes (spawned, so the parent's threads and imports do not leak in)."""

    def __init__(self, workers: int, model_complexity: int, fps: float | None):
        self._context = multiprocessing.get_context("spawn")
        self._arguments = (model_complexity, fps)
        self._working: list[_Worker] = []
        self._stopping: list[_Worker] = []
        self._started = time.perf_counter()
        self.first_ready_s: float | None = None
        for _ in range(workers):
            self._start_worker()

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _start_worker(self) -> None:
        parent_end, child_end = self._context.Pipe()
        process = self._context.Process(
            target=worker_main, args=(child_end, *self._arguments), name="signclip-extract", daemon=True
        )
        process.start()
        child_end.close()
        self._working.append(_Worker(process, parent_end))

    def run(self, jobs: list[VideoJob]) -> Iterator[JobOutcome]:
        """Extract `jobs` across the workers, yielding each outcome as it finishes (any order)."""
        pending = list(reversed(jobs))
        remaining = len(jobs)
        while remaining:
            owners = {}
            for worker in self._working:
                owners[worker.connection] = owners[worker.process.sentinel] = worker
            ready_workers = {id(owners[ready]): owners[ready] for ready in wait(list(owners))}
            for worker in ready_workers.values():
                outcome = self._service(worker, pending)
                if outcome is not None:
                    remaining -= 1
                    yield outcome

    def _service(self, worker: _Worker, pending: list[VideoJob]) -> JobOutcome | None:
        """Handle the message (or the exit) of `worker`; returns the outcome of a finished video."""
        try:
            kind, payload = worker.connection.recv() if worker.connection.poll() else ("exited", None)
        except EOFError:
            kind, payload = "exited", None
        if kind == "exited":
            return self._replace_dead(worker, pending)
        if kind == "fatal":
            raise SignclipError(f"the extraction worker could not start: {payload}")
        if not worker.ready:
            worker.ready = True
            if self.first_ready_s is None:
                self.first_ready_s = time.perf_counter() - self._started
        worker.job = pending.pop() if pending else None
        worker.connection.send(worker.job)
        if worker.job is None:
            self._working.remove(worker)
            self._stopping.append(worker)
        return payload if kind == "finished" else None

    def _replace_dead(self, worker: _Worker, pending: list[VideoJob]) -> JobOutcome | None:
        """Handle a worker that exited unasked: fail the video it held and start a replacement."""
        worker.process.join()
        self._working.remove(worker)
        code = worker.process.exitcode
        if not worker.ready:
            raise SignclipError(f"the extraction worker exited while starting (exit code {code})")
        if pending:
            self._start_worker()
        if worker.job is None:
            return None
        return JobOutcome(
            worker.job, error=f"{worker.job.video}: the worker process died (exit code {code}) on this video"
        )

    def close(self) -> None:
        """Let told-to-stop workers exit; stop the others (SIGTERM, then SIGKILL after a few seconds)."""
        for worker in self._working:
            if worker.process.is_alive():
                worker.process.terminate()
        deadline = time.monotonic() + _STOP_TIMEOUT_S
        for worker in self._stopping + self._working:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.connection.close()
        self._working.clear()
        self._stopping.clear()


JobRunner = Callable[[list[VideoJob], ExtractSettings, Callable[[JobOutcome], None]], "float | None"]
"""(jobs, settings, on_outcome) -> start-up seconds: how `run_extraction` runs its jobs."""


def run_jobs(jobs: list[VideoJob], settings: ExtractSettings, on_outcome: Callable[[JobOutcome], None]) -> float | None:
    """Extract `jobs` on `settings.workers` processes, calling `on_outcome` per video; returns start-up seconds."""
    with WorkerPool(min(settings.workers, len(jobs)), settings.model_complexity, settings.fps) as pool:
        for outcome in pool.run(jobs):
            on_outcome(outcome)
        return pool.first_ready_s
