"""`motion`: a segmenter without weights, from the movement of the hands.

1. Hand tracks (any layout with hands, see `features.hand_tracks`), Gaussian-smoothed speed per hand,
   normalized by its high percentile in the recording (so thresholds do not depend on units or scale).
2. Activity: a hand is active where it is present and raised above its rest height (its lowest usual
   position) or moving fast; short rests inside activity are filled and short bursts dropped.
   Active stretches separated by a rest of at least `sentence_rest_ms` are sentences.
3. Inside each active stretch, sign boundaries by dynamic programming: cuts where the hands are slow
   (holds, direction changes: speed minima) or accelerate, every sign between `min_sign_ms` and
   `max_sign_ms` long, with a penalty for straying from `mean_sign_ms`; the first `rise_ms` and the last
   `lower_ms` of a stretch (the hands rising from and returning to rest) belong to no sign. Frames slower
   than `trim` at a sign's edges are left out (transitions and holds between signs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pose_format import Pose
from scipy.ndimage import binary_closing, binary_opening, gaussian_filter1d

from signclip.segment.base import Segmenter
from signclip.segment.features import HandTracks, hand_speed, hand_tracks
from signclip.segment.segments import Segment, make_segment, warn


@dataclass(frozen=True)
class MotionConfig:
    """Parameters of the motion segmenter (times in ms, so they hold at any fps)."""

    smoothing_ms: float = 40.0
    speed_percentile: float = 90.0
    raise_threshold: float = 0.25
    rest_speed: float = 0.15
    fill_rest_ms: float = 300.0
    min_active_ms: float = 150.0
    sentence_rest_ms: float = 700.0
    mean_sign_ms: float = 360.0
    min_sign_ms: float = 130.0
    max_sign_ms: float = 1000.0
    length_weight: float = 1.0
    cut_weight: float = 1.0
    trim: float = 0.0
    rise_ms: float = 0.0
    lower_ms: float = 0.0


def _frames(ms: float, fps: float, minimum: int = 1) -> int:
    return max(minimum, round(ms / 1000 * fps))


def activity(tracks: HandTracks, speed: np.ndarray, config: MotionConfig) -> np.ndarray:
    """Boolean (frames,): some hand is present and raised above its rest height or moving."""
    y = tracks.positions[:, :, 1]
    active = np.zeros(tracks.frames, dtype=bool)
    for h in range(2):
        present = tracks.present[:, h]
        if not present.any():
            continue
        rest = np.percentile(y[present, h], 95)
        raised = (rest - y[:, h]) > config.raise_threshold
        active |= present & (raised | (speed[:, h] > config.rest_speed * 4))
    fill = _frames(config.fill_rest_ms, tracks.fps)
    active = binary_closing(np.pad(active, fill), structure=np.ones(fill))[fill:-fill] if fill > 1 else active
    keep = _frames(config.min_active_ms, tracks.fps)
    return binary_opening(active, structure=np.ones(keep)) if keep > 1 else active


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Inclusive (start, end) runs of True in a boolean array."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return [(int(a), int(b) - 1) for a, b in zip(edges[0::2], edges[1::2], strict=True)]


def best_cuts(cost: np.ndarray, start: int, end: int, fps: float, config: MotionConfig) -> list[tuple[int, int]]:
    """Split frames `start..end` into signs by dynamic programming; `cost` (frames,) is the cost of a sign
    starting at each frame (low at speed minima). Returns inclusive spans covering the range."""
    n = end - start + 1
    low, high = _frames(config.min_sign_ms, fps), _frames(config.max_sign_ms, fps)
    mean = _frames(config.mean_sign_ms, fps)
    if n <= low:
        return [(start, end)]
    best = np.full(n + 1, np.inf)
    back = np.zeros(n + 1, dtype=int)
    best[0] = 0.0
    for j in range(1, n + 1):
        lengths = np.arange(low, min(high, j) + 1)
        if len(lengths) == 0:
            continue
        i = j - lengths
        penalty = config.length_weight * ((lengths - mean) / mean) ** 2
        total = best[i] + penalty + config.cut_weight * cost[start + i]
        k = int(np.argmin(total))
        best[j], back[j] = total[k], i[k]
    if not np.isfinite(best[n]):
        return [(start, end)]
    spans, j = [], n
    while j > 0:
        spans.append((start + back[j], start + j - 1))
        j = back[j]
    return spans[::-1]


@dataclass
class MotionSegmenter(Segmenter):
    """Signs and sentences from hand speed, acceleration, presence, holds and rests (no weights)."""

    config: MotionConfig = MotionConfig()
    name: str = "motion"

    def spans(self, tracks: HandTracks) -> tuple[list[tuple[int, int]], list[tuple[int, int]], np.ndarray]:
        """Return (sign spans, sentence spans, normalized speed (frames,)) for hand tracks."""
        config, fps = self.config, tracks.fps
        sigma = max(config.smoothing_ms / 1000 * fps, 0.0)
        speed = hand_speed(tracks, sigma=sigma) * tracks.present
        scale = np.percentile(speed[tracks.present], config.speed_percentile) if tracks.present.any() else 1.0
        speed = speed / max(float(scale), 1e-9)
        combined = speed.max(axis=1)
        active = activity(tracks, speed, config)
        sentences = []
        rest = _frames(config.sentence_rest_ms, fps)
        for start, end in runs(active):
            if sentences and start - sentences[-1][1] - 1 < rest:
                sentences[-1] = (sentences[-1][0], end)
            else:
                sentences.append((start, end))
        smooth = gaussian_filter1d(combined, max(sigma, 0.5), mode="nearest")
        cost = smooth - gaussian_filter1d(smooth, max(3 * sigma, 1.0), mode="nearest")
        signs = []
        rise, lower = round(config.rise_ms / 1000 * fps), round(config.lower_ms / 1000 * fps)
        for start, end in runs(active):
            if end - start + 1 > rise + lower + _frames(config.min_sign_ms, fps):
                start, end = start + rise, end - lower
            for a, b in best_cuts(cost, start, end, fps, config):
                if config.trim > 0:
                    moving = np.flatnonzero(smooth[a : b + 1] >= config.trim)
                    if len(moving) == 0:
                        continue
                    a, b = a + int(moving[0]), a + int(moving[-1])
                signs.append((a, b))
        return signs, sentences, combined

    def segment_levels(self, pose: Pose) -> dict[str, list[Segment]]:
        """Sign and sentence segments of `pose` (scores: the mean normalized speed inside, clipped to 1)."""
        tracks = hand_tracks(pose)
        if not tracks.present.any():
            warn(f"{self.name}: no hands in any of the {tracks.frames} frames; no segments")
            return {level: [] for level in self.levels}
        signs, sentences, speed = self.spans(tracks)
        fps = tracks.fps

        def build(spans: list[tuple[int, int]], level: str) -> list[Segment]:
            return [
                make_segment(a, b, fps, score=float(np.clip(speed[a : b + 1].mean(), 0, 1)), level=level)
                for a, b in spans
            ]

        return {"sign": build(signs, "sign"), "sentence": build(sentences, "sentence")}
