"""The training configuration: `TrainConfig` (YAML plus `--set a.b=value` overrides) and its checks."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from signclip.data.table import TableSource
from signclip.dataclass_config import apply_override as generic_apply_override
from signclip.dataclass_config import check_values, from_mapping, read_config_mapping, upper_bounds
from signclip.errors import ConfigError, SignclipError
from signclip.model.config import (
    RENAMED_KEYS,
    ModelConfig,
    list_models,
    model_config,
    model_directory,
    models_home,
    read_config_file,
)
from signclip.model.identity import DEFAULT_MODEL

LOWER_IS_BETTER = ("MedR",)
MAX_BATCH = 1 << 20
MAX_EPOCHS = 1 << 20
MAX_LR = 1000.0  # also the bound of weight_decay; beyond it (or infinite) training only diverges


class TrainingError(SignclipError):
    """Training cannot start or go on: an empty split, no poses, a checkpoint that does not fit, or a loss
    that is no longer finite."""


@dataclass
class TrainConfig:
    """One training run. `model` is a registered name, a config file, or a mapping with `base:` and
    overrides (see signclip.model.config.model_config); its `input_features` is set from the data.
    `augment` lists training-only transform steps run after the model's own preprocessing. The best
    model is chosen by `val_metric` ("v2t.R@1", "t2v.P@5", "v2t.MedR", ...) on the validation split,
    computed within `val_group_by` groups when set, every `eval_every` epochs. `torch_threads` > 0 sets
    torch's CPU threads (1 is fastest for small models on a busy machine; 0 keeps torch's default).
    `gradient_checkpointing` recomputes the pose encoder's transformer blocks in the backward pass
    instead of storing them: less memory for long poses, the same gradients, more time.

    Fine-tuning: `init_from` names a model (a model directory, the name of one in `models_home()`, or a
    registered name) whose weights the run starts from, text tower and temperature included. `model` may
    then be left out (the init model's config is used, preprocess and prompt included), be a mapping
    without `base` (keys that override the init model's config), or be a whole config; either way its
    architecture must be the init model's (see signclip.train.init). `freeze` names parts of the pose
    tower that keep their weights."""

    model: Any = None  # None: DEFAULT_MODEL, or with init_from the init model's config
    init_from: str | None = None
    freeze: list[str] = field(default_factory=list)
    data: TableSource = field(default_factory=TableSource)
    augment: list = field(default_factory=list)
    output_dir: str = "runs/signclip"
    batch_size: int = 32
    epochs: int = 10
    lr: float = 1e-3
    weight_decay: float = 0.05
    warmup_epochs: float = 1.0
    grad_clip: float = 1.0
    seed: int = 0
    val_metric: str = "v2t.R@1"
    val_group_by: str | None = None
    eval_every: int = 1
    num_workers: int = 0
    torch_threads: int = 0
    amp: bool = True
    gradient_checkpointing: bool = False

    def validate(self) -> None:
        """Raise ConfigError for values out of range or an ambiguous data source."""
        checks = [
            (self.batch_size >= 2, "batch_size", "must be at least 2 (a contrastive batch needs negatives)"),
            (self.epochs >= 1, "epochs", "must be at least 1"),
            (self.lr > 0, "lr", "must be positive"),
            (self.weight_decay >= 0, "weight_decay", "must not be negative"),
            (self.warmup_epochs >= 0, "warmup_epochs", "must not be negative"),
            (self.grad_clip > 0, "grad_clip", "must be positive"),
            (self.eval_every >= 1, "eval_every", "must be at least 1"),
            (self.num_workers >= 0, "num_workers", "must not be negative"),
            (self.torch_threads >= 0, "torch_threads", "must not be negative"),
            (isinstance(self.augment, list), "augment", "must be a list of transform steps"),
            (all(isinstance(name, str) for name in self.freeze), "freeze", "must be a list of pose-tower parts"),
            *upper_bounds(
                self,
                {
                    "batch_size": MAX_BATCH,
                    "epochs": MAX_EPOCHS,
                    "lr": MAX_LR,
                    "weight_decay": MAX_LR,
                    "warmup_epochs": MAX_EPOCHS,
                },
            ),
        ]
        check_values(self, checks, "training config")
        metric_direction(self.val_metric)
        self.data.check("training config")
        self.model_config()

    def model_config(self) -> ModelConfig:
        """The run's model config: the one `model` names (a registered name, a file, or a mapping over a
        `base`; None: DEFAULT_MODEL), or with `init_from` the init model's config, overridden by a `model`
        mapping without `base` or replaced by any other `model`. ConfigError naming the bad key."""
        spec = dict(self.model) if isinstance(self.model, dict) else self.model
        if self.init_from is not None:
            base = init_model_config(self.init_from)
            if spec is None:
                return base
            if isinstance(spec, dict) and "base" not in spec:
                spec["base"] = base
        try:
            return model_config(DEFAULT_MODEL if spec is None else spec)
        except ConfigError as error:
            raise ConfigError(f"training config: model: {str(error).removeprefix('model config: ')}") from None


def init_model_config(source: str) -> ModelConfig:
    """The config of the model `init_from` names: a model directory (also one in `models_home()`) or a
    registered name; ConfigError when it is neither, or a folder without a config.json."""
    directory = model_directory(source)
    if directory is not None:
        if not (directory / "config.json").is_file():
            raise ConfigError(f"training config: init_from {source!r}: not a model directory (no config.json)")
        return read_config_file(directory / "config.json")
    if source in list_models():
        return model_config(source)
    raise ConfigError(
        f"training config: init_from {source!r}: no such model directory, and no model of that name in "
        f"{models_home()} or among the registered ones ({', '.join(list_models())})"
    )


def metric_direction(name: str) -> tuple[str, str]:
    """Split a validation metric name "v2t.R@1" into ("v2t", "R@1"); ConfigError for unknown names."""
    direction, _, key = name.partition(".")
    known = {"t2v": ("P@1", "P@5", "P@10", "MedR"), "v2t": ("R@1", "R@5", "R@10", "MedR")}
    if key not in known.get(direction, ()):
        options = [f"{d}.{k}" for d, keys in known.items() for k in keys]
        raise ConfigError(f"training config: unknown val_metric {name!r}; choose one of {options}")
    return direction, key


def apply_override(data: dict, assignment: str) -> None:
    """Apply one `a.b=value` override to the raw training config mapping in place (see
    `dataclass_config.apply_override`). Setting a key under `model` when `model` is a name turns it into
    {"base": name, key: value}; setting a model key by its former or current name removes the other."""
    renamed = {**RENAMED_KEYS, **{new: old for old, new in RENAMED_KEYS.items()}}
    generic_apply_override(
        data,
        assignment,
        as_section=lambda path, value: {"base": value} if path == "model" and isinstance(value, str) else value,
        replaces={f"model.{key}": f"model.{other}" for key, other in renamed.items()},
    )


def load_train_config(path: str | os.PathLike | None = None, overrides: Sequence[str] = ()) -> TrainConfig:
    """Read a training config from YAML (or start from defaults), apply `--set` overrides, validate."""
    data: dict = {}
    source = "training config"
    if path is not None:
        source = str(path)
        data = read_config_mapping(path, "training config")
    for assignment in overrides:
        apply_override(data, assignment)
    config = from_mapping(TrainConfig, data, source)
    config.validate()
    return config
