"""What every `signclip` training run returns: `signclip train` (the two towers) and `signclip segment train`
(a BIO tagger) alike."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class TrainResult:
    """A finished run: its output folder, the model directory it chose (None on ranks > 0 of a torchrun
    run), the validation figure it chose by (`best_metric`, None before any validation), the per-epoch
    history, all validation figures of the chosen model (`val_metrics`), epochs trained and seconds."""

    output_dir: Path
    best_dir: Path | None
    best_metric: float | None
    history: list[dict] = field(default_factory=list)
    val_metrics: dict[str, Any] = field(default_factory=dict)
    epochs: int = 0
    seconds: float = 0.0
