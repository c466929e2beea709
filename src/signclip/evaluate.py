"""Evaluating SignCLIP models: text <-> pose retrieval over a table, few-shot kNN and a linear probe.

The metrics themselves (P@k, R@k, MedR) and their tie rule are in `signclip.metrics`;
`retrieval_report` runs them over a whole table, optionally within groups (e.g. per signed
language) with the mean over groups, for any scoring method (SignCLIP embeddings, DTW, ...).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from pose_format import Pose

from signclip.data.prompts import render_prompts
from signclip.data.table import read_table_poses
from signclip.errors import SignclipError
from signclip.metrics import KS, metric_keys, retrieval_metrics
from signclip.poses.transforms import mirror_pose

__all__ = ["KS", "EvaluationError", "evaluate_model", "group_values", "retrieval_metrics", "retrieval_report"]
SHOTS = (1, 5, 10)
ScoreFunction = Callable[[list[str], np.ndarray], np.ndarray]


def retrieval_report(
    texts: Sequence[str],
    score: ScoreFunction,
    groups: Sequence[str] | None = None,
    ks: Sequence[int] = KS,
) -> dict:
    """Evaluate retrieval over a table of poses, each with its correct text.

    `texts` (poses,) holds each pose's text; `score(candidate_texts, pose_rows)` returns the score
    matrix (len(candidate_texts), len(pose_rows)). Without `groups`, the candidates are the unique
    texts of all poses. With `groups` (poses,), the metrics are computed within each group (candidates
    = that group's unique texts) and the top-level metrics are the mean over groups.
    Returns {"t2v", "v2t", "groups": {name: {"t2v", "v2t", "n_poses", "n_texts"}}, "n_poses", "n_texts"}.
    """
    texts = np.asarray(texts, dtype=object)
    if len(texts) == 0:
        raise ValueError("nothing to evaluate: no poses")

    def evaluate(rows: np.ndarray) -> dict:
        candidates, labels = np.unique(texts[rows].astype(str), return_inverse=True)
        metrics = retrieval_metrics(np.asarray(score(list(candidates), rows)), labels, ks)
        return {**metrics, "n_poses": len(rows), "n_texts": len(candidates)}

    if groups is None:
        overall = evaluate(np.arange(len(texts)))
        return {"t2v": overall["t2v"], "v2t": overall["v2t"], "groups": {}, **_counts(overall)}
    groups = np.asarray(groups).astype(str)
    per_group = {str(name): evaluate(np.flatnonzero(groups == name)) for name in sorted(set(groups))}
    mean = {
        direction: {key: float(np.mean([g[direction][key] for g in per_group.values()])) for key in keys}
        for direction, keys in (("t2v", metric_keys("t2v", ks)), ("v2t", metric_keys("v2t", ks)))
    }
    counts = {"n_poses": len(texts), "n_texts": int(sum(g["n_texts"] for g in per_group.values()))}
    return {**mean, "groups": per_group, **counts}


def _counts(metrics: dict) -> dict[str, int]:
    return {"n_poses": metrics["n_poses"], "n_texts": metrics["n_texts"]}


# ----------------------------------------------------------------------------- tables and poses


class EvaluationError(SignclipError):
    """Nothing to evaluate: an empty split or table, rows without poses, too few examples per class."""


def split_rows(table: pd.DataFrame, split: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Return (evaluated rows, reference rows) as index arrays into `table`.

    Without `split` every row is evaluated and there are no reference rows; with it, the rows of that
    split are evaluated and the rows of every other split are the references (the training data).
    """
    if len(table) == 0:
        raise EvaluationError("the manifest has no rows")
    if split is None:
        return np.arange(len(table)), np.arange(0)
    in_split = (table["split"].astype(str) == split).to_numpy()
    if not in_split.any():
        present = sorted(set(table["split"].astype(str)) - {""})
        raise EvaluationError(f"no rows in split {split!r}; the manifest's splits are {present or 'none'}")
    return np.flatnonzero(in_split), np.flatnonzero(~in_split)


# ----------------------------------------------------------------------------- SignCLIP models


def embed_table_poses(model, poses: Sequence[Pose], flip: bool = False, batch_size: int = 32) -> np.ndarray:
    """Embed poses with `model` into (N, D) L2-normalized; with `flip`, average each pose with its mirror."""
    embeddings = model.embed_poses(list(poses), batch_size=batch_size)
    if flip:
        embeddings = embeddings + model.embed_poses([mirror_pose(p) for p in poses], batch_size=batch_size)
        embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True).clip(min=1e-12)
    return embeddings.astype(np.float32)


def evaluate_model(
    model,
    table: pd.DataFrame,
    split: str | None = None,
    group_by: str | None = None,
    flip: bool = False,
    prompt: str | None = None,
    neighbours: float = 0.0,
    progress: bool = False,
) -> dict:
    """Text <-> pose retrieval of a SignCLIP `model` on the rows of `table` in `split` (all rows without).

    Each pose's text is its row's prompt (template `prompt`, default the model's own). With
    `neighbours` > 0 and rows outside `split`, a text's score also counts its nearest training pose:
    `fuse_scores(text scores, nearest_neighbour_scores(...), neighbours)`. Returns the
    `retrieval_report` dict: {"t2v", "v2t", "groups", "n_poses", "n_texts"}.
    """
    rows, references = split_rows(table, split)
    template = prompt or model.config.prompt
    all_texts = np.array(render_prompts(template, table), dtype=object)
    texts = all_texts[rows]
    use_neighbours = neighbours > 0 and len(references) > 0
    embedded = np.concatenate([rows, references]) if use_neighbours else rows
    embeddings = embed_table_poses(model, read_table_poses(table.iloc[embedded], progress), flip)
    pose_embeddings, reference_embeddings = embeddings[: len(rows)], embeddings[len(rows) :]
    unique_texts = sorted(set(texts))
    text_embeddings = dict(zip(unique_texts, model.embed_texts(unique_texts), strict=True))

    def score(candidates: list[str], pose_rows: np.ndarray) -> np.ndarray:
        scores = np.stack([text_embeddings[t] for t in candidates]) @ pose_embeddings[pose_rows].T
        if not use_neighbours:
            return scores
        similarity = pose_embeddings[pose_rows] @ reference_embeddings.T
        nearest = nearest_neighbour_scores(similarity, all_texts[references], candidates)
        return fuse_scores(scores, nearest, neighbours)

    groups = group_values(table.iloc[rows], group_by)
    return retrieval_report(list(texts), score, groups)


def nearest_neighbour_scores(
    similarity: np.ndarray, reference_texts: Sequence[str], candidates: Sequence[str]
) -> np.ndarray:
    """Score each candidate text by its most similar reference: similarity (poses, references) ->
    (len(candidates), poses), the highest similarity among references with that text (-inf if none)."""
    reference_texts = np.asarray(reference_texts, dtype=object)
    scores = np.full((len(candidates), similarity.shape[0]), -np.inf)
    for row, text in enumerate(candidates):
        columns = reference_texts == text
        if columns.any():
            scores[row] = similarity[:, columns].max(axis=1)
    return scores


def fuse_scores(text_scores: np.ndarray, neighbour_scores: np.ndarray, weight: float) -> np.ndarray:
    """z(text_scores) + weight * z(neighbour_scores), each standardized over its finite entries;
    candidates without neighbours (-inf) get the lowest neighbour score present."""

    def standardized(scores: np.ndarray) -> np.ndarray:
        finite = np.isfinite(scores)
        if not finite.any():
            return np.zeros_like(scores)
        values = (scores - scores[finite].mean()) / (scores[finite].std() + 1e-12)
        return np.where(finite, values, values[finite].min())

    return standardized(text_scores) + weight * standardized(neighbour_scores)


def group_values(table: pd.DataFrame, group_by: str | None) -> list[str] | None:
    """The `group_by` column of `table` as strings (None without grouping); EvaluationError if absent."""
    if group_by is None:
        return None
    if group_by not in table.columns:
        raise EvaluationError(f"cannot group by {group_by!r}: not a manifest column ({', '.join(table.columns)})")
    return table[group_by].astype(str).tolist()


# ----------------------------------------------------------------------------- frozen-embedding probes


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


def format_report(report: dict) -> list[str]:
    """Printable lines of a retrieval report: one line per group (if any), then the overall/mean line."""

    def line(name: str, metrics: dict) -> str:
        t2v = " ".join(f"{k} {metrics['t2v'][k]:.3f}" for k in metric_keys("t2v"))
        v2t = " ".join(f"{k} {metrics['v2t'][k]:.3f}" for k in metric_keys("v2t"))
        counts = f"poses {metrics['n_poses']:>5} texts {metrics['n_texts']:>5}"
        return f"{name:<12} {counts} | text->pose {t2v} | pose->text {v2t}"

    lines = [line(name, metrics) for name, metrics in report["groups"].items()]
    lines.append(line("mean" if report["groups"] else "all", report))
    return lines


def probe_model(
    model,
    table: pd.DataFrame,
    split: str | None = None,
    label_column: str = "text",
    few_shot: bool = True,
    linear: bool = True,
    flip: bool = False,
) -> dict:
    """Frozen-embedding probes of `model`: {"few_shot": few_shot_knn(...), "linear_probe": {...}} as asked.

    Few-shot episodes run within the evaluated rows. The linear probe trains on the rows of the other
    splits and tests on `split`; without a split (or no other rows) it is cross-validated.
    """
    if label_column not in table.columns:
        raise EvaluationError(f"no column {label_column!r} to take class labels from ({', '.join(table.columns)})")
    evaluated, references = split_rows(table, split)
    embeddings = embed_table_poses(model, read_table_poses(table), flip)
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
