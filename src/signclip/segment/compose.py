"""Continuous sequences composed from isolated signs, with known sign boundaries.

Signs (poses of one layout, e.g. the fingerspelling poses or `signclip.data.synthetic`) are joined
by realistic transitions: each sign is resampled to a random speed, consecutive signs are joined by
an interpolated movement of random length, some joins hold still for a pause, and the sequence
starts and ends at rest (hands absent, as MediaPipe reports hands that dropped out of view). The
ground truth is the frames of the original signs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pose_format import Pose

from signclip.poses.io import pose_from_array
from signclip.segment.recordings import Recording, join_sentences


@dataclass(frozen=True)
class ComposeConfig:
    """How sequences are composed (frame counts at the signs' own fps)."""

    signs_per_sequence: tuple[int, int] = (3, 7)
    speed_range: tuple[float, float] = (0.75, 1.35)
    transition_frames: tuple[int, int] = (3, 10)
    pause_probability: float = 0.3
    pause_frames: tuple[int, int] = (4, 15)
    rest_frames: tuple[int, int] = (8, 20)
    sentence_gap_frames: int = 12


def _arrays(pose: Pose) -> tuple[np.ndarray, np.ndarray]:
    return np.ma.getdata(pose.body.data)[:, :1].astype(np.float32), pose.body.confidence[:, :1].astype(np.float32)


def _resample(data: np.ndarray, confidence: np.ndarray, frames: int) -> tuple[np.ndarray, np.ndarray]:
    positions = np.linspace(0, len(data) - 1, frames)
    low = np.floor(positions).astype(int)
    high = np.minimum(low + 1, len(data) - 1)
    w = (positions - low)[:, None, None, None]
    both = np.minimum(confidence[low], confidence[high])
    return data[low] * (1 - w) + data[high] * w, np.where(w[..., 0] < 0.5, np.where(both > 0, both, 0), both)


def _transition(a: tuple, b: tuple, frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Interpolate from the last frame of `a` to the first of `b`; points present at both ends only."""
    (da, ca), (db, cb) = a, b
    w = np.linspace(0, 1, frames + 2)[1:-1][:, None, None, None]
    data = da[-1:] * (1 - w) + db[:1] * w
    present = (ca[-1:] > 0) & (cb[:1] > 0)
    return data, np.repeat(present.astype(np.float32), frames, axis=0)


def _rest(template: tuple, frames: int, hand_points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hold the template frame still with the hands absent."""
    data, confidence = template
    rest_data = np.repeat(data[:1], frames, axis=0)
    rest_confidence = np.repeat(confidence[:1], frames, axis=0)
    rest_confidence[:, :, hand_points] = 0
    rest_data[:, :, hand_points] = 0
    return rest_data, rest_confidence


def compose_sequence(
    signs: list[Pose], rng: np.random.Generator, config: ComposeConfig, hand_points: np.ndarray, key: str
) -> Recording:
    """Join `signs` (same header) into one Recording whose `signs` spans are where each sign was placed.

    hand_points: indices of the hand points (made absent at rest)."""
    parts: list[tuple[np.ndarray, np.ndarray]] = []
    spans = []
    cursor = 0

    def add(part: tuple[np.ndarray, np.ndarray]) -> None:
        nonlocal cursor
        parts.append(part)
        cursor += len(part[0])

    first = _arrays(signs[0])
    add(_rest(first, int(rng.integers(*config.rest_frames)), hand_points))
    previous = None
    for sign in signs:
        data, confidence = _arrays(sign)
        frames = max(3, round(len(data) / rng.uniform(*config.speed_range)))
        current = _resample(data, confidence, frames)
        if previous is not None:
            add(_transition(previous, current, int(rng.integers(*config.transition_frames))))
            if rng.random() < config.pause_probability:  # a hold before the sign starts
                hold = int(rng.integers(*config.pause_frames))
                add((np.repeat(current[0][:1], hold, axis=0), np.repeat(current[1][:1], hold, axis=0)))
        spans.append((cursor, cursor + frames - 1))
        add(current)
        previous = current
    add(_rest(previous, int(rng.integers(*config.rest_frames)), hand_points))
    data = np.concatenate([p[0] for p in parts])
    confidence = np.concatenate([p[1] for p in parts])
    pose = pose_from_array(signs[0].header, data, float(signs[0].body.fps), confidence)
    return Recording(key=key, pose=pose, signs=spans, sentences=join_sentences(spans, config.sentence_gap_frames))


def hand_point_indices(pose: Pose) -> np.ndarray:
    """Indices of the points of components whose name mentions a hand (e.g. LEFT_HAND_LANDMARKS)."""
    indices, start = [], 0
    for component in pose.header.components:
        if "HAND" in component.name.upper():
            indices.extend(range(start, start + len(component.points)))
        start += len(component.points)
    return np.array(indices, dtype=int)


def compose_recordings(
    signs: list[Pose], count: int, seed: int = 0, config: ComposeConfig | None = None
) -> list[Recording]:
    """`count` composed sequences, each of a random number of random `signs` (all of one header)."""
    config = config or ComposeConfig()
    rng = np.random.default_rng(seed)
    hands = hand_point_indices(signs[0])
    out = []
    for k in range(count):
        chosen = rng.choice(len(signs), size=int(rng.integers(*config.signs_per_sequence)), replace=True)
        out.append(compose_sequence([signs[i] for i in chosen], rng, config, hands, key=f"composed-{k}"))
    return out


def synthetic_signs(glosses: int = 12, signers: int = 2, seed: int = 0) -> list[Pose]:
    """Isolated signs of the synthetic signer (`signclip.data.synthetic`), for composing sequences."""
    from signclip.data.synthetic import synthetic_pose

    return [synthetic_pose(g, s, seed=seed) for g in range(glosses) for s in range(signers)]
