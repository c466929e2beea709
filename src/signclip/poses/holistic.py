"""The MediaPipe Holistic layout (point names, limbs, face contours, mirror maps) without importing mediapipe."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from pose_format.pose_header import PoseHeader, PoseHeaderComponent, PoseHeaderDimensions
from pose_format.utils.openpose import hand_colors

BODY = "POSE_LANDMARKS"
FACE = "FACE_LANDMARKS"
LEFT_HAND = "LEFT_HAND_LANDMARKS"
RIGHT_HAND = "RIGHT_HAND_LANDMARKS"
BODY_WORLD = "POSE_WORLD_LANDMARKS"
HANDS = (LEFT_HAND, RIGHT_HAND)

# pose-format's own hand palette, so headers built here equal those its holistic writer builds.
_HAND_COLORS = list(hand_colors)


@cache
def layout() -> dict:
    """Return the Holistic layout table: body/hand point names, limbs, face contours and mirror maps."""
    return json.loads((Path(__file__).parent / "holistic_layout.json").read_text())


def body_points() -> list[str]:
    """Return the 33 MediaPipe body landmark names in order."""
    return list(layout()["body_points"])


def hand_points() -> list[str]:
    """Return the 21 MediaPipe hand landmark names in order (WRIST first)."""
    return list(layout()["hand_points"])


def face_contour_points() -> list[str]:
    """Return the 128 FACEMESH_CONTOURS face point names (sorted mesh indices as strings)."""
    return [str(i) for i in layout()["face_contour_points"]]


def holistic_header(
    width: int = 1000, height: int = 1000, depth: int = 0, face_points: int = 468, world: bool = False
) -> PoseHeader:
    """Build a MediaPipe Holistic PoseHeader (XYZC) with `face_points` face points (468 or 478).

    Components in order: body (33), face, left hand (21), right hand (21), and, with `world`,
    POSE_WORLD_LANDMARKS (33), exactly as pose-format's holistic writer lays them out.
    """
    table = layout()
    face_limbs = [tuple(limb) for limb in table["face_limbs"] if max(limb) < face_points]

    def component(name: str, points: list[str], limbs: list, colors: list) -> PoseHeaderComponent:
        return PoseHeaderComponent(
            name=name,
            points=points,
            limbs=[tuple(limb) for limb in limbs],
            colors=colors,
            point_format="XYZC",
        )

    components = [
        component(BODY, body_points(), table["body_limbs"], [(255, 0, 0)]),
        component(FACE, [str(i) for i in range(face_points)], face_limbs, [(128, 0, 0)]),
        component(LEFT_HAND, hand_points(), table["hand_limbs"], _HAND_COLORS),
        component(RIGHT_HAND, hand_points(), table["hand_limbs"], _HAND_COLORS),
    ]
    if world:
        components.append(component(BODY_WORLD, body_points(), table["body_limbs"], [(255, 0, 0)]))
    return PoseHeader(
        version=0.2,
        dimensions=PoseHeaderDimensions(width=width, height=height, depth=depth),
        components=components,
    )


def mirrored_point_name(component: str, point: str) -> tuple[str, str]:
    """Return the (component, point) that `(component, point)` becomes when the image is flipped left-right.

    Hands swap components, body points swap LEFT/RIGHT names, face mesh points map through the
    mesh's symmetry; anything else maps to itself.
    """
    table = layout()
    if component == LEFT_HAND:
        return RIGHT_HAND, point
    if component == RIGHT_HAND:
        return LEFT_HAND, point
    if component in (BODY, BODY_WORLD):
        flips = dict(zip(table["body_points"], table["flipped_body_points"], strict=True))
        return component, flips.get(point, point)
    if component == FACE and point.isdigit() and int(point) < len(table["flipped_face_points"]):
        return component, str(table["flipped_face_points"][int(point)])
    return component, point
