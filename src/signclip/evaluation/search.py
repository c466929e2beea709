"""`signclip search evaluate`: all-against-all retrieval over a stored dataset, by embeddings or by DTW.

Each item's label is its gloss (its text where the gloss is empty); items with neither are left out.
The embedding method reads the stored vectors once and ranks them exactly with chunked matrix
products (no query per item); the DTW method computes the (N, N) DTW distance matrix over the raw
poses with `signclip.evaluation.dtw.dtw_distance_matrix` and feeds it to the same metrics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from signclip.errors import SignclipError
from signclip.evaluation.analysis import rank_matrix, rank_vectors
from signclip.evaluation.dtw import DTWSettings, dtw_distance_matrix, preprocessed_poses
from signclip.evaluation.metrics import RetrievalResult
from signclip.store.store import Store

METHODS = ("embedding", "dtw")


@dataclass(frozen=True)
class DatasetEvaluation:
    """A finished evaluation: the per-query result and what was evaluated (dataset, model, method, ...)."""

    result: RetrievalResult
    item_keys: np.ndarray
    settings: dict


def item_labels(items: pd.DataFrame) -> np.ndarray:
    """Return each item's label (N,): its gloss, or its text where the gloss is empty ('' if neither)."""
    gloss = items["gloss"].fillna("").astype(str)
    text = items["text"].fillna("").astype(str)
    return np.where(gloss != "", gloss, text).astype(object)


def evaluate_dataset(
    store: Store,
    dataset: str,
    model: str | None = None,
    k: int = 10,
    method: str = "embedding",
    metric: str | None = None,
    dtw: DTWSettings | None = None,
    progress: bool = True,
) -> DatasetEvaluation:
    """Run all-against-all retrieval over `dataset` with `method` ("embedding" needs `model`; "dtw").

    `metric` defaults to the model's. Returns the DatasetEvaluation; raises SignclipError for an unknown
    dataset or model, an unknown method, or fewer than two labelled items.
    """
    if method not in METHODS:
        raise SignclipError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
    if k < 1:
        raise SignclipError(f"k must be at least 1, got {k}")
    items = store.items(dataset)
    settings = {"dataset": dataset, "method": method, "k": k}
    if method == "embedding":
        if model is None:
            raise SignclipError("the embedding method needs a model name")
        ids, vectors = store.vectors(dataset, model)
        if len(ids) == 0:
            raise SignclipError(f"dataset {dataset!r} has no embeddings by model {model!r}; run signclip index add")
        items = items.set_index("item_id").loc[ids].reset_index()
        metric = metric or store.metric_of(model)
        settings |= {"model": model, "metric": metric, "not_embedded": len(store.items(dataset, model))}
    labels = item_labels(items)
    labelled = labels != ""
    settings["unlabelled"] = int((~labelled).sum())
    if labelled.sum() < 2:
        raise SignclipError(
            f"dataset {dataset!r}: evaluation needs labels: fewer than 2 of its {len(items)} items have a gloss or "
            "text (index a folder of <gloss>/ folders, or a manifest with a gloss column); search by example works "
            "without labels"
        )
    items, labels = items[labelled].reset_index(drop=True), labels[labelled]
    if method == "embedding":
        result = rank_vectors(vectors[labelled], labels, k, metric=metric, progress=progress)
    else:
        dtw = dtw or DTWSettings()
        distances, preprocess = item_dtw_distances(items, dtw, progress)
        settings |= {"dtw_preprocess": preprocess, "dtw_band": dtw.band}
        result = rank_matrix(distances, labels, k, kind="distance", progress=progress)
    return DatasetEvaluation(result, items["key"].to_numpy(), settings)


def item_dtw_distances(items: pd.DataFrame, settings: DTWSettings, progress: bool = True) -> tuple[np.ndarray, str]:
    """DTW distances (N, N) between stored items' poses (read, cut to their segments, preprocessed; the
    layout's preset where `settings.preprocess` does not fit), and the preprocessing used."""
    tensors, preprocess, _ = preprocessed_poses(items.rename(columns={"key": "id"}), settings.preprocess, progress)
    matrix = dtw_distance_matrix(tensors, tensors, settings.band, settings.max_frames, progress)
    return matrix, str(preprocess)
