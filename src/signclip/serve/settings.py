"""Settings of `signclip serve` as data: where to listen, which models, the database, and request limits.

`ServeSettings.from_file(path)` reads a YAML (or JSON) file such as

    host: 127.0.0.1
    port: 3030
    models: [signclip-small, asl=runs/asl/model]
    api_key: change-me
    cors_origins: [https://example.org]
    limits: {max_upload_bytes: 20000000, max_texts: 32, request_timeout_s: 30}
    batching: {max_batch: 32, max_wait_ms: 2}

Unknown keys and values of the wrong type raise ConfigError naming the key.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from signclip.dataclass_config import from_mapping, read_config_mapping
from signclip.errors import ConfigError
from signclip.model.config import TRAINING_FREE_MODELS
from signclip.serve.batching import BatchingSettings
from signclip.store.errors import StoreError
from signclip.store.indexes import DEFAULT_EF_SEARCH, check_ef_search

MIB = 1024 * 1024


@dataclass
class Limits:
    """What one request may ask for; anything beyond is refused with a 413 or 422 naming the limit."""

    max_request_bytes: int = 64 * MIB  # whole request body
    max_upload_bytes: int = 50 * MIB  # one uploaded or base64-decoded file
    max_texts: int = 64  # texts per embed request
    max_text_chars: int = 1000  # characters per text
    max_poses: int = 16  # poses per embed request
    max_frames: int = 5000  # frames per pose
    max_video_seconds: float = 60.0  # duration of an uploaded video
    max_k: int = 100  # results per search
    request_timeout_s: float = 120.0  # model or database work per request

    def validate(self, source: str = "limits") -> None:
        """Raise ConfigError naming the first limit that is not positive."""
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if value <= 0:
                raise ConfigError(f"{source}: {item.name} must be positive, got {value!r}")


@dataclass
class ServeSettings:
    """Everything `create_app` needs.

    `models` lists model directories or registered names, each optionally as `alias=path`; the first is
    the default (also reachable as "default", the original SignCLIP server's name for it). A model is
    also reachable by its config name, which is the name its embeddings carry in the store.
    `database_url` None uses `$DATABASE_URL` or the embedded server in `home` (default `$SIGNCLIP_HOME`).
    `api_key` None leaves the data-changing endpoints open (the default host is loopback only).
    `upload_dir` holds poses added through the API (default `<home>/uploads`).
    `batching` says how concurrent embed requests share forward passes (serve/batching.py).
    `ef_search` is the candidates each HNSW search keeps (1-1000): raise it for recall on millions of segments.
    """

    host: str = "127.0.0.1"
    port: int = 3030
    workers: int = 1
    models: list[str] = field(default_factory=lambda: [TRAINING_FREE_MODELS[0]])
    database_url: str | None = None
    home: str | None = None
    api_key: str | None = None
    cors_origins: list[str] = field(default_factory=list)
    upload_dir: str | None = None
    store_connections: int = 4
    ef_search: int = DEFAULT_EF_SEARCH
    limits: Limits = field(default_factory=Limits)
    batching: BatchingSettings = field(default_factory=BatchingSettings)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "serve settings") -> ServeSettings:
        """Build and validate settings from a mapping (a `limits` section may override some limits)."""
        settings = from_mapping(cls, data, source)
        settings.validate(source)
        return settings

    @classmethod
    def from_file(cls, path: str | Path) -> ServeSettings:
        """Read settings from a YAML or JSON file; ConfigError names the file and the problem."""
        return cls.from_dict(read_config_mapping(path, "settings file"), source=str(path))

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as plain JSON-ready data (the inverse of from_dict)."""
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        """Return the settings as JSON text (how `signclip serve --workers N` hands them to each worker)."""
        return json.dumps(self.to_dict())

    def validate(self, source: str = "serve settings") -> None:
        """Raise ConfigError for values out of range."""
        if not self.models:
            raise ConfigError(f"{source}: models must name at least one model")
        for spec in self.models:
            alias, separator, path = spec.partition("=")
            if not spec.strip() or (separator and not (alias.strip() and path.strip())):
                raise ConfigError(f"{source}: model {spec!r} must be PATH_OR_NAME or ALIAS=PATH_OR_NAME")
        if not 0 < self.port < 65536:
            raise ConfigError(f"{source}: port must be between 1 and 65535, got {self.port}")
        if self.workers < 1 or self.store_connections < 1:
            raise ConfigError(f"{source}: workers and store_connections must be at least 1")
        if self.api_key is not None and not self.api_key.strip():
            raise ConfigError(f"{source}: api_key is empty; leave it out to disable the key")
        try:
            check_ef_search(self.ef_search)
        except StoreError as error:
            raise ConfigError(f"{source}: {error}") from None
        self.limits.validate(f"{source}: limits")
        self.batching.validate(f"{source}: batching")

    def model_specs(self) -> list[tuple[str | None, str]]:
        """Return `models` as (alias or None, path or name) pairs, default first."""
        pairs = []
        for spec in self.models:
            alias, separator, path = spec.partition("=")
            pairs.append((alias.strip(), path.strip()) if separator else (None, spec.strip()))
        return pairs
