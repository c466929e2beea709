"""Augmentations in space: the affine and noise steps (training only)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from pose_format import Pose

from signclip.poses.transforms.core import Arrays, PointsTransform, present_mask


@dataclass(frozen=True)
class Affine(PointsTransform):
    """Augmentation: random 2D rotation (radians), shear and scale, each ~ N(0, std), about the pose centre."""

    rotation_std: float = 0.2
    shear_std: float = 0.2
    scale_std: float = 0.2
    augmentation: ClassVar[bool] = True

    def points(self, data: np.ndarray, confidence: np.ndarray, pose: Pose, rng: np.random.Generator) -> Arrays:
        angle = rng.normal(0, self.rotation_std)
        shear = rng.normal(0, self.shear_std)
        scale = 1 + rng.normal(0, self.scale_std, size=2)
        rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        matrix = rotation @ np.array([[1, shear], [0, 1]]) @ np.diag(scale)
        visible = present_mask(confidence)
        center = data[visible][:, :2].mean(axis=0) if visible.any() else np.zeros(2)
        data[..., :2] = (data[..., :2] - center) @ matrix.T + center
        return data * visible[..., None], confidence


@dataclass(frozen=True)
class Noise(PointsTransform):
    """Augmentation: add Gaussian noise of standard deviation `std` to every visible coordinate."""

    std: float = 0.01
    augmentation: ClassVar[bool] = True

    def points(self, data: np.ndarray, confidence: np.ndarray, pose: Pose, rng: np.random.Generator) -> Arrays:
        data = data + rng.normal(0, self.std, size=data.shape).astype(np.float32)
        return data * (confidence[..., None] > 0), confidence
