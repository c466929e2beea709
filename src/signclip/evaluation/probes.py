"""Frozen-embedding probes of SignCLIP models: few-shot nearest neighbours and a linear probe.

`probe_model` embeds a table's poses as `signclip.evaluation.retrieval` does (flip, anonymize) and runs the probes
asked for; `few_shot_knn`, `linear_probe` and `linear_probe_cross_validated` work on any embeddings.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from signclip.data.table import read_table_poses
from signclip.evaluation.retrieval import embed_table_poses, table_pose_names
from signclip.evaluation.rows import EvaluationError, split_rows

SHOTS = (1, 5, 10)


def few_shot_knn(
    embeddings: np.ndarray,
    labels: Sequence[str],
    shots: Sequence[int] = SHOTS,
    episodes: int = 20,
    seed: int = 0,
) -> dict[int, dict]:
    """Few-shot nearest-neighbour classification on L2-normalized embeddings (N, D) with labels (N,).

    For each number of shots k, every episode draws k support examples from each class that has at
    least k + 1 examples; the other examples of those classes are classified by their most similar
    (cosine) support example. Returns {k: {"accuracy", "classes", "queries"}} averaged over episodes;
    k with no eligible class maps to {"accuracy": None, "classes": 0, "queries": 0}.
    """
    labels = np.asarray(labels).astype(str)
    rng = np.random.default_rng(seed)
    results = {}
    for k in shots:
        classes = [c for c in np.unique(labels) if (labels == c).sum() > k]
        if not classes:
            results[k] = {"accuracy": None, "classes": 0, "queries": 0}
            continue
        members = {c: np.flatnonzero(labels == c) for c in classes}
        accuracies, queries = [], 0
        for _ in range(episodes):
            support, query = [], []
            for c in classes:
                chosen = rng.permutation(members[c])
                support.extend(chosen[:k])
                query.extend(chosen[k:])
            support, query = np.array(support), np.array(query)
            nearest = support[np.argmax(embeddings[query] @ embeddings[support].T, axis=1)]
            accuracies.append(float((labels[nearest] == labels[query]).mean()))
            queries = len(query)
        results[k] = {"accuracy": float(np.mean(accuracies)), "classes": len(classes), "queries": queries}
    return results


def linear_probe(
    train_embeddings: np.ndarray,
    train_labels: Sequence[str],
    test_embeddings: np.ndarray,
    test_labels: Sequence[str],
    max_iter: int = 2000,
) -> dict:
    """Fit a logistic regression on frozen train embeddings; return {"accuracy", "train", "test", "unseen"}.

    Test examples whose label never occurs in training count as errors (`unseen` says how many).
    """
    from sklearn.linear_model import LogisticRegression

    train_labels, test_labels = np.asarray(train_labels).astype(str), np.asarray(test_labels).astype(str)
    if len(np.unique(train_labels)) < 2:
        raise EvaluationError("a linear probe needs at least 2 classes among the training examples")
    if len(test_labels) == 0:
        raise EvaluationError("a linear probe needs test examples")
    classifier = LogisticRegression(max_iter=max_iter).fit(train_embeddings, train_labels)
    predicted = classifier.predict(test_embeddings)
    return {
        "accuracy": float((predicted == test_labels).mean()),
        "train": len(train_labels),
        "test": len(test_labels),
        "unseen": int((~np.isin(test_labels, train_labels)).sum()),
    }


def linear_probe_cross_validated(embeddings: np.ndarray, labels: Sequence[str], folds: int = 5, seed: int = 0) -> dict:
    """Stratified k-fold linear probe over classes with at least 2 examples (fewer folds if a class is small).

    Returns {"accuracy" (mean over folds), "folds", "examples", "classes"}.
    """
    from sklearn.model_selection import StratifiedKFold

    labels = np.asarray(labels).astype(str)
    names, counts = np.unique(labels, return_counts=True)
    keep = np.isin(labels, names[counts >= 2])
    if len(np.unique(labels[keep])) < 2:
        raise EvaluationError("a cross-validated linear probe needs 2 classes with at least 2 examples each")
    folds = int(min(folds, counts[counts >= 2].min()))
    embeddings, labels = embeddings[keep], labels[keep]
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    accuracies = [
        linear_probe(embeddings[train], labels[train], embeddings[test], labels[test])["accuracy"]
        for train, test in splitter.split(embeddings, labels)
    ]
    return {
        "accuracy": float(np.mean(accuracies)),
        "folds": folds,
        "examples": len(labels),
        "classes": len(np.unique(labels)),
    }


def probe_model(
    model,
    table: pd.DataFrame,
    split: str | None = None,
    label_column: str = "text",
    few_shot: bool = True,
    linear: bool = True,
    flip: bool = False,
    anonymize: bool = False,
) -> dict:
    """Frozen-embedding probes of `model`: {"few_shot": few_shot_knn(...), "linear_probe": {...}} as asked.

    Few-shot episodes run within the evaluated rows. The linear probe trains on the rows of the other
    splits and tests on `split`; without a split (or no other rows) it is cross-validated. `flip` and
    `anonymize` act on every pose, as in `evaluate_model`.
    """
    if label_column not in table.columns:
        raise EvaluationError(f"no column {label_column!r} to take class labels from ({', '.join(table.columns)})")
    evaluated, references = split_rows(table, split)
    embeddings = embed_table_poses(model, read_table_poses(table), flip, anonymize, table_pose_names(table))
    labels = table[label_column].astype(str).to_numpy()
    result: dict = {}
    if few_shot:
        result["few_shot"] = few_shot_knn(embeddings[evaluated], labels[evaluated])
    if linear:
        if len(references):
            result["linear_probe"] = linear_probe(
                embeddings[references], labels[references], embeddings[evaluated], labels[evaluated]
            )
        else:
            result["linear_probe"] = linear_probe_cross_validated(embeddings[evaluated], labels[evaluated])
    return result
