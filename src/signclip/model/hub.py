"""Creating, saving and loading models.

A model directory holds `config.json` (the ModelConfig), `model.safetensors` (every weight, text
tower included), `text_encoder/` (the text transformer's config and tokenizer files, so it loads
offline whatever text model it was built from) and `provenance.json` (how the weights came to be:
`signclip.model.identity.Provenance`; a directory without one loads with provenance "unknown") and
`fingerprint.json` (the weights' SHA-256 with the size and modification time of `model.safetensors`, so a
load need not hash the weights again; a directory without it, or whose weights file changed, is hashed
when a fingerprint is asked for). A
text encoder of any architecture therefore provides `save_structure(folder)`, and the architecture's
`build(config, text_source=folder)` reads it back.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from safetensors.torch import save as safetensors_bytes

from signclip.errors import ModelFileError
from signclip.model.config import ModelConfig, architecture, model_config, model_directory, read_config_file
from signclip.model.identity import PROVENANCE_FILE, Provenance, weights_fingerprint
from signclip.model.pose_dtw import NAME as POSE_DTW
from signclip.model.pose_dtw import PoseDTWIndex
from signclip.model.signclip import SignCLIP
from signclip.poses.io import write_bytes_atomically

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
TEXT_FOLDER = "text_encoder"
FINGERPRINT_FILE = "fingerprint.json"
SHOWN_KEYS = 8


def create_model(
    spec: str | Path | Mapping[str, Any] | ModelConfig, seed: int = 0, device: str | torch.device = "cpu"
) -> SignCLIP:
    """Build an untrained model from a registered name, config file, mapping or ModelConfig.

    The pose tower is initialised from `seed` (the global torch RNG is left untouched); the text tower
    starts from its pretrained weights. Returned in eval mode.
    """
    config = model_config(spec)
    build = architecture(config.architecture).build
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build(config)
    return model.to(device).eval()


def save_model(model: SignCLIP, directory: str | os.PathLike) -> Path:
    """Write `model` to `directory` (config.json, model.safetensors, text_encoder/, and `model.provenance`
    as provenance.json); returns the path.

    Each file is replaced atomically and config.json is written last, so an interrupted save never
    leaves a directory that looks complete.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {key: value.detach().cpu().contiguous().clone() for key, value in model.state_dict().items()}
    write_bytes_atomically(safetensors_bytes(tensors, metadata={"format": "pt"}), directory / WEIGHTS_FILE)
    _write_fingerprint(directory, weights_fingerprint(tensors))
    staging = Path(tempfile.mkdtemp(dir=directory, prefix=f".{TEXT_FOLDER}."))
    try:
        model.text_encoder.save_structure(staging)
        _replace_folder(staging, directory / TEXT_FOLDER)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    provenance_text = json.dumps(model.provenance.to_dict(), indent=2) + "\n"
    write_bytes_atomically(provenance_text.encode(), directory / PROVENANCE_FILE)
    config_text = json.dumps(model.config.to_dict(), indent=2) + "\n"
    write_bytes_atomically(config_text.encode(), directory / CONFIG_FILE)
    return directory


def _write_fingerprint(directory: Path, sha256: str) -> None:
    """Record the weights' fingerprint with the weights file's size and modification time."""
    stat = (directory / WEIGHTS_FILE).stat()
    record = {"sha256": sha256, "weights_bytes": stat.st_size, "weights_mtime_ns": stat.st_mtime_ns}
    write_bytes_atomically((json.dumps(record) + "\n").encode(), directory / FINGERPRINT_FILE)


def read_fingerprint(directory: Path) -> str | None:
    """The fingerprint recorded for a model directory's weights, or None when there is none or the weights
    file is no longer the one it was recorded for (another size or modification time)."""
    try:
        record = json.loads((directory / FINGERPRINT_FILE).read_text())
        stat = (directory / WEIGHTS_FILE).stat()
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict):
        return None
    if (record.get("weights_bytes"), record.get("weights_mtime_ns")) != (stat.st_size, stat.st_mtime_ns):
        return None
    sha256 = record.get("sha256")
    return sha256 if isinstance(sha256, str) and len(sha256) == 64 else None


def _replace_folder(new: Path, target: Path) -> None:
    """Put folder `new` at `target`, removing the old one only once the new one is in place."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
    new.rename(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def load_model(path_or_name: str | os.PathLike, device: str | torch.device = "cpu") -> SignCLIP | PoseDTWIndex:
    """Load a model directory, a model directory named so in `models_home()` (e.g. a converted
    `signclip-e7.2`), the training-free index `pose-dtw` (signclip.model.pose_dtw), or else create the
    untrained registered model of that name; eval mode.

    Raises ModelFileError for a directory with missing files or missing, unexpected or wrong-shaped
    weights (naming the keys), ConfigError for an unknown name (listing the known names).
    """
    path = model_directory(path_or_name)
    if path is not None:
        return _load_directory(path).to(device).eval()
    if str(path_or_name) == POSE_DTW:
        return PoseDTWIndex()
    return create_model(path_or_name, device=device)


def _load_directory(directory: Path) -> SignCLIP:
    for name in (CONFIG_FILE, WEIGHTS_FILE, TEXT_FOLDER):
        if not (directory / name).exists():
            raise ModelFileError(f"{directory}: not a model directory, {name} is missing")
    config = read_config_file(directory / CONFIG_FILE)
    model = architecture(config.architecture).build(config, text_source=directory / TEXT_FOLDER)
    try:
        weights = load_file(directory / WEIGHTS_FILE)
    except (SafetensorError, OSError) as error:
        raise ModelFileError(f"{directory / WEIGHTS_FILE}: not a readable safetensors file: {error}") from None
    check_weights(model.state_dict(), weights, str(directory / WEIGHTS_FILE))
    model.load_state_dict(weights)
    model.provenance = read_provenance(directory)
    model.known_fingerprint = read_fingerprint(directory)
    return model


def read_provenance(directory: Path) -> Provenance:
    """The provenance.json of a model directory; Provenance("unknown") when it has none."""
    path = directory / PROVENANCE_FILE
    if not path.is_file():
        return Provenance("unknown")
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ModelFileError(f"{path}: not a readable JSON file: {error}") from None
    return Provenance.from_dict(data, str(path))


def check_weights(expected: Mapping[str, torch.Tensor], found: Mapping[str, torch.Tensor], source: str) -> None:
    """Raise ModelFileError naming the keys of `found` that are missing, unexpected or of the wrong shape."""
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    wrong_shape = [
        f"{key} {tuple(found[key].shape)} != {tuple(expected[key].shape)}"
        for key in sorted(set(expected) & set(found))
        if found[key].shape != expected[key].shape
    ]
    problems = [
        f"{len(keys)} {label} ({', '.join(keys[:SHOWN_KEYS])}{', ...' if len(keys) > SHOWN_KEYS else ''})"
        for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong-shaped", wrong_shape))
        if keys
    ]
    if problems:
        raise ModelFileError(f"{source}: weights do not fit the model config: " + "; ".join(problems))
