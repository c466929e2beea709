"""Every retrieval metric, and the one tie rule they all use.

THE TIE RULE: candidates are ranked by descending score; candidates with exactly equal scores are
ranked wrong before correct, and then by lower index. This is the pessimistic rule: a scorer that
gives every candidate the same score earns chance level or worse, never better, and a result never
depends on the order the items happen to be stored in (a synthetic or a gloss-per-folder dataset is
stored gloss by gloss, so "lower index first" would favour same-gloss neighbours).

SignCLIP's metrics (texts x poses score matrix, `pose_labels` the correct text of each pose), as the
paper reports them:
- text -> pose (`t2v`): one query per text that has at least one pose; P@k = correct poses among the
  top k / (queries x k); MedR = median 1-based rank of the first correct pose.
- pose -> text (`v2t`): the candidates are all texts; R@k = fraction of poses whose text is in the top
  k; MedR = median 1-based rank of the correct text.

All-against-all metrics (each item queries the rest of its dataset; a hit shares its gloss; a query
with R_q > 0 other items of its gloss is answerable, the others are `singletons`, not averaged):
- precision@k = hits in the top k / k;  recall@k = hits in the top k / R_q;
- average precision = mean over q's relevant items of the precision at each one's rank (full ranking);
  mAP = its mean over answerable queries.
They are undefined (None, with the reason in `summarize`'s "undefined") with fewer than two labels or
no answerable query: one gloss would otherwise score a perfect 1.000.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

KS = (1, 5, 10)


def ranking_order(scores: np.ndarray, correct: np.ndarray) -> np.ndarray:
    """Order candidates by THE tie rule: descending score, wrong before correct on ties, then lower index."""
    return np.lexsort((np.arange(len(scores)), correct, -np.asarray(scores)))


def text_to_pose_metrics(scores: np.ndarray, pose_labels: np.ndarray, ks: Sequence[int] = KS) -> dict[str, float]:
    """Text -> pose retrieval: take scores (texts, poses) and pose_labels (poses,) int; return P@k and MedR.

    Texts without any pose are not queries (they still count as candidates for pose -> text).
    """
    scores, pose_labels = np.asarray(scores, dtype=np.float64), np.asarray(pose_labels)
    queries = np.unique(pose_labels)
    hits = {k: 0 for k in ks}
    first_ranks = []
    for text in queries:
        correct = pose_labels == text
        order = ranking_order(scores[text], correct)
        ranked_correct = correct[order]
        for k in ks:
            hits[k] += int(ranked_correct[:k].sum())
        first_ranks.append(int(np.argmax(ranked_correct)) + 1)
    metrics = {f"P@{k}": hits[k] / (len(queries) * k) for k in ks}
    metrics["MedR"] = float(np.median(first_ranks))
    return metrics


def pose_to_text_metrics(scores: np.ndarray, pose_labels: np.ndarray, ks: Sequence[int] = KS) -> dict[str, float]:
    """Pose -> text retrieval: take scores (texts, poses) and pose_labels (poses,) int; return R@k and MedR."""
    scores, pose_labels = np.asarray(scores, dtype=np.float64), np.asarray(pose_labels)
    candidates = np.arange(scores.shape[0])
    ranks = np.array(
        [int(np.argmax(ranking_order(scores[:, p], candidates == t) == t)) + 1 for p, t in enumerate(pose_labels)]
    )
    metrics = {f"R@{k}": float((ranks <= k).mean()) for k in ks}
    metrics["MedR"] = float(np.median(ranks))
    return metrics


def retrieval_metrics(scores: np.ndarray, pose_labels: np.ndarray, ks: Sequence[int] = KS) -> dict[str, dict]:
    """Both directions: {"t2v": text_to_pose_metrics, "v2t": pose_to_text_metrics}."""
    if scores.ndim != 2 or scores.shape[1] != len(pose_labels):
        raise ValueError(f"scores must be (texts, poses) with poses = {len(pose_labels)}, got {scores.shape}")
    return {"t2v": text_to_pose_metrics(scores, pose_labels, ks), "v2t": pose_to_text_metrics(scores, pose_labels, ks)}


def correct_ranks(scores: np.ndarray, correct: np.ndarray, query: int | None = None) -> np.ndarray:
    """The 1-based ranks (ascending) of the `correct` candidates (index array) in one score row (N,),
    under the tie rule; `query` (its own candidate, scored -inf) is not ranked. One sort, no argsort."""
    if len(correct) == 0:
        return np.zeros(0, dtype=np.int64)
    ordered = np.sort(scores)
    values = scores[correct]
    above = len(scores) - np.searchsorted(ordered, values, side="right")
    equal = np.searchsorted(ordered, values, side="right") - np.searchsorted(ordered, values, side="left")
    correct_sorted = np.sort(values)
    equal_correct = np.searchsorted(correct_sorted, values, side="right") - np.searchsorted(
        correct_sorted, values, side="left"
    )
    wrong_tied = equal - equal_correct
    if query is not None:
        wrong_tied -= scores[query] == values
    ranks = 1 + above + wrong_tied
    for position in np.nonzero(equal_correct > 1)[0]:
        earlier = correct < correct[position]
        ranks[position] += np.count_nonzero(values[earlier] == values[position])
    return np.sort(ranks)


def metric_keys(direction: str, ks: Sequence[int] = KS) -> list[str]:
    """The metric names of one direction: ["P@1", ..., "MedR"] for t2v, ["R@1", ..., "MedR"] for v2t."""
    prefix = "P" if direction == "t2v" else "R"
    return [f"{prefix}@{k}" for k in ks] + ["MedR"]


@dataclass(frozen=True)
class RetrievalResult:
    """Per-query outcome of an all-against-all run over N items.

    labels (N,) glosses; neighbors (N, k) item indices of each query's top k; scores (N, k) their
    scores (higher = closer); relevant (N,) count of other items with the same gloss; average_precision
    (N,) float, NaN for singletons, or None when not computed.
    """

    labels: np.ndarray
    neighbors: np.ndarray
    scores: np.ndarray
    relevant: np.ndarray
    average_precision: np.ndarray | None

    @property
    def k(self) -> int:
        """How many neighbours each query kept."""
        return self.neighbors.shape[1]

    @property
    def hits(self) -> np.ndarray:
        """(N, k) bool: whether each retrieved item has the query's gloss."""
        return self.labels[self.neighbors] == self.labels[:, None]

    @property
    def answerable(self) -> np.ndarray:
        """(N,) bool: queries with at least one other item of their gloss."""
        return self.relevant > 0


def precision_curve(result: RetrievalResult) -> np.ndarray:
    """Mean precision@i for i = 1..k over answerable queries: (k,) float (NaN if none is answerable)."""
    hits = result.hits[result.answerable]
    if len(hits) == 0:
        return np.full(result.k, np.nan)
    return (np.cumsum(hits, axis=1) / np.arange(1, result.k + 1)).mean(axis=0)


def recall_curve(result: RetrievalResult) -> np.ndarray:
    """Mean recall@i for i = 1..k over answerable queries: (k,) float."""
    answerable = result.answerable
    hits = result.hits[answerable]
    if len(hits) == 0:
        return np.full(result.k, np.nan)
    return (np.cumsum(hits, axis=1) / result.relevant[answerable, None]).mean(axis=0)


def mean_average_precision(result: RetrievalResult) -> float:
    """Mean of the per-query average precision over answerable queries (NaN when AP was not computed)."""
    if result.average_precision is None or not result.answerable.any():
        return float("nan")
    return float(np.mean(result.average_precision[result.answerable]))


def undefined_reason(result: RetrievalResult) -> str | None:
    """Why the all-against-all metrics mean nothing for `result` (one gloss, no answerable query), or None."""
    glosses = len(np.unique(result.labels.astype(str)))
    if glosses < 2:
        return f"all {len(result.labels)} items share one gloss, so every result is a hit; give at least two glosses"
    if not result.answerable.any():
        return "no item has another item of its gloss to find"
    return None


def summarize(result: RetrievalResult) -> dict:
    """Return the headline figures as a JSON-ready dict (k, items, glosses, singletons, P@k, R@k, mAP, curve).

    When the metrics are undefined (see `undefined_reason`) they are None and "undefined" says why.
    """
    undefined = undefined_reason(result)
    precision, recall = precision_curve(result), recall_curve(result)
    if undefined:
        precision, recall = np.full_like(precision, np.nan), np.full_like(recall, np.nan)
    average = float("nan") if undefined else mean_average_precision(result)
    return {
        "k": result.k,
        "items": len(result.labels),
        "glosses": len(np.unique(result.labels.astype(str))),
        "answerable_queries": int(result.answerable.sum()),
        "singletons": int((~result.answerable).sum()),
        "precision_at_k": _number(precision[-1]),
        "recall_at_k": _number(recall[-1]),
        "mean_average_precision": _number(average),
        "precision_curve": [_number(value) for value in precision],
        "recall_curve": [_number(value) for value in recall],
        "undefined": undefined,
    }


def _number(value: float) -> float | None:
    return None if np.isnan(value) else round(float(value), 6)
