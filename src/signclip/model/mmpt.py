"""The original SignCLIP architecture (VideoCLIP's `MMFusionSeparate` in fairseq/MMPT) on current transformers.

It runs the released checkpoints (E7.2, FingerCLIP) once `signclip convert-mmpt` has imported them, and
trains afresh (`build_mmpt` without a saved model) from a pretrained BERT, as the original did. Read top to
bottom:

  pose frames (B, T, F) --VideoTokenMLP: Linear -> GELU -> LayerNorm -> Linear--> video tokens (B, T, H)
  [CLS] video tokens [SEP] --BERT video tower (N layers)--> hidden states (B, T + 2, H)
      position ids: [CLS] 0, frame t -> t + 1, [SEP] max_video_len + 1; token types 0; [CLS] and [SEP]
      are rows of the video tower's own word-embedding table
  mean over the real frames and [SEP], [CLS] left out --> pose vector (B, H)
  text: [CLS] tokens [SEP] --BERT text tower--> mean over tokens and [SEP], [CLS] left out --> (B, H)
  similarity: the raw dot product of the two vectors (no projection, no temperature)

The original padded every pose to `max_video_len` frames and put [SEP] after the padding; since padded
frames are masked out of attention and pooling, leaving them out gives the same vectors, so a batch is
padded only to its longest pose. Two behaviours differ from the original, each with a switch:
- padding: the original demo padded a batch's poses with zero frames that counted as real frames, so
  a pose's vector depended on the poses beside it. Here padding is masked; `mask_padding: false`
  reproduces the original's batch dependence exactly.
- long poses: the original failed (an assertion) beyond `max_video_len` frames; here such poses are
  subsampled or cut into windows whose vectors are averaged (the model config's `long_pose`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from signclip.dataclass_config import check_values, upper_bounds
from signclip.errors import ConfigError
from signclip.model.config import MAX_LAYERS, MAX_SIZE, Architecture, ModelConfig, list_models, models_home
from signclip.model.signclip import SignCLIP
from signclip.model.text_encoder import TextEncoder

if TYPE_CHECKING:
    from transformers import BertConfig

BERT_LAYER_NORM_EPS = 1e-12  # BERT's own LayerNorms; the VideoTokenMLP's LayerNorm keeps torch's 1e-5
MAX_VOCABULARY = 1 << 20  # the largest word-piece vocabulary a config may ask for


@dataclass(frozen=True)
class Release:
    """Where a released original checkpoint is found, and what `convert-mmpt` needs for it."""

    download: str
    checkpoint: str
    tokenizer: str


RELEASES = {
    "signclip-e7.2": Release(
        download="https://drive.google.com/drive/folders/10q7FxPlicrfwZn7_FgtNqKFDiAJi6CTc",
        checkpoint="checkpoint_best.pt",
        tokenizer="bert-base-cased",
    ),
    "fingerclip": Release(
        download="not public: ask the SignCLIP authors (J22Melody/fairseq, examples/MMPT) for it",
        checkpoint="checkpoint_best.pt",
        tokenizer="bert-base-uncased",
    ),
}


def how_to_get(name: str, checkpoint: str = "checkpoint_best.pt") -> str:
    """Return where to download the original checkpoint of `name` and the command that converts it."""
    release = RELEASES.get(name)
    if release is None:
        return f"convert its original checkpoint with: signclip convert-mmpt {checkpoint} --config {name}"
    return (
        f"download {release.checkpoint} ({release.download}), then run: "
        f"signclip convert-mmpt {release.checkpoint} --config {name} --tokenizer {release.tokenizer}"
    )


@dataclass
class MMPTConfig:
    """Sizes of the original video tower (the `pose_encoder` section of an `mmpt` model config).

    The text tower's sizes come from its Hugging Face config (`text_encoder.name`). `max_video_len` must be
    the training config's `dataset.max_video_len` (it fixes the position of [SEP]); `mask_padding: false`
    reproduces the original's counting of zero-padded frames as real ones.
    """

    hidden_size: int = 768
    layers: int = 12
    heads: int = 12
    intermediate_size: int = 3072
    vocab_size: int = 28996
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    max_video_len: int = 256
    mask_padding: bool = True

    def validate(self, source: str = "pose_encoder") -> None:
        """Raise ConfigError for sizes that cannot build the video tower."""
        checks = [
            (self.heads >= 1 and self.hidden_size % self.heads == 0, "hidden_size", "must be a multiple of heads"),
            (self.layers >= 1, "layers", "must be at least 1"),
            (self.intermediate_size >= 1, "intermediate_size", "must be at least 1"),
            (self.vocab_size >= 2, "vocab_size", "must be at least 2"),
            (self.type_vocab_size >= 1, "type_vocab_size", "must be at least 1"),
            (
                1 <= self.max_video_len <= self.max_position_embeddings - 2,
                "max_video_len",
                "must leave room for [CLS] and [SEP] in max_position_embeddings",
            ),
            *upper_bounds(
                self,
                {
                    "hidden_size": MAX_SIZE,
                    "layers": MAX_LAYERS,
                    "intermediate_size": MAX_SIZE,
                    "vocab_size": MAX_VOCABULARY,
                    "type_vocab_size": MAX_SIZE,
                    "max_position_embeddings": MAX_SIZE,
                },
            ),
        ]
        check_values(self, checks, source)

    def bert_config(self) -> BertConfig:
        """Return the transformers BertConfig of the video tower (BERT's default dropout, as trained)."""
        from transformers import BertConfig

        return BertConfig(
            vocab_size=self.vocab_size,
            hidden_size=self.hidden_size,
            num_hidden_layers=self.layers,
            num_attention_heads=self.heads,
            intermediate_size=self.intermediate_size,
            max_position_embeddings=self.max_position_embeddings,
            type_vocab_size=self.type_vocab_size,
            hidden_act="gelu",
            layer_norm_eps=BERT_LAYER_NORM_EPS,
        )


class VideoTokenMLP(nn.Module):
    """Embed each frame on its own: Linear -> GELU -> LayerNorm -> Linear, (B, T, F) -> (B, T, H)."""

    def __init__(self, features: int, hidden_size: int):
        super().__init__()
        self.linear1 = nn.Linear(features, hidden_size)
        self.LayerNorm = nn.LayerNorm(hidden_size)
        self.linear2 = nn.Linear(hidden_size, hidden_size)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.linear2(self.LayerNorm(F.gelu(self.linear1(frames))))


class MMPTPoseEncoder(nn.Module):
    """The video tower: frames (B, T, features) with mask (B, T) -> (B, hidden_size) pooled vectors.

    Module names follow the original (`videomlp`, `bert`) so checkpoint keys map one to one.
    """

    def __init__(self, config: MMPTConfig, input_features: int, cls_token_id: int, sep_token_id: int):
        super().__init__()
        from transformers import BertModel

        config.validate()
        self.config = config
        self.output_dim = config.hidden_size
        self.videomlp = VideoTokenMLP(input_features, config.hidden_size)
        self.bert = BertModel(config.bert_config(), add_pooling_layer=True)  # the pooler is unused, kept as trained
        self.register_buffer("special_ids", torch.tensor([cls_token_id, sep_token_id]), persistent=False)

    def forward(self, frames: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Encode frames (B, T, F) with mask (B, T) True = real frame (T <= max_video_len) into (B, H)."""
        batch, length, _ = frames.shape
        if length > self.config.max_video_len:
            raise ValueError(f"{length} frames exceed max_video_len {self.config.max_video_len}; fit the length first")
        device = frames.device
        real = mask.bool() if self.config.mask_padding else torch.ones_like(mask, dtype=torch.bool)
        cls, sep = self.bert.embeddings.word_embeddings(self.special_ids)[:, None].unbind(0)  # (1, H) each
        tokens = torch.cat([cls.expand(batch, 1, -1), self.videomlp(frames), sep.expand(batch, 1, -1)], dim=1)
        positions = torch.arange(length + 2, device=device)
        positions[-1] = self.config.max_video_len + 1  # [SEP] comes after max_video_len (padded) frames
        edge = torch.ones(batch, 1, dtype=torch.bool, device=device)
        hidden = self.bert(
            inputs_embeds=tokens,  # (B, T + 2, H)
            attention_mask=torch.cat([edge, real, edge], dim=1).long(),
            position_ids=positions.expand(batch, -1),
            token_type_ids=torch.zeros(batch, length + 2, dtype=torch.long, device=device),
        ).last_hidden_state
        pooled = torch.cat([~edge, real, edge], dim=1).to(hidden.dtype)[..., None]  # [CLS] left out, [SEP] in
        return (hidden * pooled).sum(dim=1) / pooled.sum(dim=1)


def build_mmpt(config: ModelConfig, text_source: str | Path | None = None) -> SignCLIP:
    """Build the `mmpt` architecture: from a saved model's `text_encoder/` folder (`text_source`; the weights
    come from model.safetensors or `convert-mmpt`), or, with no `text_source`, fresh for training as the
    original started: both towers from the pretrained `text_encoder.name` (see `start_from_text_model`).

    A released model's name (signclip-e7.2, fingerclip: the registered `mmpt` configs) has no untrained form,
    since its weights are the point: without a `text_source` a ConfigError says where to download the
    checkpoint and how to convert it.
    """
    if text_source is None and (config.name in RELEASES or config.name in list_models()):
        raise ConfigError(
            f"model {config.name!r} (architecture mmpt) is an original SignCLIP checkpoint and has no untrained "
            f"form, and {models_home() / config.name} holds no converted copy; {how_to_get(config.name)}. To "
            "train this architecture afresh, give the model another `name`"
        )
    pose_config = config.pose_encoder
    if config.towers != 1:
        raise ConfigError(f"model config {config.name!r}: architecture mmpt has one tower, got towers={config.towers}")
    if config.tower_dim != pose_config.hidden_size:
        raise ConfigError(
            f"model config {config.name!r}: tower_dim {config.tower_dim} must equal pose_encoder.hidden_size "
            f"{pose_config.hidden_size} (the original has no projection)"
        )
    if config.max_frames > pose_config.max_video_len:
        raise ConfigError(
            f"model config {config.name!r}: max_frames {config.max_frames} exceeds pose_encoder.max_video_len "
            f"{pose_config.max_video_len}"
        )
    if text_source is None:
        text_encoder = TextEncoder.pretrained(config.text_encoder, frozen=config.freeze_text)
    else:
        text_encoder = TextEncoder.from_folder(text_source, config.text_encoder, frozen=config.freeze_text)
    if text_encoder.output_dim != config.tower_dim:
        raise ConfigError(
            f"model config {config.name!r}: the text tower {text_source or config.text_encoder.name} has hidden "
            f"size {text_encoder.output_dim}, the video tower {config.tower_dim}; both must match"
        )
    tokenizer = text_encoder.tokenizer
    pose_encoder = MMPTPoseEncoder(pose_config, config.input_features, tokenizer.cls_token_id, tokenizer.sep_token_id)
    if text_source is None:
        start_from_text_model(pose_encoder.bert, text_encoder.model, config.name)
    return SignCLIP(config, pose_encoder, text_encoder, pose_projection=nn.Identity(), text_projection=nn.Identity())


def start_from_text_model(video_bert: nn.Module, text_model: nn.Module, name: str) -> list[str]:
    """Copy the pretrained text transformer's weights into the video tower's BERT, as the original's
    `MMBertForEncoder.from_pretrained(bert_name)` did: the embeddings, the first layers (a video tower with
    more layers than the text model keeps the others random) and the pooler; the VideoTokenMLP stays random.
    Returns the keys copied. ConfigError naming the tensor when one of the same name has another shape
    (e.g. `pose_encoder.vocab_size` or `max_position_embeddings` not the text model's)."""
    source = text_model.state_dict()
    target = video_bert.state_dict()
    shared = [key for key in target if key in source]
    for key in shared:
        if source[key].shape != target[key].shape:
            raise ConfigError(
                f"model config {name!r}: the video tower starts from the text model's weights, but its {key} is "
                f"{tuple(target[key].shape)} and the text model's {tuple(source[key].shape)}; set pose_encoder "
                "sizes (vocab_size, max_position_embeddings, type_vocab_size, intermediate_size) to the text model's"
            )
    video_bert.load_state_dict({key: source[key] for key in shared}, strict=False)
    return shared


ARCHITECTURE = Architecture(pose_encoder_config=MMPTConfig, build=build_mmpt)
