"""Choosing points: component presets, `select_points`, and the select, hide_legs and keep_dims steps."""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from pose_format import Pose
from pose_format.pose_header import PoseHeader, PoseHeaderComponent

from signclip.errors import ConfigError, PoseLayoutError
from signclip.poses import holistic
from signclip.poses.transforms.core import Arrays, PointsTransform, first_person, point_index, with_body

FACE_SUBSETS = ("nose", "lips", "left_eye", "right_eye")


def component_preset(name: str) -> list[tuple[str, list[str]]]:
    """Return the (component, points) layout of a named preset.

    reduced_face: 33 body + 128 face contour + 21 left hand + 21 right hand = 203 points (SignCLIP's
    609 features with x, y, z). right_hand: the 21 right-hand points (run the `dominant_hand` step
    first to make it the dominant hand). upper_body_hands: body points 0-24 (nose to hips) + both
    hands. face_subset: nose, lips and eyes of the face mesh.
    """
    body, hand = holistic.body_points(), holistic.hand_points()
    if name == "reduced_face":
        return [
            (holistic.BODY, body),
            (holistic.FACE, holistic.face_contour_points()),
            (holistic.LEFT_HAND, hand),
            (holistic.RIGHT_HAND, hand),
        ]
    if name == "right_hand":
        return [(holistic.RIGHT_HAND, hand)]
    if name == "upper_body_hands":
        return [(holistic.BODY, body[:25]), (holistic.LEFT_HAND, hand), (holistic.RIGHT_HAND, hand)]
    if name == "face_subset":
        subsets = holistic.layout()["face_subset_points"]
        points = sorted({p for part in FACE_SUBSETS for p in subsets[part]})
        return [(holistic.FACE, [str(p) for p in points])]
    raise ConfigError(
        f"unknown component preset {name!r}; known: reduced_face, right_hand, upper_body_hands, face_subset"
    )


def select_points(pose: Pose, layout: list[tuple[str, list[str]]], missing: str = "error") -> Pose:
    """Return a Pose with exactly the points of `layout`, in that order.

    Points absent from `pose` raise PoseLayoutError naming them (`missing="error"`), or become
    zero points with confidence 0 (`missing="zero"`, for poses reduced upstream, e.g. 178-point files).
    """
    if missing not in ("error", "zero"):
        raise ConfigError(f"missing must be 'error' or 'zero', got {missing!r}")
    data, confidence = first_person(pose)
    frames, people, _, dims = data.shape
    selection = _selection(pose.header, layout, dims)
    if selection.absent and missing == "error":
        absent, wanted = selection.absent, len(selection.sources)
        raise PoseLayoutError(
            f"the pose lacks {len(absent)} of the {wanted} points this selection needs, e.g. "
            f"{absent[:4]}; its components are {[(c.name, len(c.points)) for c in pose.header.components]}. "
            "Extract MediaPipe Holistic poses from the video (signclip extract VIDEO -o DIR), choose a model "
            "whose preprocessing fits this layout, or, for a pose reduced upstream, add `missing: zero` to the "
            "select step of the model's `preprocess` to fill the absent points with zeros"
        )
    sources = selection.sources
    present = sources >= 0
    out = np.zeros((frames, people, len(sources), dims), dtype=np.float32)
    out_confidence = np.zeros((frames, people, len(sources)), dtype=np.float32)
    out[:, :, present] = data[:, :, sources[present]]
    out_confidence[:, :, present] = confidence[:, :, sources[present]]
    return with_body(pose, out, out_confidence, header=selection.header)


@dataclass(frozen=True)
class _Selection:
    """A layout selected from one header: each wanted point's position in the pose's points (-1: absent), the
    absent points as "component:point", and the selected pose's header."""

    sources: np.ndarray
    absent: list[str]
    header: PoseHeader


_SELECTIONS: weakref.WeakKeyDictionary[PoseHeader, dict[tuple, _Selection]] = weakref.WeakKeyDictionary()
"""Selections by header object, then by (layout, dimensions). pose-format gives files with the same header
bytes one header object, so a server's requests select from the same header and reuse its selection
(headers are never changed in place)."""


def _selection(header: PoseHeader, layout: list[tuple[str, list[str]]], dims: int) -> _Selection:
    key = (tuple((name, tuple(points)) for name, points in layout), dims)
    by_layout = _SELECTIONS.get(header)
    if by_layout is None:
        by_layout = _SELECTIONS.setdefault(header, {})
    found = by_layout.get(key)
    if found is None:
        found = by_layout[key] = _select_header(header, layout, dims)
    return found


def _select_header(header: PoseHeader, layout: list[tuple[str, list[str]]], dims: int) -> _Selection:
    index = point_index(header)
    wanted = [(c, p) for c, points in layout for p in points]
    absent = [f"{c}:{p}" for c, p in wanted if (c, p) not in index]
    sources = np.array([index.get(key, -1) for key in wanted], dtype=np.int64)
    by_name = {c.name: c for c in header.components}
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
    return _Selection(sources, absent, PoseHeader(header.version, header.dimensions, components))


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
        return select_points(pose, self.layout(pose.header), self.missing)


@dataclass(frozen=True)
class HideLegs(PointsTransform):
    """Zero the knees, ankles, heels and feet (confidence 0), keeping their slots."""

    parts: ClassVar[tuple[str, ...]] = ("KNEE", "ANKLE", "HEEL", "FOOT_INDEX")

    def points(self, data: np.ndarray, confidence: np.ndarray, pose: Pose, rng: np.random.Generator) -> Arrays:
        legs = [
            i
            for (component, point), i in point_index(pose.header).items()
            if component in (holistic.BODY, holistic.BODY_WORLD) and point.split("_", 1)[-1] in self.parts
        ]
        data[:, :, legs] = 0
        confidence[:, :, legs] = 0
        return data, confidence


@dataclass(frozen=True)
class KeepDims(PointsTransform):
    """Keep the first `dims` coordinates (e.g. 2 to drop z)."""

    dims: int = 2

    def points(self, data: np.ndarray, confidence: np.ndarray, pose: Pose, rng: np.random.Generator) -> Arrays:
        return data[..., : self.dims], confidence
