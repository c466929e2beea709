"""SignCLIP: a pose tower and a text tower projected into one space, compared by scaled cosine similarity.

`SignCLIP` is shared by every architecture: it takes any pose encoder `(frames (B, T, F), mask (B, T))
-> (B, D_pose)` and any text encoder with `tokenize(texts)` and `(**tokens) -> (B, D_text)`, each
followed by a linear projection to `tower_dim` per tower (or `nn.Identity` when already there). This module is
also the `signclip` architecture: `PoseEncoder` + all-MiniLM-L6-v2 (see `build_signclip`), optionally
with several independent pose towers (`towers`, an ensemble in one model: `PoseTowers`, `TowerProjection`).
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from pose_format import Pose
from torch import nn
from tqdm.auto import tqdm

from signclip.errors import PoseLayoutError, naming_the_pose
from signclip.model.config import Architecture, ModelConfig
from signclip.model.identity import Provenance
from signclip.model.pose_encoder import PoseEncoder, PoseEncoderConfig
from signclip.model.text_encoder import TextEncoder
from signclip.poses.io import read_any_pose
from signclip.poses.transforms import Pipeline, PoseTensor, fit_length

MAX_LOGIT_SCALE = 100.0
PoseInput = Pose | str | os.PathLike


def pad_pose_tensors(tensors: Sequence[PoseTensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack PoseTensors into frames (B, T_max, F) float32 and mask (B, T_max) bool, zero-padded at the end."""
    longest = max(t.frames for t in tensors)
    frames = np.zeros((len(tensors), longest, tensors[0].data.shape[1]), dtype=np.float32)
    mask = np.zeros((len(tensors), longest), dtype=bool)
    for row, tensor in enumerate(tensors):
        frames[row, : tensor.frames] = tensor.data
        mask[row, : tensor.frames] = tensor.mask
    return torch.from_numpy(frames), torch.from_numpy(mask)


class PoseTowers(nn.Module):
    """Independent pose encoders side by side: frames (B, T, F), mask (B, T) -> (B, K * W), tower k's
    vector in the k-th slice."""

    def __init__(self, encoders: Sequence[nn.Module]):
        super().__init__()
        self.towers = nn.ModuleList(encoders)
        self.output_dim = sum(encoder.output_dim for encoder in encoders)

    def forward(self, frames: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return torch.cat([tower(frames, mask) for tower in self.towers], dim=-1)


class TowerProjection(nn.Module):
    """One bias-free linear map per tower: (B, K * D_in) -> (B, K * D_out), slice k through map k only."""

    def __init__(self, towers: int, in_dim: int, out_dim: int):
        super().__init__()
        bound = in_dim**-0.5  # nn.Linear's default initialisation range
        self.weight = nn.Parameter(torch.empty(towers, out_dim, in_dim).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        towers, _out_dim, in_dim = self.weight.shape
        slices = x.unflatten(-1, (towers, in_dim))
        return torch.einsum("...ki,koi->...ko", slices, self.weight).flatten(-2)


class SignCLIP(nn.Module):
    """Two towers and a learnable temperature; embeddings are L2-normalized float32 vectors."""

    def __init__(
        self,
        config: ModelConfig,
        pose_encoder: nn.Module,
        text_encoder: nn.Module,
        pose_projection: nn.Module | None = None,
        text_projection: nn.Module | None = None,
    ):
        super().__init__()
        self.config = config
        self.pose_encoder = pose_encoder
        self.pose_projection = pose_projection or nn.Linear(pose_encoder.output_dim, config.tower_dim, bias=False)
        self.text_encoder = text_encoder
        self.text_projection = text_projection or nn.Linear(text_encoder.output_dim, config.tower_dim, bias=False)
        self.logit_scale = nn.Parameter(torch.tensor(float(config.logit_scale_init)))
        self.provenance = Provenance("untrained")  # set by load_model, the trainer and the converter
        self.known_fingerprint: str | None = None  # set by load_model from the directory's fingerprint.json
        self._pipeline: Pipeline | None = None

    def train(self, mode: bool = True) -> SignCLIP:
        """Switch training mode (nn.Module.train); training forgets the loaded weights' known fingerprint."""
        if mode:
            self.known_fingerprint = None
        return super().train(mode)

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def embed_dim(self) -> int:
        """The length of an embedding: `config.tower_dim` per tower."""
        return self.config.tower_dim * self.config.towers

    @property
    def trained(self) -> bool | None:
        """Whether the weights were trained or converted (True), are untrained (False), or unknown (None)."""
        return self.provenance.trained

    @property
    def device(self) -> torch.device:
        return self.logit_scale.device

    @property
    def pipeline(self) -> Pipeline:
        """The preprocessing Pipeline of `config.preprocess` (built on first use)."""
        if self._pipeline is None:
            self._pipeline = Pipeline.from_config(self.config.preprocess)
        return self._pipeline

    # ------------------------------------------------------------------ tensors in, tensors out (training)

    def scale(self) -> torch.Tensor:
        """Return exp(logit_scale), clamped at 100: the factor applied to cosine similarities."""
        return self.logit_scale.clamp(max=math.log(MAX_LOGIT_SCALE)).exp()

    def encode_poses(self, frames: torch.Tensor, mask: torch.Tensor, normalize: bool = True) -> torch.Tensor:
        """Embed frames (B, T, F) with mask (B, T) True = real frame (T <= max_frames, each row with a
        real frame) into (B, embed_dim), L2-normalized unless `normalize` is False."""
        vectors = self.pose_projection(self.pose_encoder(frames, mask))
        return self.normalize(vectors) if normalize else vectors

    def normalize(self, vectors: torch.Tensor) -> torch.Tensor:
        """L2-normalize (..., embed_dim) vectors: each tower's slice to norm 1/sqrt(towers), so the whole has
        norm 1 and a dot product is the mean of the towers' cosines (plain L2 normalization for one tower)."""
        towers = self.config.towers
        slices = F.normalize(vectors.unflatten(-1, (towers, -1)), dim=-1)
        return slices.flatten(-2) / math.sqrt(towers)

    def project_texts(self, features: torch.Tensor, normalize: bool = True) -> torch.Tensor:
        """Project pooled text-tower outputs (B, D_text) into (B, embed_dim), normalized unless `normalize` is False."""
        vectors = self.text_projection(features)
        return self.normalize(vectors) if normalize else vectors

    def tokenize(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        """Tokenize texts for `encode_texts`: a dict of (B, L) tensors."""
        return self.text_encoder.tokenize(texts)

    def encode_texts(self, tokens: dict[str, torch.Tensor], normalize: bool = True) -> torch.Tensor:
        """Embed tokenized texts (from `tokenize`) into (B, embed_dim), L2-normalized unless `normalize` is False."""
        return self.project_texts(self.text_encoder(**tokens), normalize)

    def forward(
        self, frames: torch.Tensor, mask: torch.Tensor, tokens: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return (pose embeddings (B, E), text embeddings (B', E), scale ()) for a contrastive loss."""
        return self.encode_poses(frames, mask), self.encode_texts(tokens), self.scale()

    # ------------------------------------------------------------------ poses and texts in, numpy out

    def preprocess(
        self, pose: Pose, name: str = "<pose>", train: bool = False, rng: np.random.Generator | None = None
    ) -> PoseTensor:
        """Run the model's preprocessing on `pose` (augmentations too with `train`) into a PoseTensor
        (frames, input_features); PoseLayoutError naming `name` if the pose or its features do not fit."""
        tensor = naming_the_pose(name, self.pipeline, pose, train, rng)
        if tensor.data.shape[1] != self.config.input_features:
            components = [(c.name, len(c.points)) for c in pose.header.components]
            raise PoseLayoutError(
                f"{name}: preprocessing {self.config.preprocess!r} gives {tensor.data.shape[1]} features per "
                f"frame but model {self.name!r} expects input_features={self.config.input_features} "
                f"(pose components: {components})"
            )
        return tensor

    def embed_pose_tensors(
        self, tensors: Sequence[PoseTensor], batch_size: int = 32, progress: bool = False, normalize: bool = True
    ) -> np.ndarray:
        """Embed preprocessed PoseTensors into (N, embed_dim) float32, L2-normalized (with `normalize` False:
        raw, and a windowed pose gets the mean of its windows' vectors).

        Tensors longer than `max_frames` are subsampled, or cut into windows whose embeddings are
        averaged, per `config.long_pose`. Batches group similar lengths; padding is masked, so the
        result does not depend on `batch_size` or on the other tensors.
        """
        if not tensors:
            return np.zeros((0, self.embed_dim), dtype=np.float32)
        pieces, owners = [], []
        for index, tensor in enumerate(tensors):
            if not tensor.mask.any():
                raise PoseLayoutError(f"pose {index} has no real frames (0 frames or all masked); nothing to embed")
            for piece in fit_length(tensor, self.config.max_frames, self.config.long_pose):
                pieces.append(piece)
                owners.append(index)
        order = sorted(range(len(pieces)), key=lambda i: -pieces[i].frames)
        embeddings = torch.zeros(len(pieces), self.embed_dim)
        with self._inference(), tqdm(total=len(pieces), unit="pose", disable=not progress) as bar:
            for start in range(0, len(order), batch_size):
                batch = order[start : start + batch_size]
                frames, mask = pad_pose_tensors([pieces[i] for i in batch])
                vectors = self.encode_poses(frames.to(self.device), mask.to(self.device), normalize=normalize)
                embeddings[batch] = vectors.float().cpu()
                bar.update(len(batch))
        pooled = torch.zeros(len(tensors), self.embed_dim).index_add_(0, torch.tensor(owners), embeddings)
        if not normalize:
            return (pooled / torch.bincount(torch.tensor(owners), minlength=len(tensors))[:, None]).numpy()
        return self.normalize(pooled).numpy()

    def embed_poses(
        self,
        poses: Sequence[PoseInput],
        batch_size: int = 32,
        progress: bool = False,
        normalize: bool = True,
        names: Sequence[str] | None = None,
    ) -> np.ndarray:
        """Preprocess and embed Poses or `.pose`/`.parquet` paths into (N, embed_dim) float32, L2-normalized
        unless `normalize` is False. An error names the pose's file (a path) or its entry of `names` (e.g.
        the video a Pose was extracted from), else "<pose>"."""
        if isinstance(poses, str | os.PathLike | Pose):
            raise TypeError("embed_poses takes a list of poses or paths, not one")
        if names is not None and len(names) != len(poses):
            raise ValueError(f"embed_poses got {len(poses)} poses but {len(names)} names")
        chunks = []
        with tqdm(total=len(poses), unit="pose", disable=not progress) as bar:
            for start in range(0, len(poses), batch_size):
                tensors = [
                    self.preprocess(*_read(item, names[start + i] if names is not None else None))
                    for i, item in enumerate(poses[start : start + batch_size])
                ]
                chunks.append(self.embed_pose_tensors(tensors, batch_size=batch_size, normalize=normalize))
                bar.update(len(tensors))
        return np.concatenate(chunks) if chunks else np.zeros((0, self.embed_dim), dtype=np.float32)

    def embed_texts(
        self, texts: Sequence[str], batch_size: int = 64, progress: bool = False, normalize: bool = True
    ) -> np.ndarray:
        """Embed texts (already-formatted prompts, e.g. "<en> <ase> house") into (N, embed_dim) float32,
        L2-normalized unless `normalize` is False."""
        if isinstance(texts, str):
            raise TypeError("embed_texts takes a list of texts, not one string")
        chunks = []
        with self._inference(), tqdm(total=len(texts), unit="text", disable=not progress) as bar:
            for start in range(0, len(texts), batch_size):
                batch = list(texts[start : start + batch_size])
                tokens = {k: v.to(self.device) for k, v in self.tokenize(batch).items()}
                chunks.append(self.encode_texts(tokens, normalize=normalize).float().cpu().numpy())
                bar.update(len(batch))
        return np.concatenate(chunks) if chunks else np.zeros((0, self.embed_dim), dtype=np.float32)

    def score(self, pose: PoseInput, texts: Sequence[str]) -> np.ndarray:
        """Similarity (len(texts),) float32 between one pose (Pose or path) and each text: cosine, or the raw
        dot product of unnormalized embeddings when `config.similarity` is "dot"."""
        normalize = self.config.similarity == "cosine"
        return self.embed_texts(texts, normalize=normalize) @ self.embed_poses([pose], normalize=normalize)[0]

    @contextlib.contextmanager
    def _inference(self) -> Iterator[None]:
        """Eval mode without gradients for the duration, then the previous mode again (a model already in eval
        mode is not switched: walking its modules costs milliseconds per call)."""
        was_training = self.training
        if was_training:
            self.eval()
        try:
            with torch.inference_mode():
                yield
        finally:
            if was_training:
                self.train()


def _read(item: PoseInput, name: str | None) -> tuple[Pose, str]:
    """The Pose of an embed_poses input and the name its errors carry."""
    if isinstance(item, Pose):
        return item, name or "<pose>"
    return read_any_pose(item), name or str(Path(item))


def build_signclip(config: ModelConfig, text_source: str | Path | None = None) -> SignCLIP:
    """Build the `signclip` architecture: PoseEncoder + a Hugging Face text encoder, both projected.

    `text_source` None loads the config's text model with its pretrained weights; a folder (a saved
    model's `text_encoder/`) gives the structure only.
    """
    encoders = [
        PoseEncoder(config.pose_encoder, config.input_features, config.max_frames) for _ in range(config.towers)
    ]
    if text_source is None:
        text_encoder = TextEncoder.pretrained(config.text_encoder, frozen=config.freeze_text)
    else:
        text_encoder = TextEncoder.from_folder(text_source, config.text_encoder, frozen=config.freeze_text)
    if config.towers == 1:
        return SignCLIP(config, encoders[0], text_encoder)
    return SignCLIP(
        config,
        PoseTowers(encoders),
        text_encoder,
        pose_projection=TowerProjection(config.towers, encoders[0].output_dim, config.tower_dim),
        text_projection=nn.Linear(text_encoder.output_dim, config.towers * config.tower_dim, bias=False),
    )


ARCHITECTURE = Architecture(pose_encoder_config=PoseEncoderConfig, build=build_signclip)
