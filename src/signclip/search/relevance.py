"""A relevance cue per search hit, from the dataset's own scores: does the hit stand out from what
an unrelated query reaches in this dataset?

A cosine score means little on its own (an untrained model or a nonsense query still yields a "best"
hit, often at a score like 0.37), and a trained model spreads unrelated scores widely. So each hit is
compared with a null sample drawn from the dataset itself (its items, or a fixed pseudo-random sample
of SAMPLE_SIZE of them):

- text queries: NULL_PROMPTS meaningless letter strings, wrapped in the same prompt template and scored
  against the items. A hit is `strong` when its score beats every score any of them reaches: no
  meaningless text comes as close to any item.
- pose and video queries: NEIGHBOUR_PROBES items of the dataset scored against all the others give
  the typical score of an unrelated pair (the median over all pairs) and the typical score of a best
  match (the median of each probe's nearest neighbour). A hit is `strong` when its score lies at least
  MATCH_FRACTION (three quarters) of the way from the first to the second: much closer to what a best
  match in this collection looks like than to an unrelated pair.

`percentile` is the share of the null scores (meaningless prompts x items, or pairs of items) below
the hit's score. With no strong hit, the callers say "no strong matches". The cue is undefined (never
strong, `undefined` saying why) for an untrained model, whose scores carry no meaning, and for a dataset
of fewer than MIN_NULL_ITEMS vectors, too few to tell what an unrelated score looks like.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

SAMPLE_SIZE = 5_000
NULL_PROMPTS = 32
NEIGHBOUR_PROBES = 64
MATCH_FRACTION = 0.75
MIN_NULL_ITEMS = 10


@dataclass(frozen=True)
class Relevance:
    """How a hit's score stands against the dataset's null scores (see the module doc); `undefined` says why
    there is no cue ("" when there is one)."""

    percentile: float
    threshold: float
    strong: bool
    undefined: str = ""


def null_prompts(count: int = NULL_PROMPTS, seed: int = 0) -> list[str]:
    """`count` fixed meaningless "words" (random lower-case letters, 4 to 9 of them)."""
    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    return ["".join(rng.choice(letters, size=int(rng.integers(4, 10)))) for _ in range(count)]


@dataclass(frozen=True)
class NullScores:
    """What an unrelated query reaches in a dataset: the null scores, sorted, and the score a hit must reach
    to be strong (see the module doc). Computed once per dataset version, model and prompt (`SearchCache`)."""

    background: np.ndarray
    threshold: float
    undefined: str = ""

    @classmethod
    def without_cue(cls, reason: str) -> NullScores:
        """Null scores that give no cue, for `reason`."""
        return cls(np.zeros(0), float("inf"), reason)

    def standing(self, scores: Sequence[float]) -> list[Relevance]:
        """Relevance of each of `scores`: its percentile among the null scores, strong at or above the threshold
        (never, when the cue is undefined)."""
        scores = np.asarray(scores, dtype=np.float64)
        if self.undefined:
            return [Relevance(0.0, float("inf"), False, self.undefined) for _ in scores]
        below = np.searchsorted(self.background, scores - 1e-6, side="left") / max(len(self.background), 1)
        threshold = round(float(self.threshold), 4)
        return [
            Relevance(round(float(share), 4), threshold, bool(score >= self.threshold - 1e-6))
            for share, score in zip(below, scores, strict=True)
        ]


def standing(background: np.ndarray, threshold: float, scores: Sequence[float]) -> list[Relevance]:
    """Relevance of each of `scores`: its percentile among `background`, strong at or above `threshold`."""
    return NullScores(np.sort(np.asarray(background, dtype=np.float64).ravel()), threshold).standing(scores)


def similarity(distances: Sequence[float] | np.ndarray, metric: str = "cosine") -> np.ndarray:
    """The scores of search distances: cosine similarity (1 - distance) for "cosine", minus the distance for
    "l2" (the training-free index's vectors are compared by Euclidean distance)."""
    distances = np.asarray(distances, dtype=np.float64)
    return -distances if metric == "l2" else 1.0 - distances


def null_scores(items: np.ndarray, null_vectors: np.ndarray | None = None, metric: str = "cosine") -> NullScores:
    """The null scores of a dataset's sampled item vectors `items` (N, D): against the embedded meaningless
    prompts `null_vectors` (R, D) of a text query, or, for pose queries (None), of items against items;
    scores are `similarity`s under `metric`. Fewer than MIN_NULL_ITEMS items leave the cue undefined."""
    if len(items) < MIN_NULL_ITEMS:
        return NullScores.without_cue(
            f"the dataset has {len(items)} vectors, too few to tell a strong match (at least {MIN_NULL_ITEMS})"
        )
    if null_vectors is not None:
        null = _unit(np.asarray(null_vectors)) @ _unit(items).T
        return NullScores(np.sort(null.ravel().astype(np.float64)), float(null.max(initial=-1.0)))
    probes = np.random.default_rng(0).choice(len(items), size=min(NEIGHBOUR_PROBES, len(items)), replace=False)
    pairs = _pair_scores(np.asarray(items, dtype=np.float64), probes, metric)
    pairs[np.arange(len(probes)), probes] = np.nan
    nearest, unrelated = np.nanmax(pairs, axis=1), pairs[np.isfinite(pairs)]
    typical_pair, typical_match = float(np.median(unrelated)), float(np.median(nearest))
    return NullScores(
        np.sort(unrelated.astype(np.float64)), typical_pair + MATCH_FRACTION * (typical_match - typical_pair)
    )


def relevance_of(
    store, dataset: str, model: str, scores: Sequence[float], null_vectors: np.ndarray | None = None
) -> list[Relevance]:
    """Relevance cues for hits with cosine `scores` in `dataset` under `model` (the null sample read now).

    `null_vectors` (R, D): the embedded meaningless prompts of a text query; None for a pose query.
    """
    if not scores:
        return []
    _, items = store.vectors(dataset, model, limit=SAMPLE_SIZE)
    return null_scores(items, null_vectors).standing(scores)


def _pair_scores(items: np.ndarray, probes: np.ndarray, metric: str) -> np.ndarray:
    """(probes, N) scores of the probed items against all items under `metric`."""
    if metric == "l2":
        squared = (items[probes] ** 2).sum(1)[:, None] + (items**2).sum(1)[None] - 2 * items[probes] @ items.T
        return -np.sqrt(np.maximum(squared, 0.0))
    items = _unit(items)
    return items[probes] @ items.T


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float64)
    if vectors.ndim == 1:
        vectors = vectors[None]
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(min=1e-12)
