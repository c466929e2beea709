"""Checkpoints of a training run: what they keep of the model, and writing and reading them (with the
optimizer and scheduler, the epochs done, the best validation value and the metrics history)."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import torch

from signclip.model.signclip import SignCLIP
from signclip.poses.io import write_bytes_atomically
from signclip.train.config import TrainingError


def excluded_keys(model: SignCLIP) -> set[str]:
    """State keys a checkpoint leaves out: a frozen text tower's weights (they come from the pretrained model)."""
    if not model.config.freeze_text:
        return set()
    return {key for key in model.state_dict() if key.startswith("text_encoder.")}


def training_state(model: SignCLIP) -> dict[str, torch.Tensor]:
    """The model's state as a checkpoint keeps it (see `excluded_keys`)."""
    excluded = excluded_keys(model)
    return {key: value for key, value in model.state_dict().items() if key not in excluded}


def save_checkpoint(
    path: Path,
    model: SignCLIP,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    epoch: int,
    best: float | None,
    history: list[dict],
) -> None:
    """Write a resumable checkpoint: the model (see `training_state`), optimizer, scheduler, the epochs
    done, the best validation value so far and the metrics history."""
    buffer = io.BytesIO()
    torch.save(
        {
            "model": training_state(model),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "epoch": epoch,
            "best": best,
            "history": history,
        },
        buffer,
    )
    write_bytes_atomically(buffer.getvalue(), path)


def load_checkpoint(
    path: Path,
    model: SignCLIP,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
) -> tuple[int, float | None, list[dict]]:
    """Load a checkpoint of `save_checkpoint` into model, optimizer and scheduler; returns (epochs done, best
    value, history). TrainingError when the file is missing or does not fit this config."""
    if not path.is_file():
        raise TrainingError(f"{path}: no checkpoint to resume from (train without --resume first)")
    try:
        state = torch.load(path, map_location=model.device, weights_only=False)
        missing, unexpected = model.load_state_dict(state["model"], strict=False)
        missing = [key for key in missing if key not in excluded_keys(model)]
        if missing or unexpected:
            raise RuntimeError(f"missing weights {missing[:5]}, unexpected weights {unexpected[:5]}")
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
    except (RuntimeError, KeyError, ValueError, OSError, EOFError) as error:
        raise TrainingError(f"{path}: the checkpoint does not fit this config: {error}") from None
    return int(state["epoch"]), state["best"], list(state["history"])


def write_metrics(path: Path, history: list[dict]) -> None:
    """Write the metrics history (one row per epoch) as CSV."""
    write_bytes_atomically(pd.DataFrame(history).to_csv(index=False).encode(), path)
