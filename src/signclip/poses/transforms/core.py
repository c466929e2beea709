"""What every transform shares: the PoseTensor a pipeline produces, length fitting and cropping, the
PointsTransform base of the steps that change the first person's arrays, and small helpers on a pose's
first person (its arrays, point positions, which points are present)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
from pose_format import Pose
from pose_format.pose_header import PoseHeader

from signclip.errors import ConfigError, PoseLayoutError
from signclip.poses import holistic
from signclip.poses.io import pose_from_array


@dataclass
class PoseTensor:
    """A preprocessed pose: `data` float32 (frames, features), `mask` bool (frames,), True = real frame."""

    data: np.ndarray
    mask: np.ndarray

    @property
    def frames(self) -> int:
        return int(self.data.shape[0])


def pose_to_tensor(pose: Pose) -> PoseTensor:
    """Flatten the first person of `pose` into a PoseTensor; points with confidence 0 become zeros."""
    data = np.ma.getdata(pose.body.data)[:, 0].astype(np.float32)
    present = pose.body.confidence[:, 0] > 0
    data = np.where(present[..., None] & np.isfinite(data), data, 0.0).astype(np.float32)
    frames = data.shape[0]
    return PoseTensor(data=data.reshape(frames, -1), mask=np.ones(frames, dtype=bool))


def fit_length(
    tensor: PoseTensor,
    max_frames: int,
    mode: Literal["truncate", "subsample", "windows"] = "subsample",
    stride: int | None = None,
) -> list[PoseTensor]:
    """Bring a tensor to at most `max_frames` frames.

    `truncate` keeps the first frames, `subsample` picks evenly spaced frames, `windows` returns
    overlapping windows (stride default max_frames // 2) covering the whole sequence. A tensor that
    already fits is returned unchanged (as a one-element list). A 0-frame tensor raises PoseLayoutError.
    """
    if max_frames < 1:
        raise ConfigError(f"max_frames must be at least 1, got {max_frames}")
    frames = tensor.frames
    if frames == 0:
        raise PoseLayoutError("the pose has 0 frames; nothing to embed")
    if frames <= max_frames:
        return [tensor]
    if mode == "truncate":
        return [PoseTensor(tensor.data[:max_frames], tensor.mask[:max_frames])]
    if mode == "subsample":
        index = np.round(np.linspace(0, frames - 1, max_frames)).astype(int)
        return [PoseTensor(tensor.data[index], tensor.mask[index])]
    if mode == "windows":
        stride = stride or max(1, max_frames // 2)
        starts = list(range(0, frames - max_frames + 1, stride))
        if starts[-1] != frames - max_frames:
            starts.append(frames - max_frames)
        return [PoseTensor(tensor.data[s : s + max_frames], tensor.mask[s : s + max_frames]) for s in starts]
    raise ConfigError(f"unknown length mode {mode!r}; use truncate, subsample or windows")


def crop_pose(pose: Pose, start_ms: float | None, end_ms: float | None) -> Pose:
    """Return the frames of `pose` between `start_ms` and `end_ms` (None or NaN = sequence start/end)."""
    fps = float(pose.body.fps)
    frames = pose.body.data.shape[0]
    start = 0 if start_ms is None or np.isnan(start_ms) else crop_start_frame(start_ms, fps)
    end = frames if end_ms is None or np.isnan(end_ms) else int(np.ceil(end_ms / 1000 * fps - 1e-6))
    start, end = max(0, min(start, frames)), max(0, min(end, frames))
    return with_body(pose, np.ma.getdata(pose.body.data)[start:end], pose.body.confidence[start:end])


def crop_start_frame(start_ms: float, fps: float) -> int:
    """The first frame `crop_pose` keeps for a segment starting at `start_ms` (may exceed the frame count)."""
    return int(np.floor(start_ms / 1000 * fps + 1e-6))


def with_body(
    pose: Pose,
    data: np.ndarray,
    confidence: np.ndarray,
    header: PoseHeader | None = None,
    fps: float | None = None,
) -> Pose:
    """Return a new Pose with `data` (frames, people, points, dims) and `confidence`; confidence 0 = masked.

    `header` and `fps` default to those of `pose`."""
    return pose_from_array(header or pose.header, data, fps or pose.body.fps, confidence)


def first_person(pose: Pose) -> tuple[np.ndarray, np.ndarray]:
    """Copies of the first person's coordinates (frames, points, dims) and confidence (frames, points)."""
    return np.ma.getdata(pose.body.data)[:, :1].copy(), pose.body.confidence[:, :1].copy()


Arrays = tuple[np.ndarray, np.ndarray]
"""A first person's coordinates (frames, 1, points, dims) and confidence (frames, 1, points)."""


class PointsTransform:
    """A step that changes the first person's coordinates and confidence, keeping the pose's header and fps.

    Subclasses implement `points(data, confidence, pose, rng)`, which gets copies of the arrays (to change
    in place or not) and the pose (for its header), and returns the new arrays; `augmentation` says
    whether the step runs only in training.
    """

    augmentation: ClassVar[bool] = False

    def __call__(self, pose: Pose, rng: np.random.Generator) -> Pose:
        data, confidence = first_person(pose)
        return with_body(pose, *self.points(data, confidence, pose, rng))

    def points(self, data: np.ndarray, confidence: np.ndarray, pose: Pose, rng: np.random.Generator) -> Arrays:
        """The step's new (data, confidence) of the first person (see the class doc)."""
        raise NotImplementedError


def point_index(header: PoseHeader) -> dict[tuple[str, str], int]:
    """Map (component name, point name) to the point's position in the flattened point axis (do not change the
    dict: it is computed once per layout and shared)."""
    return _point_index(tuple((component.name, tuple(component.points)) for component in header.components))


@functools.lru_cache(maxsize=64)
def _point_index(layout: tuple[tuple[str, tuple[str, ...]], ...]) -> dict[tuple[str, str], int]:
    index, start = {}, 0
    for name, points in layout:
        for i, point in enumerate(points):
            index[(name, point)] = start + i
        start += len(points)
    return index


def _find_point(header: PoseHeader, component: str, point: str) -> int | None:
    return point_index(header).get((component, point))


def present_mask(confidence: np.ndarray) -> np.ndarray:
    """Boolean array of the same shape as `confidence`: True where a point is present (confidence > 0)."""
    return confidence > 0


def shoulder_indices(header: PoseHeader) -> tuple[int, int]:
    """Return the (left, right) shoulder point positions of a Holistic or OpenPose header; PoseLayoutError
    when the pose has no shoulders."""
    for component, left, right in (
        (holistic.BODY, "LEFT_SHOULDER", "RIGHT_SHOULDER"),
        ("pose_keypoints_2d", "LShoulder", "RShoulder"),
    ):
        i, j = _find_point(header, component, left), _find_point(header, component, right)
        if i is not None and j is not None:
            return i, j
    raise PoseLayoutError("shoulder normalization needs both shoulders (POSE_LANDMARKS LEFT/RIGHT_SHOULDER)")


def image_points(header: PoseHeader, count: int) -> np.ndarray:
    """Boolean (points,) of points in image space (all but world landmarks)."""
    flags, start = np.ones(count, dtype=bool), 0
    for component in header.components:
        end = start + len(component.points)
        if "WORLD" in component.name:
            flags[start:end] = False
        start = end
    return flags
