"""A Store's HNSW indexes (one per model, metric and vector type) and its datasets' vector types.

A dataset's vector type (vector_types.py) is chosen when it is created (`use_vector_type` before its first
`add_items`) or switched later, which converts its stored vectors in one transaction: an interrupted or
refused switch leaves the old vectors, and the old type, as they were.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from signclip.store import knn
from signclip.store.errors import StoreError, UnknownDatasetError
from signclip.store.items import check_dataset_name
from signclip.store.vector_types import (
    DEFAULT_VECTOR_TYPE,
    HALFVEC_MAX,
    VECTOR_TYPES,
    VectorType,
    convert_sql,
    vector_type,
)

MODEL_TYPES = (
    "SELECT d.vector_type FROM datasets d WHERE EXISTS"
    " (SELECT 1 FROM embeddings e WHERE e.model_id = %s AND e.dataset_id = d.id) ORDER BY 1"
)
DATASET_MODEL_IDS = "SELECT DISTINCT model_id FROM embeddings WHERE dataset_id = %s"


class StoreIndexes:
    """HNSW indexes and vector types of a Store: needs `connection`, `_indexes` (names known to exist),
    `_new_dataset_types` (types chosen for datasets not created yet), and the Store's `model`, `metric_of`
    (StoreModels) and `dataset_state`."""

    connection: psycopg.Connection
    _indexes: set[str]
    _new_dataset_types: dict[str, str]

    # ------------------------------------------------------------------ vector types

    def use_vector_type(self, dataset: str, name: str) -> int:
        """Store `dataset`'s vectors as vector type `name` ("vector", "halfvec" or "binary") from now on;
        returns how many stored vectors were converted.

        A dataset that does not exist yet is created with this type by this Store's first `add_items` for it
        (nothing is written now). An existing dataset of another type has its vectors converted in one
        transaction, and the model's index of the old type is dropped when no dataset of the model uses
        that type any more (build_index makes the new type's). Converting to halfvec rounds to float16 (a
        value beyond +-65504 refuses the whole switch); back from halfvec gives float32 of those values.
        UnknownVectorTypeError for an unknown type, before anything.
        """
        target = vector_type(name)
        check_dataset_name(dataset)
        try:
            state = self.dataset_state(dataset)
        except UnknownDatasetError:
            self._new_dataset_types[dataset] = target.name
            return 0
        if state.vector_type == target.name:
            return 0
        try:
            with self.connection.transaction():
                self.connection.execute("SELECT 1 FROM datasets WHERE id = %s FOR UPDATE", [state.id])
                converted = self.connection.execute(convert_sql(state.id, target)).rowcount
                self.connection.execute(
                    "UPDATE datasets SET vector_type = %s, version = version + 1 WHERE id = %s",
                    [target.name, state.id],
                )
                for (model_id,) in self.connection.execute(DATASET_MODEL_IDS, [state.id]).fetchall():
                    self._drop_unused(int(model_id), vector_type(state.vector_type))
        except psycopg.errors.NumericValueOutOfRange:
            raise StoreError(
                f"dataset {dataset!r} cannot be stored as {target.name}: a vector has a value beyond "
                f"+-{HALFVEC_MAX:g}, which float16 cannot hold; it stays {state.vector_type}"
            ) from None
        return converted

    def vector_types_of(self, model: str) -> list[str]:
        """The vector types of the datasets that `model` embedded, sorted (["vector"] when there are none)."""
        rows = self.connection.execute(MODEL_TYPES, [self.model(model).id]).fetchall()
        return [row[0] for row in rows] or [DEFAULT_VECTOR_TYPE]

    # ------------------------------------------------------------------ indexes

    def build_index(
        self,
        model: str,
        metric: str | None = None,
        m: int = 16,
        ef_construction: int = 64,
        maintenance_work_mem: str = "1GB",
        parallel_workers: int = 2,
        kind: str | None = None,
    ) -> bool:
        """Create the HNSW index of `model` for `metric` (default: the model's, see `metric_of`) over vectors of
        type `kind` (default: every type the model's datasets use) if missing; returns True when one was
        built now.

        Build settings (`m`, `ef_construction`) matter only at build time; `maintenance_work_mem` should
        hold the whole graph (about N x (bytes a vector + 8 m) bytes) for a fast build.
        """
        model_info, metric = self.model(model), metric or self.metric_of(model)
        kinds = [vector_type(kind)] if kind is not None else [VECTOR_TYPES[t] for t in self.vector_types_of(model)]
        missing = [k for k in kinds if not self.has_index(model, metric, k.name)]
        if not missing:
            return False
        self.connection.execute(sql.SQL("SET maintenance_work_mem = {}").format(sql.Literal(maintenance_work_mem)))
        self.connection.execute(
            sql.SQL("SET max_parallel_maintenance_workers = {}").format(sql.Literal(int(parallel_workers)))
        )
        for built in missing:
            self.connection.execute(
                knn.create_index_sql(model_info.id, model_info.dim, metric, m, ef_construction, built)
            )
        self.connection.execute("ANALYZE embeddings")
        return True

    def has_index(self, model: str, metric: str | None = None, kind: str | None = None) -> bool:
        """Return whether `model` has its HNSW index for `metric` (default: the model's) over vector type `kind`
        (default: for every type its datasets use)."""
        metric = metric or self.metric_of(model)
        knn.metric_sql(metric)
        kinds = [kind] if kind is not None else self.vector_types_of(model)
        names = [knn.index_name(self.model(model).id, metric, k) for k in kinds]
        for name in names:
            if name not in self._indexes and self.connection.execute("SELECT to_regclass(%s)", [name]).fetchone()[0]:
                self._indexes.add(name)
        return all(name in self._indexes for name in names)

    def drop_index(self, model: str, metric: str | None = None, kind: str | None = None) -> None:
        """Drop `model`'s HNSW index for `metric` (default: the model's) over vector type `kind` (default: every
        type) if it exists (before a bulk load; build_index makes it again)."""
        metric = metric or self.metric_of(model)
        for dropped in [vector_type(kind)] if kind is not None else VECTOR_TYPES.values():
            self._drop(knn.index_name(self.model(model).id, metric, dropped))

    def _drop_unused(self, model_id: int, kind: VectorType) -> None:
        """Drop model `model_id`'s indexes over `kind` (every metric) when no dataset of the model uses `kind`."""
        used = self.connection.execute(
            "SELECT 1 FROM datasets d WHERE d.vector_type = %s"
            " AND EXISTS (SELECT 1 FROM embeddings e WHERE e.model_id = %s AND e.dataset_id = d.id) LIMIT 1",
            [kind.name, model_id],
        ).fetchone()
        if used is None:
            for metric in knn.METRICS:
                self._drop(knn.index_name(model_id, metric, kind))

    def _drop(self, name: str) -> None:
        self.connection.execute(sql.SQL("DROP INDEX IF EXISTS {}").format(sql.Identifier(name)))
        self._indexes.discard(name)
