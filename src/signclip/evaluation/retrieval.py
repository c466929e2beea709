"""Evaluating SignCLIP models: text <-> pose retrieval over a table, with SignCLIP's test-time options
(flip, anonymize, zero-shot); the frozen-embedding probes are in `signclip.evaluation.probes`.

The metrics themselves (P@k, R@k, MedR) and their tie rule are in `signclip.evaluation.metrics`;
`retrieval_report` runs them over a whole table, optionally within groups (e.g. per signed
language) with the mean over groups, for any scoring method (SignCLIP embeddings, DTW, ...).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pose_format import Pose

from signclip.data.prompts import render_prompts
from signclip.data.table import read_table_poses
from signclip.errors import naming_the_pose
from signclip.evaluation.metrics import KS, metric_keys, retrieval_metrics
from signclip.evaluation.rows import EvaluationError, group_values, split_rows
from signclip.model.identity import Provenance
from signclip.poses.transforms import anonymize_pose, mirror_pose

__all__ = ["KS", "EvaluationError", "evaluate_model", "group_values", "retrieval_metrics", "retrieval_report"]
ZERO_SHOT_SPLIT = "test"
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


# ----------------------------------------------------------------------------- SignCLIP models


def embed_table_poses(
    model,
    poses: Sequence[Pose],
    flip: bool = False,
    anonymize: bool = False,
    names: Sequence[str] | None = None,
    batch_size: int = 32,
) -> np.ndarray:
    """Embed poses with `model` (its `embed_poses`, which runs the model's preprocessing) into (N, D)
    L2-normalized float32.

    With `anonymize`, each pose first has its appearance removed (`anonymize_pose`, SignCLIP's E8.1); with
    `flip`, each embedding is averaged with that of the (anonymized) pose's mirror (E8). `names` (one per
    pose, e.g. its file) start the message of a PoseLayoutError, such as a pose anonymization cannot read.
    """
    names = list(names) if names is not None else [f"pose {i}" for i in range(len(poses))]
    if anonymize:
        poses = [naming_the_pose(name, anonymize_pose, pose) for pose, name in zip(poses, names, strict=True)]
    embeddings = model.embed_poses(list(poses), batch_size=batch_size, names=names)
    if flip:
        mirrored = [mirror_pose(pose) for pose in poses]
        embeddings = embeddings + model.embed_poses(mirrored, batch_size=batch_size, names=names)
        embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True).clip(min=1e-12)
    return embeddings.astype(np.float32)


def table_pose_names(table: pd.DataFrame) -> list[str]:
    """The name each row's pose goes by in error messages: its pose file."""
    return table["pose_path"].astype(str).tolist()


def zero_shot_entry(model, table: pd.DataFrame, split: str | None, neighbours: object, data_name: str) -> dict:
    """Check that an evaluation of `model` on `table` (called `data_name`) can be zero-shot, and return the
    report's "zero_shot" entry {"trained_on", "evaluated_on", "split"}.

    Zero-shot, as the original's `*_zs` test configs: the `test` split of another dataset, with that
    dataset's own prompts, and none of its other rows. EvaluationError for another `split`, a table without
    a test split, `neighbours` (it scores with the other rows), or a model trained on `data_name` itself.
    """
    if split not in (None, ZERO_SHOT_SPLIT):
        raise EvaluationError(f"a zero-shot evaluation is of the {ZERO_SHOT_SPLIT!r} split, not {split!r}")
    if neighbours is not None:
        raise EvaluationError(
            f"neighbour fusion (--neighbours) scores with the training rows of {data_name} (those outside the "
            f"{ZERO_SHOT_SPLIT!r} split), so the evaluation would no longer be zero-shot; drop one of the two"
        )
    splits = set(table["split"].astype(str))
    if ZERO_SHOT_SPLIT not in splits:
        raise EvaluationError(
            f"a zero-shot evaluation needs a {ZERO_SHOT_SPLIT!r} split; {data_name} has "
            f"{sorted(splits - {''}) or 'no splits'} (re-split a --dataset with --split-by)"
        )
    provenance = getattr(model, "provenance", None)
    provenance = provenance if isinstance(provenance, Provenance) else Provenance("unknown")
    trained = provenance.data or {}
    if provenance.kind == "trained" and data_name in (trained.get("dataset"), trained.get("manifest")):
        raise EvaluationError(
            f"model {getattr(model, 'name', '?')!r} was trained on {data_name} itself, so this evaluation is "
            "in-domain, not zero-shot"
        )
    return {"trained_on": provenance.training_data(), "evaluated_on": data_name, "split": ZERO_SHOT_SPLIT}


NEIGHBOUR_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)


@dataclass(frozen=True)
class Neighbours:
    """Fusing a model's text scores with votes of labelled neighbours (the rows outside the evaluated split):
    `by` "embedding" (the model's pose similarity) or "dtw" (minus the DTW distance, the layout's DTW
    preset); `weight` of the neighbour votes, or None to cross-fit it over `folds` seeded folds of the
    evaluated rows (each fold scored with the weight best on the others by v2t R@1, from NEIGHBOUR_WEIGHTS)."""

    by: str = "embedding"
    weight: float | None = None
    folds: int = 5

    def __post_init__(self) -> None:
        if self.by not in ("embedding", "dtw"):
            raise EvaluationError(f"neighbours by {self.by!r}: use embedding or dtw")


def evaluate_model(
    model,
    table: pd.DataFrame,
    split: str | None = None,
    group_by: str | None = None,
    flip: bool = False,
    prompt: str | None = None,
    neighbours: Neighbours | None = None,
    progress: bool = False,
    anonymize: bool = False,
    zero_shot: bool = False,
    data_name: str = "the table",
) -> dict:
    """Text <-> pose retrieval of a SignCLIP `model` on the rows of `table` in `split` (all rows without).

    Each pose's text is its row's prompt (template `prompt`, default the model's own), filled from the
    row's own columns (text, spoken and signed language). With `neighbours` and rows outside `split`, a
    text's score also counts its nearest training pose: `fuse_scores(text scores,
    nearest_neighbour_scores(...), weight)` (see Neighbours). `flip` and `anonymize` act on every embedded
    pose (`embed_table_poses`). With `zero_shot`, the `test` split of `table` (called `data_name`) is
    evaluated as `zero_shot_entry` checks. Returns the `retrieval_report` dict: {"t2v", "v2t", "groups",
    "n_poses", "n_texts"}, with `zero_shot` also {"zero_shot": {"trained_on", "evaluated_on", "split"}}
    and with `neighbours` {"neighbours": {"by", "weights" per fold (or the one given), "chosen_on_all"}}.
    """
    entry = zero_shot_entry(model, table, split, neighbours, data_name) if zero_shot else None
    rows, references = split_rows(table, ZERO_SHOT_SPLIT if zero_shot else split)
    use_neighbours = neighbours is not None and len(references) > 0
    by_embedding = use_neighbours and neighbours.by == "embedding"
    embedded = np.concatenate([rows, references]) if by_embedding else rows
    embedded_rows = table.iloc[embedded]
    all_texts = np.array(render_prompts(prompt or model.config.prompt, table), dtype=object)
    texts, reference_texts = all_texts[rows], all_texts[references]
    poses = read_table_poses(embedded_rows, progress)
    embeddings = embed_table_poses(model, poses, flip, anonymize, table_pose_names(embedded_rows))
    pose_embeddings, reference_embeddings = embeddings[: len(rows)], embeddings[len(rows) :]
    unique_texts = sorted(set(texts))
    text_embeddings = dict(zip(unique_texts, model.embed_texts(unique_texts), strict=True))
    groups = group_values(table.iloc[rows], group_by)
    if use_neighbours and not by_embedding:
        from signclip.evaluation.dtw import dtw_distances

        reference_similarity = -dtw_distances(table, split, progress=progress).distances
    elif by_embedding:
        reference_similarity = pose_embeddings @ reference_embeddings.T

    def scorer(weights: np.ndarray | None) -> ScoreFunction:
        def score(candidates: list[str], pose_rows: np.ndarray) -> np.ndarray:
            scores = np.stack([text_embeddings[t] for t in candidates]) @ pose_embeddings[pose_rows].T
            if weights is None:
                return scores
            nearest = nearest_neighbour_scores(reference_similarity[pose_rows], reference_texts, candidates)
            return fuse_scores(scores, nearest, weights[pose_rows])

        return score

    if not use_neighbours:
        report = retrieval_report(list(texts), scorer(None), groups)
        return {**report, "zero_shot": entry} if entry else report
    if neighbours.weight is not None:
        report = retrieval_report(list(texts), scorer(np.full(len(rows), neighbours.weight)), groups)
        return {**report, "neighbours": {"by": neighbours.by, "weights": [neighbours.weight]}}
    fold_of, chosen, on_all = cross_fitted_neighbour_weights(texts, groups, scorer, neighbours.folds)
    report = retrieval_report(list(texts), scorer(np.array(chosen)[fold_of]), groups)
    return {**report, "neighbours": {"by": neighbours.by, "weights": chosen, "chosen_on_all": on_all}}


def cross_fitted_neighbour_weights(
    texts: np.ndarray, groups: list[str] | None, scorer: Callable[[np.ndarray], ScoreFunction], folds: int
) -> tuple[np.ndarray, list[float], float]:
    """(fold of each row, the weight each fold is scored with, the weight best on all rows): the weight with
    the best v2t R@1 on the other folds' rows (ties: the smaller)."""
    fold_of = np.random.default_rng(0).permutation(len(texts)) % max(1, min(folds, len(texts)))

    def best(rows: np.ndarray) -> float:
        def recall(weight: float) -> tuple[float, float]:
            score = scorer(np.full(len(texts), weight))
            subset = retrieval_report(
                list(texts[rows]), lambda c, r: score(c, rows[r]), None if groups is None else np.asarray(groups)[rows]
            )
            return subset["v2t"]["R@1"], -weight

        return max(NEIGHBOUR_WEIGHTS, key=recall)

    chosen = [best(np.flatnonzero(fold_of != fold)) for fold in np.unique(fold_of)]
    return fold_of, chosen, best(np.arange(len(texts)))


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


def format_report(report: dict) -> list[str]:
    """Printable lines of a retrieval report: one line per group (if any), then the overall/mean line."""

    def line(name: str, metrics: dict) -> str:
        t2v = " ".join(f"{k} {metrics['t2v'][k]:.3f}" for k in metric_keys("t2v"))
        v2t = " ".join(f"{k} {metrics['v2t'][k]:.3f}" for k in metric_keys("v2t"))
        counts = f"poses {metrics['n_poses']:>5} texts {metrics['n_texts']:>5}"
        return f"{name:<12} {counts} | text->pose {t2v} | pose->text {v2t}"

    lines = []
    if "zero_shot" in report:
        entry = report["zero_shot"]
        trained, evaluated = entry["trained_on"], entry["evaluated_on"]
        lines.append(f"zero-shot: model trained on {trained}, evaluated on {evaluated} ({entry['split']} split)")
    if "neighbours" in report:
        entry = report["neighbours"]
        chosen = f", chosen on all rows {entry['chosen_on_all']:g}" if "chosen_on_all" in entry else ""
        kind = "cross-fitted per fold" if "chosen_on_all" in entry else "given"
        weights = ", ".join(f"{w:g}" for w in entry["weights"])
        lines.append(f"fused with the nearest training pose by {entry['by']}: weight {kind} {weights}{chosen}")
    lines.extend(line(name, metrics) for name, metrics in report["groups"].items())
    lines.append(line("mean" if report["groups"] else "all", report))
    return lines
