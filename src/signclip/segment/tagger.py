"""Trainable per-frame BIO taggers (sign and sentence heads) and their model directories.

A tagger directory holds `config.json` (a TaggerConfig, and what it was trained on) and
`model.safetensors` (the BIOTagger weights, plus `feature_mean`/`feature_std` for input standardization).
A tagger of `members` > 1 is an ensemble: that many BIOTaggers (weights `members.K.*`) whose
per-frame probabilities are averaged before decoding; `mirror_average` averages them with the
probabilities of the left-right mirrored input too.
Inputs ("features"):
- `hands`: `features.frame_features` of the hand tracks (any layout with hands, 2D is enough);
- `holistic-75`: the dgs-2023 input (75 Holistic body and hand points, x y z), so a tagger can start
  from the dgs-2023 weights (`init_from: dgs-2023`).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pose_format import Pose
from safetensors import SafetensorError
from safetensors.torch import load_file
from safetensors.torch import save as safetensors_bytes
from torch import nn

from signclip.dataclass_config import from_mapping
from signclip.errors import ConfigError, ModelFileError
from signclip.poses.io import write_bytes_atomically
from signclip.segment.base import Segmenter
from signclip.segment.decoding import DecodingConfig, decode, peak_decode, spans_to_segments, threshold_decode
from signclip.segment.dgs2023 import prepare_input
from signclip.segment.features import FEATURE_SCALES, feature_size, frame_features, hand_tracks, mirror_features
from signclip.segment.segments import Segment, warn
from signclip.segment.tagger_net import BIOTagger

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
FEATURE_KINDS = ("hands", "holistic-75")


@dataclass
class TaggerConfig:
    """What a tagger is: its input features, its network, and its decoding thresholds."""

    features: str = "hands"
    smoothing: float = 1.0
    scales: list[int] = field(default_factory=lambda: list(FEATURE_SCALES))
    hidden_size: int = 256
    num_layers: int = 1
    dropout: float = 0.0
    decoding: str = "peaks"
    peak_distance: int = 3
    sign_b_threshold: float = 20.0
    sign_o_threshold: float = 70.0
    sentence_b_threshold: float = 50.0
    sentence_o_threshold: float = 50.0
    min_sign_frames: int = 1
    members: int = 1
    mirror_average: bool = False

    def __post_init__(self) -> None:
        if self.members < 1:
            raise ConfigError(f"tagger members must be >= 1, got {self.members}")
        if self.decoding not in ("peaks", "threshold"):
            raise ConfigError(f"unknown tagger decoding {self.decoding!r}; choose peaks or threshold")
        if self.features not in FEATURE_KINDS:
            raise ConfigError(f"unknown tagger features {self.features!r}; choose one of {list(FEATURE_KINDS)}")
        if self.mirror_average and self.features != "hands":
            raise ConfigError("tagger mirror_average needs features: hands (the holistic-75 input is not mirrored)")

    @property
    def input_size(self) -> int:
        return 225 if self.features == "holistic-75" else feature_size(tuple(self.scales))


def pose_inputs(pose: Pose, config: TaggerConfig) -> tuple[np.ndarray, bool]:
    """The tagger input (frames, input_size) float32 for `pose`, and whether any hand is present."""
    if config.features == "holistic-75":
        inputs = prepare_input(pose)
        return inputs.reshape(len(inputs), -1), bool(inputs[:, 33:].any())
    tracks = hand_tracks(pose)
    return frame_features(tracks, config.smoothing, tuple(config.scales)), bool(tracks.present.any())


def sign_spans(log_probs: np.ndarray, config: TaggerConfig) -> list[tuple[int, int]]:
    """Decode sign-level log-probabilities (frames, 3) with the config's decoding and thresholds."""
    if config.decoding == "peaks":
        spans = peak_decode(log_probs, config.sign_b_threshold, config.sign_o_threshold, config.peak_distance)
    else:
        spans = threshold_decode(log_probs, DecodingConfig(config.sign_b_threshold, config.sign_o_threshold))
    return [(a, b) for a, b in spans if b - a + 1 >= config.min_sign_frames]


class TaggerEnsemble(nn.Module):
    """BIOTaggers whose probabilities are averaged: forward(x, lengths) as BIOTagger's, returning
    {"sign", "sentence"}: (batch, frames, 3) log of the members' mean probabilities."""

    def __init__(self, members: list[BIOTagger]):
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        outputs = [member(x, lengths) for member in self.members]
        count = torch.tensor(float(len(outputs))).log()
        return {
            level: torch.logsumexp(torch.stack([out[level] for out in outputs]), dim=0) - count for level in outputs[0]
        }


def build_member(config: TaggerConfig) -> BIOTagger:
    """One untrained BIOTagger shaped by `config`."""
    return BIOTagger(config.input_size, config.hidden_size, config.num_layers, config.dropout)


def build_network(config: TaggerConfig) -> BIOTagger | TaggerEnsemble:
    """An untrained network shaped by `config`: a BIOTagger, or a TaggerEnsemble of `members` of them."""
    if config.members == 1:
        return build_member(config)
    return TaggerEnsemble([build_member(config) for _ in range(config.members)])


@dataclass
class TaggerSegmenter(Segmenter):
    """A trained tagger: standardized inputs -> BIOTagger (or TaggerEnsemble) -> decoding per level."""

    config: TaggerConfig
    network: BIOTagger | TaggerEnsemble
    feature_mean: np.ndarray
    feature_std: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)
    name: str = "tagger"

    def log_probs(self, inputs: np.ndarray) -> dict[str, np.ndarray]:
        """{level: (frames, 3) log-probabilities} for raw inputs (frames, input_size); with `mirror_average`,
        the log of the mean probability of the inputs and their left-right mirror image."""
        views = [inputs]
        if self.config.mirror_average:
            views.append(mirror_features(inputs, tuple(self.config.scales)))
        x = np.stack([(view - self.feature_mean) / self.feature_std for view in views]).astype(np.float32)
        self.network.eval()
        device = next(self.network.parameters()).device
        with torch.inference_mode():
            out = self.network(torch.from_numpy(x).to(device))
        count = float(np.log(len(views)))
        return {level: (torch.logsumexp(value, dim=0) - count).cpu().numpy() for level, value in out.items()}

    def to(self, device: str) -> TaggerSegmenter:
        """Run the network on `device` from now on; returns self."""
        self.network.to(device)
        return self

    def segment_levels(self, pose: Pose) -> dict[str, list[Segment]]:
        """Sign and sentence segments of `pose`."""
        inputs, has_hands = pose_inputs(pose, self.config)
        if not has_hands:
            warn(f"{self.name}: no hands in any of the {len(inputs)} frames; no segments")
            return {level: [] for level in self.levels}
        log_probs = self.log_probs(inputs)
        c, fps = self.config, float(pose.body.fps)
        sentence = DecodingConfig(c.sentence_b_threshold, c.sentence_o_threshold)
        return {
            "sign": spans_to_segments(sign_spans(log_probs["sign"], c), log_probs["sign"], fps, "sign"),
            "sentence": decode(log_probs["sentence"], sentence, fps, "sentence"),
        }


def save_tagger(segmenter: TaggerSegmenter, directory: str | os.PathLike) -> Path:
    """Write a tagger directory (model.safetensors, then config.json); returns its path."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in segmenter.network.state_dict().items()}
    tensors["feature_mean"] = torch.from_numpy(segmenter.feature_mean.astype(np.float32))
    tensors["feature_std"] = torch.from_numpy(segmenter.feature_std.astype(np.float32))
    write_bytes_atomically(safetensors_bytes(tensors, metadata={"format": "pt"}), directory / WEIGHTS_FILE)
    payload = {"kind": "signclip-segment-tagger", "tagger": asdict(segmenter.config), "trained": segmenter.info}
    write_bytes_atomically((json.dumps(payload, indent=2) + "\n").encode(), directory / CONFIG_FILE)
    return directory


def load_tagger(directory: str | os.PathLike) -> TaggerSegmenter:
    """Load a tagger directory written by `save_tagger`; ModelFileError naming what is wrong."""
    directory = Path(directory)
    for name in (CONFIG_FILE, WEIGHTS_FILE):
        if not (directory / name).is_file():
            raise ModelFileError(f"{directory}: not a segmenter directory, {name} is missing")
    try:
        payload = json.loads((directory / CONFIG_FILE).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelFileError(f"{directory / CONFIG_FILE}: not valid JSON: {error}") from None
    if not isinstance(payload, dict) or payload.get("kind") != "signclip-segment-tagger":
        raise ModelFileError(f"{directory / CONFIG_FILE}: not a segmenter config (kind signclip-segment-tagger)")
    config = from_mapping(TaggerConfig, payload.get("tagger", {}), str(directory / CONFIG_FILE))
    try:
        tensors = load_file(directory / WEIGHTS_FILE)
    except (SafetensorError, OSError) as error:
        raise ModelFileError(f"{directory / WEIGHTS_FILE}: not a readable safetensors file: {error}") from None
    mean, std = tensors.pop("feature_mean", None), tensors.pop("feature_std", None)
    network = build_network(config)
    try:
        network.load_state_dict(tensors)
    except RuntimeError as error:
        raise ModelFileError(f"{directory / WEIGHTS_FILE}: weights do not fit the config: {error}") from None
    size = config.input_size
    mean = mean.numpy() if mean is not None else np.zeros(size, np.float32)
    std = std.numpy() if std is not None else np.ones(size, np.float32)
    return TaggerSegmenter(config, network.eval(), mean, std, payload.get("trained", {}), name=directory.name)
