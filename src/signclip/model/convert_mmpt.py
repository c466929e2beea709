"""Import an original SignCLIP checkpoint (fairseq/MMPT) into a model directory, and find named models.

    signclip convert-mmpt checkpoint_best.pt --config signclip-e7.2 --tokenizer bert-base-cased

The fairseq checkpoint is a torch pickle whose "model" entry is the state dict of MMPT's
`MMFusionSeparate` (keys prefixed `mmmodel.` by fairseq's wrapper). Every tensor maps by name:
`video_encoder.*` -> `pose_encoder.*` and `text_encoder.*` -> `text_encoder.model.*`. Unlike the
original's `load_state_dict(strict=False)`, nothing is left randomly initialised: a checkpoint with a
missing, unexpected or wrong-shaped tensor is refused, naming the tensors, and no model is written.
"""

from __future__ import annotations

import argparse
import pickle
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from signclip.errors import ConfigError, SignclipError
from signclip.model.config import (
    ModelConfig,
    architecture,
    list_models,
    local_model_dir,
    model_config,
    models_home,
    read_config_file,
)
from signclip.model.hub import check_weights, save_model
from signclip.model.identity import Provenance, utc_now
from signclip.model.mmpt import RELEASES, how_to_get

FAIRSEQ_PREFIX = "mmmodel."  # fairseq's FairseqMMModel wraps the MMPT model as `mmmodel`
RENAMES = (("video_encoder.", "pose_encoder."), ("text_encoder.", "text_encoder.model."))  # original -> ours
# Buffers that transformers < 4.31 saved with BERT weights; they hold fixed values and are rebuilt here.
DERIVED_BUFFERS = {".embeddings.position_ids": "0, 1, 2, ...", ".embeddings.token_type_ids": "zeros"}


class CheckpointError(SignclipError):
    """An original checkpoint that cannot be read or does not hold an MMPT model's weights."""


class _Placeholder:
    """Stands in for the checkpoint's non-tensor objects (training arguments, numpy scalars, fairseq or
    omegaconf classes) while reading with weights_only=True: takes whatever pickle gives it, runs nothing."""

    def __new__(cls, *args: Any, **kwargs: Any) -> _Placeholder:
        return object.__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        pass


def read_checkpoint(path: str | Path, trust_checkpoint: bool = False) -> Any:
    """Read a torch checkpoint without running code stored in it; returns the unpickled object.

    First `torch.load(weights_only=True)` with argparse.Namespace allowed (fairseq stores its arguments
    as one); if other Python objects block that, they are read as inert placeholders (only the tensors
    matter). Only with `trust_checkpoint` does a file that still fails get a full unpickling
    (weights_only=False), which can run code from the file. Raises CheckpointError naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        pass  # other objects besides tensors: read them as placeholders below
    except (RuntimeError, OSError, EOFError, ValueError) as error:
        raise CheckpointError(f"{path}: not a readable torch checkpoint: {error}") from None
    try:
        others = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    except (RuntimeError, OSError, ValueError) as error:
        if not trust_checkpoint:
            raise CheckpointError(
                f"{path}: not a checkpoint in the zip format torch.save writes ({_first_line(error)}); an "
                "older-format file from a source you trust can be read with --trust-checkpoint"
            ) from None
        others = None
    if others is not None:
        allowed = [argparse.Namespace, *((_Placeholder, name) for name in others if name != "argparse.Namespace")]
        try:
            with torch.serialization.safe_globals(allowed):
                return torch.load(path, map_location="cpu", weights_only=True)
        except (pickle.UnpicklingError, RuntimeError, OSError, EOFError, ValueError, TypeError) as error:
            if not trust_checkpoint:
                raise CheckpointError(
                    f"{path}: cannot be read with weights_only=True ({_first_line(error)}). If the file comes "
                    "from a source you trust (the SignCLIP release), retry with --trust-checkpoint: full "
                    "unpickling (weights_only=False) can run code stored in the file"
                ) from None
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except ModuleNotFoundError as error:
        raise CheckpointError(
            f"{path}: unpickling needs the Python module {error.name!r}, which is not installed "
            "(fairseq checkpoints may refer to fairseq or omegaconf classes); install it and retry"
        ) from None
    except (pickle.UnpicklingError, RuntimeError, OSError, EOFError, ValueError, AttributeError) as error:
        raise CheckpointError(f"{path}: not a readable torch checkpoint: {_first_line(error)}") from None


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def original_state_dict(checkpoint: Any, source: str) -> dict[str, torch.Tensor]:
    """Return the MMPT state dict held by an unpickled checkpoint, without fairseq's `mmmodel.` prefix.

    Accepts a fairseq checkpoint ({"model": state dict, ...}), {"state_dict": ...}, or a bare state dict.
    """
    state = checkpoint
    for key in ("model", "state_dict"):
        if isinstance(state, Mapping) and isinstance(state.get(key), Mapping):
            state = state[key]
            break
    if not isinstance(state, Mapping) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        keys = sorted(map(str, checkpoint))[:10] if isinstance(checkpoint, Mapping) else type(checkpoint).__name__
        raise CheckpointError(
            f"{source}: holds no state dict of tensors (a fairseq checkpoint keeps it under 'model'); found {keys}"
        )
    return {key.removeprefix(FAIRSEQ_PREFIX): tensor for key, tensor in state.items()}


def to_ours(key: str) -> str | None:
    """Map an original key (`video_encoder.bert...`) to ours (`pose_encoder.bert...`); None if foreign."""
    for original, ours in RENAMES:
        if key.startswith(original):
            return ours + key.removeprefix(original)
    return None


def to_original(key: str) -> str | None:
    """Map one of our keys back to the original's; None for our own additions (e.g. `logit_scale`)."""
    for original, ours in RENAMES:
        if key.startswith(ours):
            return original + key.removeprefix(ours)
    return None


def drop_derived_buffers(state: Mapping[str, torch.Tensor], source: str) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Return (state without BERT's saved position/token-type id buffers, the dropped keys).

    Raises CheckpointError if such a buffer does not hold the fixed values it is rebuilt with.
    """
    kept, dropped = {}, []
    for key, tensor in state.items():
        suffix = next((s for s in DERIVED_BUFFERS if key.endswith(s)), None)
        if suffix is None:
            kept[key] = tensor
            continue
        length = tensor.shape[-1] if tensor.dim() else 0
        fixed = torch.arange(length) if suffix.endswith("position_ids") else torch.zeros(length, dtype=torch.long)
        if tensor.dim() == 0 or not bool((tensor.reshape(-1, length).long() == fixed).all()):
            raise CheckpointError(f"{source}: buffer {key} should hold {DERIVED_BUFFERS[suffix]}; it does not")
        dropped.append(key)
    return kept, dropped


@dataclass(frozen=True)
class ConversionReport:
    """What `convert_checkpoint` did: where it wrote, how many tensors and parameters it mapped."""

    output: Path
    tensors: int
    parameters: int
    source_dtypes: tuple[str, ...]
    dropped_buffers: tuple[str, ...]
    kept_initial: tuple[str, ...]

    def lines(self) -> list[str]:
        """Return the report as lines of text for the CLI."""
        lines = [
            f"mapped {self.tensors} tensors ({self.parameters:,} parameters, stored as "
            f"{'/'.join(self.source_dtypes)}, now float32); none missing, none unexpected",
        ]
        if self.dropped_buffers:
            lines.append(f"dropped {len(self.dropped_buffers)} saved id buffers (fixed values, rebuilt on load)")
        if self.kept_initial:
            lines.append(f"not in the original, left at their initial value: {', '.join(self.kept_initial)}")
        lines.append(f"wrote {self.output}")
        return lines


def prepare_text_folder(config: ModelConfig, tokenizer: str | None, folder: Path) -> None:
    """Write the text tower's Hugging Face config (from `text_encoder.name`) and the tokenizer (from
    `tokenizer`, default the same name) into `folder`; no weights are downloaded.

    Raises ConfigError when either cannot be loaded, and when the tokenizer's vocabulary does not fit
    the text tower (e.g. an uncased tokenizer for a cased model).
    """
    from transformers import AutoConfig, AutoTokenizer

    name, tokenizer = config.text_encoder.name, tokenizer or config.text_encoder.name
    try:
        text_config = AutoConfig.from_pretrained(name)
        text_tokenizer = AutoTokenizer.from_pretrained(tokenizer)
    except (OSError, ValueError) as error:
        raise ConfigError(
            f"cannot load the text tower config {name!r} or the tokenizer {tokenizer!r} (a Hugging Face name "
            f"needs internet once; a local folder needs config.json and the tokenizer files): {_first_line(error)}"
        ) from None
    if len(text_tokenizer) != text_config.vocab_size:
        raise ConfigError(
            f"tokenizer {tokenizer!r} has {len(text_tokenizer)} tokens but the text tower {name!r} has "
            f"{text_config.vocab_size}: it is not that model's tokenizer (cased vs. uncased?)"
        )
    text_config.save_pretrained(folder)
    text_tokenizer.save_pretrained(folder)


def convert_checkpoint(
    checkpoint: str | Path,
    config: str | Path | Mapping[str, Any] | ModelConfig,
    output: str | Path | None = None,
    tokenizer: str | None = None,
    trust_checkpoint: bool = False,
) -> ConversionReport:
    """Convert an original SignCLIP checkpoint into a model directory that `load_model` reads.

    `config` is an `mmpt` model config (a registered name such as `signclip-e7.2`, a file or a mapping);
    `output` defaults to `models_home()/<config name>`, where `load_model(<name>)` finds it. Raises
    CheckpointError for an unreadable checkpoint, ModelFileError naming missing, unexpected or
    wrong-shaped tensors, ConfigError for a bad config or tokenizer; nothing is written on failure.
    """
    config = model_config(config)
    if config.architecture != "mmpt":
        raise ConfigError(f"model config {config.name!r} has architecture {config.architecture!r}; need 'mmpt'")
    output = Path(output) if output is not None else models_home() / config.name
    if output.is_file() or (output.is_dir() and any(output.iterdir()) and not (output / "config.json").is_file()):
        raise ConfigError(f"{output}: exists and is not a model directory; choose another output")
    original = original_state_dict(read_checkpoint(checkpoint, trust_checkpoint), str(checkpoint))
    found, dropped = drop_derived_buffers(original, str(checkpoint))
    with tempfile.TemporaryDirectory(prefix="signclip-text-") as folder:
        prepare_text_folder(config, tokenizer, Path(folder))
        model = architecture(config.architecture).build(config, text_source=folder)
    ours = model.state_dict()
    expected = {to_original(key): value for key, value in ours.items() if to_original(key)}
    check_weights(expected, found, str(checkpoint))
    weights = {to_ours(key): tensor.to(ours[to_ours(key)].dtype) for key, tensor in found.items()}
    kept_initial = sorted(key for key in ours if to_original(key) is None)
    model.load_state_dict(weights | {key: ours[key] for key in kept_initial}, strict=True)
    model.provenance = Provenance("converted", checkpoint=str(Path(checkpoint).resolve()), created=utc_now())
    save_model(model.eval(), output)
    return ConversionReport(
        output=output,
        tensors=len(weights),
        parameters=sum(tensor.numel() for tensor in weights.values()),
        source_dtypes=tuple(sorted({str(tensor.dtype).removeprefix("torch.") for tensor in found.values()})),
        dropped_buffers=tuple(dropped),
        kept_initial=tuple(kept_initial),
    )


# ----------------------------------------------------------------------------- where named models are


@dataclass(frozen=True)
class ModelLocation:
    """One entry of `signclip models`: a name, its architecture, and where it is or how to get it."""

    name: str
    architecture: str
    status: str  # local | untrained | missing
    path: Path | None = None
    hint: str = ""


def model_locations(names: list[str] | None = None) -> list[ModelLocation]:
    """Describe the registered models and the model directories in `models_home()` (or only `names`).

    Status `local`: a model directory there, which `load_model(name)` loads; `untrained`: a registered
    config that `load_model` builds with untrained pose-tower weights; `missing`: an original checkpoint
    not yet converted, with `hint` saying where to download it and the `convert-mmpt` command. An
    unknown name raises ConfigError.
    """
    home = models_home()
    local = sorted(p.name for p in home.iterdir() if local_model_dir(p.name)) if home.is_dir() else []
    locations = []
    for name in names if names is not None else sorted(set(list_models()) | set(local)):
        folder = local_model_dir(name)
        if folder is not None:
            config = read_config_file(folder / "config.json")
            locations.append(ModelLocation(name, config.architecture, "local", path=folder))
        elif model_config(name).architecture == "mmpt" or name in RELEASES:
            locations.append(ModelLocation(name, "mmpt", "missing", hint=how_to_get(name)))
        else:
            locations.append(ModelLocation(name, model_config(name).architecture, "untrained"))
    return locations
