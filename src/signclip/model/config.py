"""Model configuration as data: dataclasses read from JSON/YAML, and the registry of named models.

A model config names its `architecture`; each architecture is a module of `signclip.model` exposing
`ARCHITECTURE` (an `Architecture`): the dataclass of its `pose_encoder` section and the function that
builds the model. Adding one is a line in ARCHITECTURES. Named models are the JSON files in
`signclip/model/configs/` (one per model, file name = model name).
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import json
import math
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from signclip.data.prompts import resolve_template
from signclip.dataclass_config import check_values, from_mapping, in_range, upper_bounds
from signclip.errors import ConfigError

CONFIGS_DIR = Path(__file__).parent / "configs"
ARCHITECTURES = {"signclip": "signclip.model.signclip", "mmpt": "signclip.model.mmpt"}  # name -> module
LONG_POSE_MODES = ("subsample", "windows")
TEXT_POOLING = ("mean", "cls", "mean_without_cls")
SIMILARITIES = ("cosine", "dot")
# Bounds that keep a config from asking for more memory than a machine has (or an integer overflow):
MAX_SIZE = 1 << 16  # a width, embedding size, feature count or vocabulary
MAX_FRAMES = 1 << 16
MAX_LAYERS = 256
MAX_TOWERS = 64
RENAMED_KEYS = {"embed_dim": "tower_dim"}  # a key of older config files -> its name now


@dataclass(frozen=True)
class Architecture:
    """How a model family plugs in: its `pose_encoder` config dataclass and its builder.

    `build(config, text_source)` returns an untrained `SignCLIP`; `text_source` is None for the
    text encoder named in the config (with its pretrained weights), or a saved model's
    `text_encoder/` folder (structure and tokenizer only; the weights come from model.safetensors).
    """

    pose_encoder_config: type
    build: Callable[..., Any]


def architecture(name: str) -> Architecture:
    """Return the Architecture registered under `name`; ConfigError listing the known ones otherwise."""
    if name not in ARCHITECTURES:
        raise ConfigError(f"unknown architecture {name!r}; known: {sorted(ARCHITECTURES)}")
    return importlib.import_module(ARCHITECTURES[name]).ARCHITECTURE


@dataclass
class TextEncoderConfig:
    """The text tower: a Hugging Face encoder (name or local folder), pooled, then projected.

    `pooling`: `mean` over all tokens, `cls` (the first token), or `mean_without_cls` (the mean over
    the tokens after [CLS], as the original SignCLIP pooled).
    """

    name: str = "all-MiniLM-L6-v2"
    max_length: int = 64
    pooling: str = "mean"


@dataclass
class ModelConfig:
    """Everything needed to rebuild a model: sizes, preprocessing, length handling, prompt template.

    `preprocess` is a preset name or a list of steps for `signclip.poses.transforms.Pipeline`; it must
    produce `input_features` features per frame. Poses longer than `max_frames` are subsampled or
    cut into overlapping windows whose embeddings are averaged (`long_pose`). `prompt` names the text
    template the model was trained with (see signclip.data.prompts). `similarity` is what `score`
    reports: `cosine`, or `dot` (the raw dot product of unnormalized embeddings, as the original SignCLIP
    checkpoints scored; `embed_poses`/`embed_texts` stay L2-normalized either way). `towers` > 1 trains
    that many independent pose towers (each with its own projections) side by side, an ensemble in one
    model: an embedding is the towers' `tower_dim` vectors, each L2-normalized, concatenated and divided
    by sqrt(towers), so it has towers * tower_dim numbers (`SignCLIP.embed_dim`) and similarity is the mean
    of the towers' cosines. Files written before `tower_dim` was named so call it `embed_dim`; both read.
    """

    name: str
    architecture: str = "signclip"
    tower_dim: int = 256
    towers: int = 1
    input_features: int = 609
    preprocess: str | list = "signclip_v1"
    max_frames: int = 256
    long_pose: str = "windows"
    prompt: str = "signclip_v1"
    freeze_text: bool = False
    logit_scale_init: float = math.log(1 / 0.07)
    similarity: str = "cosine"
    pose_encoder: Any = None
    text_encoder: TextEncoderConfig = field(default_factory=TextEncoderConfig)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "model config") -> ModelConfig:
        """Build and validate a config from a mapping; unknown keys or bad values raise ConfigError
        naming `source` and the key."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"{source}: expected a mapping of settings, got {type(data).__name__}")
        with _keys_as_given(data):
            data = _current_keys(data, source)
            pose_encoder = data.pop("pose_encoder", None) or {}  # its dataclass depends on the architecture
            config = from_mapping(cls, data, source, skip={"pose_encoder"})
            pose_config_type = architecture(config.architecture).pose_encoder_config
            config.pose_encoder = from_mapping(pose_config_type, pose_encoder, f"{source}: pose_encoder")
            config.validate(source)
        return config

    def to_dict(self) -> dict[str, Any]:
        """Return the config as plain JSON-ready data (the inverse of from_dict)."""
        return dataclasses.asdict(self)

    def validate(self, source: str = "model config") -> None:
        """Raise ConfigError for values out of range."""
        checks = [
            (self.tower_dim >= 1, "tower_dim", "must be at least 1"),
            (self.towers >= 1, "towers", "must be at least 1"),
            (self.input_features >= 1, "input_features", "must be at least 1"),
            (self.max_frames >= 1, "max_frames", "must be at least 1"),
            *upper_bounds(
                self,
                {"tower_dim": MAX_SIZE, "towers": MAX_TOWERS, "input_features": MAX_SIZE, "max_frames": MAX_FRAMES},
            ),
            (self.long_pose in LONG_POSE_MODES, "long_pose", f"must be one of {list(LONG_POSE_MODES)}"),
            (in_range(self.logit_scale_init, 1e-6, 100), "logit_scale_init", "must be positive (at most 100)"),
            (self.similarity in SIMILARITIES, "similarity", f"must be one of {list(SIMILARITIES)}"),
            (
                in_range(self.text_encoder.max_length, 2, MAX_SIZE),
                "text_encoder.max_length",
                f"must be in [2, {MAX_SIZE}]",
            ),
            (self.text_encoder.pooling in TEXT_POOLING, "text_encoder.pooling", f"must be one of {list(TEXT_POOLING)}"),
            (isinstance(self.preprocess, str | list), "preprocess", "must be a preset name or a list of steps"),
        ]
        check_values(self, checks, source)
        try:
            resolve_template(self.prompt)
        except ConfigError as error:
            raise ConfigError(f"{source}: prompt: {error}") from None
        check = getattr(self.pose_encoder, "validate", None)
        if check:
            check(f"{source}: pose_encoder")


@contextlib.contextmanager
def _keys_as_given(data: Mapping[str, Any]) -> Iterator[None]:
    """Reword a ConfigError raised inside to name a key of `data` set by its former name as the user wrote
    it ("embed_dim (the former name of tower_dim)")."""
    renamed = {RENAMED_KEYS[key]: key for key in data if key in RENAMED_KEYS}
    try:
        yield
    except ConfigError as error:
        message = str(error)
        if "the former name of" in message:  # already names both keys
            raise
        for new, old in renamed.items():
            message = re.sub(rf"\b{new}\b", f"{old} (the former name of {new})", message, count=1)
        raise ConfigError(message) from None


def _current_keys(data: Mapping[str, Any], source: str) -> dict[str, Any]:
    """A copy of a model config mapping with keys of older files renamed (RENAMED_KEYS)."""
    data = dict(data)
    for old, new in RENAMED_KEYS.items():
        if old in data:
            if new in data:
                raise ConfigError(f"{source}: {old!r} is the former name of {new!r}; set only one of them")
            data[new] = data.pop(old)
    return data


# ----------------------------------------------------------------------------- registry


TRAINING_FREE_MODELS = ("pose-dtw",)  # weight-free embedders that load by name (signclip.model.pose_dtw)


def list_models() -> list[str]:
    """Return the names of the registered models (the JSON files in signclip/model/configs/)."""
    return sorted(path.stem for path in CONFIGS_DIR.glob("*.json"))


def models_home() -> Path:
    """Return where named model directories live: `$SIGNCLIP_HOME/models` (default ~/.local/share/signclip/models)."""
    from signclip.home import signclip_home

    return signclip_home() / "models"


def local_model_dir(name: str) -> Path | None:
    """Return `models_home()/name` when it holds a model directory (a config.json), else None."""
    if not name or Path(name).name != name:
        return None
    folder = models_home() / name
    return folder if (folder / "config.json").is_file() else None


def model_directory(path_or_name: str | os.PathLike) -> Path | None:
    """Return the model directory `path_or_name` names: the path itself when it is a folder, else
    `local_model_dir(name)`; None when it is neither (a registered name, a config file, or nothing)."""
    path = Path(path_or_name)
    return path if path.is_dir() else local_model_dir(str(path_or_name))


def read_config_file(path: str | Path) -> ModelConfig:
    """Read a model config from a JSON or YAML file; raises ConfigError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file")
    try:
        text = path.read_text()
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as error:
        raise ConfigError(f"{path}: not a readable JSON/YAML config: {error}") from None
    return ModelConfig.from_dict(data, source=str(path))


def model_config(spec: str | Path | Mapping[str, Any] | ModelConfig) -> ModelConfig:
    """Resolve a model config from a registered name, a JSON/YAML file, a ModelConfig, or a mapping.

    A mapping may hold `base: <name or file>`: its other keys then override the base config
    (nested sections key by key), e.g. `{"base": "signclip-small", "freeze_text": True}`.
    """
    if isinstance(spec, ModelConfig):
        return spec
    if isinstance(spec, Mapping):
        with _keys_as_given(spec):
            data = _current_keys(spec, "model config")
            base = data.pop("base", None)
            if base is not None:
                data = _merge(model_config(base).to_dict(), data)
            return ModelConfig.from_dict(data)
    if isinstance(spec, str) and spec in list_models():
        return read_config_file(CONFIGS_DIR / f"{spec}.json")
    path = Path(spec)
    if path.suffix in (".json", ".yaml", ".yml") and path.is_file():
        return read_config_file(path)
    raise ConfigError(
        f"unknown model {str(spec)!r}; known models: {', '.join(list_models())}, and the training-free "
        f"{', '.join(TRAINING_FREE_MODELS)} (or give a model directory or a .json/.yaml config file)"
    )


def _merge(base: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged
