"""A relevance cue per search hit, from the dataset's own scores for the same query.

A cosine score means little on its own (an untrained model or a nonsense query still yields a "best"
hit, often at a score like 0.37). So each hit's score is compared with the query's scores against
the dataset's items (all of them, or a fixed pseudo-random sample of SAMPLE_SIZE for large datasets):

- `percentile`: the share of those items that score below the hit (1.0 = above all of them);
- `z`: how far the hit stands above the bulk, in robust standard deviations
  ((score - median) / (1.4826 x median absolute deviation));
- `strong`: z >= sqrt(2 ln N) + 1. The largest of N scores drawn from one bell-shaped distribution lies
  near sqrt(2 ln N) standard deviations above its middle, so any query has a top hit about that far out;
  a hit counts as a strong match only when it stands a further standard deviation beyond what the best
  of N unrelated items would reach. When no hit is strong, the callers say "no strong matches".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

SAMPLE_SIZE = 20_000
MAD_TO_SD = 1.4826


@dataclass(frozen=True)
class Relevance:
    """How a hit's score stands among the query's scores over the dataset's items (see the module doc)."""

    percentile: float
    z: float
    strong: bool


def strong_threshold(count: int) -> float:
    """The z a hit needs to be a strong match among `count` scores: sqrt(2 ln N) + 1."""
    return math.sqrt(2 * math.log(max(count, 2))) + 1.0


def score_standing(background: np.ndarray, scores: Sequence[float]) -> list[Relevance]:
    """Relevance of each of `scores` among `background` (the query's scores over the dataset's items)."""
    background = np.sort(np.asarray(background, dtype=np.float64))
    if len(background) == 0:
        return [Relevance(percentile=1.0, z=0.0, strong=False) for _ in scores]
    median = float(np.median(background))
    spread = MAD_TO_SD * float(np.median(np.abs(background - median)))
    spread = spread if spread > 1e-9 else float(background.std()) or 1e-9
    threshold = strong_threshold(len(background))
    cues = []
    for score in scores:
        below = np.searchsorted(background, score - 1e-6, side="left") / len(background)
        z = (score - median) / spread
        cues.append(Relevance(percentile=round(float(below), 4), z=round(float(z), 3), strong=bool(z >= threshold)))
    return cues


def relevance_of(store, dataset: str, model: str, vector: np.ndarray, scores: Sequence[float]) -> list[Relevance]:
    """Relevance cues for the hits' cosine `scores` of query `vector` in `dataset` under `model`."""
    if not scores:
        return []
    _, vectors = store.vectors(dataset, model, limit=SAMPLE_SIZE)
    if len(vectors) == 0:
        return score_standing(np.zeros(0), scores)
    norms = np.linalg.norm(vectors, axis=1).clip(min=1e-12)
    query = np.asarray(vector, dtype=np.float64) / max(float(np.linalg.norm(vector)), 1e-12)
    return score_standing((vectors @ query) / norms, scores)
