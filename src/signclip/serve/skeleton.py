"""A pose as a small drawable skeleton: 2D points per frame and the limbs joining them, ready for JSON.

The web page animates these on a canvas. World-coordinate components are left out, a full face mesh is
reduced to its contours, legs are hidden (often out of the picture, and no part of signing), frames are
subsampled to at most `max_frames`, and coordinates are rescaled into a box whose longer side is
`SCALE` units (integers), so the payload stays small whatever the pose's own units (pixels, or
normalized coordinates).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from pose_format import Pose

from signclip.errors import PoseLayoutError
from signclip.poses import holistic
from signclip.poses.transforms import HideLegs, select_points

SCALE = 1000
WORLD_COMPONENTS = (holistic.BODY_WORLD,)


@dataclass(frozen=True)
class SkeletonComponent:
    """One component's slice of the point list: its name, first point index, point count and limbs."""

    name: str
    start: int
    count: int
    limbs: list[tuple[int, int]]


@dataclass(frozen=True)
class Skeleton:
    """Frames of flat [x0, y0, x1, y1, ...] integer coordinates (None = point missing in that frame).

    Coordinates lie in a `width` x `height` box (longer side SCALE); `fps` is the rate after subsampling.
    """

    fps: float
    width: int
    height: int
    components: list[SkeletonComponent]
    frames: list[list[int | None]]

    def to_dict(self) -> dict:
        """Return the skeleton as JSON-ready data."""
        return asdict(self)


def drawable_layout(pose: Pose) -> list[tuple[str, list[str]]]:
    """Return the (component, points) to draw: every image-space component, the face mesh as its contours."""
    contour = holistic.face_contour_points()
    layout = []
    for component in pose.header.components:
        if component.name in WORLD_COMPONENTS:
            continue
        points = list(component.points)
        if component.name == holistic.FACE and len(points) > len(contour) and set(contour) <= set(points):
            points = contour
        layout.append((component.name, points))
    return layout


def pose_skeleton(pose: Pose, max_frames: int = 48) -> Skeleton:
    """Turn the first person of `pose` into a Skeleton of at most `max_frames` evenly spaced frames.

    Raises PoseLayoutError for a pose with no frames or no 2D coordinates.
    """
    frame_count = pose.body.data.shape[0]
    if frame_count == 0:
        raise PoseLayoutError("the pose has no frames to draw")
    if pose.body.data.shape[-1] < 2:
        raise PoseLayoutError("the pose has fewer than 2 coordinates per point; nothing to draw")
    selected = HideLegs()(select_points(pose, drawable_layout(pose)), np.random.default_rng(0))
    keep = np.unique(np.linspace(0, frame_count - 1, min(max_frames, frame_count)).round().astype(int))
    xy = np.ma.getdata(selected.body.data)[keep, 0, :, :2].astype(np.float64)
    present = (selected.body.confidence[keep, 0] > 0) & np.isfinite(xy).all(axis=-1)
    coordinates, width, height = _fit_box(xy, present)
    flat = coordinates.reshape(len(keep), -1).tolist()
    missing = np.repeat(~present, 2, axis=-1).reshape(len(keep), -1).tolist()
    frames = [
        [None if gone else value for value, gone in zip(row, gaps, strict=True)]
        for row, gaps in zip(flat, missing, strict=True)
    ]
    components, start = [], 0
    for component in selected.header.components:
        components.append(SkeletonComponent(component.name, start, len(component.points), list(component.limbs)))
        start += len(component.points)
    fps = float(pose.body.fps or 25.0) * len(keep) / frame_count
    return Skeleton(fps=round(fps, 3), width=width, height=height, components=components, frames=frames)


def _fit_box(xy: np.ndarray, present: np.ndarray) -> tuple[np.ndarray, int, int]:
    """Shift and scale points (frames, points, 2) so the present ones fill a box with longer side SCALE."""
    if not present.any():
        return np.zeros(xy.shape, dtype=np.int64), SCALE, SCALE
    points = xy[present]
    low, high = points.min(axis=0), points.max(axis=0)
    extent = high - low
    factor = SCALE / max(float(extent.max()), 1e-9)
    scaled = np.where(present[..., None], (xy - low) * factor, 0).round().astype(np.int64)
    width, height = (np.maximum(extent * factor, 1).round().astype(int)).tolist()
    return scaled, int(width), int(height)
