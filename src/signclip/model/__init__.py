"""SignCLIP models: config and registry, the two towers, the contrastive loss, save and load.

`create_model`, `load_model`, `save_model`, `SignCLIP`, `ModelConfig` and `list_models` are importable
from here; they load lazily so that `signclip.model.config` can be used without importing torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "create_model": "signclip.model.hub",
    "load_model": "signclip.model.hub",
    "save_model": "signclip.model.hub",
    "SignCLIP": "signclip.model.signclip",
    "ModelConfig": "signclip.model.config",
    "list_models": "signclip.model.config",
    "model_config": "signclip.model.config",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'signclip.model' has no attribute {name!r}")


__all__ = sorted(_LAZY)
