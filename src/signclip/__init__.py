"""signclip: text and sign language in one embedding space (SignCLIP), and search over sign videos.

The small public API (imported lazily, so `import signclip` stays light):
  load_model(path_or_name) -> SignCLIP     a model directory, or a registered name ("signclip-small")
  create_model(name_or_config) -> SignCLIP an untrained model
  embed_poses(poses, model=...) -> (N, D)  Poses or .pose paths -> L2-normalized float32 embeddings
  embed_texts(texts, model=...) -> (N, D)  prompts such as "<en> <ase> house" -> embeddings
  score(pose, texts, model=...) -> (len(texts),) similarities (cosine; dot for original checkpoints)
Each `model=` takes a loaded SignCLIP or anything load_model takes; load once and pass it when calling often.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from signclip.lazy import lazy_attributes
from signclip.model import MODULES
from signclip.model.identity import DEFAULT_MODEL

if TYPE_CHECKING:
    import numpy as np
    from pose_format import Pose

    from signclip.model.signclip import SignCLIP

__getattr__ = lazy_attributes(
    __name__, {name: MODULES[name] for name in ("create_model", "list_models", "load_model", "save_model")}
)


def _model(model: SignCLIP | str | os.PathLike) -> SignCLIP:
    from signclip.model.hub import load_model

    return load_model(model) if isinstance(model, str | os.PathLike) else model


def embed_poses(
    poses: Sequence[Pose | str | os.PathLike], model: SignCLIP | str | os.PathLike = DEFAULT_MODEL, batch_size: int = 32
) -> np.ndarray:
    """Embed Poses or `.pose` paths with `model`; returns (N, embed_dim) float32, L2-normalized."""
    return _model(model).embed_poses(poses, batch_size=batch_size)


def embed_texts(texts: Sequence[str], model: SignCLIP | str | os.PathLike = DEFAULT_MODEL) -> np.ndarray:
    """Embed texts (prompts) with `model`; returns (N, embed_dim) float32, L2-normalized."""
    return _model(model).embed_texts(texts)


def score(
    pose: Pose | str | os.PathLike, texts: Sequence[str], model: SignCLIP | str | os.PathLike = DEFAULT_MODEL
) -> np.ndarray:
    """Similarity of one pose (Pose or path) with each text: cosine, or the raw dot product for models
    configured with `similarity: dot` (the original checkpoints); returns (len(texts),) float32."""
    return _model(model).score(pose, texts)


__all__ = ["create_model", "embed_poses", "embed_texts", "list_models", "load_model", "save_model", "score"]
