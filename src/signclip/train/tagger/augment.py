"""Tagger training examples: a recording's inputs and BIO tags, augmented (speed, scale, rotation, shift,
noise, left-right mirror), and padded batches of them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from signclip.segment.features import frame_features, hand_tracks, mirror_tracks
from signclip.segment.recordings import Recording
from signclip.segment.segments import spans_to_bio
from signclip.segment.tagger import TaggerConfig, pose_inputs


@dataclass
class AugmentConfig:
    """Training-time augmentation of the input tracks (standard deviations; mirror probability)."""

    speed_std: float = 0.15
    scale_std: float = 0.1
    rotation_std: float = 0.1
    shift_std: float = 0.05
    noise_std: float = 0.01
    mirror_p: float = 0.5


def _resample(array: np.ndarray, positions: np.ndarray) -> np.ndarray:
    low = np.floor(positions).astype(int)
    high = np.minimum(low + 1, len(array) - 1)
    weight = (positions - low).reshape((-1,) + (1,) * (array.ndim - 1))
    return array[low] * (1 - weight) + array[high] * weight


def augmented_inputs(
    recording: Recording, tagger: TaggerConfig, aug: AugmentConfig, rng: np.random.Generator | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(inputs (frames, input_size), sign tags (frames,), sentence tags (frames,)) for one recording,
    augmented with `aug` when `rng` is given."""
    frames = recording.frames
    signs, sentences = recording.signs, recording.sentences
    if tagger.features == "holistic-75":
        inputs, _ = pose_inputs(recording.pose, tagger)
        if rng is not None:
            points = inputs.reshape(frames, 75, 3)
            present = np.abs(points).sum(-1, keepdims=True) > 0
            angle = rng.normal(0, aug.rotation_std)
            rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
            points = points.copy()
            points[..., :2] = points[..., :2] @ rotation.T * (1 + rng.normal(0, aug.scale_std))
            points[..., :2] += rng.normal(0, aug.shift_std, 2)
            points += rng.normal(0, aug.noise_std, points.shape)
            inputs = (points * present).reshape(frames, -1)
    else:
        tracks = hand_tracks(recording.pose)
        if rng is not None:
            if rng.random() < aug.mirror_p:
                tracks = mirror_tracks(tracks)
            positions = tracks.positions.astype(np.float64)
            angle = rng.normal(0, aug.rotation_std)
            rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
            positions = positions @ rotation.T * (1 + rng.normal(0, aug.scale_std))
            positions = positions + rng.normal(0, aug.shift_std, 2) + rng.normal(0, aug.noise_std, positions.shape)
            tracks.positions = positions.astype(np.float32)
        inputs = None
    if rng is not None and aug.speed_std > 0 and frames > 2:
        ratio = float(np.clip(rng.normal(1.0, aug.speed_std), 0.6, 1.6))
        new_frames = max(2, round(frames / ratio))
        positions = np.linspace(0, frames - 1, new_frames)
        scale = (new_frames - 1) / (frames - 1)
        signs = [(round(a * scale), round(b * scale)) for a, b in signs]
        sentences = [(round(a * scale), round(b * scale)) for a, b in sentences]
        if inputs is not None:
            inputs = _resample(inputs, positions)
        else:
            tracks.positions = _resample(tracks.positions, positions).astype(np.float32)
            tracks.present = _resample(tracks.present.astype(np.float32), positions) > 0.5
        frames = new_frames
    if inputs is None:
        inputs = frame_features(tracks, tagger.smoothing, tuple(tagger.scales))
    return inputs.astype(np.float32), spans_to_bio(signs, frames), spans_to_bio(sentences, frames)


def collate(items: list[tuple[np.ndarray, np.ndarray, np.ndarray]], mean: np.ndarray, std: np.ndarray):
    """Pad `items` (inputs, sign tags, sentence tags) standardized by `mean`/`std` into (x (batch, frames,
    input_size), lengths (batch,), sign tags, sentence tags (batch, frames); padding tagged -100)."""
    lengths = torch.tensor([len(x) for x, _, _ in items])
    longest = int(lengths.max())
    x = torch.zeros(len(items), longest, items[0][0].shape[1])
    sign = torch.full((len(items), longest), -100, dtype=torch.long)
    sentence = torch.full((len(items), longest), -100, dtype=torch.long)
    for i, (inputs, s, t) in enumerate(items):
        x[i, : len(inputs)] = torch.from_numpy((inputs - mean) / std)
        sign[i, : len(s)] = torch.from_numpy(s)
        sentence[i, : len(t)] = torch.from_numpy(t)
    return x, lengths, sign, sentence
