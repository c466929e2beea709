"""The BIO tagger network: a linear projection, a bidirectional LSTM and one BIO head per level (sign,
sentence). `dgs-2023` is one trained instance; `signclip segment train` trains others (see tagger.py)."""

from __future__ import annotations

import torch
from torch import nn


class BIOTagger(nn.Module):
    """Linear projection, BiLSTM, and one Linear BIO head per level.

    forward(x, lengths): x float32 (batch, frames, features) or (batch, frames, points, dims), flattened to
    features; `lengths` (batch,) the real frames of each padded sequence (None: all frames are real);
    returns {"sign": (batch, frames, 3), "sentence": (batch, frames, 3)} log-probabilities (O, B, I).
    """

    def __init__(self, input_size: int = 225, hidden_size: int = 256, num_layers: int = 1, dropout: float = 0.0):
        super().__init__()
        self.pose_projection = nn.Linear(input_size, hidden_size)
        self.encoder = nn.LSTM(
            hidden_size,
            hidden_size // 2,
            num_layers=num_layers,
            batch_first=True,
            bidirectional=True,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.sign_bio_head = nn.Linear(hidden_size, 3)
        self.sentence_bio_head = nn.Linear(hidden_size, 3)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        x = x.reshape(x.shape[0], x.shape[1], -1)
        projected = self.pose_projection(x)
        if lengths is None:
            encoded, _ = self.encoder(projected)
        else:
            packed = nn.utils.rnn.pack_padded_sequence(projected, lengths.cpu(), batch_first=True, enforce_sorted=False)
            encoded, _ = self.encoder(packed)
            encoded, _ = nn.utils.rnn.pad_packed_sequence(encoded, batch_first=True, total_length=x.shape[1])
        return {
            "sign": torch.log_softmax(self.sign_bio_head(encoded), dim=-1),
            "sentence": torch.log_softmax(self.sentence_bio_head(encoded), dim=-1),
        }
