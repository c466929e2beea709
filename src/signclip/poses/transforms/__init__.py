"""Preprocessing: small composable pose transforms configured by name, and the Pipeline that runs them.

A transform takes a Pose and a numpy Generator and returns a new Pose (first person only). A
Pipeline runs its steps in order (augmentations only when `train=True`) and flattens the result
into a `PoseTensor`: float32 `(frames, points * dims)` plus a boolean frame mask, missing points zero.

Configuration is data: a preset name (PIPELINE_PRESETS) or a list of `{"name": ..., **params}`.
Modules: `core` (PoseTensor, length, cropping, helpers), `selection`, `normalization`, `mirroring`,
`timing`, `augmentation`, and `pipeline`; the names below are importable from here.
"""

from signclip.poses.transforms.augmentation import Affine, Noise
from signclip.poses.transforms.core import PoseTensor, crop_pose, fit_length, pose_to_tensor
from signclip.poses.transforms.mirroring import DominantHand, Mirror, hand_activity, mirror_pose
from signclip.poses.transforms.normalization import (
    Anonymize,
    Center,
    NormalizeHands3D,
    NormalizeShoulders,
    ScaleZ,
    anonymize_pose,
)
from signclip.poses.transforms.pipeline import (
    PIPELINE_PRESETS,
    TRANSFORMS,
    Pipeline,
    build_transform,
    fitting_preprocess,
    layout_preset,
)
from signclip.poses.transforms.selection import HideLegs, KeepDims, Select, component_preset, select_points
from signclip.poses.transforms.timing import FrameDropout, ResampleFPS, Speed

__all__ = [
    "PIPELINE_PRESETS",
    "TRANSFORMS",
    "Affine",
    "Anonymize",
    "Center",
    "DominantHand",
    "FrameDropout",
    "HideLegs",
    "KeepDims",
    "Mirror",
    "Noise",
    "NormalizeHands3D",
    "NormalizeShoulders",
    "Pipeline",
    "PoseTensor",
    "ResampleFPS",
    "ScaleZ",
    "Select",
    "Speed",
    "anonymize_pose",
    "build_transform",
    "component_preset",
    "crop_pose",
    "fit_length",
    "fitting_preprocess",
    "hand_activity",
    "layout_preset",
    "mirror_pose",
    "pose_to_tensor",
    "select_points",
]
