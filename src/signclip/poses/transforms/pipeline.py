"""The Pipeline: transforms configured by name (TRANSFORMS), named presets (PIPELINE_PRESETS), and the
run of a pose through them into a PoseTensor."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pose_format import Pose
from pose_format.pose_header import PoseHeader

from signclip.errors import ConfigError, PoseLayoutError
from signclip.poses import holistic
from signclip.poses.transforms.augmentation import Affine, Noise
from signclip.poses.transforms.core import PoseTensor, pose_to_tensor
from signclip.poses.transforms.mirroring import DominantHand, Mirror
from signclip.poses.transforms.normalization import (
    Anonymize,
    Center,
    NormalizeHands2D,
    NormalizeHands3D,
    NormalizeShoulders,
    ScaleZ,
)
from signclip.poses.transforms.selection import HideLegs, KeepDims, Select
from signclip.poses.transforms.timing import EvenFrames, FrameDropout, FramesWith, ResampleFPS, Speed

TRANSFORMS: dict[str, type] = {
    "select": Select,
    "hide_legs": HideLegs,
    "normalize_shoulders": NormalizeShoulders,
    "center": Center,
    "normalize_hands_3d": NormalizeHands3D,
    "normalize_hands_2d": NormalizeHands2D,
    "scale_z": ScaleZ,
    "dominant_hand": DominantHand,
    "mirror": Mirror,
    "resample_fps": ResampleFPS,
    "even_frames": EvenFrames,
    "frames_with": FramesWith,
    "anonymize": Anonymize,
    "keep_dims": KeepDims,
    "affine": Affine,
    "speed": Speed,
    "noise": Noise,
    "frame_dropout": FrameDropout,
}

PIPELINE_PRESETS: dict[str, list[dict[str, Any]]] = {
    "signclip_v1": [
        {"name": "hide_legs"},
        {"name": "normalize_shoulders"},
        {"name": "select", "preset": "reduced_face"},
    ],
    # The second dominant_hand step is what `select` with the old preset `dominant_hand` did before
    # selecting: after 3D hand normalization the wrists no longer move, so it mirrors back when the other
    # hand is present in more frames. Kept so that the preset's output is unchanged.
    "fingerclip": [
        {"name": "dominant_hand", "side": "right"},
        {"name": "normalize_hands_3d"},
        {"name": "dominant_hand", "side": "right"},
        {"name": "select", "preset": "right_hand"},
    ],
    # The handshape of the hand present in more frames (mirrored to the right), in 2D image coordinates
    # relative to the wrist and scaled by the hand's mean radius; frames without it dropped, then 12 evenly
    # spaced frames. No 3D normalization: the strongest non-learned DTW baseline on unseen alphabets.
    "handshape_2d": [
        {"name": "dominant_hand", "side": "right", "by": "frames"},
        {"name": "select", "preset": "right_hand"},
        {"name": "keep_dims", "dims": 2},
        {"name": "normalize_hands_2d"},
        {"name": "frames_with", "component": "RIGHT_HAND_LANDMARKS"},
        {"name": "even_frames", "frames": 12},
    ],
    "hands": [
        {"name": "dominant_hand", "side": "right"},
        {"name": "normalize_shoulders"},
        {"name": "select", "preset": "upper_body_hands"},
    ],
    # 2D keypoints without MediaPipe Holistic's components (no shoulders, no z), such as RWTH-BOSTON-104's
    # hands and nose: centred on the nose (or the centroid) and divided by the frame width. layout_preset
    # chooses it for such poses.
    "keypoints_2d": [{"name": "center"}],
    # The released FingerCLIP (rwthfs_scratch_hand_dominant_aug): shoulder normalization of the whole
    # pose, then the right hand as it is (no mirroring, no 3D hand normalization), x, y, z.
    "mmpt_fingerclip": [
        {"name": "normalize_shoulders"},
        {"name": "select", "components": ["RIGHT_HAND_LANDMARKS"]},
    ],
}


def layout_preset(header: PoseHeader) -> str | None:
    """The preset for poses whose layout the Holistic presets cannot read: "keypoints_2d" for 2D points
    without MediaPipe Holistic's body and hands (e.g. RWTH-BOSTON-104's hands and nose); None otherwise."""
    names = {component.name for component in header.components}
    flat = all(len(component.format) <= 3 for component in header.components)  # XYC: two coordinates
    if header.components and flat and not names & {holistic.BODY, *holistic.HANDS}:
        return "keypoints_2d"
    return None


def layout_name(header: PoseHeader) -> str:
    """A pose layout in words, e.g. "MediaPipe Holistic poses (543 points, 3D)" or "2D tracks of 3 points
    (the points, or the first components)": what an error names when two layouts meet."""
    names = [component.name for component in header.components]
    points = sum(len(component.points) for component in header.components)
    dims = max((len(component.format) - 1 for component in header.components), default=0)
    if set(names) & {holistic.BODY, *holistic.HANDS}:
        return f"MediaPipe Holistic poses ({points} points, {dims}D)"
    if points <= 6:
        listed = ", ".join(point for component in header.components for point in component.points)
    else:
        listed = ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")
    return f"{dims}D tracks of {points} points ({listed})"


def fitting_preprocess(config: str | list, pose: Pose) -> tuple[str | list, str | None]:
    """Return (`config`, None) when `config` preprocesses `pose`; else the preset that `pose`'s layout calls
    for (layout_preset) and a note that says why. The PoseLayoutError of `config` when no preset fits."""
    _, chosen, note = preprocessed_fitting(config, pose)
    return chosen, note


def preprocessed_fitting(config: str | list, pose: Pose) -> tuple[PoseTensor, str | list, str | None]:
    """`pose` preprocessed by `config`, or by its layout's preset where `config` does not fit it: returns
    (the tensor, the preprocessing used, a note saying why it is not `config` or None). PoseLayoutError
    of `config` when no preset fits."""
    try:
        return Pipeline.from_config(config)(pose), config, None
    except PoseLayoutError as error:
        chosen = layout_preset(pose.header)
        if chosen is None or chosen == config:
            raise
        note = f"preprocessing {config!r} does not fit these poses ({error}); using {chosen!r}, their layout's preset"
        return Pipeline.from_config(chosen)(pose), chosen, note


def preset_steps(config: str | list[dict[str, Any] | str]) -> list[dict[str, Any] | str]:
    """Return the steps of a preprocessing config: a preset's (PIPELINE_PRESETS) or the list itself."""
    if isinstance(config, str):
        if config not in PIPELINE_PRESETS:
            raise ConfigError(f"unknown preprocessing preset {config!r}; known: {sorted(PIPELINE_PRESETS)}")
        return PIPELINE_PRESETS[config]
    if not isinstance(config, list):
        raise ConfigError(f"preprocessing must be a preset name or a list of steps, got {type(config).__name__}")
    return config


def _written_out(step: dict[str, Any] | str) -> list[dict[str, Any]]:
    """One configured step as step dicts. A `select` of the old preset `dominant_hand` (which mirrored the
    dominant hand to the right before keeping the right hand) becomes those two steps."""
    step = {"name": step} if isinstance(step, str) else dict(step)
    if step.get("name") == "select" and step.get("preset") == "dominant_hand":
        return [{"name": "dominant_hand", "side": "right"}, {**step, "preset": "right_hand"}]
    return [step]


def build_transform(step: dict[str, Any] | str) -> Callable[[Pose, np.random.Generator], Pose]:
    """Build one transform from `{"name": ..., **params}` (or a bare name); unknown names/params are ConfigErrors."""
    if isinstance(step, str):
        step = {"name": step}
    params = dict(step)
    name = params.pop("name", None)
    if name not in TRANSFORMS:
        raise ConfigError(f"unknown transform {name!r}; known: {sorted(TRANSFORMS)}")
    cls = TRANSFORMS[name]
    allowed = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ConfigError(f"transform {name!r} has no parameter(s) {unknown}; it takes {sorted(allowed)}")
    return cls(**params)


@dataclass
class Pipeline:
    """An ordered list of transforms; `pipeline(pose, train, rng) -> PoseTensor`."""

    steps: list[Any] = field(default_factory=list)
    config: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_config(
        cls, config: str | list[dict[str, Any] | str], augment: Sequence[dict[str, Any] | str] = ()
    ) -> Pipeline:
        """Build from a preset name (PIPELINE_PRESETS) or a list of step dicts, followed by the training-only
        `augment` steps (a training config's `augment`)."""
        steps = [_written_out(step) for step in [*preset_steps(config), *augment]]
        steps = [step for group in steps for step in group]
        return cls(steps=[build_transform(step) for step in steps], config=steps)

    def apply(self, pose: Pose, train: bool = False, rng: np.random.Generator | None = None) -> Pose:
        """Run the steps on `pose` (augmentations only with `train`) and return the resulting Pose."""
        if pose.body.data.shape[0] == 0:
            raise PoseLayoutError("the pose has 0 frames; nothing to preprocess")
        rng = rng if rng is not None else np.random.default_rng(0)
        for step in self.steps:
            if step.augmentation and not train:
                continue
            pose = step(pose, rng)
        return pose

    def __call__(self, pose: Pose, train: bool = False, rng: np.random.Generator | None = None) -> PoseTensor:
        """Preprocess `pose` into a PoseTensor (frames, features) with its frame mask."""
        return pose_to_tensor(self.apply(pose, train=train, rng=rng))

    def feature_size(self, pose: Pose) -> int:
        """Return the number of features this pipeline produces for poses shaped like `pose`."""
        return self(pose).data.shape[1]

    def describe(self) -> list[str]:
        """Return one line per step: its name and parameters (for `signclip info` and logs)."""
        lines = []
        for step, config in zip(self.steps, self.config, strict=True):
            params = {k: v for k, v in config.items() if k != "name"}
            tag = " (training only)" if step.augmentation else ""
            lines.append(f"{config['name']}{tag} {params}" if params else f"{config['name']}{tag}")
        return lines
