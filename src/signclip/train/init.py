"""The model a run starts from: fresh (`create_model`), or another model's weights (`init_from`), with
parts of the pose tower kept fixed (`freeze`).

With `init_from`, every weight of the init model is copied into the run's model: both towers, the
projections and the temperature. The text tower comes from the init model whatever `freeze_text` says
(a converted MMPT model's text tower exists only there; a checkpoint leaves a frozen one out). The run's
model config must describe the same network: the keys that shape the weights or what they compute
(`ARCHITECTURE_KEYS` and `pose_encoder`'s keys except `dropout`) must equal the init model's, its input
features (set from the data) too, and every weight must fit (`signclip.model.hub.check_weights`).

`freeze` entries are module paths of the pose tower (`pose_tower_parts` lists them, e.g.
`pose_encoder.frame_mlp`, `pose_encoder.transformer_blocks.0`, `pose_encoder.bert.encoder.layer.3`),
or a module enclosing some (`pose_encoder`, `pose_encoder.bert.encoder`); their parameters get
`requires_grad=False`, so the optimizer never sees them.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import torch
from torch import nn

from signclip.errors import ConfigError, ModelFileError
from signclip.model.config import ModelConfig, architecture, model_directory
from signclip.model.hub import check_weights, create_model, load_model
from signclip.model.identity import model_fingerprint
from signclip.model.signclip import SignCLIP
from signclip.train.config import TrainConfig, TrainingError

ARCHITECTURE_KEYS = ("architecture", "tower_dim", "towers", "text_encoder.name")
POSE_TOWER = ("pose_encoder", "pose_projection")


def start_model(config: TrainConfig, spec: ModelConfig, device: torch.device) -> tuple[SignCLIP, dict | None]:
    """Build the run's model from `spec` (its input_features set from the data) on `device`, eval mode:
    with `config.init_from` holding the init model's weights, else fresh from `config.seed`; then
    `config.freeze` applied. Returns (model, the `Provenance.init_from` record or None)."""
    record = None
    if config.init_from is None:
        model = create_model(spec, seed=config.seed, device=device)
    else:
        init = load_init_model(config.init_from)
        record = init_record(config.init_from, init)
        model = initialized_model(spec, init, record["source"]).to(device)
    freeze_pose_tower(model, config.freeze)
    return model, record


def init_source(source: str) -> str:
    """How provenance names an init model: its directory, resolved, or else the registered name."""
    directory = model_directory(source)
    return str(directory.resolve()) if directory is not None else source


def load_init_model(source: str) -> SignCLIP:
    """`load_model(source)` on the CPU; TrainingError naming `init_from` when it does not load."""
    try:
        return load_model(source)
    except (ModelFileError, ConfigError) as error:
        raise TrainingError(f"init_from {source!r}: {error}") from None


def init_record(source: str, init: SignCLIP) -> dict:
    """The `Provenance.init_from` record of a run started from `init`: source, provenance kind, fingerprint."""
    return {"source": init_source(source), "kind": init.provenance.kind, "fingerprint": model_fingerprint(init)}


def initialized_model(spec: ModelConfig, init: SignCLIP, source: str) -> SignCLIP:
    """A model of config `spec` holding every weight of `init` (text tower and temperature too), eval mode,
    on the CPU; TrainingError naming the feature counts, the differing config keys, or the weights
    (missing, unexpected, wrong-shaped) when `spec` does not describe `init`'s network."""
    if spec.input_features != init.config.input_features:
        raise TrainingError(
            f"init_from {source}: the data gives {spec.input_features} features per frame (preprocess "
            f"{spec.preprocess!r}) but the init model takes input_features={init.config.input_features} "
            f"(preprocess {init.config.preprocess!r}); use its preprocess, or poses of the layout it was trained on"
        )
    with tempfile.TemporaryDirectory(prefix="signclip-init-text-") as folder:
        init.text_encoder.save_structure(folder)  # the init model's text tower, whatever `spec` would load
        model = architecture(spec.architecture).build(spec, text_source=Path(folder))
    differences = architecture_differences(spec, init.config)
    problems = [f"its config differs in {', '.join(differences)}"] if differences else []
    try:
        check_weights(model.state_dict(), init.state_dict(), f"init_from {source}")
    except ModelFileError as error:
        problems.append(str(error))
    if problems:
        raise TrainingError(
            f"the training config's model is not init_from's architecture: {'; '.join(problems)}. Leave `model:` out "
            "to use the init model's config, or set in it only keys that keep the architecture (a mapping "
            "without `base` overrides the init model's config)"
        )
    model.load_state_dict(init.state_dict())
    return model.eval()


def architecture_differences(run: ModelConfig, init: ModelConfig) -> list[str]:
    """The architecture keys where `run` differs from `init`, each as "KEY RUN (init_from: INIT)"."""
    if run.architecture != init.architecture:
        return [f"architecture {run.architecture!r} (init_from: {init.architecture!r})"]
    ours, theirs = _flat(run.to_dict()), _flat(init.to_dict())
    keys = [*ARCHITECTURE_KEYS, *(f"pose_encoder.{key}" for key in dataclasses.asdict(init.pose_encoder))]
    return [
        f"{key} {ours[key]!r} (init_from: {theirs[key]!r})"
        for key in keys
        if key != "pose_encoder.dropout" and ours[key] != theirs[key]
    ]


def _flat(data: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def pose_tower_parts(model: SignCLIP) -> list[str]:
    """The parts of the pose tower that `freeze` names: the modules with parameters under `pose_encoder` and
    `pose_projection` that hold no list of blocks, each whole, and each block of a list on its own, e.g.
    pose_encoder.frame_mlp, pose_encoder.transformer_blocks.0, pose_projection (module paths, in order)."""
    parts: list[str] = []

    def visit(name: str, module: nn.Module) -> None:
        if next(module.parameters(), None) is None:
            return
        if not any(isinstance(child, nn.ModuleList) for child in module.modules()):
            parts.append(name)
            return
        parts.extend(f"{name}.{key}" for key, _ in module.named_parameters(recurse=False))
        for key, child in module.named_children():
            visit(f"{name}.{key}", child)

    for name in POSE_TOWER:
        visit(name, getattr(model, name))
    return parts


def freeze_pose_tower(model: SignCLIP, names: list[str]) -> None:
    """Set requires_grad=False on the parameters under each of `names` (a part of `pose_tower_parts` or a
    module enclosing parts); ConfigError listing the valid names for one that names none of them."""
    parts = pose_tower_parts(model)
    enclosing = sorted({part.rsplit(".", depth)[0] for part in parts for depth in range(1, part.count(".") + 1)})
    for name in names:
        if name not in parts and name not in enclosing:
            raise ConfigError(
                f"training config: freeze: {name!r} is no part of the pose tower of {model.name!r}; its parts are "
                f"{', '.join(parts)} (or a module enclosing some: {', '.join(enclosing)})"
            )
        for key, parameter in model.named_parameters():
            if key == name or key.startswith(f"{name}."):
                parameter.requires_grad_(False)
