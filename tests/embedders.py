"""Embedders for the tests that index and search without the neural model."""

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
