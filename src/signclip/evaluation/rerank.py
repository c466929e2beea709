"""Re-ranking search candidates by DTW, and judging it: the learned model, DTW, the training-free index and
the hybrid side by side on one dataset's pose -> pose search.

`fused_scores(similarity, dtw, weight)` is the one fusion rule, used by search (search/rerank.py) and by this
evaluation alike: over the C candidates of a query, z(similarity) + weight * z(-dtw), each standardized
over those candidates; `weight` None is DTW alone (the training-free index, whose vectors only find the
candidates). `compare_methods` ranks every query against the references (the other labelled items, or
with `query_split` the items outside that split) by each method and scores P@1, P@10 and full-list mAP.
The hybrid's weight is cross-fitted: the queries fall into seeded folds and each fold is ranked with the
weight and number of candidates that are best on the other folds (by the mean of P@1 and P@10, what a
searcher sees first), so no reported row is chosen on itself; the pair best on all queries is the one
search uses afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

FUSION_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
CANDIDATE_GRID = (10, 20, 50, 100, 200, 300, 500, 1000, 2000)
HYBRID_CANDIDATES = (20, 50, 100, 200)  # the hybrid's candidates are cross-fitted with its weight
COVERAGE_TARGET = 0.95  # DTW's top 10 among the candidates for this share of the queries


def fused_scores(similarity: np.ndarray, dtw: np.ndarray, weight: float | None) -> np.ndarray:
    """Scores (..., C) of C candidates, higher first: -dtw for `weight` None, else z(similarity) + weight *
    z(-dtw), each standardized over the last axis (a constant row standardizes to zeros)."""
    dtw = np.asarray(dtw, dtype=np.float64)
    if weight is None:
        return -dtw
    return standardized(np.asarray(similarity, dtype=np.float64)) + weight * standardized(-dtw)


def standardized(values: np.ndarray) -> np.ndarray:
    """(values - mean) / std along the last axis over the finite entries; the others (and a constant row's
    spread) become -1e9 (last) and 1."""
    finite = np.where(np.isfinite(values), values, np.nan)
    mean = np.nanmean(finite, axis=-1, keepdims=True)
    spread = np.nanstd(finite, axis=-1, keepdims=True)
    spread = np.where(spread > 1e-12, spread, 1.0)
    return np.nan_to_num((finite - mean) / spread, nan=-1e9)


def reranked(first: np.ndarray, similarity: np.ndarray, dtw: np.ndarray, candidates: int, weight: float | None):
    """Orders (Q, R) of reference columns: each row's top `candidates` of `first` (an order by the index)
    re-ranked by `fused_scores` of their `similarity` and `dtw`, the rest in `first`'s order."""
    head, tail = first[:, :candidates], first[:, candidates:]
    rows = np.arange(len(first))[:, None]
    scores = fused_scores(similarity[rows, head], dtw[rows, head], weight)
    return np.concatenate([np.take_along_axis(head, np.argsort(-scores, axis=1, kind="stable"), axis=1), tail], 1)


@dataclass
class QueryFigures:
    """Per query: precision at 1 and 10 and average precision over the full list (queries whose label no
    reference has are left out)."""

    p1: np.ndarray
    p10: np.ndarray
    ap: np.ndarray

    def summary(self, rows: np.ndarray | None = None) -> dict[str, float]:
        """Means over `rows` (default all): {"P@1", "P@10", "mAP"}."""
        rows = slice(None) if rows is None else rows
        return {
            "P@1": float(self.p1[rows].mean()),
            "P@10": float(self.p10[rows].mean()),
            "mAP": float(self.ap[rows].mean()),
        }


def query_figures(
    order: np.ndarray, query_labels: np.ndarray, reference_labels: np.ndarray, excluded: np.ndarray | None = None
) -> QueryFigures:
    """P@1, P@10 and AP of each query's `order` (Q, R) of references; a hit shares the query's label and is
    not `excluded` (Q, R) (a query's own item, when it is among the references)."""
    hits = reference_labels[order] == query_labels[:, None]
    if excluded is not None:
        hits &= ~np.take_along_axis(excluded, order, axis=1)
    relevant = hits.sum(axis=1)
    ranks = np.arange(1, hits.shape[1] + 1)
    ap = (np.cumsum(hits, axis=1) / ranks * hits).sum(axis=1) / np.maximum(relevant, 1)
    return QueryFigures(hits[:, 0].astype(float), hits[:, :10].mean(axis=1), ap)


def coverage(index_order: np.ndarray, dtw: np.ndarray, grid: tuple[int, ...] = CANDIDATE_GRID) -> dict[int, float]:
    """{C: share of queries whose 10 DTW-nearest references are all among the index's top C}."""
    top = np.argsort(dtw, axis=1, kind="stable")[:, :10]
    shares = {}
    for candidates in [c for c in grid if c <= index_order.shape[1]] or [index_order.shape[1]]:
        head = index_order[:, :candidates]
        shares[candidates] = float(np.mean([np.isin(t, h).all() for t, h in zip(top, head, strict=True)]))
    return shares


def cross_fitted(
    figures: dict[tuple[int, float], QueryFigures], folds: int, seed: int = 0
) -> tuple[np.ndarray, list[tuple[int, float]], tuple[int, float]]:
    """(fold of each query, the (candidates, weight) each fold is ranked with, the pair best on all queries):
    the best by mean(P@1, P@10) on the other folds (ties: the smaller weight, then the fewer candidates)."""
    count = len(next(iter(figures.values())).p1)
    fold_of = np.random.default_rng(seed).permutation(count) % max(1, min(folds, count))
    choices = sorted(figures)

    def best(rows: np.ndarray) -> tuple[int, float]:
        def score(choice: tuple[int, float]) -> tuple[float, float, int]:
            found = figures[choice]
            return (found.p1[rows].mean() + found.p10[rows].mean()) / 2, -choice[1], -choice[0]

        return max(choices, key=score)

    chosen = [
        best(fold_of != fold) if (fold_of != fold).any() else best(fold_of == fold) for fold in np.unique(fold_of)
    ]
    return fold_of, chosen, best(np.ones(count, dtype=bool))


@dataclass
class Comparison:
    """Each method's figures (name -> {"P@1", "P@10", "mAP"}), the index's coverage of DTW's top 10 by C, the
    candidates the index re-ranks, the hybrid's cross-fitted (candidates, weight) per fold and the pair chosen
    on all queries (`hybrid_candidates`, `weight`)."""

    figures: dict[str, dict[str, float]] = field(default_factory=dict)
    coverage: dict[str, dict[int, float]] = field(default_factory=dict)
    candidates: int = 0
    fold_choices: list[tuple[int, float]] = field(default_factory=list)
    hybrid_candidates: int | None = None
    weight: float | None = None
    queries: int = 0
    references: int = 0

    def to_dict(self) -> dict:
        """The comparison as JSON-ready data."""
        return {
            "queries": self.queries,
            "references": self.references,
            "candidates": self.candidates,
            "figures": self.figures,
            "coverage": {name: {str(c): v for c, v in shares.items()} for name, shares in self.coverage.items()},
            "fold_choices": [{"candidates": c, "weight": w} for c, w in self.fold_choices],
            "hybrid_candidates": self.hybrid_candidates,
            "weight": self.weight,
        }

    def lines(self) -> list[str]:
        """The comparison as a printable table."""
        out = [f"{self.queries} queries against {self.references} references; re-ranking the top {self.candidates}"]
        out.append(f"{'method':<44}{'P@1':>7}{'P@10':>7}{'mAP':>7}")
        out += [f"{name:<44}{f['P@1']:>7.3f}{f['P@10']:>7.3f}{f['mAP']:>7.3f}" for name, f in self.figures.items()]
        for name, shares in self.coverage.items():
            reached = [c for c, share in shares.items() if share >= COVERAGE_TARGET]
            taken = f"C = {reached[0]}" if reached else f"not reached by C = {max(shares)}"
            listed = ", ".join(f"C={c}: {share:.3f}" for c, share in shares.items())
            out.append(f"DTW's top 10 among {name}'s top C ({COVERAGE_TARGET:.0%} of queries: {taken}): {listed}")
        if self.fold_choices:
            folds = ", ".join(f"C={c} w={w:g}" for c, w in self.fold_choices)
            out.append(
                f"hybrid per fold (cross-fitted): {folds}; chosen on all: C={self.hybrid_candidates} w={self.weight:g}"
            )
        return out


def compare(
    query_labels: np.ndarray,
    reference_labels: np.ndarray,
    dtw: np.ndarray,
    index_distances: np.ndarray,
    learned_similarity: np.ndarray | None,
    candidates: int,
    folds: int = 5,
    learned_name: str = "learned",
    excluded: np.ndarray | None = None,
) -> Comparison:
    """Rank (Q, R) by every method and score it (see the module doc): DTW alone, the training-free index alone
    and re-ranked by DTW, and, with `learned_similarity`, the learned model alone and the cross-fitted hybrid.

    `excluded` (Q, R) marks pairs that are no result (a query's own item among the references): they are
    ranked last by every method and never count. Queries whose label no other reference has are left out.
    """
    excluded = np.zeros(dtw.shape, dtype=bool) if excluded is None else excluded
    answerable = ((reference_labels[None] == query_labels[:, None]) & ~excluded).any(axis=1)
    query_labels, dtw, index_distances, excluded = (
        a[answerable] for a in (query_labels, dtw, index_distances, excluded)
    )
    dtw = np.where(excluded, np.inf, dtw)
    index_distances = np.where(excluded, np.inf, index_distances)
    if learned_similarity is not None:
        learned_similarity = np.where(excluded, -np.inf, learned_similarity[answerable])
    candidates = min(candidates, dtw.shape[1])
    result = Comparison(candidates=candidates, queries=len(query_labels), references=len(reference_labels))

    def figures(order: np.ndarray) -> QueryFigures:
        return query_figures(order, query_labels, reference_labels, excluded)

    result.figures["DTW (brute force)"] = figures(np.argsort(dtw, axis=1, kind="stable")).summary()
    index_order = np.argsort(index_distances, axis=1, kind="stable")
    result.figures["pose-dtw index"] = figures(index_order).summary()
    rerank = reranked(index_order, -index_distances, dtw, candidates, None)
    result.figures[f"pose-dtw index + DTW re-rank (C={candidates})"] = figures(rerank).summary()
    result.coverage["pose-dtw"] = coverage(index_order, dtw)
    if learned_similarity is not None:
        learned_order = np.argsort(-learned_similarity, axis=1, kind="stable")
        result.figures[learned_name] = figures(learned_order).summary()
        result.coverage[learned_name] = coverage(learned_order, dtw)
        sizes = sorted({c for c in HYBRID_CANDIDATES if c < candidates} | {candidates})
        by_choice = {
            (c, w): figures(reranked(learned_order, learned_similarity, dtw, c, w))
            for c in sizes
            for w in FUSION_WEIGHTS
        }
        fold_of, result.fold_choices, (result.hybrid_candidates, result.weight) = cross_fitted(by_choice, folds)
        choice_of = [result.fold_choices[fold] for fold in fold_of]  # each query ranked with its fold's choice
        parts = [[getattr(by_choice[c], part)[q] for q, c in enumerate(choice_of)] for part in ("p1", "p10", "ap")]
        hybrid = QueryFigures(*(np.array(values) for values in parts))
        result.figures[f"hybrid: {learned_name} + DTW (cross-fitted C and weight)"] = hybrid.summary()
    return result


def compare_dataset(
    store,
    dataset: str,
    model: str | None,
    candidates: int,
    query_split: str | None = None,
    folds: int = 5,
    progress: bool = True,
) -> Comparison:
    """`compare` on a stored dataset's labelled items: queries are the items of `query_split` against the
    others (default: every item against all the others); DTW and the training-free index from the items'
    poses (the layout's DTW preset), the learned model from its stored vectors (when `model` is given)."""
    from signclip.errors import SignclipError
    from signclip.evaluation.dtw import DTWSettings, dtw_distance_matrix, preprocessed_poses
    from signclip.evaluation.search import item_labels
    from signclip.model.pose_dtw import PoseDTWIndex

    items = store.items(dataset)
    labels = item_labels(items)
    items, labels = items[labels != ""].reset_index(drop=True), labels[labels != ""]
    queries = np.flatnonzero(items["split"] == query_split) if query_split else np.arange(len(items))
    references = np.flatnonzero(items["split"] != query_split) if query_split else np.arange(len(items))
    if len(queries) == 0 or len(references) < 2:
        raise SignclipError(
            f"dataset {dataset!r}: {len(queries)} labelled queries"
            + (f" in split {query_split!r}" if query_split else "")
            + f" and {len(references)} references: nothing to compare"
        )
    settings = DTWSettings()
    tensors, _, _ = preprocessed_poses(items.rename(columns={"key": "id"}), settings.preprocess, progress)
    dtw = dtw_distance_matrix(
        [tensors[i] for i in queries], [tensors[i] for i in references], settings.band, settings.max_frames, progress
    ).astype(np.float64)
    index = PoseDTWIndex()
    vectors = np.stack([index.features(tensor) for tensor in tensors])
    squared = (vectors**2).sum(1)
    index_distances = np.sqrt(
        np.maximum(squared[queries, None] + squared[None, references] - 2 * vectors[queries] @ vectors[references].T, 0)
    )
    learned = None
    if model is not None:
        ids, stored = store.vectors(dataset, model)
        row_of = {int(item): row for row, item in enumerate(ids)}
        missing = [key for key, item in zip(items["key"], items["item_id"], strict=True) if int(item) not in row_of]
        if missing:
            raise SignclipError(
                f"dataset {dataset!r}: {len(missing)} items have no vector by {model!r}, e.g. {missing[:3]}"
            )
        unit = stored[[row_of[int(item)] for item in items["item_id"]]].astype(np.float64)
        unit /= np.linalg.norm(unit, axis=1, keepdims=True).clip(min=1e-12)
        learned = unit[queries] @ unit[references].T
    excluded = queries[:, None] == references[None, :]
    return compare(
        labels[queries], labels[references], dtw, index_distances, learned, candidates, folds, model or "", excluded
    )
