"""Steps over time: frame-rate resampling, evenly spaced frames, dropping frames without a component,
and the speed and frame_dropout augmentations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from pose_format import Pose

from signclip.errors import ConfigError, PoseLayoutError
from signclip.poses.transforms.core import Arrays, PointsTransform, first_person, point_index, present_mask, with_body


def interpolate_frames(pose: Pose, positions: np.ndarray, fps: float) -> Pose:
    """Linear interpolation of coordinates at fractional frame `positions`; a point is present only when
    both neighbouring frames have it."""
    data, confidence = first_person(pose)
    frames = data.shape[0]
    if frames == 0 or len(positions) == 0:
        return with_body(pose, data[:0], confidence[:0], fps=fps)
    positions = np.clip(positions, 0, frames - 1)
    low = np.floor(positions).astype(int)
    high = np.minimum(low + 1, frames - 1)
    weight = (positions - low)[:, None, None, None]
    new_data = data[low] * (1 - weight) + data[high] * weight
    exact = weight[..., 0] == 0  # a position on a frame needs only that frame
    high_confidence = np.where(exact, confidence[low], confidence[high])
    new_confidence = np.where(present_mask(high_confidence), np.minimum(confidence[low], high_confidence), 0)
    return with_body(pose, new_data, new_confidence, fps=fps)


@dataclass(frozen=True)
class ResampleFPS:
    """Resample to `fps` frames per second by linear interpolation over time."""

    fps: float = 25.0
    augmentation: ClassVar[bool] = False

    def __call__(self, pose: Pose, rng: np.random.Generator) -> Pose:
        if self.fps <= 0:
            raise ConfigError(f"resample_fps needs a positive fps, got {self.fps}")
        frames, source_fps = pose.body.data.shape[0], float(pose.body.fps)
        if frames <= 1 or source_fps == self.fps:
            return with_body(pose, *first_person(pose), fps=self.fps)
        duration = (frames - 1) / source_fps
        positions = np.arange(0, duration + 1e-9, 1 / self.fps) * source_fps
        return interpolate_frames(pose, positions, self.fps)


@dataclass(frozen=True)
class EvenFrames(PointsTransform):
    """Keep `frames` evenly spaced frames (the nearest frame to each of `frames` points from the first to
    the last; a shorter pose repeats frames). An empty pose stays empty."""

    frames: int = 12

    def points(self, data: np.ndarray, confidence: np.ndarray, pose: Pose, rng: np.random.Generator) -> Arrays:
        if self.frames < 1:
            raise ConfigError(f"even_frames needs at least 1 frame, got {self.frames}")
        if len(data) == 0:
            return data, confidence
        index = np.round(np.linspace(0, len(data) - 1, self.frames)).astype(int)
        return data[index], confidence[index]


@dataclass(frozen=True)
class FramesWith:
    """Keep only the frames in which `component` (e.g. RIGHT_HAND_LANDMARKS) is present, judged by its
    first point (a hand's wrist); a pose in which it is never present is kept whole. PoseLayoutError when
    the pose has no such component."""

    component: str = "RIGHT_HAND_LANDMARKS"
    augmentation: ClassVar[bool] = False

    def __call__(self, pose: Pose, rng: np.random.Generator) -> Pose:
        names = [component.name for component in pose.header.components]
        if self.component not in names:
            raise PoseLayoutError(f"frames_with: the pose has no component {self.component!r} (it has {names})")
        first_point = pose.header.components[names.index(self.component)].points[0]
        data, confidence = first_person(pose)
        keep = present_mask(confidence[:, 0, point_index(pose.header)[(self.component, first_point)]])
        return with_body(pose, data[keep], confidence[keep]) if keep.any() else pose


@dataclass(frozen=True)
class Speed:
    """Augmentation: change the signing speed by a ratio ~ N(1, std), clipped to [0.5, 2], by interpolation."""

    std: float = 0.2
    augmentation: ClassVar[bool] = True

    def __call__(self, pose: Pose, rng: np.random.Generator) -> Pose:
        frames = pose.body.data.shape[0]
        if frames <= 1:
            return pose
        ratio = float(np.clip(rng.normal(1.0, self.std), 0.5, 2.0))
        new_frames = max(1, round(frames / ratio))
        return interpolate_frames(pose, np.linspace(0, frames - 1, new_frames), float(pose.body.fps))


@dataclass(frozen=True)
class FrameDropout(PointsTransform):
    """Augmentation: drop each frame with probability `p` (at least one frame is kept)."""

    p: float = 0.1
    augmentation: ClassVar[bool] = True

    def points(self, data: np.ndarray, confidence: np.ndarray, pose: Pose, rng: np.random.Generator) -> Arrays:
        if len(data) <= 1:
            return data, confidence
        keep = rng.random(len(data)) >= self.p
        if not keep.any():
            keep[rng.integers(len(data))] = True
        return data[keep], confidence[keep]
