"""Per-frame BIO probabilities -> segments.

`threshold_decode` is the decoding of the sign-language-processing/segmentation command (its
`probs_to_segments`): probabilities are scaled to percent and rounded; a segment starts at the first
frame whose B exceeds `b_threshold`; once B has dropped below the threshold again, the segment ends
before the first frame whose O exceeds `o_threshold` or whose B exceeds `b_threshold` (a new B starts
the next segment at once). When no frame's B reaches `b_threshold`, segments are instead the runs
of frames whose I exceeds `i_threshold` (a run ends before the first frame whose I drops below it),
as that project's decoder does. dgs-2023 uses 60/50 for signs and 90/90 for sentences.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import find_peaks

from signclip.segment.segments import B, I, O, Segment, make_segment


@dataclass(frozen=True)
class DecodingConfig:
    """Thresholds (percent) of `threshold_decode`, and the shortest segment kept (frames)."""

    b_threshold: float = 60.0
    o_threshold: float = 50.0
    i_threshold: float = 50.0
    min_frames: int = 1


SIGN_DECODING = DecodingConfig(60.0, 50.0)
SENTENCE_DECODING = DecodingConfig(90.0, 90.0)


def threshold_decode(log_probs: np.ndarray, config: DecodingConfig) -> list[tuple[int, int]]:
    """Return inclusive `(start, end)` frame spans from log-probabilities `(frames, 3)` in O, B, I order.

    A segment still open at the last frame ends there. Spans shorter than `config.min_frames` are dropped.
    """
    probs = np.round(np.exp(np.asarray(log_probs, dtype=np.float64)) * 100)
    if len(probs) and (probs[:, B] < config.b_threshold).all():
        return [(s, e) for s, e in _inside_runs(probs[:, I], config.i_threshold) if e - s + 1 >= config.min_frames]
    b_threshold, o_threshold = config.b_threshold, config.o_threshold
    spans: list[tuple[int, int]] = []
    start: int | None = None
    passed_start = False
    for index in range(len(probs)):
        b, o = probs[index, B], probs[index, O]
        if start is None:
            if b > b_threshold:
                start = index
        elif passed_start:
            if b > b_threshold or o > o_threshold:
                spans.append((start, index - 1))
                start = None if o > o_threshold else index
                passed_start = False
        elif b < b_threshold:
            passed_start = True
    if start is not None:
        spans.append((start, len(probs) - 1))
    return [(s, e) for s, e in spans if e - s + 1 >= config.min_frames]


def peak_decode(log_probs: np.ndarray, b_height: float, o_threshold: float, distance: int = 3) -> list[tuple[int, int]]:
    """Spans from `(frames, 3)` log-probabilities by peak picking: a sign starts at each local maximum of
    P(B) at least `b_height` high (scipy's find_peaks, peaks `distance` frames apart or more) and at the
    first frame of a run with P(O) <= `o_threshold` that holds no such peak; it ends before the next
    start or before the first frame whose P(O) exceeds `o_threshold` (thresholds in percent)."""
    probs = np.exp(np.asarray(log_probs, dtype=np.float64)) * 100
    frames = len(probs)
    if frames == 0:
        return []
    peaks, _ = find_peaks(np.concatenate([[0.0], probs[:, B], [0.0]]), height=b_height, distance=max(1, distance))
    starts = set((peaks - 1).tolist())
    outside = probs[:, O] > o_threshold
    previous_outside = True
    for index in range(frames):
        if not outside[index] and previous_outside:
            starts.add(index)  # a new run of inside frames starts a sign unless a peak follows at once
        previous_outside = bool(outside[index])
    ordered = sorted(starts)
    ordered = [
        s
        for k, s in enumerate(ordered)
        if not (k + 1 < len(ordered) and ordered[k + 1] - s < distance and s not in set((peaks - 1).tolist()))
    ]
    spans = []
    for k, start in enumerate(ordered):
        if outside[start] and start not in set((peaks - 1).tolist()):
            continue
        stop = ordered[k + 1] - 1 if k + 1 < len(ordered) else frames - 1
        after = np.flatnonzero(outside[start + 1 : stop + 1])
        end = start + int(after[0]) if len(after) else stop
        spans.append((start, end))
    return spans


def _inside_runs(inside: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """Runs that start where `inside` > threshold and end before the first frame where it is < threshold."""
    spans, index = [], 0
    while index < len(inside):
        if inside[index] > threshold:
            below = np.flatnonzero(inside[index + 1 :] < threshold)
            end = index + int(below[0]) if len(below) else len(inside) - 1
            spans.append((index, end))
            index = end + 1
        else:
            index += 1
    return spans


def spans_to_segments(
    spans: list[tuple[int, int]], log_probs: np.ndarray | None, fps: float, level: str
) -> list[Segment]:
    """Turn frame spans into Segments; the score is the mean probability of B or I over the span (1 without
    probabilities)."""
    segments = []
    for start, end in spans:
        score = 1.0
        if log_probs is not None:
            probs = np.exp(np.asarray(log_probs[start : end + 1], dtype=np.float64))
            score = float((probs[:, B] + probs[:, I]).mean())
        segments.append(make_segment(start, end, fps, score=score, level=level))
    return segments


def decode(log_probs: np.ndarray, config: DecodingConfig, fps: float, level: str) -> list[Segment]:
    """Threshold-decode `(frames, 3)` log-probabilities into Segments of `level` at `fps`."""
    return spans_to_segments(threshold_decode(log_probs, config), log_probs, fps, level)


__all__ = ["SENTENCE_DECODING", "SIGN_DECODING", "DecodingConfig", "decode", "peak_decode", "spans_to_segments"]
