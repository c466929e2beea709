"""The models a store knows (the `Store` methods about them, kept apart): each model's name, size, metric and
weights' fingerprint, registered once and checked whenever vectors of that name are written or searched."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from signclip.store import knn, statements
from signclip.store.errors import DimensionMismatchError, ModelMismatchError, UnknownModelError
from signclip.store.items import ModelInfo


class StoreModels:
    """The model registry of a Store: needs `connection` and the `_models` cache (models never change once stored)."""

    connection: psycopg.Connection
    _models: dict[str, ModelInfo]

    def embedding_count(self, model: str) -> int:
        """How many vectors of `model` the store holds, over all datasets (0 for a model it does not know)."""
        return int(self.connection.execute(statements.EMBEDDING_COUNT, [model]).fetchone()[0])

    def list_models(self) -> list[ModelInfo]:
        """Return every model known to the store, sorted by name."""
        rows = self.connection.execute("SELECT id, name, dim, metadata FROM models ORDER BY name").fetchall()
        return [ModelInfo(*row) for row in rows]

    def model(self, name: str) -> ModelInfo:
        """Return the stored model `name`; raises UnknownModelError naming the models there are."""
        if name not in self._models:
            query = "SELECT id, name, dim, metadata FROM models WHERE name = %s"
            row = self.connection.execute(query, [name]).fetchone()
            if row is None:
                known = ", ".join(m.name for m in self.list_models()) or "none"
                raise UnknownModelError(f"model {name!r} has no embeddings in the store (models there: {known})")
            self._models[name] = ModelInfo(*row)
        return self._models[name]

    def register_model(self, name: str, dim: int, metadata: Mapping[str, Any] | None = None) -> ModelInfo:
        """Add model `name` with embedding size `dim` (or return it, checked as in `check_model`).

        `metadata["fingerprint"]`, a hash of the weights, lets later runs detect another model under
        the same name.
        """
        if not 1 <= dim <= knn.HNSW_MAX_DIM:
            raise DimensionMismatchError(
                f"model {name!r} makes {dim}-d vectors; the store holds 1 to {knn.HNSW_MAX_DIM} dimensions"
            )
        self.connection.execute(
            "INSERT INTO models (name, dim, metadata) VALUES (%s, %s, %s) ON CONFLICT (name) DO NOTHING",
            [name, int(dim), Jsonb(dict(metadata or {}))],
        )
        return self.check_model(name, dim, (metadata or {}).get("fingerprint"))

    def check_model(self, name: str, dim: int, fingerprint: str | None = None) -> ModelInfo:
        """Return stored model `name` if a model of size `dim` (and weights `fingerprint`) may use it.

        Raises UnknownModelError, DimensionMismatchError (another embedding size) or ModelMismatchError
        (other weights: vectors of two different models under one name cannot be compared).
        """
        model = self.model(name)
        if model.dim != dim:
            raise DimensionMismatchError(
                f"model {name!r} has {model.dim}-d embeddings in the store, but this model makes {dim}-d "
                "vectors; use another model name or remove the datasets indexed with the old one"
            )
        stored = model.metadata.get("fingerprint")
        if stored and fingerprint and stored != fingerprint:
            raise ModelMismatchError(
                f"model {name!r} in the store was indexed with other weights (fingerprint {stored[:12]}, this "
                f"model {fingerprint[:12]}); give the model another name or remove the datasets indexed with it"
            )
        return model

    def metric_of(self, model: str) -> str:
        """The distance `model`'s vectors are compared by: its stored `metadata["metric"]`, else "cosine"."""
        return str(self.model(model).metadata.get("metric", "cosine"))
