"""Normalization steps: shoulders, z scaling, each hand in its own frame, and appearance removal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from pose_format import Pose
from pose_format.pose_header import PoseHeader

from signclip.errors import PoseLayoutError
from signclip.poses import holistic
from signclip.poses.transforms.core import (
    Arrays,
    PointsTransform,
    image_points,
    point_index,
    present_mask,
    shoulder_indices,
    with_body,
)


@dataclass(frozen=True)
class NormalizeShoulders(PointsTransform):
    """Shift by the shoulders' midpoint and scale by the mean shoulder width, both over the whole sequence.

    World landmarks (already metric and centred) are left as they are. A sequence in which the
    shoulders are never both visible raises PoseLayoutError.
    """

    def points(self, data: np.ndarray, confidence: np.ndarray, pose: Pose, rng: np.random.Generator) -> Arrays:
        left, right = shoulder_indices(pose.header)
        both = present_mask(confidence[:, 0, left]) & present_mask(confidence[:, 0, right])
        if not both.any():
            raise PoseLayoutError("shoulder normalization: the shoulders are never both visible")
        left_xyz, right_xyz = data[both, 0, left], data[both, 0, right]
        center = ((left_xyz + right_xyz) / 2).mean(axis=0)
        width = np.linalg.norm(left_xyz - right_xyz, axis=-1).mean()
        if width <= 0:
            raise PoseLayoutError("shoulder normalization: the shoulders coincide (zero width)")
        moved = image_points(pose.header, data.shape[2])
        data[:, :, moved] = (data[:, :, moved] - center) / width
        return data * (confidence[..., None] > 0), confidence


@dataclass(frozen=True)
class Center(PointsTransform):
    """Shift image-space points by the mean position over the sequence of `point` (in whichever component
    has a point of that name), or of all visible points when the pose has no such point, then divide them
    by `scale` (default: the header's frame width). For layouts without shoulders, e.g. RWTH-BOSTON-104's
    2D positions of both hands and the nose. A sequence in which nothing is visible raises PoseLayoutError.
    """

    point: str = "nose"
    scale: float | None = None

    def points(self, data: np.ndarray, confidence: np.ndarray, pose: Pose, rng: np.random.Generator) -> Arrays:
        moved = image_points(pose.header, data.shape[2])
        chosen = [i for (_, name), i in point_index(pose.header).items() if name == self.point] or np.flatnonzero(moved)
        visible = present_mask(confidence[:, 0, chosen])
        if not visible.any():
            raise PoseLayoutError(f"center: no visible point to center on ({self.point!r} or any other)")
        center = data[:, 0, chosen][visible].mean(axis=0)
        scale = self.scale if self.scale is not None else pose.header.dimensions.width
        if not scale or scale <= 0:
            raise PoseLayoutError(f"center needs a positive scale; the pose header's width is {scale}")
        data[:, :, moved] = (data[:, :, moved] - center) / scale
        return data * (confidence[..., None] > 0), confidence


@dataclass(frozen=True)
class ScaleZ(PointsTransform):
    """Multiply z of the image-space points by `factor` (default: the frame width from the header).

    pose-format stores MediaPipe's x and y in pixels but z as MediaPipe returns it, in units of the
    frame width, so a hand is about a thousand times flatter than it is; scaled by the width, z is
    commensurate with x and y and 3D hand normalization sees the real palm plane. World landmarks
    (metric) are left as they are.
    """

    factor: float | None = None

    def points(self, data: np.ndarray, confidence: np.ndarray, pose: Pose, rng: np.random.Generator) -> Arrays:
        if data.shape[-1] < 3:
            raise PoseLayoutError("scale_z needs x, y and z coordinates")
        factor = self.factor if self.factor is not None else pose.header.dimensions.width
        if not factor or factor <= 0:
            raise PoseLayoutError(f"scale_z needs a positive factor; the pose header's width is {factor}")
        moved = image_points(pose.header, data.shape[2])
        data[:, :, moved, 2] *= factor
        return data, confidence


def hand_point_slices(pose: Pose) -> list[tuple[int, slice]]:
    """(the wrist's point index, the slice of the hand's 21 points) for each hand the pose has."""
    index = point_index(pose.header)
    starts = [index[(hand, "WRIST")] for hand in holistic.HANDS if (hand, "WRIST") in index]
    return [(start, slice(start, start + 21)) for start in starts]


@dataclass(frozen=True)
class NormalizeHands3D(PointsTransform):
    """Put each hand in its own frame: wrist at the origin, palm (wrist, index MCP, pinky MCP) in the
    x-y plane, wrist -> middle MCP along +y, scaled so the mean wrist -> MCP length (index, middle,
    pinky) is 1. Needs 3D hand points (and, for poses written by pose-format, `scale_z` first to make
    the palm plane the real one rather than the image plane)."""

    def points(self, data: np.ndarray, confidence: np.ndarray, pose: Pose, rng: np.random.Generator) -> Arrays:
        if data.shape[-1] < 3:
            raise PoseLayoutError("3D hand normalization needs x, y and z coordinates")
        for start, points in hand_point_slices(pose):
            hand_data = data[:, 0, points, :3]
            wrist, middle = hand_data[:, 0], hand_data[:, 9]
            index_mcp, pinky = hand_data[:, 5], hand_data[:, 17]
            y_axis = _unit(middle - wrist)
            normal = _unit(np.cross(index_mcp - wrist, pinky - wrist))
            x_axis = _unit(np.cross(y_axis, normal))
            z_axis = np.cross(x_axis, y_axis)
            rotation = np.stack([x_axis, y_axis, z_axis], axis=1)  # (frames, 3, 3), rows are the axes
            length = np.linalg.norm(np.stack([index_mcp, middle, pinky]) - wrist, axis=-1).mean(axis=0)
            valid = present_mask(confidence[:, 0, start]) & (length > 1e-9)
            local = np.einsum("fij,fpj->fpi", rotation, hand_data - wrist[:, None])
            local = local / np.where(valid, length, 1.0)[:, None, None]
            data[:, 0, points, :3] = np.where(valid[:, None, None], local, 0.0)
            confidence[~valid, 0, points] = 0
        return data, confidence


@dataclass(frozen=True)
class NormalizeHands2D(PointsTransform):
    """Each hand in image coordinates relative to its wrist: x, y minus the wrist's, divided by the mean
    distance of the hand's 21 points from the wrist (so the handshape, not its place or size, remains).
    Coordinates past x, y are left as they are (run `keep_dims` first to drop z)."""

    def points(self, data: np.ndarray, confidence: np.ndarray, pose: Pose, rng: np.random.Generator) -> Arrays:
        for start, points in hand_point_slices(pose):
            relative = data[:, 0, points, :2] - data[:, 0, start : start + 1, :2]
            radius = np.linalg.norm(relative, axis=-1).mean(axis=-1)
            valid = present_mask(confidence[:, 0, start]) & (radius > 1e-9)
            scaled = relative / np.where(valid, radius, 1.0)[:, None, None]
            data[:, 0, points, :2] = np.where(valid[:, None, None], scaled, 0.0)
            confidence[~valid, 0, points] = 0
        return data, confidence


def _unit(vectors: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.where(norm > 1e-12, norm, 1.0)


def anonymize_pose(pose: Pose) -> Pose:
    """Remove the signer's appearance with pose-anonymization's `remove_appearance`: the first frame's body
    and face proportions are swapped for the package's mean signer; hands and wrists are kept as signed.

    Takes a MediaPipe Holistic pose in 3D (POSE_LANDMARKS with both shoulders; the face, hands and world
    landmarks as Holistic names them, all points or a subset); returns a new Pose with the same points.
    Points the package leaves masked (a body or face point missing in the first frame) get confidence 0.
    Any other layout (2D keypoints such as RWTH-BOSTON-104's hands and nose, OpenPose, a hand alone)
    raises PoseLayoutError saying what the pose has and what is missing.
    """
    from pose_anonymization.appearance import remove_appearance
    from pose_anonymization.data import load_pose_header

    problem = _anonymization_problem(pose.header, load_pose_header())
    if problem:
        raise PoseLayoutError(problem)
    try:
        anonymized = remove_appearance(Pose(pose.header, pose.body.copy()))
    except Exception as error:  # the package's own failures (assertions, missing points) carry no context
        raise PoseLayoutError(f"pose-anonymization could not anonymize the pose: {error!r}") from None
    data = np.ma.getdata(anonymized.body.data)
    masked = np.ma.getmaskarray(anonymized.body.data).any(axis=-1)
    confidence = np.where(masked, 0.0, anonymized.body.confidence)
    return with_body(pose, data, confidence, header=anonymized.header)


def _anonymization_problem(header: PoseHeader, mean_header: PoseHeader) -> str | None:
    """Why `header` is not a layout pose-anonymization can anonymize (its mean signer is `mean_header`),
    or None when it is."""
    known = {component.name: set(component.points) for component in mean_header.components}
    has = ", ".join(f"{c.name} ({len(c.points)} points, {c.format})" for c in header.components) or "no components"
    needs = (
        f"anonymization (pose-anonymization) needs a MediaPipe Holistic pose in 3D: {holistic.BODY} with both "
        f"shoulders, and any face, hands and world landmarks as Holistic names them; this pose has {has}"
    )
    components = {component.name: component for component in header.components}
    body = components.get(holistic.BODY)
    if body is None or not {"LEFT_SHOULDER", "RIGHT_SHOULDER"} <= set(body.points):
        return needs
    for component in header.components:
        if component.name not in known:
            return f"{needs}: {component.name} is not a Holistic component"
        unknown = set(component.points) - known[component.name]
        if unknown:
            return f"{needs}: {component.name} has points Holistic does not ({', '.join(sorted(unknown)[:3])}, ...)"
        if "Z" not in component.format:
            return f"{needs}: {component.name} has no z coordinate"
    return None


@dataclass(frozen=True)
class Anonymize:
    """Remove the signer's appearance (body proportions, face) with the pose-anonymization package
    (`anonymize_pose`). Needs a MediaPipe Holistic pose in 3D."""

    augmentation: ClassVar[bool] = False

    def __call__(self, pose: Pose, rng: np.random.Generator) -> Pose:
        return anonymize_pose(pose)
