"""Segments and per-frame BIO tags: the data every segmenter returns, and conversions between them.

A `Segment` covers frames `start_frame..end_frame` (both inclusive) of one recording; its times are
`start_ms = start_frame / fps * 1000` and `end_ms = (end_frame + 1) / fps * 1000` (the end of its last
frame), the convention of the RWTH-BOSTON-104 adapter. BIO classes are in the order O, B, I
(the order of the dgs-2023 model's outputs).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

O, B, I = 0, 1, 2  # noqa: E741 - the BIO class indices
BIO_CLASSES = ("O", "B", "I")
LEVELS = ("sign", "sentence")


class SegmentationWarning(UserWarning):
    """An input that yields no segments for a reason the user should know (no hands, too short, no person)."""


def warn(message: str) -> None:
    """Issue a SegmentationWarning (the CLI prints these; library callers can filter or record them)."""
    warnings.warn(message, SegmentationWarning, stacklevel=3)


@dataclass(frozen=True)
class Segment:
    """One sign or sentence: inclusive frames, times in ms, a score in [0, 1] and its level."""

    start_frame: int
    end_frame: int
    start_ms: float
    end_ms: float
    score: float = 1.0
    level: str = "sign"

    @property
    def frames(self) -> int:
        """The number of frames covered (end inclusive)."""
        return self.end_frame - self.start_frame + 1

    def to_dict(self) -> dict[str, Any]:
        """Return the segment as a JSON-ready dict (times rounded to 0.1 ms, score to 4 decimals)."""
        out = asdict(self)
        out["start_ms"], out["end_ms"] = round(self.start_ms, 1), round(self.end_ms, 1)
        out["score"] = round(float(self.score), 4)
        return out


def make_segment(start_frame: int, end_frame: int, fps: float, score: float = 1.0, level: str = "sign") -> Segment:
    """Build a Segment over inclusive frames `start_frame..end_frame` of a recording at `fps`."""
    if end_frame < start_frame:
        raise ValueError(f"segment ends ({end_frame}) before it starts ({start_frame})")
    return Segment(
        start_frame=int(start_frame),
        end_frame=int(end_frame),
        start_ms=start_frame / fps * 1000,
        end_ms=(end_frame + 1) / fps * 1000,
        score=float(score),
        level=level,
    )


def ms_to_frames(start_ms: float, end_ms: float, fps: float, frames: int) -> tuple[int, int] | None:
    """Return the inclusive frame range of the span `start_ms..end_ms` clipped to `frames`, or None if empty.

    The inverse of `make_segment`'s times: frame k covers [k/fps, (k+1)/fps) seconds.
    """
    start = 0 if start_ms is None or math.isnan(start_ms) else math.floor(start_ms / 1000 * fps + 1e-6)
    end = frames - 1 if end_ms is None or math.isnan(end_ms) else math.ceil(end_ms / 1000 * fps - 1e-6) - 1
    start, end = max(0, start), min(frames - 1, end)
    return (start, end) if end >= start else None


def spans_to_bio(spans: list[tuple[int, int]], frames: int) -> np.ndarray:
    """Per-frame BIO tags (frames,) int64 from inclusive `(start, end)` frame spans; later spans win overlaps."""
    tags = np.full(frames, O, dtype=np.int64)
    for start, end in sorted(spans):
        start, end = max(0, start), min(frames - 1, end)
        if end < start:
            continue
        tags[start : end + 1] = I
        tags[start] = B
    return tags


def bio_to_spans(tags: np.ndarray) -> list[tuple[int, int]]:
    """Inclusive `(start, end)` spans from per-frame BIO tags (frames,): a span starts at B, or at I after O."""
    spans, start = [], None
    for index, tag in enumerate(np.asarray(tags).tolist()):
        if tag == B or (tag == I and start is None):
            if start is not None:
                spans.append((start, index - 1))
            start = index
        elif tag == O and start is not None:
            spans.append((start, index - 1))
            start = None
    if start is not None:
        spans.append((start, len(tags) - 1))
    return spans


def segments_to_json(segments: dict[str, list[Segment]]) -> dict[str, list[dict[str, Any]]]:
    """Return `{level: [segment dict, ...]}` for JSON output."""
    return {level: [s.to_dict() for s in items] for level, items in segments.items()}
