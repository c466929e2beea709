"""A model's identity: the default model name, a fingerprint of its weights for the search store, and
its provenance (untrained, trained by `signclip train`, or converted from an original checkpoint)."""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from signclip.dataclass_config import from_mapping
from signclip.errors import ConfigError

DEFAULT_MODEL = "signclip-small"
PROVENANCE_FILE = "provenance.json"
PROVENANCE_KINDS = ("untrained", "trained", "converted", "training-free", "unknown")


def model_fingerprint(model: object) -> str | None:
    """Return a SHA-256 of a torch model's weights (names, shapes, values), or None for other embedders.

    A model loaded from a directory whose `fingerprint.json` still matches its weights file carries it as
    `known_fingerprint` (see signclip.model.hub), so it is not hashed again.
    """
    known = getattr(model, "known_fingerprint", None)
    if known:
        return known
    state_dict = getattr(model, "state_dict", None)
    if state_dict is None:
        return None
    return weights_fingerprint(state_dict())


def weights_fingerprint(weights: Mapping[str, Any]) -> str:
    """SHA-256 of a state dict {name: tensor}: names, shapes, dtypes and values, in name order."""
    import torch

    digest = hashlib.sha256()
    for key, tensor in sorted(weights.items()):
        digest.update(f"{key}:{tuple(tensor.shape)}:{tensor.dtype}".encode())
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class Provenance:
    """Where a model's weights come from (a model directory's provenance.json).

    `kind` is "untrained" (built from a config: random pose tower), "trained" (by `signclip train`:
    `run` the output folder, `data` the training config's data section, `epochs` trained, `val_metric`
    and `val_value` the validation figure it was chosen by), "converted" (from the original MMPT
    checkpoint `checkpoint`), or "unknown" (a model directory written before provenance was recorded).
    `init_from` is set when training started from another model's weights (`TrainConfig.init_from`):
    {"source": its directory (resolved) or name, "kind": its provenance kind, "fingerprint": the
    `model_fingerprint` of its weights}. `created` is when the weights were saved (ISO 8601, UTC).
    """

    kind: str = "untrained"
    run: str | None = None
    data: dict | None = None
    epochs: int | None = None
    val_metric: str | None = None
    val_value: float | None = None
    checkpoint: str | None = None
    init_from: dict | None = None
    created: str | None = None

    @property
    def trained(self) -> bool | None:
        """True for trained or converted weights and for a training-free index (whose scores mean what they
        say), False for untrained weights, None when unknown."""
        return {"trained": True, "converted": True, "training-free": True, "untrained": False}.get(self.kind)

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON-ready data, without the fields that are not set."""
        return {key: value for key, value in dataclasses.asdict(self).items() if value is not None}

    @classmethod
    def from_dict(cls, data: Any, source: str = PROVENANCE_FILE) -> Provenance:
        """Read a record written by `to_dict`; ConfigError naming `source` for unknown keys or kinds."""
        provenance = from_mapping(cls, data, source)
        if provenance.kind not in PROVENANCE_KINDS:
            raise ConfigError(f"{source}: kind must be one of {list(PROVENANCE_KINDS)}, got {provenance.kind!r}")
        return provenance

    def training_data(self) -> str:
        """What the weights learned from, for people: "dataset asl-citizen" (or "manifest PATH", "synthetic
        {...}") for trained weights, the checkpoint for converted ones (whose data is not recorded)."""
        if self.kind == "trained":
            data = self.data or {}
            sources = [f"{key} {data[key]}" for key in ("dataset", "manifest", "synthetic") if data.get(key)]
            return ", ".join(sources) or "unknown data"
        if self.kind == "converted":
            return f"the data of the original checkpoint {self.checkpoint} (not recorded)"
        return {
            "untrained": "nothing (untrained weights)",
            "training-free": "nothing (a training-free index: no weights)",
        }.get(self.kind, "unrecorded data (no provenance record)")

    def describe(self) -> str:
        """One line for people, e.g. "trained by signclip train in runs/fs (dataset fingerspelling-lexicon),
        100 epochs, validation v2t.R@1 0.5400", then ", initialized from SOURCE (KIND weights, sha256 ...)"
        when training started from another model."""
        if self.kind == "trained":
            line = f"trained by signclip train in {self.run} ({self.training_data()}), {self.epochs} epochs"
            line += f", validation {self.val_metric} {self.val_value:.4f}" if self.val_value is not None else ""
            if self.init_from:
                init = self.init_from
                line += f", initialized from {init.get('source')} ({init.get('kind')} weights, sha256 "
                line += f"{str(init.get('fingerprint'))[:12]}...)"
            return line
        if self.kind == "converted":
            return f"converted from the MMPT checkpoint {self.checkpoint}"
        return {
            "untrained": "untrained (random pose-tower weights)",
            "training-free": "a training-free pose index (no weights: DTW features, a fixed projection)",
        }.get(self.kind, "provenance unknown (saved without a provenance record)")


def utc_now() -> str:
    """The current time as ISO 8601 in UTC, to the second (a Provenance's `created`)."""
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def untrained_warning(model: object) -> str | None:
    """The warning to print before embedding with `model` when its weights are untrained, naming the way
    out; None for trained, converted or unknown weights, and for embedders without a provenance."""
    provenance = getattr(model, "provenance", None)
    if not isinstance(provenance, Provenance) or provenance.kind != "untrained":
        return None
    return (
        f"warning: model {getattr(model, 'name', '?')!r} is untrained (random pose-tower weights), so its "
        "scores and rankings carry no meaning. Train one with `signclip train CONFIG` (see configs/) and pass "
        "its best/ folder with --model, or convert an original SignCLIP checkpoint with "
        "`signclip convert-mmpt CHECKPOINT --config signclip-e7.2`."
    )
