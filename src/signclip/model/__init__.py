"""SignCLIP models: config and registry, the two towers, the contrastive loss, save and load.

`create_model`, `load_model`, `save_model`, `SignCLIP`, `ModelConfig` and `list_models` are importable
from here; they load lazily so that `signclip.model.config` can be used without importing torch.
"""

from __future__ import annotations

from signclip.lazy import lazy_attributes

MODULES = {  # exported name -> the module that defines it
    "create_model": "signclip.model.hub",
    "load_model": "signclip.model.hub",
    "save_model": "signclip.model.hub",
    "SignCLIP": "signclip.model.signclip",
    "ModelConfig": "signclip.model.config",
    "list_models": "signclip.model.config",
    "model_config": "signclip.model.config",
}

__getattr__ = lazy_attributes(__name__, MODULES)

__all__ = sorted(MODULES)
