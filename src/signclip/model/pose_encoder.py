"""The pose encoder of `signclip-small`: a small, CPU-fast network from a pose sequence to one vector.

Read top to bottom:
  frames (B, T, F) --per-frame MLP--> (B, T, W) + learned position
    --ConvBlock x n (depthwise temporal convolution; the first one may halve the frame rate)-->
    --TransformerBlock x n (pre-norm, masked self-attention)-->
    --LayerNorm, masked mean over frames--> (B, W)

Padding is masked everywhere: padded frames are zeroed before every convolution, never attended to and
never pooled, so a pose's vector does not depend on the other poses padded into its batch.
With `gradient_checkpointing` set (a training switch, `TrainConfig.gradient_checkpointing`), the
transformer blocks keep no activations in training and recompute them in the backward pass
(`torch.utils.checkpoint`): the same loss and gradients, less memory on long poses, more time.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from signclip.dataclass_config import check_values, upper_bounds
from signclip.model.config import MAX_LAYERS, MAX_SIZE

MAX_KERNEL = 64  # the largest convolution kernel, stride or MLP ratio


@dataclass
class PoseEncoderConfig:
    """Sizes of the `signclip` pose encoder (the `pose_encoder` section of a model config)."""

    width: int = 256
    conv_blocks: int = 2
    conv_kernel: int = 5
    conv_stride: int = 2
    layers: int = 3
    heads: int = 4
    mlp_ratio: int = 4
    dropout: float = 0.1

    def validate(self, source: str = "pose_encoder") -> None:
        """Raise ConfigError for sizes that cannot build an encoder."""
        checks = [
            (self.width >= 1 and self.width % max(self.heads, 1) == 0, "width", "must be a multiple of heads"),
            (self.heads >= 1, "heads", "must be at least 1"),
            (self.conv_kernel >= 1 and self.conv_kernel % 2 == 1, "conv_kernel", "must be odd"),
            (self.conv_stride >= 1, "conv_stride", "must be at least 1"),
            (self.conv_blocks >= 0, "conv_blocks", "must not be negative"),
            (self.layers >= 0, "layers", "must not be negative"),
            (self.mlp_ratio >= 1, "mlp_ratio", "must be at least 1"),
            (0 <= self.dropout < 1, "dropout", "must be in [0, 1)"),
            *upper_bounds(
                self,
                {
                    "width": MAX_SIZE,
                    "conv_kernel": MAX_KERNEL,
                    "conv_stride": MAX_KERNEL,
                    "conv_blocks": MAX_LAYERS,
                    "layers": MAX_LAYERS,
                    "mlp_ratio": MAX_KERNEL,
                },
            ),
        ]
        check_values(self, checks, source)


class FrameMLP(nn.Module):
    """Embed each frame on its own: (B, T, F) -> (B, T, W)."""

    def __init__(self, features: int, width: int, dropout: float):
        super().__init__()
        self.norm = nn.LayerNorm(features)
        self.fc1 = nn.Linear(features, width)
        self.fc2 = nn.Linear(width, width)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.fc2(F.gelu(self.fc1(self.norm(x)))))


class ConvBlock(nn.Module):
    """Pre-norm residual block mixing neighbouring frames: depthwise temporal conv, then a pointwise MLP.

    With `stride` 2 the block keeps every second frame (the residual is subsampled the same way).
    """

    def __init__(self, width: int, kernel: int, stride: int, dropout: float):
        super().__init__()
        self.stride = stride
        self.norm = nn.LayerNorm(width)
        self.depthwise = nn.Conv1d(width, width, kernel, stride=stride, padding=kernel // 2, groups=width)
        self.pointwise = nn.Linear(width, width)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Take x (B, T, W) and mask (B, T) True for real frames; return both at the block's frame rate."""
        h = self.norm(x) * mask[..., None]  # zero the padding so it reads like the zero border of the conv
        h = self.depthwise(h.transpose(1, 2)).transpose(1, 2)
        h = self.dropout(self.pointwise(F.gelu(h)))
        if self.stride > 1:
            x = x[:, :: self.stride]
            batch, frames = mask.shape
            padded = F.pad(mask, (0, -frames % self.stride))
            mask = padded.view(batch, -1, self.stride).any(dim=-1)  # an output frame is real if its group has one
        return x + h, mask


class TransformerBlock(nn.Module):
    """Pre-norm transformer layer whose attention ignores padded frames."""

    def __init__(self, width: int, heads: int, mlp_ratio: int, dropout: float):
        super().__init__()
        self.heads = heads
        self.dropout = dropout
        self.norm1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)
        self.norm2 = nn.LayerNorm(width)
        self.fc1 = nn.Linear(width, mlp_ratio * width)
        self.fc2 = nn.Linear(mlp_ratio * width, width)
        self.residual_dropout = nn.Dropout(dropout)

    def attention(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        batch, frames, width = x.shape
        q, k, v = self.qkv(x).view(batch, frames, 3, self.heads, width // self.heads).permute(2, 0, 3, 1, 4)
        keys_allowed = mask[:, None, None, :]  # (B, 1, 1, T): every query sees only real frames
        dropout = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=keys_allowed, dropout_p=dropout)
        return self.out(y.transpose(1, 2).reshape(batch, frames, width))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = x + self.residual_dropout(self.attention(self.norm1(x), mask))
        return x + self.residual_dropout(self.fc2(F.gelu(self.fc1(self.norm2(x)))))


class PoseEncoder(nn.Module):
    """Pose sequence -> vector: (B, T, features) with mask (B, T) -> (B, width)."""

    def __init__(self, config: PoseEncoderConfig, input_features: int, max_frames: int):
        super().__init__()
        config.validate()
        self.output_dim = config.width
        self.max_frames = max_frames
        self.frame_mlp = FrameMLP(input_features, config.width, config.dropout)
        self.position = nn.Embedding(max_frames, config.width)
        self.conv_blocks = nn.ModuleList(
            ConvBlock(config.width, config.conv_kernel, config.conv_stride if i == 0 else 1, config.dropout)
            for i in range(config.conv_blocks)
        )
        self.transformer_blocks = nn.ModuleList(
            TransformerBlock(config.width, config.heads, config.mlp_ratio, config.dropout) for _ in range(config.layers)
        )
        self.final_norm = nn.LayerNorm(config.width)
        self.gradient_checkpointing = False
        self.apply(_init_weights)

    def forward(self, frames: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Encode frames (B, T, F) float with mask (B, T) bool (True = real frame, each row >= 1 real
        frame, T <= max_frames) into (B, width) vectors."""
        if frames.shape[1] > self.max_frames:
            raise ValueError(f"{frames.shape[1]} frames exceed max_frames {self.max_frames}; fit the length first")
        mask = mask.bool()
        positions = torch.arange(frames.shape[1], device=frames.device)
        x = self.frame_mlp(frames) + self.position(positions)
        for block in self.conv_blocks:
            x, mask = block(x, mask)
        recompute = self.gradient_checkpointing and self.training and torch.is_grad_enabled()
        for block in self.transformer_blocks:
            x = checkpoint(block, x, mask, use_reentrant=False) if recompute else block(x, mask)
        x = self.final_norm(x) * mask[..., None]
        return x.sum(dim=1) / mask.sum(dim=1, keepdim=True).clamp(min=1)


def _init_weights(module: nn.Module) -> None:
    """GPT-2 style initialisation: small normal weights, zero biases."""
    if isinstance(module, nn.Linear | nn.Embedding):
        nn.init.normal_(module.weight, std=0.02)
    if isinstance(module, nn.Linear) and module.bias is not None:
        nn.init.zeros_(module.bias)
