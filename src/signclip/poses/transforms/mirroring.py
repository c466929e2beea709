"""Left-right mirroring: `mirror_pose`, the dominant hand, and the dominant_hand and mirror steps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from pose_format import Pose

from signclip.errors import ConfigError, PoseLayoutError
from signclip.poses import holistic
from signclip.poses.transforms.core import (
    first_person,
    image_points,
    point_index,
    present_mask,
    shoulder_indices,
    with_body,
)


def mirror_pose(pose: Pose) -> Pose:
    """Mirror left-right: negate x about the mean x of the visible points and swap left/right points.

    Hands swap components, paired body points swap names, face mesh points map through the mesh's
    symmetry. World landmarks are mirrored about x = 0. Mirroring twice returns the input exactly.
    """
    data, confidence = first_person(pose)
    index = point_index(pose.header)
    permutation = np.arange(data.shape[2])
    for (component, point), i in index.items():
        partner = index.get(holistic.mirrored_point_name(component, point))
        if partner is not None:
            permutation[i] = partner
    data, confidence = data[:, :, permutation], confidence[:, :, permutation]
    image = image_points(pose.header, data.shape[2])
    visible = present_mask(confidence) & image
    center = data[..., 0][visible].mean() if visible.any() else 0.0
    data[:, :, image, 0] = 2 * center - data[:, :, image, 0]
    data[:, :, ~image, 0] = -data[:, :, ~image, 0]
    return with_body(pose, data * (confidence[..., None] > 0), confidence)


def hand_activity(pose: Pose) -> dict[str, float]:
    """Score each hand by how much it is present and moving: wrist path length plus visible frames.

    Returns {"left": score, "right": score}; the path is measured in shoulder widths when the
    shoulders are visible, else in image units, and frames count 1e-3 each to break ties.
    """
    data, confidence = first_person(pose)
    index = point_index(pose.header)
    try:
        left_shoulder, right_shoulder = shoulder_indices(pose.header)
        widths = np.linalg.norm(data[:, 0, left_shoulder, :2] - data[:, 0, right_shoulder, :2], axis=-1)
        seen = present_mask(confidence[:, 0, left_shoulder]) & present_mask(confidence[:, 0, right_shoulder])
        unit = float(widths[seen].mean()) if seen.any() else 1.0
    except PoseLayoutError:
        unit = 1.0
    scores = {}
    for side, hand in (("left", holistic.LEFT_HAND), ("right", holistic.RIGHT_HAND)):
        wrist = index.get((hand, "WRIST"))
        if wrist is None:
            scores[side] = 0.0
            continue
        present = present_mask(confidence[:, 0, wrist])
        steps = present[1:] & present[:-1]
        moves = np.linalg.norm(np.diff(data[:, 0, wrist, :2], axis=0), axis=-1)[steps]
        scores[side] = float(moves.sum() / max(unit, 1e-9) + 1e-3 * present.sum())
    return scores


def hand_frames(pose: Pose) -> dict[str, float]:
    """Count the frames in which each hand's wrist is present: {"left": frames, "right": frames}."""
    _, confidence = first_person(pose)
    index = point_index(pose.header)
    counts = {}
    for side, hand in (("left", holistic.LEFT_HAND), ("right", holistic.RIGHT_HAND)):
        wrist = index.get((hand, "WRIST"))
        counts[side] = 0.0 if wrist is None else float(present_mask(confidence[:, 0, wrist]).sum())
    return counts


@dataclass(frozen=True)
class DominantHand:
    """Mirror the pose when the dominant hand is not `side`. `by` says which hand is dominant: "activity"
    (present and moving most, `hand_activity`) or "frames" (present in more frames, `hand_frames`; a tie
    goes to the more active hand)."""

    side: str = "right"
    by: str = "activity"
    augmentation: ClassVar[bool] = False

    def __call__(self, pose: Pose, rng: np.random.Generator) -> Pose:
        if self.side not in ("left", "right"):
            raise ConfigError(f"dominant_hand side must be 'left' or 'right', got {self.side!r}")
        if self.by not in ("activity", "frames"):
            raise ConfigError(f"dominant_hand by must be 'activity' or 'frames', got {self.by!r}")
        activity = hand_activity(pose)
        frames = hand_frames(pose) if self.by == "frames" else {"left": 0.0, "right": 0.0}
        other = "left" if self.side == "right" else "right"
        dominant_is_other = (frames[other], activity[other]) > (frames[self.side], activity[self.side])
        return mirror_pose(pose) if dominant_is_other else pose


@dataclass(frozen=True)
class Mirror:
    """Always mirror left-right (test-time flip, or left-handed data)."""

    augmentation: ClassVar[bool] = False

    def __call__(self, pose: Pose, rng: np.random.Generator) -> Pose:
        return mirror_pose(pose)
