"""Holding recordings out: one seeded validation part, or K seeded folds (a cross-fitted ensemble), and
the (train, validation, seed) plan of each ensemble member."""

from __future__ import annotations

import numpy as np

from signclip.segment.recordings import Recording
from signclip.train.config import TrainingError
from signclip.train.tagger.config import SegmentTrainConfig


def split_recordings(recordings: list[Recording], fraction: float, seed: int) -> tuple[list, list]:
    """Divide recordings into (train, validation) by a seeded shuffle; at least one of each."""
    if len(recordings) < 2:
        raise TrainingError(f"need at least 2 recordings to train and validate, got {len(recordings)}")
    order = np.random.default_rng(seed).permutation(len(recordings))
    count = min(len(recordings) - 1, max(1, round(len(recordings) * fraction)))
    val = {int(i) for i in order[:count]}
    return [r for i, r in enumerate(recordings) if i not in val], [r for i, r in enumerate(recordings) if i in val]


def fold_recordings(recordings: list[Recording], folds: int, seed: int) -> list[list[Recording]]:
    """Divide recordings into `folds` parts of near-equal size by a seeded shuffle."""
    if len(recordings) < folds:
        raise TrainingError(f"need at least {folds} recordings for {folds} folds, got {len(recordings)}")
    order = np.random.default_rng(seed).permutation(len(recordings))
    return [[recordings[int(i)] for i in part] for part in np.array_split(order, folds)]


def member_plans(config: SegmentTrainConfig, recordings: list[Recording]) -> list[tuple[list, list, int]]:
    """(train recordings, validation recordings, seed) of each ensemble member: one per fold with `folds`,
    else `tagger.members` seeds on one validation split."""
    if config.folds:
        parts = fold_recordings(recordings, config.folds, config.seed)
        return [
            ([r for j, part in enumerate(parts) if j != k for r in part], parts[k], config.seed + k)
            for k in range(config.folds)
        ]
    train, val = split_recordings(recordings, config.val_fraction, config.seed)
    return [(train, val, config.seed + k) for k in range(config.tagger.members)]
