"""The fusion rule, re-ranked orders, cross-fitting and the side-by-side comparison, on hand-made cases."""

from __future__ import annotations

import numpy as np

from signclip.evaluation.rerank import (
    QueryFigures,
    compare,
    coverage,
    cross_fitted,
    fused_scores,
    query_figures,
    reranked,
)


def test_fusion_is_dtw_alone_without_a_weight_and_ignores_the_scale_of_either_score():
    similarity, dtw = np.array([[0.9, 0.5, 0.1]]), np.array([[3.0, 1.0, 2.0]])
    assert np.argsort(-fused_scores(similarity, dtw, None))[0].tolist() == [1, 2, 0]
    assert np.argsort(-fused_scores(similarity, dtw, 0.0))[0].tolist() == [0, 1, 2]
    scaled = fused_scores(similarity * 10 + 3, dtw * 0.01, 2.0)
    np.testing.assert_allclose(scaled, fused_scores(similarity, dtw, 2.0))
    assert np.isfinite(fused_scores(np.array([[1.0, 1.0]]), np.array([[2.0, 2.0]]), 1.0)).all()  # constant rows


def test_reranking_reorders_only_the_top_candidates():
    first = np.array([[0, 1, 2, 3]])
    dtw = np.array([[5.0, 1.0, 9.0, 0.0]])  # item 3 is nearest by DTW but outside the top 2
    assert reranked(first, -dtw, dtw, 2, None).tolist() == [[1, 0, 2, 3]]
    assert reranked(first, -dtw, dtw, 4, None).tolist() == [[3, 1, 0, 2]]


def test_figures_and_coverage_of_hand_made_orders():
    labels = np.array(["a", "b", "a", "b"], dtype=object)
    excluded = np.eye(4, dtype=bool)
    order = np.array([[2, 1, 3, 0], [3, 0, 2, 1], [1, 0, 3, 2], [0, 1, 2, 3]])  # own item last (compare puts it there)
    figures = query_figures(order, labels, labels, excluded)
    np.testing.assert_allclose(figures.p1, [1, 1, 0, 0])
    np.testing.assert_allclose(figures.ap, [1, 1, 0.5, 0.5])
    dtw = np.tile(np.arange(12.0), (2, 1))
    index = np.tile(np.arange(12), (2, 1))
    assert coverage(index, dtw, (10, 11)) == {10: 1.0, 11: 1.0}
    assert coverage(index[:, ::-1], dtw, (10, 12)) == {10: 0.0, 12: 1.0}


def test_cross_fitting_never_ranks_a_fold_with_the_choice_made_on_it():
    queries = 40
    fold_of = np.random.default_rng(0).permutation(queries) % 4
    good_everywhere = QueryFigures(np.full(queries, 0.5), np.full(queries, 0.5), np.zeros(queries))
    lucky = (fold_of == 0).astype(float)  # perfect on fold 0 only
    on_fold_zero = QueryFigures(lucky, lucky, np.zeros(queries))
    folds, chosen, on_all = cross_fitted({(20, 0.0): good_everywhere, (20, 1.0): on_fold_zero}, 4)
    np.testing.assert_array_equal(folds, fold_of)
    assert chosen[0] == (20, 0.0)  # fold 0 is ranked with what the other folds prefer, not with its own best
    assert on_all == (20, 0.0)


def test_the_comparison_scores_dtw_exactly_when_the_index_finds_every_candidate():
    rng = np.random.default_rng(3)
    labels = np.array(list("aabbccdd"), dtype=object)
    dtw = 0.4 * rng.random((8, 8)) + np.where(labels[:, None] == labels[None], 0.0, 1.0)
    learned = -dtw + rng.normal(0, 0.3, size=(8, 8))
    result = compare(labels, labels, dtw, dtw, learned, 8, folds=2, excluded=np.eye(8, dtype=bool))
    assert result.queries == 8 and result.candidates == 8
    brute = result.figures["DTW (brute force)"]
    assert result.figures["pose-dtw index + DTW re-rank (C=8)"] == brute == result.figures["pose-dtw index"]
    assert brute["P@1"] == 1.0  # the own item, excluded, never counts
    assert len(result.fold_choices) == 2 and result.weight is not None
    assert any(line.startswith("hybrid per fold") for line in result.lines())
