"""The re-ranking stage of search: the ANN index's top C candidates re-ordered by DTW on their stored poses.

A pose or video query is preprocessed by its layout's DTW preset (the DTW baseline's: `DTWSettings()`, with
`fitting_preprocess`), and each candidate's pose as DTW compares it comes from the store's
`pose_sequences` (computed from its pose file the first time, then kept). For the training-free index the
order is DTW's alone; for a learned model it is `evaluation.rerank.fused_scores` of the cosine and the
DTW distance at the fusion weight that `signclip search evaluate --rerank dtw` chose for the dataset and
model by cross-fitting (kept in the dataset's metadata), else DEFAULT_WEIGHT, and the answer says which.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pose_format import Pose

from signclip.data.table import read_item_pose
from signclip.errors import PoseLayoutError, SignclipError
from signclip.evaluation.dtw import DTWSettings, dtw_distance_matrix, subsampled_frames
from signclip.evaluation.rerank import Comparison, compare_dataset, fused_scores
from signclip.poses.transforms import Pipeline, PoseTensor
from signclip.poses.transforms.pipeline import layout_name, preprocessed_fitting
from signclip.store.items import DatasetState
from signclip.store.store import Store

DEFAULT_CANDIDATES = 200  # DTW's own top 10 among them for >= 95% of queries on the shared datasets
DEFAULT_WEIGHT = 1.0
METHODS = ("dtw", "none")
DTW = DTWSettings()


class RerankError(SignclipError):
    """Re-ranking that cannot be done: candidates without a pose, or a query of another layout."""


@dataclass(frozen=True)
class Rerank:
    """How a search re-ranks: `method` "dtw" or "none", `candidates` C taken from the ANN index, and a fusion
    `weight` for a learned model (None for either: what `search evaluate --rerank dtw` kept for the dataset
    and model, else DEFAULT_CANDIDATES and DEFAULT_WEIGHT)."""

    method: str = "dtw"
    candidates: int | None = None
    weight: float | None = None

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise SignclipError(f"unknown re-ranking {self.method!r}; use one of {', '.join(METHODS)}")
        if self.candidates is not None and self.candidates < 1:
            raise SignclipError(f"candidates must be at least 1, got {self.candidates}")

    def candidate_count(self, state: DatasetState, model: str, training_free: bool) -> int:
        """C: the options', else (for a learned model) the count kept with its fusion weight, else the default."""
        kept = None if training_free else _kept(state, model)
        return self.candidates or (kept and kept.get("candidates")) or DEFAULT_CANDIDATES


@dataclass
class Reranked:
    """What re-ranking did: the candidates it took, the fusion weight (None: DTW alone) and where it came from,
    the DTW preprocessing, and a note for the reader (C capped to the dataset's size), or ""."""

    candidates: int
    weight: float | None
    weight_source: str
    preset: str
    note: str = ""

    def line(self) -> str:
        """One line for people, e.g. "re-ranked the top 200 candidates by DTW alone (fingerclip)"."""
        how = "DTW alone" if self.weight is None else f"cosine and DTW fused at weight {self.weight:g}"
        source = f"; {self.weight_source}" if self.weight is not None else ""
        note = f"; {self.note}" if self.note else ""
        return f"re-ranked the top {self.candidates} candidates by {how} (DTW on {self.preset} poses{source}){note}"


def fusion_weight(state: DatasetState, model: str, options: Rerank) -> tuple[float, str]:
    """The fusion weight for `model` on the dataset and where it comes from: the options', else the one
    `search evaluate --rerank dtw` stored, else DEFAULT_WEIGHT."""
    if options.weight is not None:
        return options.weight, "weight given"
    stored = _kept(state, model)
    if stored:
        return float(stored["weight"]), f"weight chosen by {stored['chosen_by']}"
    return DEFAULT_WEIGHT, "default weight: not chosen on this dataset yet (signclip search evaluate --rerank dtw)"


def _kept(state: DatasetState, model: str) -> dict | None:
    """What `search evaluate --rerank dtw` kept for `model` on the dataset: {weight, candidates, chosen_by}."""
    return (state.metadata.get("rerank") or {}).get(model)


def rerank(
    store: Store,
    state: DatasetState,
    model: str,
    query: Pose,
    query_dtw: tuple[PoseTensor, str],
    item_ids: np.ndarray,
    similarities: np.ndarray,
    options: Rerank,
    training_free: bool,
) -> tuple[np.ndarray, np.ndarray, Reranked]:
    """Re-order the candidates `item_ids` (C,) (the index's, best first, with their `similarities`) by DTW
    to `query` (`query_dtw`: its `query_sequence`); returns the new order (C,) of positions, the candidates'
    DTW distances (C,) in the given order, and what was done."""
    query_tensor, preset = query_dtw
    sequences = candidate_sequences(store, state, item_ids, preset, query, query_tensor.data.shape[1])
    distances = dtw_distance_matrix([query_tensor], sequences, DTW.band, DTW.max_frames)[0]
    weight, source = (None, "") if training_free else fusion_weight(state, model, options)
    order = np.argsort(-fused_scores(similarities, distances, weight), kind="stable")
    return order, distances.astype(np.float64), Reranked(len(item_ids), weight, source, preset)


def query_sequence(query: Pose) -> tuple[PoseTensor, str]:
    """The query preprocessed by its layout's DTW preset, and that preset."""
    tensor, preset, _ = preprocessed_fitting(DTW.preprocess, query)
    return tensor, str(preset)


def candidate_sequences(
    store: Store, state: DatasetState, item_ids: np.ndarray, preset: str, query: Pose, features: int
) -> list[PoseTensor]:
    """Each candidate's pose as DTW compares it under `preset`: stored, or computed from its pose file and stored.

    RerankError naming the dataset when candidates have no readable pose, or when their layout is not the
    query's (naming both layouts; the query has `features` DTW features).
    """
    stored = store.pose_sequences(item_ids, preset)
    absent = [item for item in item_ids if int(item) not in stored]
    missing = store.items_by_id(absent) if absent else []
    computed, unreadable = [], []
    pipeline = Pipeline.from_config(preset)
    for item in missing:
        try:
            pose = read_item_pose(item.to_dict())
        except SignclipError as error:
            unreadable.append(f"item {item.key!r}: {error}")
            continue
        try:
            computed.append(subsampled_frames(pipeline(pose), DTW.max_frames))
        except PoseLayoutError:
            raise _layout_error(state, query, pose) from None
    if unreadable:
        raise RerankError(
            f"dataset {state.name!r}: {len(unreadable)} of the {len(item_ids)} candidates have no pose to re-rank "
            f"by (e.g. {unreadable[0]}); DTW re-ranking reads the items' pose files (or search without re-ranking)"
        )
    if computed:
        store.add_pose_sequences([item.item_id for item in missing], preset, computed)
        stored |= {item.item_id: sequence for item, sequence in zip(missing, computed, strict=True)}
    found = {stored[int(item)].shape[1] for item in item_ids}
    if found != {features}:
        raise RerankError(
            f"dataset {state.name!r} holds poses of another layout than the query: {sorted(found)} DTW features "
            f"under {preset!r}, the query {features} (the query is {layout_name(query.header)})"
        )
    return [PoseTensor(stored[int(item)], np.ones(len(stored[int(item)]), dtype=bool)) for item in item_ids]


def _layout_error(state: DatasetState, query: Pose, pose: Pose) -> RerankError:
    return RerankError(
        f"dataset {state.name!r} holds poses of another layout than the query: its items are "
        f"{layout_name(pose.header)}, the query is {layout_name(query.header)}"
    )


def compare_and_keep(
    store: Store, dataset: str, model: str, candidates: int, query_split: str | None, folds: int
) -> tuple[Comparison, str]:
    """Compare every method on the dataset (`evaluation.rerank.compare_dataset`; the learned model is `model`
    unless it is the training-free index) and keep the hybrid's weight chosen on all queries with the
    dataset, for `model`'s re-ranked searches; returns the comparison and a line saying what was kept."""
    from signclip.model.config import TRAINING_FREE_MODELS

    learned = None if model in TRAINING_FREE_MODELS else model
    comparison = compare_dataset(store, dataset, learned, candidates, query_split, folds)
    if comparison.weight is None:
        return comparison, ""
    state = store.dataset_state(dataset)
    chosen = dict(state.metadata.get("rerank") or {})
    chosen_by = (
        f"signclip search evaluate --rerank dtw ({folds}-fold cross-fitting on {comparison.queries} queries, "
        f"P@1 and P@10)"
    )
    chosen[model] = {"weight": comparison.weight, "candidates": comparison.hybrid_candidates, "chosen_by": chosen_by}
    store.set_dataset_metadata(dataset, "rerank", chosen)
    kept = f"kept fusion weight {comparison.weight:g} with {comparison.hybrid_candidates} candidates"
    return comparison, f"{kept} for {model!r} on dataset {dataset!r}"
