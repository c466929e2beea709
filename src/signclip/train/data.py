"""Training data: the split manifest, poses held in memory and re-augmented every epoch, and batching."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from pose_format import Pose

from signclip.data.table import load_table
from signclip.errors import ConfigError, naming_the_pose
from signclip.model.signclip import pad_pose_tensors
from signclip.poses.transforms import Pipeline, PoseTensor, fit_length
from signclip.train.config import TrainConfig


def load_training_table(config: TrainConfig, generate: bool = True) -> pd.DataFrame:
    """Return the manifest rows for `config.data`, with the `split` column holding train/val assignments.

    Generated data (`data.synthetic`) is written to OUTPUT_DIR/data when `generate`, else read from there.
    """
    try:
        return load_table(config.data, config.output_dir, generate=generate)
    except ConfigError as error:
        raise ConfigError(f"training config: {error}") from None


class PoseTextDataset(torch.utils.data.Dataset):
    """Poses held in memory, preprocessed afresh at every access: item i -> (PoseTensor, label id).
    `names` (their files) name a pose that the pipeline cannot preprocess.

    The pipeline's leading deterministic steps (up to its first augmentation) run once, here; the
    rest runs at every access. The augmentation of item i in epoch e uses numpy Generator([seed, e, i]),
    so an epoch is the same however it is batched or resumed.
    """

    def __init__(
        self,
        poses: Sequence[Pose],
        names: Sequence[str],
        labels: Sequence[int],
        pipeline: Pipeline,
        max_frames: int,
        seed: int,
    ):
        fixed, self.pipeline = split_pipeline(pipeline)
        self.poses = [naming_the_pose(name, fixed.apply, pose) for pose, name in zip(poses, names, strict=True)]
        self.labels, self.max_frames, self.seed = list(labels), max_frames, seed
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.poses)

    def __getitem__(self, index: int) -> tuple[PoseTensor, int]:
        rng = np.random.default_rng([self.seed, self.epoch, index])
        tensor = self.pipeline(self.poses[index], train=True, rng=rng)
        return fit_length(tensor, self.max_frames, "subsample")[0], self.labels[index]


def split_pipeline(pipeline: Pipeline) -> tuple[Pipeline, Pipeline]:
    """Split a pipeline before its first augmentation step: (deterministic prefix, the rest)."""
    cut = next((i for i, step in enumerate(pipeline.steps) if step.augmentation), len(pipeline.steps))
    return (
        Pipeline(pipeline.steps[:cut], pipeline.config[:cut]),
        Pipeline(pipeline.steps[cut:], pipeline.config[cut:]),
    )


def collate(items: list[tuple[PoseTensor, int]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Batch items into frames (B, T, F), mask (B, T) and label ids (B,)."""
    frames, mask = pad_pose_tensors([tensor for tensor, _ in items])
    return frames, mask, torch.tensor([label for _, label in items])
