"""Exact all-against-all top-k selection: each item queries all others, in bounded memory, no approximation.

The selection here knows no labels: higher score first, ties broken by the lower item index. The
metrics' tie rule (wrong before correct, `signclip.evaluation.metrics`) is applied on top by `search.analysis`,
which re-sorts the few rows where equal scores reach into the top k. The query itself is always excluded.
Scores come either from vectors (chunked matrix products) or from a precomputed similarity or distance
matrix (e.g. DTW), so both feed the same metrics.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

SCORE_METRICS = ("cosine", "dot", "l2")
MEMORY_BUDGET_BYTES = 256 * 2**20


def rows_per_chunk(columns: int, bytes_per_cell: int = 16, budget: int = MEMORY_BUDGET_BYTES) -> int:
    """Return how many score rows of `columns` cells fit the memory budget (at least 1)."""
    return max(1, budget // max(1, columns * bytes_per_cell))


def prepare_vectors(vectors: np.ndarray, metric: str) -> np.ndarray:
    """Return float32 (N, D) vectors ready for `score_block` (rows L2-normalized for cosine)."""
    if metric not in SCORE_METRICS:
        raise ValueError(f"unknown metric {metric!r}; use one of {SCORE_METRICS}")
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if metric == "cosine":
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors = vectors / np.maximum(norms, 1e-12)
    return vectors


def score_block(rows: np.ndarray, columns: np.ndarray, metric: str) -> np.ndarray:
    """Return scores (R, C) float32 between prepared vectors, higher = closer (l2: minus squared distance)."""
    scores = rows @ columns.T
    if metric == "l2":
        scores = 2 * scores - np.einsum("ij,ij->i", rows, rows)[:, None] - np.einsum("ij,ij->i", columns, columns)
    return scores


def vector_score_chunks(
    vectors: np.ndarray, metric: str = "cosine", chunk_rows: int | None = None
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield `(first_row, scores (B, N))` for all rows of vectors (N, D) against all, chunk by chunk."""
    prepared = prepare_vectors(vectors, metric)
    chunk_rows = chunk_rows or rows_per_chunk(len(prepared))
    for start in range(0, len(prepared), chunk_rows):
        yield start, score_block(prepared[start : start + chunk_rows], prepared, metric)


def matrix_score_chunks(
    matrix: np.ndarray, kind: str = "distance", chunk_rows: int | None = None
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield `(first_row, scores (B, N))` from a precomputed (N, N) `kind` = "distance" or "similarity" matrix."""
    if kind not in ("distance", "similarity"):
        raise ValueError(f"kind must be 'distance' or 'similarity', got {kind!r}")
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"expected a square (N, N) matrix, got shape {matrix.shape}")
    chunk_rows = chunk_rows or rows_per_chunk(matrix.shape[1])
    for start in range(0, matrix.shape[0], chunk_rows):
        block = np.asarray(matrix[start : start + chunk_rows], dtype=np.float32)
        yield start, (-block if kind == "distance" else block.copy())


def top_k_rows(scores: np.ndarray, columns: np.ndarray | None, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the best `k` of each row of scores (B, M): (column ids (B, k) int64, scores (B, k) float32).

    `columns` (M,) gives each column's item index for tie-breaking and for the returned ids (default
    0..M-1). Exact under the module's total order, also when ties straddle the k-th place (detected by
    the (k+1)-th score equalling the k-th; such rows are re-ranked with a full sort).
    """
    scores = np.asarray(scores, dtype=np.float32)  # a transposed view stays a view: torch reads its strides
    width = scores.shape[1]
    columns = np.arange(width) if columns is None else np.asarray(columns)
    k = min(k, width)
    values, positions = torch.topk(torch.from_numpy(scores), min(k + 1, width), dim=1, sorted=True)
    values, positions = values.numpy(), positions.numpy()
    straddling = np.nonzero(values[:, k - 1] == values[:, k])[0] if width > k else []
    values, positions = values[:, :k].copy(), positions[:, :k].copy()
    for row in straddling:
        order = np.lexsort((columns, -scores[row]))[:k]
        positions[row], values[row] = order, scores[row, order]
    ids = columns[positions]
    order = np.lexsort((ids, -values), axis=1)
    return np.take_along_axis(ids, order, 1).astype(np.int64), np.take_along_axis(values, order, 1)


def merge_top_k(
    ids: np.ndarray, values: np.ndarray, more_ids: np.ndarray, more_values: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Merge two per-row candidate lists (B, *) into the best `k` per row under the total order."""
    all_ids = np.concatenate([ids, more_ids], axis=1)
    all_values = np.concatenate([values, more_values], axis=1)
    order = np.lexsort((all_ids, -all_values), axis=1)[:, :k]
    return np.take_along_axis(all_ids, order, 1), np.take_along_axis(all_values, order, 1)


def exclude_self(scores: np.ndarray, first_row: int, rows: np.ndarray | None = None) -> np.ndarray:
    """Set each query's own score to -inf and NaN scores to -inf (in place); returns scores.

    Row r queries item `first_row + r`, or item `rows[r]` when `rows` is given.
    """
    scores[np.isnan(scores)] = -np.inf
    positions = np.arange(scores.shape[0])
    scores[positions, first_row + (positions if rows is None else np.asarray(rows))] = -np.inf
    return scores


class RunningTopK:
    """The best `k` (ids, scores) so far of each of `count` rows, updated block by block.

    A block only needs the cells at or above a row's current k-th score; after the first blocks these
    are few, so most blocks cost one comparison pass instead of a top-k selection.
    """

    def __init__(self, count: int, k: int) -> None:
        self.k = k
        self.ids = np.full((count, k), -1, dtype=np.int64)
        self.values = np.full((count, k), -np.inf, dtype=np.float32)

    def update(self, rows: slice, block: np.ndarray, column_ids: np.ndarray, transposed: bool = False) -> None:
        """Offer a score block to rows `rows` against items `column_ids`; each cell is offered once.

        The block is (R, C), or (C, R) with `transposed` (the other side of a symmetric block).
        """
        threshold = self.values[rows, -1]
        candidates = block >= (threshold[None, :] if transposed else threshold[:, None])
        flat = np.flatnonzero(candidates)
        row_count = len(threshold)
        if len(flat) > 4 * self.k * row_count:
            scores = block.T if transposed else block
            ids, values = top_k_rows(scores, column_ids, self.k)
            self.ids[rows], self.values[rows] = merge_top_k(self.ids[rows], self.values[rows], ids, values, self.k)
            return
        if len(flat) == 0:
            return
        values = block.ravel()[flat]
        outer, inner = np.divmod(flat, block.shape[1])
        row, column = (inner, outer) if transposed else (outer, inner)
        touched = np.unique(row) + rows.start
        all_rows = np.concatenate([row + rows.start, np.repeat(touched, self.k)])
        all_ids = np.concatenate([column_ids[column], self.ids[touched].ravel()])
        all_values = np.concatenate([values, self.values[touched].ravel()])
        order = np.lexsort((all_ids, -all_values, all_rows))
        sorted_rows = all_rows[order]
        rank = np.arange(len(order)) - np.searchsorted(sorted_rows, sorted_rows, side="left")
        keep = order[rank < self.k]
        self.ids[touched] = all_ids[keep].reshape(-1, self.k)
        self.values[touched] = all_values[keep].reshape(-1, self.k)


def symmetric_top_k(
    vectors: np.ndarray, k: int, metric: str = "cosine", block_rows: int = 4096, progress: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's `k` nearest other rows of vectors (N, D): ids (N, k) int64, scores (N, k) float32.

    Scores are symmetric, so each block pair (i <= j) is multiplied once and serves both sides:
    half the arithmetic of a row-by-row pass. Exact (ties by lower index), memory O(block_rows^2 + N k).
    """
    from tqdm import tqdm

    prepared = prepare_vectors(vectors, metric)
    count = len(prepared)
    best = RunningTopK(count, min(k, count - 1))
    starts = list(range(0, count, block_rows))
    pairs = [(i, j) for i in starts for j in starts if j >= i]
    for i, j in tqdm(pairs, desc="all-against-all", unit="block", disable=not progress):
        rows, cols = slice(i, min(i + block_rows, count)), slice(j, min(j + block_rows, count))
        block = score_block(prepared[rows], prepared[cols], metric)
        if i == j:
            exclude_self(block, 0)
        best.update(rows, block, np.arange(cols.start, cols.stop))
        if j != i:
            best.update(cols, block, np.arange(rows.start, rows.stop), transposed=True)
    return best.ids, best.values
