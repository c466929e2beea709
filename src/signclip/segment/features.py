"""Hand tracks and per-frame features from any pose layout with hands.

`hand_tracks(pose)` finds the two hands and a reference point in MediaPipe Holistic poses (hand
landmarks, body wrists as fallback, nose or shoulder centre, shoulder width as the unit) and in 2D
keypoint poses: with hand components named so (OpenPose's hand_left/right_keypoints_2d: the mean of their
present points) or points named left, right and nose (RWTH-BOSTON-104's); the median hand-nose distance as
the unit. `frame_features(tracks)` turns them into the tagger's input.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pose_format import Pose
from scipy.ndimage import gaussian_filter1d

from signclip.errors import PoseLayoutError
from signclip.poses import holistic

HANDS = ("left", "right")


@dataclass
class HandTracks:
    """Both hands of one signer over time.

    positions: float32 (frames, 2, 2): x, y of the left and right hand relative to the reference point
    (nose), in body units (y grows downwards, as in images); frames without the hand are interpolated
    from the nearest frames with it. present: bool (frames, 2). layout: "holistic" or "keypoints".
    """

    positions: np.ndarray
    present: np.ndarray
    fps: float
    layout: str

    @property
    def frames(self) -> int:
        return int(self.positions.shape[0])


def _component_slices(pose: Pose) -> dict[str, tuple[int, list[str]]]:
    out, start = {}, 0
    for component in pose.header.components:
        out[component.name] = (start, list(component.points))
        start += len(component.points)
    return out


def _interpolate(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Fill frames where `present` is False by linear interpolation (edges hold); values (frames, dims)."""
    frames = np.arange(len(values))
    if not present.any():
        return np.zeros_like(values)
    out = values.copy()
    for d in range(values.shape[1]):
        out[:, d] = np.interp(frames, frames[present], values[present, d])
    return out


def hand_tracks(pose: Pose) -> HandTracks:
    """Return the HandTracks of the first person of `pose`; PoseLayoutError when the layout has no hands."""
    data = np.ma.getdata(pose.body.data)[:, 0, :, :2].astype(np.float64)
    confidence = pose.body.confidence[:, 0]
    ok = (confidence > 0) & np.isfinite(data).all(axis=-1)
    components = _component_slices(pose)
    frames = data.shape[0]
    hands = np.zeros((frames, 2, 2))
    present = np.zeros((frames, 2), dtype=bool)
    hand_components = _hand_components(components)
    if holistic.LEFT_HAND in components and holistic.RIGHT_HAND in components:
        layout = "holistic"
        body_start, body_points = components.get(holistic.BODY, (None, []))
        for h, name in enumerate((holistic.LEFT_HAND, holistic.RIGHT_HAND)):
            present[:, h], hands[:, h] = _mean_of_points(data, ok, *components[name])
            wrist = f"{HANDS[h].upper()}_WRIST"
            if body_start is not None and wrist in body_points:
                j = body_start + body_points.index(wrist)
                fallback = ~present[:, h] & ok[:, j]
                hands[fallback, h] = data[fallback, j]
        reference, unit = _holistic_reference(data, ok, components)
    elif len(hand_components) == 2:  # hand components of another layout, e.g. OpenPose's hand_left_keypoints_2d
        layout = "keypoints"
        for h, name in enumerate(hand_components):
            present[:, h], hands[:, h] = _mean_of_points(data, ok, *components[name])
        reference, unit = _nose_track(data, ok, components), None
    else:
        layout = "keypoints"
        unit = None
        for start, points in components.values():
            lowered = [p.lower() for p in points]
            for h, side in enumerate(HANDS):
                match = [i for i, p in enumerate(lowered) if p == side or p.startswith(side)]
                if match and not present[:, h].any():
                    j = start + match[0]
                    present[:, h] = ok[:, j]
                    hands[:, h] = data[:, j]
        reference = _nose_track(data, ok, components)
        if not present.any() and reference is None:
            raise PoseLayoutError(
                "no hands found: expected MediaPipe Holistic hand components or keypoints named left/right "
                f"(the pose has {[(c.name, len(c.points)) for c in pose.header.components]})"
            )
    if reference is None:
        reference = np.zeros((frames, 2))
    for h in range(2):
        hands[:, h] = _interpolate(hands[:, h], present[:, h] | (np.abs(hands[:, h]).sum(axis=1) > 0))
    relative = hands - reference[:, None]
    if unit is None:
        distances = np.linalg.norm(relative, axis=-1)[present]
        unit = float(np.median(distances)) if len(distances) else 1.0
    unit = unit if unit and np.isfinite(unit) and unit > 0 else 1.0
    return HandTracks((relative / unit).astype(np.float32), present, float(pose.body.fps), layout)


def _hand_components(components: dict) -> list[str]:
    """The names of the left and the right hand components of a layout that names them (e.g. OpenPose's
    `hand_left_keypoints_2d`), in that order; fewer than two when it does not."""
    found = []
    for side in HANDS:
        named = [name for name in components if "hand" in name.lower() and side in name.lower()]
        found += named[:1]
    return found


def _mean_of_points(data: np.ndarray, ok: np.ndarray, start: int, points: list) -> tuple[np.ndarray, np.ndarray]:
    """(present (frames,), mean x, y of the component's present points (frames, 2), zeros where none is)."""
    seen = ok[:, start : start + len(points)]
    count = seen.sum(axis=1)
    total = (data[:, start : start + len(points)] * seen[..., None]).sum(axis=1)
    return count > 0, np.where(count[:, None] > 0, total / np.maximum(count, 1)[:, None], 0)


def _nose_track(data: np.ndarray, ok: np.ndarray, components: dict) -> np.ndarray | None:
    """The track of the first point named nose (any case), interpolated; None when there is none."""
    for start, points in components.values():
        lowered = [p.lower() for p in points]
        if "nose" in lowered:
            j = start + lowered.index("nose")
            return _interpolate(data[:, j], ok[:, j])
    return None


def _holistic_reference(data: np.ndarray, ok: np.ndarray, components: dict) -> tuple[np.ndarray, float | None]:
    """The nose track (or the shoulder centre) and the median shoulder width of a Holistic pose."""
    frames = data.shape[0]
    if holistic.BODY not in components:
        return np.zeros((frames, 2)), None
    start, points = components[holistic.BODY]
    index = {p: start + i for i, p in enumerate(points)}
    unit = None
    if "LEFT_SHOULDER" in index and "RIGHT_SHOULDER" in index:
        left, right = index["LEFT_SHOULDER"], index["RIGHT_SHOULDER"]
        both = ok[:, left] & ok[:, right]
        if both.any():
            unit = float(np.median(np.linalg.norm(data[both, left] - data[both, right], axis=-1)))
            centre = _interpolate((data[:, left] + data[:, right]) / 2, both)
        else:
            centre = np.zeros((frames, 2))
    else:
        centre = np.zeros((frames, 2))
    if "NOSE" in index and ok[:, index["NOSE"]].any():
        return _interpolate(data[:, index["NOSE"]], ok[:, index["NOSE"]]), unit
    return centre, unit


def hand_speed(tracks: HandTracks, sigma: float = 1.0) -> np.ndarray:
    """Per-hand speed (frames, 2) in body units per second after Gaussian smoothing (sigma in frames)."""
    positions = tracks.positions.astype(np.float64)
    if sigma > 0 and tracks.frames > 1:
        positions = gaussian_filter1d(positions, sigma, axis=0, mode="nearest")
    if tracks.frames < 2:
        return np.zeros((tracks.frames, 2))
    velocity = np.gradient(positions, axis=0) * tracks.fps
    return np.linalg.norm(velocity, axis=-1)


FEATURE_SCALES = (1, 2, 4)


def frame_features(tracks: HandTracks, sigma: float = 1.0, scales: tuple[int, ...] = FEATURE_SCALES) -> np.ndarray:
    """Per-frame tagger features float32 (frames, features) from hand tracks.

    Per hand: position (2), presence (1), and for each lag k in `scales` the displacement to k frames
    ahead and k frames behind (2 + 2, in body units per 1/30 s, so features do not depend on fps), speed
    and acceleration magnitude (2); then the distance between the hands (1).
    Size: 2 * (3 + 4 * len(scales) + 2) + 1.
    """
    positions = tracks.positions.astype(np.float64)
    frames = tracks.frames
    if sigma > 0 and frames > 1:
        positions = gaussian_filter1d(positions, sigma, axis=0, mode="nearest")
    per_frame = 30.0 / tracks.fps if tracks.fps > 0 else 1.0
    columns = []
    index = np.arange(frames)
    for h in range(2):
        p = positions[:, h]
        columns += [p, tracks.present[:, h, None].astype(np.float64)]
        for k in scales:
            ahead = p[np.minimum(index + k, frames - 1)] - p
            behind = p - p[np.maximum(index - k, 0)]
            columns += [ahead * per_frame / k, behind * per_frame / k]
        velocity = np.gradient(p, axis=0) * per_frame if frames > 1 else np.zeros_like(p)
        acceleration = np.gradient(velocity, axis=0) if frames > 1 else np.zeros_like(p)
        columns += [np.linalg.norm(velocity, axis=-1)[:, None], np.linalg.norm(acceleration, axis=-1)[:, None]]
    columns.append(np.linalg.norm(positions[:, 0] - positions[:, 1], axis=-1)[:, None])
    return np.concatenate(columns, axis=1).astype(np.float32)


def mirror_tracks(tracks: HandTracks) -> HandTracks:
    """The left-right mirror image of `tracks`: the hands swapped and x negated."""
    positions = tracks.positions[:, ::-1] * np.array([-1.0, 1.0], dtype=np.float32)
    return HandTracks(positions.astype(np.float32), tracks.present[:, ::-1].copy(), tracks.fps, tracks.layout)


def mirror_features(features: np.ndarray, scales: tuple[int, ...] = FEATURE_SCALES) -> np.ndarray:
    """`frame_features` (frames, features) of the mirrored tracks, computed from the features themselves:
    equal to `frame_features(mirror_tracks(tracks))` for `features = frame_features(tracks)`."""
    block = (feature_size(scales) - 1) // 2
    x_columns = [0] + [3 + 4 * i + j for i in range(len(scales)) for j in (0, 2)]
    signs = np.ones(block, dtype=features.dtype)
    signs[x_columns] = -1
    left, right = features[:, :block] * signs, features[:, block : 2 * block] * signs
    return np.concatenate([right, left, features[:, 2 * block :]], axis=1)


def feature_size(scales: tuple[int, ...] = FEATURE_SCALES) -> int:
    """The number of features `frame_features` returns for `scales`."""
    return 2 * (3 + 4 * len(scales) + 2) + 1
