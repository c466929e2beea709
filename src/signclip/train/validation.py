"""Validation during training: text<->pose retrieval on the validation split, and the text features
a frozen text tower lets the run compute once."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from signclip.data.prompts import render_prompts
from signclip.data.table import read_table_poses
from signclip.errors import ConfigError
from signclip.evaluation.retrieval import retrieval_report
from signclip.evaluation.rows import EvaluationError, group_values
from signclip.model.signclip import SignCLIP


def text_features(model: SignCLIP, prompts: Sequence[str], batch_size: int = 64) -> torch.Tensor:
    """Pooled text-tower outputs (len(prompts), D_text) before projection, computed without gradients."""
    chunks = []
    with torch.no_grad():
        for start in range(0, len(prompts), batch_size):
            tokens = {
                k: v.to(model.device) for k, v in model.tokenize(list(prompts[start : start + batch_size])).items()
            }
            chunks.append(model.text_encoder(**tokens).float())
    return torch.cat(chunks)


def embed_prompts(model: SignCLIP, prompts: Sequence[str], cached: torch.Tensor | None) -> np.ndarray:
    """Normalized text embeddings (len(prompts), E) as numpy, from cached features when available."""
    if cached is None:
        return model.embed_texts(list(prompts))
    with torch.no_grad():
        return model.project_texts(cached.to(model.device)).float().cpu().numpy()


class Validation:
    """Retrieval on the validation rows: poses preprocessed once, prompts rendered once; `run()` scores
    the model as it is now, computed within `group_by` groups when given."""

    def __init__(self, model: SignCLIP, rows: pd.DataFrame, group_by: str | None, progress: bool):
        self.model = model
        poses = read_table_poses(rows, progress)
        self.tensors = [model.preprocess(pose, str(path)) for pose, path in zip(poses, rows["pose_path"], strict=True)]
        self.prompts = render_prompts(model.config.prompt, rows)
        self.unique_prompts = sorted(set(self.prompts))
        self.cached = text_features(model, self.unique_prompts) if model.config.freeze_text else None
        try:
            self.groups = group_values(rows, group_by)
        except EvaluationError as error:
            raise ConfigError(f"training config: val_group_by: {error}") from None

    def run(self) -> dict[str, float]:
        """Return the current model's retrieval metrics flattened as {"val_t2v.P@1": ..., "val_v2t.R@1": ...}."""
        pose_embeddings = self.model.embed_pose_tensors(self.tensors)
        text_embeddings = dict(
            zip(self.unique_prompts, embed_prompts(self.model, self.unique_prompts, self.cached), strict=True)
        )

        def score(candidates: list[str], rows: np.ndarray) -> np.ndarray:
            return np.stack([text_embeddings[t] for t in candidates]) @ pose_embeddings[rows].T

        report = retrieval_report(self.prompts, score, self.groups)
        return {f"val_{side}.{key}": value for side in ("t2v", "v2t") for key, value in report[side].items()}
