"""All-against-all retrieval: each item queries the rest of its dataset; a hit shares its gloss.

Pure functions over (vectors or a score/distance matrix, glosses) that rank every query exactly (see
`ranking`) into a `metrics.RetrievalResult`, and the tables and confusions built from it. The metric
definitions and the tie rule are in `signclip.evaluation.metrics`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from tqdm import tqdm

from signclip.evaluation.metrics import RetrievalResult, correct_ranks, ranking_order
from signclip.evaluation.ranking import (
    exclude_self,
    matrix_score_chunks,
    prepare_vectors,
    score_block,
    symmetric_top_k,
    top_k_rows,
    vector_score_chunks,
)


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
            neighbors[rows], top_scores[rows] = tie_ruled_top_k(block, first, codes, k)
            if ap is not None:
                for offset, row in enumerate(block):
                    query = first + offset
                    if relevant[query] == 0:
                        continue
                    same = members[codes[query]]
                    ranks = correct_ranks(row, same[same != query], query)
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
    k = min(k, len(labels) - 1)
    neighbors, scores = symmetric_top_k(vectors, min(k + 1, len(labels) - 1), metric, progress=progress)
    codes = np.unique(labels.astype(str), return_inverse=True)[1]
    tied = _tied_rows(scores, k)
    if len(tied):
        prepared = prepare_vectors(vectors, metric)
        block = exclude_self(score_block(prepared[tied], prepared, metric), 0, rows=tied)
        neighbors[tied, :k], scores[tied, :k] = _full_sort_top_k(block, tied, codes, k)
    return RetrievalResult(labels, neighbors[:, :k], scores[:, :k], _relevant_counts(labels), None)


def _tied_rows(values: np.ndarray, k: int) -> np.ndarray:
    """Rows whose top k + 1 scores (sorted) hold two equal ones: only there can the tie rule change the top k."""
    width = min(k + 1, values.shape[1])
    return np.flatnonzero((values[:, : width - 1] == values[:, 1:width]).any(axis=1))


def _full_sort_top_k(
    block: np.ndarray, queries: np.ndarray, codes: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """The top k of each row of `block` (B, N) under the tie rule (wrong before correct, then lower index)."""
    ids = np.zeros((len(block), k), dtype=np.int64)
    for row, query in enumerate(queries):
        order = ranking_order(block[row], codes == codes[query])[:k]
        ids[row] = order
    return ids, np.take_along_axis(block, ids, 1)


def tie_ruled_top_k(block: np.ndarray, first: int, codes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's top k of a score block (B, N) (query `first + row`, own score -inf) under the tie rule.

    A fast top k first; the rows where equal scores reach into the top k are sorted again in full.
    """
    ids, values = top_k_rows(block, None, min(k + 1, block.shape[1]))
    tied = _tied_rows(values, k)
    ids, values = ids[:, :k], values[:, :k]
    if len(tied):
        ids[tied], values[tied] = _full_sort_top_k(block[tied], first + tied, codes, k)
    return ids, values


def rank_matrix(matrix: np.ndarray, labels: Sequence[str] | np.ndarray, k: int = 10, kind: str = "distance", **options):
    """All-against-all retrieval from a precomputed (N, N) distance (e.g. DTW) or similarity matrix.

    `options`: rank_score_chunks' average_precision and progress. Returns a RetrievalResult.
    """
    labels = _labels(labels)
    if matrix.shape != (len(labels), len(labels)):
        raise ValueError(f"matrix shape {matrix.shape} does not match {len(labels)} labels")
    return rank_score_chunks(matrix_score_chunks(matrix, kind), labels, k, **options)


# ------------------------------------------------------------------ metrics


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
