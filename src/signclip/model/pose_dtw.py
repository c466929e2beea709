"""`pose-dtw`: a training-free pose index whose vector distances track DTW distances, for search before any training.

A pose becomes a fixed-length vector in three steps, with nothing learned:
1. the layout's DTW preprocessing (`fingerclip` for MediaPipe Holistic poses, `keypoints_2d` for 2D tracks,
   as `fitting_preprocess` chooses), the same as the DTW baseline's, so DTW re-ranking compares the same features;
2. the real frames resampled to FRAMES evenly spaced instants by linear interpolation (scaled by
   1/sqrt(FRAMES), so the distance is a per-frame RMS, as DTW's is an average over its path), followed by
   each feature's mean and standard deviation over time (unchanged by any warping of time, which is what
   DTW forgives and a fixed resampling does not);
3. a fixed projection to DIM dimensions: zero padding when there are fewer features, else a seeded random
   orthonormal projection (distances kept up to the Johnson-Lindenstrauss distortion).
The vectors are compared by Euclidean distance (`metric` "l2": the store builds the model's HNSW index for
it); their norms carry the signing's extent, so they are not normalized. Choices measured in
docs/search.md: FRAMES 16/24/32, DIM 256/512/1024/none, with and without the statistics, by how often
DTW's own top 10 is among the index's top C candidates.

Text queries are refused (`TextSearchError`): the index knows nothing of words.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from pose_format import Pose

from signclip.errors import SignclipError
from signclip.model.identity import Provenance
from signclip.poses.transforms import PoseTensor
from signclip.poses.transforms.pipeline import preprocessed_fitting

NAME = "pose-dtw"
DTW_PREPROCESS = "fingerclip"  # the DTW baseline's default; a layout it does not fit gets its own preset


class TextSearchError(SignclipError):
    """A text query for a model that cannot embed text (the training-free pose index)."""


@dataclass(frozen=True)
class PoseDTWConfig:
    """The index's settings: `frames` resampled instants, `statistics` (append each feature's mean and standard
    deviation over time), `dim` dimensions, the projection's `seed`, the DTW `preprocess` tried first (the
    layout's preset when it does not fit)."""

    frames: int = 24
    statistics: bool = True
    dim: int = 256
    seed: int = 0
    preprocess: str = DTW_PREPROCESS
    name: str = NAME
    prompt: str | None = None  # no prompt template: it embeds no text


class PoseDTWIndex:
    """The training-free pose embedder (see the module doc): `embed_poses(poses) -> (N, dim)` float32."""

    metric = "l2"
    embeds_texts = False

    def __init__(self, config: PoseDTWConfig | None = None) -> None:
        self.config = config or PoseDTWConfig()
        self.name, self.embed_dim = self.config.name, self.config.dim  # its store name, the size of its vectors
        self.provenance = Provenance("training-free")
        settings = json.dumps(asdict(self.config), sort_keys=True).encode()
        self.known_fingerprint = hashlib.sha256(b"signclip pose-dtw\n" + settings).hexdigest()

    def preprocess(self, pose: Pose) -> tuple[PoseTensor, str]:
        """The pose preprocessed by its layout's DTW preset; returns (the tensor, the preset used)."""
        tensor, preset, _ = preprocessed_fitting(self.config.preprocess, pose)
        return tensor, str(preset)

    def embed_poses(self, poses: Sequence[Pose], batch_size: int = 32, normalize: bool = True) -> np.ndarray:
        """The vectors (N, dim) float32 of `poses` (read Poses); PoseLayoutError for a pose no preset reads.
        The vectors are compared by Euclidean distance as made: `normalize` (SignCLIP's argument) changes nothing."""
        rows = [self.features(self.preprocess(pose)[0]) for pose in poses]
        if not rows:
            return np.zeros((0, self.embed_dim), dtype=np.float32)
        return np.stack(rows).astype(np.float32)

    def features(self, tensor: PoseTensor) -> np.ndarray:
        """One preprocessed pose's vector (dim,): resampled frames, their statistics, the fixed projection."""
        frames = tensor.data[tensor.mask].astype(np.float64)
        if len(frames) == 0:
            frames = np.zeros((1, tensor.data.shape[1]))
        resampled = _resample(frames, self.config.frames).ravel() / np.sqrt(self.config.frames)
        parts = [resampled, frames.mean(axis=0), frames.std(axis=0)] if self.config.statistics else [resampled]
        vector = np.concatenate(parts)
        return vector @ _projection(len(vector), self.config.dim, self.config.seed)

    def embed_texts(self, texts: Sequence[str], **_: object) -> np.ndarray:
        """Refused (TextSearchError): the training-free index embeds poses only."""
        raise text_search_error(self.name)

    def to(self, device: str) -> PoseDTWIndex:
        """Nothing to move: numpy on the CPU; returns self."""
        return self

    def eval(self) -> PoseDTWIndex:
        """Nothing to switch; returns self."""
        return self


def text_search_error(model: str) -> TextSearchError:
    """The error of a text query for a model that embeds no text, naming it."""
    return TextSearchError(
        f"text search needs a trained or converted model: {model!r} is a training-free pose index that embeds "
        "poses only (search by a pose or a video, or index the dataset with a trained model)"
    )


def _resample(frames: np.ndarray, count: int) -> np.ndarray:
    """`count` frames at evenly spaced instants from the first to the last, by linear interpolation."""
    if len(frames) == 1:
        return np.repeat(frames, count, axis=0)
    positions = np.linspace(0, len(frames) - 1, count)
    low = np.floor(positions).astype(int)
    high = np.minimum(low + 1, len(frames) - 1)
    weight = (positions - low)[:, None]
    return frames[low] * (1 - weight) + frames[high] * weight


@functools.lru_cache(maxsize=16)
def _projection(features: int, dim: int, seed: int) -> np.ndarray:
    """(features, dim): zero padding when features <= dim, else seeded random orthonormal columns, scaled by
    sqrt(features / dim) so that distances keep their size."""
    if features <= dim:
        return np.eye(features, dim)
    gaussian = np.random.default_rng(seed).normal(size=(features, dim))
    orthonormal, _ = np.linalg.qr(gaussian)
    return orthonormal * np.sqrt(features / dim)
