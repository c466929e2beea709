"""The tagger training configuration: `SegmentTrainConfig` (YAML plus `--set a.b=value` overrides, parsed
by the same machinery as the contrastive training config), its checks, and the recordings it names."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from signclip.dataclass_config import apply_override, from_mapping, read_config_mapping
from signclip.errors import ConfigError
from signclip.segment.recordings import Recording, recordings_from_manifest
from signclip.segment.tagger import TaggerConfig
from signclip.train.tagger.augment import AugmentConfig


@dataclass
class SegmentTrainConfig:
    """A tagger training run. Data: `manifest` (CSV/Parquet), or `dataset` + `root` (an adapter)."""

    output_dir: str
    manifest: str = ""
    dataset: str = ""
    root: str = ""
    train_splits: list[str] = field(default_factory=lambda: ["train"])
    val_fraction: float = 0.15
    folds: int = 0
    sentence_gap_ms: float = 1000.0
    seed: int = 0
    epochs: int = 60
    batch_size: int = 8
    learning_rate: float = 0.002
    weight_decay: float = 0.0001
    b_weight: float = 2.0
    sentence_weight: float = 0.3
    init_from: str = ""
    max_minutes: float = 5.0
    threads: int = 1
    thresholds: list[float] = field(default_factory=lambda: [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0])
    peak_heights: list[float] = field(default_factory=lambda: [5.0, 10.0, 15.0, 20.0, 30.0, 40.0])
    peak_distances: list[int] = field(default_factory=lambda: [2, 3, 4, 5, 6])
    tagger: TaggerConfig = field(default_factory=TaggerConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)

    def validate(self) -> None:
        """Raise ConfigError for settings that cannot work together."""
        if bool(self.manifest) == bool(self.dataset):
            raise ConfigError("segment training config: give either manifest or dataset (+ root)")
        if self.dataset and not self.root:
            raise ConfigError("segment training config: dataset needs root")
        if not 0 < self.val_fraction < 1:
            raise ConfigError(f"segment training config: val_fraction must be in (0, 1), got {self.val_fraction}")
        if self.folds == 1 or self.folds < 0:
            raise ConfigError(f"segment training config: folds must be 0 (use val_fraction) or >= 2, got {self.folds}")
        if self.folds and self.tagger.members not in (1, self.folds):
            raise ConfigError(
                f"segment training config: with folds {self.folds} the ensemble has one member per fold; "
                f"leave tagger.members at 1 or set it to {self.folds} (got {self.tagger.members})"
            )
        if self.init_from not in ("", "dgs-2023"):
            raise ConfigError(f"segment training config: init_from must be '' or 'dgs-2023', got {self.init_from!r}")
        if self.init_from == "dgs-2023":
            t = self.tagger
            if (t.features, t.hidden_size, t.num_layers) != ("holistic-75", 256, 1):
                raise ConfigError(
                    "init_from: dgs-2023 needs the dgs-2023 input and shape: tagger.features holistic-75, "
                    f"hidden_size 256, num_layers 1 (got {t.features}, {t.hidden_size}, {t.num_layers})"
                )


def load_segment_train_config(
    path: str | os.PathLike, overrides: list[str] | tuple[str, ...] = ()
) -> SegmentTrainConfig:
    """Read a segment training config (YAML), apply `--set` overrides, validate."""
    data = read_config_mapping(path, "segment training config")
    for assignment in overrides:
        apply_override(data, assignment)
    config = from_mapping(SegmentTrainConfig, data, str(path))
    config.validate()
    return config


def load_recordings(config: SegmentTrainConfig, splits: tuple[str, ...]) -> list[Recording]:
    """The recordings of `splits` from the config's manifest or dataset adapter (poses written under
    OUTPUT_DIR/poses for adapters that write them)."""
    if config.manifest:
        table: Any = config.manifest
    else:
        from signclip.data.datasets import prepare_dataset

        table = prepare_dataset(config.dataset, config.root, work_dir=Path(config.output_dir) / "poses")
    return recordings_from_manifest(table, splits, config.sentence_gap_ms)
