"""All-against-all retrieval analysis: each item queries the rest of its dataset; a hit shares its gloss.

Pure functions over (vectors or a score/distance matrix, glosses). Metrics, per query q with R_q > 0
other items of its gloss (queries with R_q = 0 cannot hit and are counted as `singletons`, not averaged):
- precision@k = hits in the top k / k;  recall@k = hits in the top k / R_q;
- average precision = mean over q's relevant items of the precision at each one's rank (full ranking);
  mAP = its mean over queries.
Rankings are exact (see `ranking`): higher score first, ties by lower item index, the query excluded.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm import tqdm

from signclip.search.ranking import (
    exclude_self,
    matrix_score_chunks,
    relevant_ranks,
    symmetric_top_k,
    top_k_rows,
    vector_score_chunks,
)


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
        return self.neighbors.shape[1]

    @property
    def hits(self) -> np.ndarray:
        """(N, k) bool: whether each retrieved item has the query's gloss."""
        return self.labels[self.neighbors] == self.labels[:, None]

    @property
    def answerable(self) -> np.ndarray:
        """(N,) bool: queries with at least one other item of their gloss."""
        return self.relevant > 0


def _labels(labels: Sequence[str] | np.ndarray) -> np.ndarray:
    array = np.asarray([str(label) for label in labels], dtype=object)
    if len(array) < 2:
        raise ValueError(f"all-against-all retrieval needs at least 2 items, got {len(array)}")
    return array


def _relevant_counts(labels: np.ndarray) -> np.ndarray:
    _, inverse, counts = np.unique(labels.astype(str), return_inverse=True, return_counts=True)
    return counts[inverse] - 1


def rank_score_chunks(
    chunks: Iterable[tuple[int, np.ndarray]],
    labels: Sequence[str] | np.ndarray,
    k: int = 10,
    average_precision: bool = True,
    progress: bool = False,
) -> RetrievalResult:
    """Rank every query from score chunks `(first_row, scores (B, N))`, higher = closer.

    Returns a RetrievalResult with top `k` (at most N - 1) and, if `average_precision`, each query's AP
    over the full ranking (one sort per query). Memory: one chunk plus (N, k).
    """
    labels = _labels(labels)
    count = len(labels)
    k = min(k, count - 1)
    relevant = _relevant_counts(labels)
    neighbors = np.zeros((count, k), dtype=np.int64)
    top_scores = np.zeros((count, k), dtype=np.float32)
    ap = np.full(count, np.nan) if average_precision else None
    codes = np.unique(labels.astype(str), return_inverse=True)[1]
    members = np.split(np.argsort(codes, kind="stable"), np.cumsum(np.bincount(codes))[:-1])
    with tqdm(total=count, desc="ranking", unit="query", disable=not progress) as bar:
        for first, block in chunks:
            block = exclude_self(np.array(block, dtype=np.float32), first)
            rows = slice(first, first + len(block))
            neighbors[rows], top_scores[rows] = top_k_rows(block, None, k)
            if ap is not None:
                for offset, row in enumerate(block):
                    query = first + offset
                    if relevant[query] == 0:
                        continue
                    same = members[codes[query]]
                    ranks = relevant_ranks(row, same[same != query], query)
                    ap[query] = float(np.mean(np.arange(1, len(ranks) + 1) / ranks))
            bar.update(len(block))
    return RetrievalResult(labels, neighbors, top_scores, relevant, ap)


def rank_vectors(
    vectors: np.ndarray,
    labels: Sequence[str] | np.ndarray,
    k: int = 10,
    metric: str = "cosine",
    average_precision: bool = True,
    progress: bool = False,
) -> RetrievalResult:
    """All-against-all retrieval over vectors (N, D) by exact chunked matrix products.

    With `average_precision=False` only the top k is needed, and the symmetric block pass does half the
    arithmetic. `metric`: cosine, dot or l2.
    """
    labels = _labels(labels)
    if len(vectors) != len(labels):
        raise ValueError(f"{len(vectors)} vectors but {len(labels)} labels")
    if average_precision:
        chunks = vector_score_chunks(vectors, metric)
        return rank_score_chunks(chunks, labels, k, average_precision=True, progress=progress)
    neighbors, scores = symmetric_top_k(vectors, k, metric, progress=progress)
    return RetrievalResult(labels, neighbors, scores, _relevant_counts(labels), None)


def rank_matrix(
    matrix: np.ndarray,
    labels: Sequence[str] | np.ndarray,
    k: int = 10,
    kind: str = "distance",
    average_precision: bool = True,
    progress: bool = False,
) -> RetrievalResult:
    """All-against-all retrieval from a precomputed (N, N) distance (e.g. DTW) or similarity matrix."""
    labels = _labels(labels)
    if matrix.shape != (len(labels), len(labels)):
        raise ValueError(f"matrix shape {matrix.shape} does not match {len(labels)} labels")
    return rank_score_chunks(matrix_score_chunks(matrix, kind), labels, k, average_precision, progress)


# ------------------------------------------------------------------ metrics


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


def per_query_table(result: RetrievalResult) -> pd.DataFrame:
    """One row per query: gloss, relevant, hits@k, precision@k, recall@k, average_precision."""
    hits = result.hits.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(result.answerable, hits / result.relevant, np.nan)
    return pd.DataFrame(
        {
            "gloss": result.labels,
            "relevant": result.relevant,
            "hits": hits,
            "precision_at_k": np.where(result.answerable, hits / result.k, np.nan),
            "recall_at_k": recall,
            "average_precision": result.average_precision if result.average_precision is not None else np.nan,
        }
    )


def per_gloss_table(result: RetrievalResult) -> pd.DataFrame:
    """Per gloss: items, precision@k, recall@k, AP (means over its queries), most-retrieved wrong gloss.

    Sorted by precision@k, worst first.
    """
    queries = per_query_table(result)
    table = queries.groupby("gloss", sort=True).agg(
        items=("gloss", "size"),
        precision_at_k=("precision_at_k", "mean"),
        recall_at_k=("recall_at_k", "mean"),
        average_precision=("average_precision", "mean"),
    )
    pairs = _confusion_counts(result)
    if len(pairs):
        top = pairs.sort_values(["count", "retrieved"], ascending=[False, True]).drop_duplicates("query")
        table["most_confused_with"] = top.set_index("query")["retrieved"].reindex(table.index).fillna("")
    else:
        table["most_confused_with"] = ""
    return table.reset_index().sort_values(["precision_at_k", "gloss"], na_position="last").reset_index(drop=True)


def _confusion_counts(result: RetrievalResult) -> pd.DataFrame:
    """Count (query gloss, retrieved gloss) over all wrong top-k hits: columns query, retrieved, count."""
    wrong = ~result.hits
    query = np.repeat(result.labels, result.k).reshape(-1, result.k)[wrong]
    retrieved = result.labels[result.neighbors][wrong]
    frame = pd.DataFrame({"query": query.astype(str), "retrieved": retrieved.astype(str)})
    return frame.groupby(["query", "retrieved"]).size().rename("count").reset_index()


def confused_pairs(result: RetrievalResult, top: int | None = 20) -> pd.DataFrame:
    """The most-confused unordered gloss pairs: gloss_a < gloss_b, a_to_b, b_to_a, total, rate.

    `a_to_b` counts top-k slots of gloss-a queries filled by gloss-b items; `rate` = total / (k x items of
    both glosses). Sorted by total, then rate, descending; `top` rows (all with None).
    """
    counts = _confusion_counts(result)
    columns = ["gloss_a", "gloss_b", "a_to_b", "b_to_a", "total", "rate"]
    if counts.empty:
        return pd.DataFrame(columns=columns)
    forward = counts.set_index(["query", "retrieved"])["count"]
    gloss_a = np.minimum(counts["query"], counts["retrieved"])
    gloss_b = np.maximum(counts["query"], counts["retrieved"])
    pairs = pd.DataFrame({"gloss_a": gloss_a, "gloss_b": gloss_b}).drop_duplicates()
    pairs["a_to_b"] = [int(forward.get((a, b), 0)) for a, b in zip(pairs.gloss_a, pairs.gloss_b, strict=True)]
    pairs["b_to_a"] = [int(forward.get((b, a), 0)) for a, b in zip(pairs.gloss_a, pairs.gloss_b, strict=True)]
    pairs["total"] = pairs["a_to_b"] + pairs["b_to_a"]
    sizes = pd.Series(result.labels.astype(str)).value_counts()
    pairs["rate"] = pairs["total"] / (result.k * (sizes[pairs.gloss_a].to_numpy() + sizes[pairs.gloss_b].to_numpy()))
    pairs = pairs.sort_values(["total", "rate", "gloss_a", "gloss_b"], ascending=[False, False, True, True])
    return pairs[columns].reset_index(drop=True).head(top if top is not None else len(pairs))


def confusion_matrix(result: RetrievalResult, glosses: Sequence[str]) -> np.ndarray:
    """(G, G) float: row g = fraction of gloss-g queries' top-k slots filled by each gloss of `glosses`."""
    index = {gloss: position for position, gloss in enumerate(glosses)}
    matrix = np.zeros((len(glosses), len(glosses)))
    retrieved = result.labels[result.neighbors]
    for query_gloss, row in zip(result.labels, retrieved, strict=True):
        if query_gloss in index:
            for gloss in row:
                if gloss in index:
                    matrix[index[query_gloss], index[gloss]] += 1
    sizes = np.array([np.count_nonzero(result.labels == gloss) for gloss in glosses], dtype=float)
    return matrix / np.maximum(sizes * result.k, 1)[:, None]


def most_confused_glosses(result: RetrievalResult, count: int = 15) -> list[str]:
    """Return up to `count` glosses that take part in the most confusions, most first (ties by name)."""
    pairs = confused_pairs(result, top=None)
    if pairs.empty:
        return []
    involvement = (
        pd.concat(
            [
                pairs[["gloss_a", "total"]].set_axis(["gloss", "total"], axis=1),
                pairs[["gloss_b", "total"]].set_axis(["gloss", "total"], axis=1),
            ]
        )
        .groupby("gloss")["total"]
        .sum()
    )
    ordered = involvement.reset_index().sort_values(["total", "gloss"], ascending=[False, True])
    return ordered["gloss"].head(count).tolist()


def summarize(result: RetrievalResult) -> dict:
    """Return the headline figures as a JSON-ready dict (k, items, glosses, singletons, P@k, R@k, mAP, curve)."""
    precision, recall = precision_curve(result), recall_curve(result)
    return {
        "k": result.k,
        "items": len(result.labels),
        "glosses": len(np.unique(result.labels.astype(str))),
        "answerable_queries": int(result.answerable.sum()),
        "singletons": int((~result.answerable).sum()),
        "precision_at_k": _number(precision[-1]),
        "recall_at_k": _number(recall[-1]),
        "mean_average_precision": _number(mean_average_precision(result)),
        "precision_curve": [_number(value) for value in precision],
        "recall_curve": [_number(value) for value in recall],
    }


def _number(value: float) -> float | None:
    return None if np.isnan(value) else round(float(value), 6)
