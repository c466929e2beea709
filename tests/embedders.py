"""Embedders and models for the tests that index and search: a non-learned pose embedder, a tiny saved
SignCLIP model, and indexing a table through the library's door."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pose_format import Pose


class PoseStatisticsEmbedder:
    """A real, non-learned pose embedder: per-point mean and spread of the coordinates over time,
    projected to `embed_dim` by a fixed random matrix and L2-normalized."""

    def __init__(self, name: str = "pose-statistics", embed_dim: int = 24, seed: int = 0) -> None:
        self.name = name
        self.embed_dim = embed_dim
        self.calls = 0
        self._seed = seed

    def features(self, pose: Pose) -> np.ndarray:
        data = np.ma.getdata(pose.body.data)[:, 0, :, :2].astype(np.float64)
        return np.concatenate([data.mean(axis=0).ravel(), data.std(axis=0).ravel()])

    def embed_poses(self, poses: Sequence[Pose], batch_size: int = 32) -> np.ndarray:
        self.calls += 1
        features = np.stack([self.features(pose) for pose in poses])
        projection = np.random.default_rng(self._seed).normal(size=(features.shape[1], self.embed_dim))
        vectors = (features - features.mean(axis=1, keepdims=True)) @ projection
        return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def index_table(store, dataset, table, model, options=None, engine=None, **settings):
    """Index `table` into `dataset` through the library's door (validate the request, then index_items);
    `settings` are IndexOptions fields that replace those of `options`."""
    import dataclasses

    from signclip.search.request import IndexOptions, validate_index_request
    from signclip.search.service import index_items

    options = dataclasses.replace(options or IndexOptions(), **settings)
    return index_items(store, validate_index_request(dataset, table, model, options), engine)


def save_tiny_model(folder, text_folder, name: str, embed_dim: int):
    """A tiny untrained signclip-small (one layer, `embed_dim`-d vectors, text tower from `text_folder`), saved."""
    from signclip.model.hub import create_model, save_model

    model = create_model(
        {
            "base": "signclip-small",
            "name": name,
            "tower_dim": embed_dim,
            "max_frames": 64,
            "pose_encoder": {"width": 32, "layers": 1, "heads": 2, "conv_blocks": 1},
            "text_encoder": {"name": str(text_folder), "max_length": 32},
        }
    )
    return save_model(model, folder / f"{name}-{embed_dim}")
