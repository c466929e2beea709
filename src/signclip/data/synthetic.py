"""A procedural signer: MediaPipe-Holistic-shaped poses with class structure, for tests and demos.

Each gloss has its own hand shapes (finger curls, start and end shape), wrist trajectory (start, end,
wiggle) and hand orientation, and every third gloss is two-handed. Each signer has their own body
proportions, position in the frame, speed and jitter. Everything is deterministic given the seed.
Coordinates are pixels in a 1000 x 1000 image (z small, as MediaPipe's).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from pose_format import Pose

from signclip.data.manifest import write_manifest
from signclip.poses import holistic
from signclip.poses.io import pose_from_array, write_pose

WORDS = [
    "house", "tree", "water", "friend", "book", "eat", "drink", "school", "family", "work",
    "play", "happy", "sad", "mother", "father", "dog", "cat", "car", "love", "help",
    "name", "learn", "sign", "hello", "thanks", "sorry", "please", "yes", "no", "time",
]  # fmt: skip
FACE_POINTS = 468
FINGER_ANGLES = np.array([-0.9, -0.3, 0.0, 0.25, 0.5])  # thumb .. pinky, radians from the hand's axis
FINGER_LENGTHS = np.array([0.8, 1.0, 1.1, 1.0, 0.8])


@dataclass(frozen=True)
class GlossStyle:
    """How one gloss is signed: two hand shapes (5 curls each), wrist path, wiggle, orientation, hands."""

    shape_start: np.ndarray
    shape_end: np.ndarray
    path_start: np.ndarray
    path_end: np.ndarray
    wiggle: float
    wiggle_cycles: int
    orientation: float
    two_handed: bool


@dataclass(frozen=True)
class SignerStyle:
    """One signer: shoulder width (px), body centre (px), arm reach, head size, speed, jitter (px)."""

    shoulder_width: float
    center: np.ndarray
    reach: float
    head: float
    speed: float
    jitter: float


def gloss_style(gloss: int) -> GlossStyle:
    """Return the deterministic style of gloss number `gloss`."""
    rng = np.random.default_rng(10_000 + gloss)
    return GlossStyle(
        shape_start=rng.uniform(0, 1.4, 5),
        shape_end=rng.uniform(0, 1.4, 5),
        path_start=rng.uniform([-0.6, -1.6], [0.9, 0.4]),
        path_end=rng.uniform([-0.6, -1.6], [0.9, 0.4]),
        wiggle=float(rng.uniform(0, 0.25)),
        wiggle_cycles=int(rng.integers(0, 3)),
        orientation=float(rng.uniform(-0.8, 0.8)),
        two_handed=gloss % 3 == 0,
    )


def signer_style(signer: int) -> SignerStyle:
    """Return the deterministic style of signer number `signer`."""
    rng = np.random.default_rng(20_000 + signer)
    return SignerStyle(
        shoulder_width=float(rng.uniform(180, 260)),
        center=rng.uniform([430, 520], [570, 600]),
        reach=float(rng.uniform(0.9, 1.1)),
        head=float(rng.uniform(0.9, 1.1)),
        speed=float(rng.uniform(0.8, 1.25)),
        jitter=float(rng.uniform(0.5, 2.0)),
    )


def _hand(curls: np.ndarray, wrist: np.ndarray, orientation: float, size: float, mirror: bool) -> np.ndarray:
    """21 hand points (21, 3): the wrist, then 4 joints per finger bent by `curls` (radians per joint)."""
    points = [np.zeros(3)]
    for angle, length, curl in zip(FINGER_ANGLES, FINGER_LENGTHS, curls, strict=True):
        direction = np.array([np.sin(angle), -np.cos(angle)])
        joint = np.array([*direction * 0.9 * length, 0.0])
        points.append(joint.copy())
        bend = 0.0
        for _ in range(3):
            bend += curl
            step = np.array([*direction * np.cos(bend), -np.sin(bend)]) * 0.35 * length
            joint = joint + step
            points.append(joint.copy())
    hand = np.array(points) * size
    rotation = np.array([[np.cos(orientation), -np.sin(orientation)], [np.sin(orientation), np.cos(orientation)]])
    hand[:, :2] = hand[:, :2] @ rotation.T
    if mirror:
        hand[:, 0] = -hand[:, 0]
    hand[:, :2] += wrist
    hand[:, 2] = hand[:, 2] / 1000
    return hand


def _face(nose: np.ndarray, head: float) -> np.ndarray:
    """468 face points (468, 3) spread over an ellipse around the nose (a fixed layout for every signer)."""
    layout = np.random.default_rng(7).uniform(-1, 1, (FACE_POINTS, 2))
    layout = layout[np.argsort(layout[:, 1], kind="stable")]
    face = np.zeros((FACE_POINTS, 3))
    face[:, 0] = nose[0] + layout[:, 0] * 55 * head
    face[:, 1] = nose[1] + layout[:, 1] * 75 * head
    return face


def synthetic_pose(gloss: int, signer: int, seed: int = 0, fps: float = 25.0, left_handed: bool = False) -> Pose:
    """Generate one sign: gloss `gloss` by signer `signer`, repetition noise from `seed`.

    Returns a Holistic Pose (543 points: 33 body, 468 face, 21 + 21 hands, XYZC) of about 20-45 frames.
    The dominant hand is the right one unless `left_handed`; one-handed glosses leave the other hand absent.
    """
    style, person = gloss_style(gloss), signer_style(signer)
    rng = np.random.default_rng([gloss, signer, seed])
    frames = max(8, round(30 / person.speed * rng.uniform(0.85, 1.15)))
    path_start = style.path_start + rng.normal(0, 0.2, 2)  # each repetition lands somewhere else
    path_end = style.path_end + rng.normal(0, 0.2, 2)
    shape_start = style.shape_start + rng.normal(0, 0.25, 5)
    shape_end = style.shape_end + rng.normal(0, 0.25, 5)
    t = np.linspace(0, 1, frames)
    eased = t * t * (3 - 2 * t)
    unit = person.shoulder_width
    shoulder_y = person.center[1] - 0.2 * unit
    nose = np.array([person.center[0], shoulder_y - 0.9 * unit * person.head])
    body_points = holistic.body_points()
    hand_size = 0.28 * unit

    data = np.full((frames, 1, 33 + FACE_POINTS + 42, 3), np.nan)
    for f in range(frames):
        body = np.zeros((33, 3))
        for i, name in enumerate(body_points):
            side = -1 if name.startswith("LEFT") else 1 if name.startswith("RIGHT") else 0
            side = -side  # a signer facing the camera: their right side is on the image's left
            if "SHOULDER" in name:
                body[i] = [person.center[0] + side * unit / 2, shoulder_y, 0]
            elif "HIP" in name:
                body[i] = [person.center[0] + side * unit * 0.35, shoulder_y + 1.3 * unit, 0]
            elif any(part in name for part in ("KNEE", "ANKLE", "HEEL", "FOOT")):
                body[i] = [person.center[0] + side * unit * 0.35, shoulder_y + 2.4 * unit, 0]
            else:  # face-level points: nose, eyes, ears, mouth
                body[i] = [
                    nose[0] + side * 0.15 * unit * person.head,
                    nose[1] + (0.1 * unit if "MOUTH" in name else 0),
                    0,
                ]
        offset = path_start + (path_end - path_start) * eased[f]
        wiggle = style.wiggle * np.sin(2 * np.pi * style.wiggle_cycles * t[f])
        offset = offset + np.array([wiggle, wiggle / 2])
        curls = shape_start + (shape_end - shape_start) * eased[f]
        hands = {}
        for dominant in (True, False):
            if not dominant and not style.two_handed:
                continue
            component = holistic.RIGHT_HAND if dominant != left_handed else holistic.LEFT_HAND
            sign = -1 if component == holistic.RIGHT_HAND else 1  # the signer's right hand is on the image's left
            wrist = np.array(
                [
                    person.center[0] + sign * (0.1 + offset[0]) * unit * person.reach,
                    shoulder_y + (0.9 + offset[1]) * unit * person.reach,
                ]
            )
            hands[component] = _hand(curls, wrist, sign * style.orientation, hand_size, mirror=sign > 0)
            wrist_name = ("RIGHT" if component == holistic.RIGHT_HAND else "LEFT") + "_WRIST"
            body[body_points.index(wrist_name)] = hands[component][0]
            elbow_name = wrist_name.replace("WRIST", "ELBOW")
            shoulder = body[body_points.index(wrist_name.replace("WRIST", "SHOULDER"))]
            body[body_points.index(elbow_name)] = (shoulder + hands[component][0]) / 2 + [0, 0.3 * unit, 0]
        data[f, 0, :33] = body
        data[f, 0, 33 : 33 + FACE_POINTS] = _face(nose, person.head)
        for component, start in (
            (holistic.LEFT_HAND, 33 + FACE_POINTS),
            (holistic.RIGHT_HAND, 33 + FACE_POINTS + 21),
        ):
            if component in hands:
                data[f, 0, start : start + 21] = hands[component]
    noise = rng.normal(0, person.jitter, size=data.shape)
    noise[..., 2] *= 1e-3
    data = data + noise
    header = holistic.holistic_header(width=1000, height=1000, depth=0, face_points=FACE_POINTS)
    return pose_from_array(header, data, fps=fps)


def generate_dataset(
    out_dir: str | os.PathLike, glosses: int = 8, signers: int = 3, repetitions: int = 2, seed: int = 0
) -> Path:
    """Write `glosses x signers x repetitions` synthetic poses and a manifest; returns the manifest path.

    Files: `out_dir/poses/<id>.pose` and `out_dir/manifest.csv` (text = an English word, gloss = its
    upper case, signer = `signer-N`; split: the last signer is `test`, the others `train`).
    """
    if not 1 <= glosses <= len(WORDS):
        raise ValueError(f"glosses must be between 1 and {len(WORDS)}, got {glosses}")
    out_dir = Path(out_dir)
    rows = []
    for gloss in range(glosses):
        for signer in range(signers):
            for repetition in range(repetitions):
                item_id = f"{WORDS[gloss]}-s{signer}-r{repetition}"
                pose = synthetic_pose(gloss, signer, seed=seed * 1000 + repetition)
                write_pose(pose, out_dir / "poses" / f"{item_id}.pose")
                rows.append(
                    {
                        "id": item_id,
                        "pose_path": f"poses/{item_id}.pose",
                        "text": WORDS[gloss],
                        "gloss": WORDS[gloss].upper(),
                        "signer": f"signer-{signer}",
                        "spoken_language": "en",
                        "signed_language": "ase",
                        "split": "test" if signers > 1 and signer == signers - 1 else "train",
                    }
                )
    return write_manifest(pd.DataFrame(rows), out_dir / "manifest.csv")
