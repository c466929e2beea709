"""Preprocessing: small composable pose transforms configured by name, and the Pipeline that runs them.

A transform takes a Pose and a numpy Generator and returns a new Pose (first person only). A
Pipeline runs its steps in order (augmentations only when `train=True`) and flattens the result
into a `PoseTensor`: float32 `(frames, points * dims)` plus a boolean frame mask, missing points zero.

Configuration is data: a preset name (PIPELINE_PRESETS) or a list of `{"name": ..., **params}`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np
from pose_format import Pose
from pose_format.pose_header import PoseHeader, PoseHeaderComponent

from signclip.errors import ConfigError, PoseLayoutError
from signclip.poses import holistic
from signclip.poses.io import pose_from_array

# ----------------------------------------------------------------------------- tensors


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
    start = 0 if start_ms is None or np.isnan(start_ms) else int(np.floor(start_ms / 1000 * fps + 1e-6))
    end = frames if end_ms is None or np.isnan(end_ms) else int(np.ceil(end_ms / 1000 * fps - 1e-6))
    start, end = max(0, min(start, frames)), max(0, min(end, frames))
    return _with_body(pose, np.ma.getdata(pose.body.data)[start:end], pose.body.confidence[start:end])


# ----------------------------------------------------------------------------- helpers on poses


def _with_body(
    pose: Pose,
    data: np.ndarray,
    confidence: np.ndarray,
    header: PoseHeader | None = None,
    fps: float | None = None,
) -> Pose:
    """Return a new Pose with `data` (frames, people, points, dims) and `confidence`; confidence 0 = masked.

    `header` and `fps` default to those of `pose`."""
    return pose_from_array(header or pose.header, data, fps or pose.body.fps, confidence)


def _arrays(pose: Pose) -> tuple[np.ndarray, np.ndarray]:
    """Copies of the first person's coordinates (frames, points, dims) and confidence (frames, points)."""
    return np.ma.getdata(pose.body.data)[:, :1].copy(), pose.body.confidence[:, :1].copy()


def _point_index(header: PoseHeader) -> dict[tuple[str, str], int]:
    index, start = {}, 0
    for component in header.components:
        for i, point in enumerate(component.points):
            index[(component.name, point)] = start + i
        start += len(component.points)
    return index


def _find_point(header: PoseHeader, component: str, point: str) -> int | None:
    return _point_index(header).get((component, point))


def _present(confidence: np.ndarray) -> np.ndarray:
    return confidence > 0


# ----------------------------------------------------------------------------- component selection

FACE_SUBSETS = ("nose", "lips", "left_eye", "right_eye")


def component_preset(name: str) -> list[tuple[str, list[str]]]:
    """Return the (component, points) layout of a named preset.

    reduced_face: 33 body + 128 face contour + 21 left hand + 21 right hand = 203 points (SignCLIP's
    609 features with x, y, z). dominant_hand: the 21 right-hand points (after mirroring the dominant
    hand to the right). upper_body_hands: body points 0-24 (nose to hips) + both hands. face_subset:
    nose, lips and eyes of the face mesh.
    """
    body, hand = holistic.body_points(), holistic.hand_points()
    if name == "reduced_face":
        return [
            (holistic.BODY, body),
            (holistic.FACE, holistic.face_contour_points()),
            (holistic.LEFT_HAND, hand),
            (holistic.RIGHT_HAND, hand),
        ]
    if name == "dominant_hand":
        return [(holistic.RIGHT_HAND, hand)]
    if name == "upper_body_hands":
        return [(holistic.BODY, body[:25]), (holistic.LEFT_HAND, hand), (holistic.RIGHT_HAND, hand)]
    if name == "face_subset":
        subsets = holistic.layout()["face_subset_points"]
        points = sorted({p for part in FACE_SUBSETS for p in subsets[part]})
        return [(holistic.FACE, [str(p) for p in points])]
    raise ConfigError(
        f"unknown component preset {name!r}; known: reduced_face, dominant_hand, upper_body_hands, face_subset"
    )


def select_points(pose: Pose, layout: list[tuple[str, list[str]]], missing: str = "error") -> Pose:
    """Return a Pose with exactly the points of `layout`, in that order.

    Points absent from `pose` raise PoseLayoutError naming them (`missing="error"`), or become
    zero points with confidence 0 (`missing="zero"`, for poses reduced upstream, e.g. 178-point files).
    """
    if missing not in ("error", "zero"):
        raise ConfigError(f"missing must be 'error' or 'zero', got {missing!r}")
    index = _point_index(pose.header)
    wanted = [(c, p) for c, points in layout for p in points]
    absent = [f"{c}:{p}" for c, p in wanted if (c, p) not in index]
    if absent and missing == "error":
        raise PoseLayoutError(
            f"the pose lacks {len(absent)} of the {len(wanted)} points this selection needs, e.g. "
            f"{absent[:4]}; its components are {[(c.name, len(c.points)) for c in pose.header.components]} "
            f"(use missing='zero' to fill absent points with zeros)"
        )
    data, confidence = _arrays(pose)
    frames, people, _, dims = data.shape
    out = np.zeros((frames, people, len(wanted), dims), dtype=np.float32)
    out_confidence = np.zeros((frames, people, len(wanted)), dtype=np.float32)
    for j, key in enumerate(wanted):
        i = index.get(key)
        if i is not None:
            out[:, :, j] = data[:, :, i]
            out_confidence[:, :, j] = confidence[:, :, i]
    by_name = {c.name: c for c in pose.header.components}
    components = []
    for name, points in layout:
        source = by_name.get(name)
        point_format = source.format if source else "XYZC"[:dims] + "C"
        limbs = []
        if source:
            position = {p: k for k, p in enumerate(points)}
            limbs = [
                (position[source.points[a]], position[source.points[b]])
                for a, b in source.limbs
                if source.points[a] in position and source.points[b] in position
            ]
        colors = source.colors if source else [(255, 255, 255)]
        components.append(PoseHeaderComponent(name, list(points), limbs, colors, point_format))
    header = PoseHeader(pose.header.version, pose.header.dimensions, components)
    return _with_body(pose, out, out_confidence, header=header)


@dataclass(frozen=True)
class Select:
    """Keep only the points of a preset or of explicit `components` / `points` lists (in that order)."""

    preset: str | None = None
    components: list[str] | None = None
    points: dict[str, list[str]] | None = None
    missing: str = "error"
    augmentation: ClassVar[bool] = False

    def layout(self, header: PoseHeader) -> list[tuple[str, list[str]]]:
        if self.preset:
            return component_preset(self.preset)
        if not self.components and not self.points:
            raise ConfigError("select needs a preset, components or points")
        by_name = {c.name: c for c in header.components}
        names = list(self.components or []) + [c for c in (self.points or {}) if c not in (self.components or [])]
        layout = []
        for name in names:
            if self.points and name in self.points:
                layout.append((name, list(self.points[name])))
            elif name in by_name:
                layout.append((name, list(by_name[name].points)))
            else:
                raise PoseLayoutError(f"the pose has no component {name!r}; it has {list(by_name)}")
        return layout

    def __call__(self, pose: Pose, rng: np.random.Generator) -> Pose:
        if self.preset == "dominant_hand":
            pose = DominantHand("right")(pose, rng)
        return select_points(pose, self.layout(pose.header), self.missing)


# ----------------------------------------------------------------------------- normalization


@dataclass(frozen=True)
class HideLegs:
    """Zero the knees, ankles, heels and feet (confidence 0), keeping their slots."""

    augmentation: ClassVar[bool] = False
    parts: ClassVar[tuple[str, ...]] = ("KNEE", "ANKLE", "HEEL", "FOOT_INDEX")

    def __call__(self, pose: Pose, rng: np.random.Generator) -> Pose:
        data, confidence = _arrays(pose)
        legs = [
            i
            for (component, point), i in _point_index(pose.header).items()
            if component in (holistic.BODY, holistic.BODY_WORLD) and point.split("_", 1)[-1] in self.parts
        ]
        data[:, :, legs] = 0
        confidence[:, :, legs] = 0
        return _with_body(pose, data, confidence)


def _shoulder_indices(header: PoseHeader) -> tuple[int, int]:
    for component, left, right in (
        (holistic.BODY, "LEFT_SHOULDER", "RIGHT_SHOULDER"),
        ("pose_keypoints_2d", "LShoulder", "RShoulder"),
    ):
        i, j = _find_point(header, component, left), _find_point(header, component, right)
        if i is not None and j is not None:
            return i, j
    raise PoseLayoutError("shoulder normalization needs both shoulders (POSE_LANDMARKS LEFT/RIGHT_SHOULDER)")


@dataclass(frozen=True)
class NormalizeShoulders:
    """Shift by the shoulders' midpoint and scale by the mean shoulder width, both over the whole sequence.

    World landmarks (already metric and centred) are left as they are. A sequence in which the
    shoulders are never both visible raises PoseLayoutError.
    """

    augmentation: ClassVar[bool] = False

    def __call__(self, pose: Pose, rng: np.random.Generator) -> Pose:
        left, right = _shoulder_indices(pose.header)
        data, confidence = _arrays(pose)
        both = _present(confidence[:, 0, left]) & _present(confidence[:, 0, right])
        if not both.any():
            raise PoseLayoutError("shoulder normalization: the shoulders are never both visible")
        left_xyz, right_xyz = data[both, 0, left], data[both, 0, right]
        center = ((left_xyz + right_xyz) / 2).mean(axis=0)
        width = np.linalg.norm(left_xyz - right_xyz, axis=-1).mean()
        if width <= 0:
            raise PoseLayoutError("shoulder normalization: the shoulders coincide (zero width)")
        moved = _image_points(pose.header, data.shape[2])
        data[:, :, moved] = (data[:, :, moved] - center) / width
        return _with_body(pose, data * (confidence[..., None] > 0), confidence)


def _image_points(header: PoseHeader, count: int) -> np.ndarray:
    """Boolean (points,) of points in image space (all but world landmarks)."""
    flags, start = np.ones(count, dtype=bool), 0
    for component in header.components:
        end = start + len(component.points)
        if "WORLD" in component.name:
            flags[start:end] = False
        start = end
    return flags


@dataclass(frozen=True)
class ScaleZ:
    """Multiply z of the image-space points by `factor` (default: the frame width from the header).

    pose-format stores MediaPipe's x and y in pixels but z as MediaPipe returns it, in units of the
    frame width, so a hand is about a thousand times flatter than it is; scaled by the width, z is
    commensurate with x and y and 3D hand normalization sees the real palm plane. World landmarks
    (metric) are left as they are.
    """

    factor: float | None = None
    augmentation: ClassVar[bool] = False

    def __call__(self, pose: Pose, rng: np.random.Generator) -> Pose:
        data, confidence = _arrays(pose)
        if data.shape[-1] < 3:
            raise PoseLayoutError("scale_z needs x, y and z coordinates")
        factor = self.factor if self.factor is not None else pose.header.dimensions.width
        if not factor or factor <= 0:
            raise PoseLayoutError(f"scale_z needs a positive factor; the pose header's width is {factor}")
        moved = _image_points(pose.header, data.shape[2])
        data[:, :, moved, 2] *= factor
        return _with_body(pose, data, confidence)


@dataclass(frozen=True)
class NormalizeHands3D:
    """Put each hand in its own frame: wrist at the origin, palm (wrist, index MCP, pinky MCP) in the
    x-y plane, wrist -> middle MCP along +y, scaled so the mean wrist -> MCP length (index, middle,
    pinky) is 1. Needs 3D hand points (and, for poses written by pose-format, `scale_z` first to make
    the palm plane the real one rather than the image plane)."""

    augmentation: ClassVar[bool] = False

    def __call__(self, pose: Pose, rng: np.random.Generator) -> Pose:
        data, confidence = _arrays(pose)
        if data.shape[-1] < 3:
            raise PoseLayoutError("3D hand normalization needs x, y and z coordinates")
        index = _point_index(pose.header)
        for hand in holistic.HANDS:
            if (hand, "WRIST") not in index:
                continue
            start = index[(hand, "WRIST")]
            points = slice(start, start + 21)
            hand_data = data[:, 0, points, :3]
            wrist, middle = hand_data[:, 0], hand_data[:, 9]
            index_mcp, pinky = hand_data[:, 5], hand_data[:, 17]
            y_axis = _unit(middle - wrist)
            normal = _unit(np.cross(index_mcp - wrist, pinky - wrist))
            x_axis = _unit(np.cross(y_axis, normal))
            z_axis = np.cross(x_axis, y_axis)
            rotation = np.stack([x_axis, y_axis, z_axis], axis=1)  # (frames, 3, 3), rows are the axes
            length = np.linalg.norm(np.stack([index_mcp, middle, pinky]) - wrist, axis=-1).mean(axis=0)
            valid = _present(confidence[:, 0, start]) & (length > 1e-9)
            local = np.einsum("fij,fpj->fpi", rotation, hand_data - wrist[:, None])
            local = local / np.where(valid, length, 1.0)[:, None, None]
            data[:, 0, points, :3] = np.where(valid[:, None, None], local, 0.0)
            confidence[~valid, 0, points] = 0
        return _with_body(pose, data, confidence)


def _unit(vectors: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.where(norm > 1e-12, norm, 1.0)


# ----------------------------------------------------------------------------- mirroring


def mirror_pose(pose: Pose) -> Pose:
    """Mirror left-right: negate x about the mean x of the visible points and swap left/right points.

    Hands swap components, paired body points swap names, face mesh points map through the mesh's
    symmetry. World landmarks are mirrored about x = 0. Mirroring twice returns the input exactly.
    """
    data, confidence = _arrays(pose)
    index = _point_index(pose.header)
    permutation = np.arange(data.shape[2])
    for (component, point), i in index.items():
        partner = index.get(holistic.mirrored_point_name(component, point))
        if partner is not None:
            permutation[i] = partner
    data, confidence = data[:, :, permutation], confidence[:, :, permutation]
    image = _image_points(pose.header, data.shape[2])
    visible = _present(confidence) & image
    center = data[..., 0][visible].mean() if visible.any() else 0.0
    data[:, :, image, 0] = 2 * center - data[:, :, image, 0]
    data[:, :, ~image, 0] = -data[:, :, ~image, 0]
    return _with_body(pose, data * (confidence[..., None] > 0), confidence)


def hand_activity(pose: Pose) -> dict[str, float]:
    """Score each hand by how much it is present and moving: wrist path length plus visible frames.

    Returns {"left": score, "right": score}; the path is measured in shoulder widths when the
    shoulders are visible, else in image units, and frames count 1e-3 each to break ties.
    """
    data, confidence = _arrays(pose)
    index = _point_index(pose.header)
    try:
        left_shoulder, right_shoulder = _shoulder_indices(pose.header)
        widths = np.linalg.norm(data[:, 0, left_shoulder, :2] - data[:, 0, right_shoulder, :2], axis=-1)
        seen = _present(confidence[:, 0, left_shoulder]) & _present(confidence[:, 0, right_shoulder])
        unit = float(widths[seen].mean()) if seen.any() else 1.0
    except PoseLayoutError:
        unit = 1.0
    scores = {}
    for side, hand in (("left", holistic.LEFT_HAND), ("right", holistic.RIGHT_HAND)):
        wrist = index.get((hand, "WRIST"))
        if wrist is None:
            scores[side] = 0.0
            continue
        present = _present(confidence[:, 0, wrist])
        steps = present[1:] & present[:-1]
        moves = np.linalg.norm(np.diff(data[:, 0, wrist, :2], axis=0), axis=-1)[steps]
        scores[side] = float(moves.sum() / max(unit, 1e-9) + 1e-3 * present.sum())
    return scores


@dataclass(frozen=True)
class DominantHand:
    """Mirror the pose when the dominant hand (present and moving most) is not `side`."""

    side: str = "right"
    augmentation: ClassVar[bool] = False

    def __call__(self, pose: Pose, rng: np.random.Generator) -> Pose:
        if self.side not in ("left", "right"):
            raise ConfigError(f"dominant_hand side must be 'left' or 'right', got {self.side!r}")
        scores = hand_activity(pose)
        other = "left" if self.side == "right" else "right"
        return mirror_pose(pose) if scores[other] > scores[self.side] else pose


@dataclass(frozen=True)
class Mirror:
    """Always mirror left-right (test-time flip, or left-handed data)."""

    augmentation: ClassVar[bool] = False

    def __call__(self, pose: Pose, rng: np.random.Generator) -> Pose:
        return mirror_pose(pose)


# ----------------------------------------------------------------------------- time


def _interpolate_frames(pose: Pose, positions: np.ndarray, fps: float) -> Pose:
    """Linear interpolation of coordinates at fractional frame `positions`; a point is present only when
    both neighbouring frames have it."""
    data, confidence = _arrays(pose)
    frames = data.shape[0]
    if frames == 0 or len(positions) == 0:
        return _with_body(pose, data[:0], confidence[:0], fps=fps)
    positions = np.clip(positions, 0, frames - 1)
    low = np.floor(positions).astype(int)
    high = np.minimum(low + 1, frames - 1)
    weight = (positions - low)[:, None, None, None]
    new_data = data[low] * (1 - weight) + data[high] * weight
    exact = weight[..., 0] == 0  # a position on a frame needs only that frame
    high_confidence = np.where(exact, confidence[low], confidence[high])
    new_confidence = np.where(_present(high_confidence), np.minimum(confidence[low], high_confidence), 0)
    return _with_body(pose, new_data, new_confidence, fps=fps)


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
            return _with_body(pose, *_arrays(pose), fps=self.fps)
        duration = (frames - 1) / source_fps
        positions = np.arange(0, duration + 1e-9, 1 / self.fps) * source_fps
        return _interpolate_frames(pose, positions, self.fps)


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
        return _interpolate_frames(pose, np.linspace(0, frames - 1, new_frames), float(pose.body.fps))


@dataclass(frozen=True)
class FrameDropout:
    """Augmentation: drop each frame with probability `p` (at least one frame is kept)."""

    p: float = 0.1
    augmentation: ClassVar[bool] = True

    def __call__(self, pose: Pose, rng: np.random.Generator) -> Pose:
        data, confidence = _arrays(pose)
        if len(data) <= 1:
            return pose
        keep = rng.random(len(data)) >= self.p
        if not keep.any():
            keep[rng.integers(len(data))] = True
        return _with_body(pose, data[keep], confidence[keep])


# ----------------------------------------------------------------------------- space


@dataclass(frozen=True)
class Affine:
    """Augmentation: random 2D rotation (radians), shear and scale, each ~ N(0, std), about the pose centre."""

    rotation_std: float = 0.2
    shear_std: float = 0.2
    scale_std: float = 0.2
    augmentation: ClassVar[bool] = True

    def __call__(self, pose: Pose, rng: np.random.Generator) -> Pose:
        data, confidence = _arrays(pose)
        angle = rng.normal(0, self.rotation_std)
        shear = rng.normal(0, self.shear_std)
        scale = 1 + rng.normal(0, self.scale_std, size=2)
        rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        matrix = rotation @ np.array([[1, shear], [0, 1]]) @ np.diag(scale)
        visible = _present(confidence)
        center = data[visible][:, :2].mean(axis=0) if visible.any() else np.zeros(2)
        data[..., :2] = (data[..., :2] - center) @ matrix.T + center
        return _with_body(pose, data * visible[..., None], confidence)


@dataclass(frozen=True)
class Noise:
    """Augmentation: add Gaussian noise of standard deviation `std` to every visible coordinate."""

    std: float = 0.01
    augmentation: ClassVar[bool] = True

    def __call__(self, pose: Pose, rng: np.random.Generator) -> Pose:
        data, confidence = _arrays(pose)
        data = data + rng.normal(0, self.std, size=data.shape).astype(np.float32)
        return _with_body(pose, data * (confidence[..., None] > 0), confidence)


@dataclass(frozen=True)
class Anonymize:
    """Remove the signer's appearance (body proportions, face) with the pose-anonymization package.

    Needs a full MediaPipe Holistic pose (body, face, hands) as pose-anonymization expects."""

    augmentation: ClassVar[bool] = False

    def __call__(self, pose: Pose, rng: np.random.Generator) -> Pose:
        from pose_anonymization.appearance import remove_appearance

        try:
            anonymized = remove_appearance(Pose(pose.header, pose.body.copy()))
        except Exception as error:
            raise PoseLayoutError(f"anonymization needs a full Holistic pose: {error}") from None
        data = np.ma.getdata(anonymized.body.data)
        return _with_body(pose, data, anonymized.body.confidence, header=anonymized.header)


@dataclass(frozen=True)
class KeepDims:
    """Keep the first `dims` coordinates (e.g. 2 to drop z)."""

    dims: int = 2
    augmentation: ClassVar[bool] = False

    def __call__(self, pose: Pose, rng: np.random.Generator) -> Pose:
        data, confidence = _arrays(pose)
        return _with_body(pose, data[..., : self.dims], confidence)


# ----------------------------------------------------------------------------- pipeline

TRANSFORMS: dict[str, type] = {
    "select": Select,
    "hide_legs": HideLegs,
    "normalize_shoulders": NormalizeShoulders,
    "normalize_hands_3d": NormalizeHands3D,
    "scale_z": ScaleZ,
    "dominant_hand": DominantHand,
    "mirror": Mirror,
    "resample_fps": ResampleFPS,
    "anonymize": Anonymize,
    "keep_dims": KeepDims,
    "affine": Affine,
    "speed": Speed,
    "noise": Noise,
    "frame_dropout": FrameDropout,
}

PIPELINE_PRESETS: dict[str, list[dict[str, Any]]] = {
    "signclip_v1": [
        {"name": "hide_legs"},
        {"name": "normalize_shoulders"},
        {"name": "select", "preset": "reduced_face"},
    ],
    "fingerclip": [
        {"name": "dominant_hand", "side": "right"},
        {"name": "normalize_hands_3d"},
        {"name": "select", "preset": "dominant_hand"},
    ],
    "hands": [
        {"name": "dominant_hand", "side": "right"},
        {"name": "normalize_shoulders"},
        {"name": "select", "preset": "upper_body_hands"},
    ],
    # The released FingerCLIP (rwthfs_scratch_hand_dominant_aug): shoulder normalization of the whole
    # pose, then the right hand as it is (no mirroring, no 3D hand normalization), x, y, z.
    "mmpt_fingerclip": [
        {"name": "normalize_shoulders"},
        {"name": "select", "components": ["RIGHT_HAND_LANDMARKS"]},
    ],
}


def build_transform(step: dict[str, Any] | str) -> Callable[[Pose, np.random.Generator], Pose]:
    """Build one transform from `{"name": ..., **params}` (or a bare name); unknown names/params are ConfigErrors."""
    if isinstance(step, str):
        step = {"name": step}
    params = dict(step)
    name = params.pop("name", None)
    if name not in TRANSFORMS:
        raise ConfigError(f"unknown transform {name!r}; known: {sorted(TRANSFORMS)}")
    cls = TRANSFORMS[name]
    allowed = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ConfigError(f"transform {name!r} has no parameter(s) {unknown}; it takes {sorted(allowed)}")
    return cls(**params)


@dataclass
class Pipeline:
    """An ordered list of transforms; `pipeline(pose, train, rng) -> PoseTensor`."""

    steps: list[Any] = field(default_factory=list)
    config: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_config(cls, config: str | list[dict[str, Any] | str]) -> Pipeline:
        """Build from a preset name (PIPELINE_PRESETS) or a list of step dicts."""
        if isinstance(config, str):
            if config not in PIPELINE_PRESETS:
                raise ConfigError(f"unknown preprocessing preset {config!r}; known: {sorted(PIPELINE_PRESETS)}")
            config = PIPELINE_PRESETS[config]
        if not isinstance(config, list):
            raise ConfigError(f"preprocessing must be a preset name or a list of steps, got {type(config).__name__}")
        steps = [build_transform(step) for step in config]
        return cls(steps=steps, config=[s if isinstance(s, dict) else {"name": s} for s in config])

    def apply(self, pose: Pose, train: bool = False, rng: np.random.Generator | None = None) -> Pose:
        """Run the steps on `pose` (augmentations only with `train`) and return the resulting Pose."""
        if pose.body.data.shape[0] == 0:
            raise PoseLayoutError("the pose has 0 frames; nothing to preprocess")
        rng = rng if rng is not None else np.random.default_rng(0)
        for step in self.steps:
            if step.augmentation and not train:
                continue
            pose = step(pose, rng)
        return pose

    def __call__(self, pose: Pose, train: bool = False, rng: np.random.Generator | None = None) -> PoseTensor:
        """Preprocess `pose` into a PoseTensor (frames, features) with its frame mask."""
        return pose_to_tensor(self.apply(pose, train=train, rng=rng))

    def feature_size(self, pose: Pose) -> int:
        """Return the number of features this pipeline produces for poses shaped like `pose`."""
        return self(pose).data.shape[1]

    def describe(self) -> list[str]:
        """Return one line per step: its name and parameters (for `signclip info` and logs)."""
        lines = []
        for step, config in zip(self.steps, self.config, strict=True):
            params = {k: v for k, v in config.items() if k != "name"}
            tag = " (training only)" if step.augmentation else ""
            lines.append(f"{config['name']}{tag} {params}" if params else f"{config['name']}{tag}")
        return lines
