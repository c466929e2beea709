"""Segmentation metrics on inclusive frame spans `(start, end)`; pure functions.

- segment F1: predicted and true segments matched one-to-one (Hungarian, scipy) among pairs with
  IoU >= a threshold (0.5);
- boundary F1: start and end frames matched one-to-one within +-tolerance frames (2);
- frame F1 of the B, I and O tags (scikit-learn), per class and their macro mean;
- the segmentation project's IoU: frames inside any predicted segment vs inside any true one.

Counts (`Counts`) add up over sequences, so aggregate scores are micro-averaged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import f1_score

from signclip.segment.segments import BIO_CLASSES, spans_to_bio

Span = tuple[int, int]


@dataclass
class Counts:
    """Matched, predicted and true item counts; precision, recall and F1 follow."""

    matched: int = 0
    predicted: int = 0
    true: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.matched + other.matched, self.predicted + other.predicted, self.true + other.true)

    @property
    def precision(self) -> float:
        return self.matched / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.matched / self.true if self.true else 0.0

    @property
    def f1(self) -> float:
        total = self.predicted + self.true
        return 2 * self.matched / total if total else 1.0

    def to_dict(self) -> dict[str, float]:
        """Counts and scores as a dict."""
        return {
            "f1": round(self.f1, 4),
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "matched": self.matched,
            "predicted": self.predicted,
            "true": self.true,
        }


def span_iou(a: Span, b: Span) -> float:
    """Intersection over union of two inclusive frame spans."""
    intersection = min(a[1], b[1]) - max(a[0], b[0]) + 1
    if intersection <= 0:
        return 0.0
    return intersection / ((a[1] - a[0] + 1) + (b[1] - b[0] + 1) - intersection)


def _match(score: np.ndarray, allowed: np.ndarray) -> int:
    """The size of a maximum one-to-one matching among `allowed` pairs (ties broken by `score`)."""
    if not allowed.any():
        return 0
    weights = np.where(allowed, 1.0 + 1e-3 * score, 0.0)
    rows, cols = linear_sum_assignment(weights, maximize=True)
    return int(allowed[rows, cols].sum())


def segment_counts(predicted: list[Span], true: list[Span], threshold: float = 0.5) -> Counts:
    """Segments matched one-to-one at IoU >= `threshold`."""
    if not predicted or not true:
        return Counts(0, len(predicted), len(true))
    iou = np.array([[span_iou(p, t) for t in true] for p in predicted])
    return Counts(_match(iou, iou >= threshold), len(predicted), len(true))


def boundary_counts(predicted: list[Span], true: list[Span], tolerance: int = 2) -> Counts:
    """Boundaries (each segment's start and its end) matched one-to-one within +-`tolerance` frames;
    a start matches only a start and an end only an end."""
    total = Counts()
    for side in (0, 1):
        p = np.array([s[side] for s in predicted], dtype=float)
        t = np.array([s[side] for s in true], dtype=float)
        if len(p) and len(t):
            distance = np.abs(p[:, None] - t[None, :])
            total = total + Counts(_match(-distance, distance <= tolerance), len(p), len(t))
        else:
            total = total + Counts(0, len(p), len(t))
    return total


def frame_f1(predicted: list[list[Span]], true: list[list[Span]], frames: list[int]) -> dict[str, float]:
    """Frame-level F1 of each BIO class and their macro mean, over all sequences together.

    predicted, true: per sequence, its spans; frames: per sequence, its length.
    """
    p = np.concatenate([spans_to_bio(s, n) for s, n in zip(predicted, frames, strict=True)] or [np.zeros(0)])
    t = np.concatenate([spans_to_bio(s, n) for s, n in zip(true, frames, strict=True)] or [np.zeros(0)])
    scores = f1_score(t, p, labels=[0, 1, 2], average=None, zero_division=0)
    out = {name: round(float(score), 4) for name, score in zip(BIO_CLASSES, scores, strict=True)}
    out["macro"] = round(float(np.mean(scores)), 4)
    return out


def coverage_iou(predicted: list[Span], true: list[Span], frames: int) -> float:
    """The segmentation project's segment IoU: frames in any predicted span vs frames in any true span
    (1.0 when both are empty)."""
    p, t = np.zeros(frames, dtype=bool), np.zeros(frames, dtype=bool)
    for start, end in predicted:
        p[max(0, start) : end + 1] = True
    for start, end in true:
        t[max(0, start) : end + 1] = True
    union = (p | t).sum()
    return float((p & t).sum() / union) if union else 1.0


def evaluate_spans(
    predicted: list[list[Span]],
    true: list[list[Span]],
    frames: list[int],
    iou_threshold: float = 0.5,
    tolerance: int = 2,
) -> dict[str, object]:
    """All metrics over sequences: segment and boundary counts (micro), frame F1, mean coverage IoU, and
    the segment count ratio (predicted / true, the segmentation project's "segment percentage")."""
    segment, boundary = Counts(), Counts()
    for p, t in zip(predicted, true, strict=True):
        segment = segment + segment_counts(p, t, iou_threshold)
        boundary = boundary + boundary_counts(p, t, tolerance)
    ious = [coverage_iou(p, t, n) for p, t, n in zip(predicted, true, frames, strict=True)]
    return {
        "segment": segment.to_dict(),
        "boundary": boundary.to_dict(),
        "frame_f1": frame_f1(predicted, true, frames),
        "iou": round(float(np.mean(ious)) if ious else 0.0, 4),
        "segment_ratio": round(segment.predicted / segment.true, 4) if segment.true else 0.0,
        "sequences": len(frames),
    }
