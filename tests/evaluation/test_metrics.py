"""Every retrieval metric (signclip.evaluation.metrics) on tiny hand-made cases, checked against counts done by hand:
SignCLIP's text <-> pose metrics, the all-against-all metrics (also against a plain argsort reference),
and the one tie rule both use."""

from __future__ import annotations

import numpy as np
import pytest

from signclip.evaluation import analysis, metrics
from signclip.evaluation.metrics import pose_to_text_metrics, retrieval_metrics, text_to_pose_metrics
from signclip.evaluation.ranking import symmetric_top_k, top_k_rows
from signclip.evaluation.retrieval import retrieval_report


def test_perfect_diagonal_scores_everything_at_rank_one():
    scores = np.eye(4)
    metrics = retrieval_metrics(scores, np.arange(4), ks=(1, 2))
    assert metrics["t2v"] == {"P@1": 1.0, "P@2": 0.5, "MedR": 1.0}
    assert metrics["v2t"] == {"R@1": 1.0, "R@2": 1.0, "MedR": 1.0}


def test_hand_counted_example():
    # 3 texts x 4 poses; poses 0,1 show text 0, pose 2 text 1, pose 3 text 2.
    scores = np.array(
        [
            [0.9, 0.1, 0.8, 0.0],  # text 0: ranks poses 0, 2, 1, 3 -> correct at ranks 1 and 3
            [0.5, 0.2, 0.4, 0.3],  # text 1: ranks poses 0, 2, 3, 1 -> correct (pose 2) at rank 2
            [0.1, 0.9, 0.2, 0.6],  # text 2: ranks poses 1, 3, 2, 0 -> correct (pose 3) at rank 2
        ]
    )
    labels = np.array([0, 0, 1, 2])
    t2v = text_to_pose_metrics(scores, labels, ks=(1, 2))
    assert t2v["P@1"] == pytest.approx(1 / 3)  # only text 0 hits at 1
    assert t2v["P@2"] == pytest.approx((1 + 1 + 1) / 6)
    assert t2v["MedR"] == 2.0  # first-correct ranks 1, 2, 2
    v2t = pose_to_text_metrics(scores, labels, ks=(1, 2))
    # pose 0: text 0 first (rank 1); pose 1: text 2 then 1 then 0 (rank 3);
    # pose 2: text 0 then 1 (rank 2); pose 3: text 2 first (rank 1)
    assert v2t["R@1"] == pytest.approx(2 / 4)
    assert v2t["R@2"] == pytest.approx(3 / 4)
    assert v2t["MedR"] == 1.5


def test_ties_count_against_the_query_in_every_metric():
    """THE tie rule, once for both families: a constant scorer gets the worst rank, whatever the item order."""
    scores = np.zeros((3, 3))
    signclip_metrics = retrieval_metrics(scores, np.arange(3), ks=(1,))
    assert signclip_metrics["t2v"]["P@1"] == 0.0 and signclip_metrics["t2v"]["MedR"] == 3.0
    assert signclip_metrics["v2t"]["R@1"] == 0.0 and signclip_metrics["v2t"]["MedR"] == 3.0
    # All-against-all: items stored gloss by gloss (A A B B C C) with one constant score. Lower index first
    # would put each A's sibling first for item 0 (P@1 = 1/2 over the dataset); the tie rule puts every
    # wrong item first, so nothing is found in the top 4 and each sibling ranks 5th (AP = 1/5).
    constant = analysis.rank_matrix(np.zeros((6, 6)), list("AABBCC"), k=4, kind="similarity")
    summary = metrics.summarize(constant)
    assert summary["precision_at_k"] == 0.0 and summary["recall_at_k"] == 0.0
    assert summary["mean_average_precision"] == pytest.approx(1 / 5)
    assert metrics.correct_ranks(np.array([-np.inf, 1.0, 1.0, 1.0, 0.5]), np.array([2, 3]), query=0).tolist() == [2, 3]


def test_texts_without_poses_are_candidates_but_not_queries():
    scores = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]])  # text 2 is a distractor beating everything
    metrics = retrieval_metrics(scores, np.array([0, 1]), ks=(1, 2))
    assert metrics["t2v"]["P@1"] == 1.0  # two queries, both find their pose first
    assert metrics["v2t"]["R@1"] == 0.0 and metrics["v2t"]["R@2"] == 1.0


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="poses"):
        retrieval_metrics(np.zeros((2, 3)), np.arange(2))


def test_report_groups_use_their_own_candidates_and_average():
    texts = ["a", "b", "a", "b", "c"]
    groups = ["x", "x", "y", "y", "y"]
    embeddings = {"a": 0, "b": 1, "c": 2}
    # pose p "looks like" text truth[p], except pose 3 (text b, group y) looks like c
    looks_like = [0, 1, 0, 2, 2]

    def score(candidates, rows):
        return np.array([[1.0 if embeddings[t] == looks_like[r] else 0.0 for r in rows] for t in candidates])

    report = retrieval_report(texts, score, groups, ks=(1,))
    assert report["groups"]["x"]["v2t"]["R@1"] == 1.0
    assert report["groups"]["x"]["n_texts"] == 2
    assert report["groups"]["y"]["v2t"]["R@1"] == pytest.approx(2 / 3)
    assert report["groups"]["y"]["n_texts"] == 3
    assert report["v2t"]["R@1"] == pytest.approx((1 + 2 / 3) / 2)
    assert report["n_poses"] == 5 and report["n_texts"] == 5
    ungrouped = retrieval_report(texts, score, ks=(1,))
    assert ungrouped["groups"] == {} and ungrouped["n_texts"] == 3
    assert ungrouped["v2t"]["R@1"] == pytest.approx(4 / 5)


def reference_ranking(scores: np.ndarray, labels: np.ndarray, k: int):
    """Plain per-query ranking under the tie rule: full lexsort (score desc, wrong first, index asc), query excluded."""
    count = len(labels)
    neighbors, average_precision = [], []
    for query in range(count):
        others = np.array([i for i in range(count) if i != query])
        correct = labels[others] == labels[query]
        order = others[np.lexsort((others, correct, -scores[query, others]))]
        neighbors.append(order[:k])
        relevant = labels[order] == labels[query]
        if relevant.any():
            ranks = np.nonzero(relevant)[0] + 1
            average_precision.append(np.mean(np.arange(1, len(ranks) + 1) / ranks))
        else:
            average_precision.append(np.nan)
    return np.array(neighbors), np.array(average_precision)


def test_perfectly_separated_clusters_score_one():
    vectors = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]], dtype=np.float32)
    result = analysis.rank_vectors(vectors, ["A", "A", "B", "B"], k=1)
    summary = metrics.summarize(result)
    assert summary["precision_at_k"] == 1.0
    assert summary["recall_at_k"] == 1.0
    assert summary["mean_average_precision"] == 1.0
    assert result.neighbors[:, 0].tolist() == [1, 0, 3, 2]


def test_hand_computed_average_precision_precision_and_recall():
    # Query 0 (gloss A) sees items 1..4 at distances 0.1..0.4; its relevant items 2 and 4 rank 2nd and 4th.
    distances = np.array(
        [
            [0.0, 0.1, 0.2, 0.3, 0.4],
            [0.1, 0.0, 0.5, 0.6, 0.7],
            [0.2, 0.5, 0.0, 0.8, 0.9],
            [0.3, 0.6, 0.8, 0.0, 0.95],
            [0.4, 0.7, 0.9, 0.95, 0.0],
        ]
    )
    labels = ["A", "B", "A", "B", "A"]
    result = analysis.rank_matrix(distances, labels, k=2, kind="distance")
    assert result.neighbors[0].tolist() == [1, 2]
    assert result.average_precision[0] == pytest.approx((1 / 2 + 2 / 4) / 2)
    table = analysis.per_query_table(result)
    assert table.loc[0, "precision_at_k"] == pytest.approx(1 / 2)
    assert table.loc[0, "recall_at_k"] == pytest.approx(1 / 2)
    # Query 1 (B): ranking 0 (A), 2 (A), 3 (B) -> AP = 1/3; top-2 has no hit.
    assert result.average_precision[1] == pytest.approx(1 / 3)
    assert table.loc[1, "hits"] == 0


def test_singletons_are_counted_but_not_averaged():
    vectors = np.array([[1, 0], [0.99, 0.01], [0, 1]], dtype=np.float32)
    result = analysis.rank_vectors(vectors, ["A", "A", "C"], k=1)
    summary = metrics.summarize(result)
    assert summary["singletons"] == 1
    assert summary["answerable_queries"] == 2
    assert summary["precision_at_k"] == 1.0
    assert np.isnan(result.average_precision[2])


def test_ties_are_broken_by_lower_index_even_across_the_kth_place():
    scores = np.array([[5.0, 1.0, 1.0, 1.0, 1.0, 0.0]], dtype=np.float32)
    ids, values = top_k_rows(scores, None, 3)
    assert ids.tolist() == [[0, 1, 2]]
    ids, _ = top_k_rows(scores, np.array([10, 9, 8, 7, 6, 5]), 3)
    assert ids.tolist() == [[10, 6, 7]]
    assert values.tolist() == [[5.0, 1.0, 1.0]]


def test_duplicate_vectors_rank_exactly_like_the_reference():
    rng = np.random.default_rng(3)
    base = rng.normal(size=(12, 6)).astype(np.float32)
    vectors = np.concatenate([base, base[:5]])  # exact duplicates create tied scores
    labels = np.array([f"g{i % 4}" for i in range(len(vectors))], dtype=object)
    prepared = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    expected_neighbors, expected_ap = reference_ranking(prepared @ prepared.T, labels, k=4)
    result = analysis.rank_vectors(vectors, labels, k=4)
    assert result.neighbors.tolist() == expected_neighbors.tolist()
    np.testing.assert_allclose(result.average_precision, expected_ap, rtol=1e-6)


@pytest.mark.parametrize("metric", ["cosine", "l2", "dot"])
def test_symmetric_block_pass_matches_the_row_pass(metric):
    rng = np.random.default_rng(7)
    centers = rng.normal(size=(5, 16))
    vectors = (centers[rng.integers(0, 5, 203)] + 0.5 * rng.normal(size=(203, 16))).astype(np.float32)
    labels = np.array([f"g{i}" for i in rng.integers(0, 5, 203)], dtype=object)
    row_pass = analysis.rank_vectors(vectors, labels, k=7, metric=metric, average_precision=True)
    ids, _ = symmetric_top_k(vectors, 7, metric=metric, block_rows=50)  # 5 x 5 blocks, ragged last
    assert ids.tolist() == row_pass.neighbors.tolist()
    block_pass = analysis.rank_vectors(vectors, labels, k=7, metric=metric, average_precision=False)
    assert block_pass.average_precision is None
    assert metrics.summarize(block_pass)["precision_at_k"] == metrics.summarize(row_pass)["precision_at_k"]


def test_random_data_matches_reference_for_every_metric_and_chunking():
    rng = np.random.default_rng(11)
    vectors = rng.normal(size=(40, 5)).astype(np.float32)
    labels = np.array(list("ABCDE") * 8, dtype=object)
    distances = np.linalg.norm(vectors[:, None] - vectors[None], axis=-1)
    expected_neighbors, expected_ap = reference_ranking(-distances, labels, k=5)
    chunks = analysis.matrix_score_chunks(distances, "distance", chunk_rows=7)
    result = analysis.rank_score_chunks(chunks, labels, k=5)
    assert result.neighbors.tolist() == expected_neighbors.tolist()
    np.testing.assert_allclose(result.average_precision, expected_ap)
    assert metrics.mean_average_precision(result) == pytest.approx(np.mean(expected_ap))


def test_precision_and_recall_curves_follow_the_hits():
    # Each query's neighbors: A0 -> [A1, B0], A1 -> [A0, B0], B0 -> [A0, A1]... built from a distance matrix.
    distances = np.array([[0, 1, 2, 9], [1, 0, 2, 9], [2, 2, 0, 3], [9, 9, 3, 0]], dtype=float)
    result = analysis.rank_matrix(distances, ["A", "A", "B", "B"], k=2)
    # hits: q0 [1,0], q1 [1,0], q2 [0,0] (neighbors 0,1), q3 [1,0] (neighbors 2, 0)
    np.testing.assert_allclose(metrics.precision_curve(result), [3 / 4, 3 / 8])
    np.testing.assert_allclose(metrics.recall_curve(result), [3 / 4, 3 / 4])


def test_confused_pairs_and_matrix_count_wrong_neighbors():
    distances = np.array([[0, 1, 2, 9], [1, 0, 2, 9], [2, 2, 0, 3], [9, 9, 3, 0]], dtype=float)
    result = analysis.rank_matrix(distances, ["A", "A", "B", "B"], k=2)
    pairs = analysis.confused_pairs(result)
    # wrong slots: q0 -> B(2), q1 -> B(2), q2 -> A(0), A(1), q3 -> A(0)
    assert pairs.to_dict("records") == [
        {"gloss_a": "A", "gloss_b": "B", "a_to_b": 2, "b_to_a": 3, "total": 5, "rate": 5 / 8}
    ]
    matrix = analysis.confusion_matrix(result, ["A", "B"])
    np.testing.assert_allclose(matrix, [[2 / 4, 2 / 4], [3 / 4, 1 / 4]])
    assert analysis.most_confused_glosses(result) == ["A", "B"]
    per_gloss = analysis.per_gloss_table(result)
    assert per_gloss["gloss"].tolist() == ["B", "A"]  # worst precision first
    assert per_gloss.set_index("gloss").loc["A", "most_confused_with"] == "B"


def test_bad_inputs_are_rejected():
    with pytest.raises(ValueError, match="at least 2"):
        analysis.rank_vectors(np.zeros((1, 3)), ["A"])
    with pytest.raises(ValueError, match="labels"):
        analysis.rank_vectors(np.zeros((3, 3)), ["A", "B"])
    with pytest.raises(ValueError, match="does not match"):
        analysis.rank_matrix(np.zeros((3, 2)), ["A", "B", "C"])
