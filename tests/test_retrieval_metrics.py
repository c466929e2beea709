"""Retrieval metrics on tiny hand-made score matrices, checked against counts done by hand."""

from __future__ import annotations

import numpy as np
import pytest

from signclip.evaluate import pose_to_text_metrics, retrieval_metrics, retrieval_report, text_to_pose_metrics


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


def test_ties_count_against_the_query():
    scores = np.zeros((3, 3))
    metrics = retrieval_metrics(scores, np.arange(3), ks=(1,))
    assert metrics["t2v"]["P@1"] == 0.0 and metrics["t2v"]["MedR"] == 3.0
    assert metrics["v2t"]["R@1"] == 0.0 and metrics["v2t"]["MedR"] == 3.0


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
