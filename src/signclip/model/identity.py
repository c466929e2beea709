"""A model's identity: the default model name, and a fingerprint of its weights for the search store."""

from __future__ import annotations

import hashlib

DEFAULT_MODEL = "signclip-small"


def model_fingerprint(model: object) -> str | None:
    """Return a SHA-256 of a torch model's weights (names, shapes, values), or None for other embedders."""
    state_dict = getattr(model, "state_dict", None)
    if state_dict is None:
        return None
    import torch

    digest = hashlib.sha256()
    for key, tensor in sorted(state_dict().items()):
        digest.update(f"{key}:{tuple(tensor.shape)}:{tensor.dtype}".encode())
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()
