"""The search store: datasets, models, items and embeddings in PostgreSQL + pgvector.

Per-model HNSW: all embeddings live in one table with an untyped column per vector type (a dataset's
type: float32 `vector`, float16 `halfvec`, or `binary` quantization re-ranked on float32; vector_types.py);
each (model, metric, type) gets a *partial expression index* such as `USING hnsw ((vector::vector(DIM))
OPS) WHERE model_id = ID`. Queries repeat the same expression and the model id as a literal so the planner
matches that index; the same query over the bare column (`vector <=> q`) matches no index and is the
exact search (SQL in `knn`; indexes and types in `indexes`). Ingest goes
through COPY into session staging tables, one transaction per batch, upserting by (dataset, manifest id)
(`ingest`). Schema versions are numbered SQL files applied by `schema.apply_migrations`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from signclip.data.manifest import normalize_manifest
from signclip.store import knn, statements
from signclip.store.connect import connect
from signclip.store.embedded_postgres import EmbeddedPostgres
from signclip.store.errors import UnknownDatasetError
from signclip.store.indexes import DEFAULT_EF_SEARCH, StoreIndexes, check_ef_search
from signclip.store.ingest import ITEM_COLUMNS, check_vectors, upsert_embeddings, upsert_items
from signclip.store.items import (
    DatasetInfo,
    DatasetState,
    ModelInfo,
    SearchResult,
    StoredItem,
    check_dataset_name,
    item_columns,
)
from signclip.store.models import StoreModels
from signclip.store.pgbinary import decode_id_vector_rows
from signclip.store.recordings import StoreRecordings
from signclip.store.sequences import StoreSequences
from signclip.store.vector_types import DEFAULT_VECTOR_TYPE

EXACT_SEARCH_LIMIT = 10_000  # filtered searches over at most this many items are exact
MAX_EF_SEARCH = 1000  # pgvector's largest hnsw.ef_search


class Store(StoreModels, StoreSequences, StoreRecordings, StoreIndexes):
    """A connection to the search database (not thread-safe: open one Store per thread or process)."""

    def __init__(
        self,
        connection: psycopg.Connection,
        home: Path,
        server: EmbeddedPostgres | None = None,
        ef_search: int = DEFAULT_EF_SEARCH,
    ) -> None:
        self.connection = connection
        self.home = home
        self._server = server
        self._ef_search = None
        self._models: dict[str, ModelInfo] = {}  # models are never changed or removed once stored
        self._indexes: set[str] = set()  # HNSW indexes known to exist
        self._new_dataset_types: dict[str, str] = {}  # vector types chosen for datasets not created yet
        self.set_ef_search(ef_search)

    @classmethod
    def open(
        cls,
        database_url: str | None = None,
        home: str | os.PathLike | None = None,
        ef_search: int = DEFAULT_EF_SEARCH,
    ) -> Store:
        """Connect to `database_url` (default `$DATABASE_URL`), else to the embedded server in `home`.

        The embedded server (`home/postgres`, default `$SIGNCLIP_HOME`) is started if needed and stopped
        when the last Store using it closes. Missing schema migrations are applied. `ef_search` is the HNSW
        search's candidate list for this connection (StoreError, before connecting, outside 1-1000).
        """
        check_ef_search(ef_search)
        connection, home, server = connect(database_url, home)
        return cls(connection, home=home, server=server, ef_search=ef_search)

    def close(self) -> None:
        """Close the connection and release the embedded server (stopped when no other client holds it)."""
        if not self.connection.closed:
            self.connection.close()
        if self._server is not None:
            self._server.release()
            self._server = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        """Whether the connection is closed or broken (a Store that must not be reused)."""
        return self.connection.closed or self.connection.broken

    def ping(self) -> None:
        """Run a trivial query: raises psycopg.OperationalError when the database does not answer."""
        self.connection.execute("SELECT 1")

    def set_ef_search(self, ef_search: int) -> None:
        """Set HNSW's `ef_search` (candidate list size: higher = better recall, slower) for this connection;
        StoreError outside 1-1000."""
        check_ef_search(ef_search)
        if ef_search != self._ef_search:
            self.connection.execute(sql.SQL("SET hnsw.ef_search = {}").format(sql.Literal(int(ef_search))))
            self._ef_search = ef_search

    # ------------------------------------------------------------------ datasets and models

    def list_datasets(self) -> list[DatasetInfo]:
        """Return every dataset with its item count, embedding counts per model and vector type, sorted by name."""
        rows = self.connection.execute(statements.LIST_DATASETS).fetchall()
        return [DatasetInfo(name, items, dict(counts), kind) for name, items, counts, kind in rows]

    def dataset_models(self, dataset: str | DatasetState) -> dict[str, int]:
        """Return {model name: embedding count} of the models that embedded `dataset`'s items."""
        return dict(self.connection.execute(statements.DATASET_MODELS, [self.dataset_id(dataset)]).fetchall())

    def remove_dataset(self, name: str) -> int:
        """Delete a dataset with its items and embeddings; returns the number of items removed."""
        dataset_id = self.dataset_id(name)
        with self.connection.transaction():
            self.connection.execute("DELETE FROM embeddings WHERE dataset_id = %s", [dataset_id])
            removed = self.connection.execute("DELETE FROM items WHERE dataset_id = %s", [dataset_id]).rowcount
            self.connection.execute("DELETE FROM datasets WHERE id = %s", [dataset_id])
        return removed

    def remove_items(self, dataset: str, keys: Sequence[str]) -> int:
        """Delete the items of `dataset` with these manifest keys (and their embeddings); returns how many."""
        if not keys:
            return 0
        with self.connection.transaction():
            return self.connection.execute(
                "DELETE FROM items WHERE dataset_id = %s AND external_key = ANY(%s)",
                [self.dataset_id(dataset), list(keys)],
            ).rowcount

    # ------------------------------------------------------------------ ingest

    def add_items(
        self,
        dataset: str,
        rows: pd.DataFrame | Iterable[Mapping[str, Any]],
        batch_size: int = 10_000,
        normalized: bool = False,
    ) -> np.ndarray:
        """Upsert manifest rows into `dataset` (created if new, its name checked); returns item ids (N,) in row order.

        A row whose manifest id is already stored updates that item; if its source (video, pose or
        segment times) changed, the item's embeddings are dropped so the next index run recomputes them.
        An extra `metadata` column of dicts is stored as JSON. One transaction per batch. The rows are
        normalized (`normalize_manifest`) unless `normalized` says the caller already did (the indexing
        stages normalize a request once, when they validate it). A new dataset gets the vector type chosen
        by `use_vector_type`, else "vector".
        """
        check_dataset_name(dataset)
        table = pd.DataFrame(rows) if not isinstance(rows, pd.DataFrame) else rows
        metadata = list(table["metadata"]) if "metadata" in table.columns else [{}] * len(table)
        table = table.drop(columns=["metadata"], errors="ignore")
        if not normalized:
            table = normalize_manifest(table, source=f"dataset {dataset}")
        table = table.assign(metadata=metadata).rename(columns={"id": "external_key"})[ITEM_COLUMNS]
        dataset_id = self.connection.execute(
            "INSERT INTO datasets (name, vector_type) VALUES (%s, %s)"
            " ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING id",
            [dataset, self._new_dataset_types.get(dataset, DEFAULT_VECTOR_TYPE)],
        ).fetchone()[0]
        ids = [
            upsert_items(self.connection, dataset_id, table.iloc[start : start + batch_size])
            for start in range(0, len(table), batch_size)
        ]
        return np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64)

    def add_embeddings(
        self, model: str, item_ids: Sequence[int] | np.ndarray, vectors: np.ndarray, batch_size: int = 10_000
    ) -> int:
        """Store `vectors` (N, D) float32 for `item_ids` (N,) under `model` (registered with D if new).

        Re-adding an item's embedding replaces it. Each vector is stored as its item's dataset's vector type.
        One transaction per batch; returns the rows written.
        """
        item_ids, vectors = check_vectors(model, item_ids, vectors)
        model_info = self.register_model(model, vectors.shape[1])
        for start in range(0, len(item_ids), batch_size):
            batch = slice(start, start + batch_size)
            upsert_embeddings(self.connection, model_info.id, model, item_ids[batch], vectors[batch])
        return len(item_ids)

    def transaction(self):
        """A transaction for the block: everything written in it is kept together or not at all."""
        return self.connection.transaction()

    # ------------------------------------------------------------------ reading

    def items(self, dataset: str, pending_model: str | None = None) -> pd.DataFrame:
        """Return the items of `dataset` (item_id, key, gloss, ... metadata) sorted by item id.

        With `pending_model`, only the items that have no embedding from that model yet.
        """
        dataset_id = self.dataset_id(dataset)
        query = sql.SQL("SELECT {} FROM items i WHERE i.dataset_id = %s").format(knn.item_select_sql(item_columns()))
        params: list[Any] = [dataset_id]
        if pending_model is not None:
            query += statements.NOT_EMBEDDED_BY
            params.append(pending_model)
        rows = self._records(query + sql.SQL(" ORDER BY i.id"), params)
        table = pd.DataFrame(rows, columns=["item_id", *item_columns()])
        return table.astype({"item_id": "int64"})

    def item(self, item_id: int) -> StoredItem | None:
        """Return one item with its dataset's name, or None if there is none."""
        found = self.items_by_id([item_id])
        return found[0] if found else None

    def languages(self, dataset: str | DatasetState) -> list[tuple[str, str, int]]:
        """Return the dataset's (spoken_language, signed_language, items) pairs, most items first."""
        rows = self.connection.execute(statements.LANGUAGES, [self.dataset_id(dataset)]).fetchall()
        return [(spoken, signed, count) for spoken, signed, count in rows]

    def vectors(
        self, dataset: str | DatasetState, model: str, limit: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return `dataset`'s embeddings by `model`: item ids (N,) int64 ascending, vectors (N, D) float32.

        With `limit`, at most that many, a fixed pseudo-random choice (by a hash of the item id).
        """
        dataset_id, model_info = self.dataset_id(dataset), self.model(model)
        query = statements.copy_vectors_sql(model_info.id, dataset_id, limit)
        with self.connection.cursor() as cursor, cursor.copy(query) as copy:
            data = b"".join(bytes(chunk) for chunk in copy)
        return decode_id_vector_rows(data, model_info.dim)

    # ------------------------------------------------------------------ indexes and search

    def search(
        self,
        dataset: str | DatasetState,
        model: str,
        vector: np.ndarray,
        k: int = 10,
        where: Mapping[str, str | Sequence[str]] | None = None,
        metric: str | None = None,
        exact: bool | None = None,
    ) -> list[SearchResult]:
        """Return the `k` items of `dataset` nearest to `vector` (D,) by `model`'s embeddings, nearest first.

        `where` filters on item fields (gloss, signer, text, spoken_language, signed_language, split; a
        value or a list of values); `metric` defaults to the model's. The HNSW index answers when there is one
        (approximate, tuned by `ef_search`, at least `k`); `exact=True`, or a filter leaving at most
        EXACT_SEARCH_LIMIT items, scans exactly.
        """
        ids, distances = self.nearest(dataset, model, vector, k, where, metric, exact)
        return [
            SearchResult.from_record({**item.to_dict(), "distance": float(distance)})
            for item, distance in zip(self.items_by_id(ids), distances, strict=True)
        ]

    def nearest(
        self,
        dataset: str | DatasetState,
        model: str,
        vector: np.ndarray,
        k: int = 10,
        where: Mapping[str, str | Sequence[str]] | None = None,
        metric: str | None = None,
        exact: bool | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """`search`'s hits as arrays alone: item ids (k,) int64 and distances (k,) float64, nearest first.

        Through the index of the dataset's vector type; a binary dataset's index yields `ef_search` candidates
        (at least k), re-ranked by `metric` on the float32 vectors.
        """
        state = dataset if isinstance(dataset, DatasetState) else self.dataset_state(dataset)
        dataset_id, model_info, metric = state.id, self.model(model), metric or self.metric_of(model)
        query_vector = knn.checked_query(vector, model_info.dim, model, k, metric)
        where = dict(where or {})
        knn.item_filter_sql(where)  # validates the filter before any decision
        if exact is None:
            exact = not self.has_index(model, metric, state.vector_type)
            if not exact and where:
                exact = self._count_items(dataset_id, where) <= EXACT_SEARCH_LIMIT
        ef_search = self._ef_search
        candidates = min(max(ef_search, k), MAX_EF_SEARCH)  # what HNSW yields (and the binary type re-ranks)
        if not exact:
            self.set_ef_search(candidates)
        try:
            rows = self._knn(state, model_info, query_vector, k, metric, where, exact, candidates)
            if not exact and len(rows) < k and self._count_items(dataset_id, where) > len(rows):
                rows = self._knn(state, model_info, query_vector, k, metric, where, True, candidates)
        finally:
            self.set_ef_search(ef_search)
        return np.array([row[1] for row in rows], dtype=np.int64), np.array([row[0] for row in rows], dtype=float)

    def items_by_id(self, item_ids: Sequence[int]) -> list[StoredItem]:
        """The items of `item_ids`, in that order (ids the store does not hold are left out)."""
        query = sql.SQL(
            "SELECT {}, d.name AS dataset FROM items i JOIN datasets d ON d.id = i.dataset_id WHERE i.id = ANY(%s)"
        ).format(knn.item_select_sql(item_columns()))
        rows = self._records(query, [[int(item) for item in item_ids]])
        by_id = {row["item_id"]: StoredItem.from_record(row) for row in rows}
        return [by_id[int(item)] for item in item_ids if int(item) in by_id]

    # ------------------------------------------------------------------ internals

    def dataset_state(self, name: str) -> DatasetState:
        """Return dataset `name`'s id, version, metadata and vector type (one query); raises UnknownDatasetError
        naming the datasets there are."""
        query = "SELECT id, version, metadata, vector_type FROM datasets WHERE name = %s"
        row = self.connection.execute(query, [name]).fetchone()
        if row is None:
            known = ", ".join(d.name for d in self.list_datasets()) or "none"
            raise UnknownDatasetError(f"no dataset named {name!r} in the store (datasets there: {known})")
        return DatasetState(int(row[0]), name, int(row[1]), dict(row[2]), row[3])

    def set_dataset_metadata(self, dataset: str, key: str, value: Any) -> None:
        """Set `metadata[key] = value` (JSON) on the dataset (e.g. the re-ranking choice per model)."""
        self.connection.execute(
            "UPDATE datasets SET metadata = jsonb_set(metadata, ARRAY[%s], %s) WHERE id = %s",
            [key, Jsonb(value), self.dataset_id(dataset)],
        )

    def dataset_id(self, dataset: str | DatasetState) -> int:
        """Return the id of a dataset (by name, or the id a DatasetState already holds); UnknownDatasetError."""
        return dataset.id if isinstance(dataset, DatasetState) else self.dataset_state(dataset).id

    def _records(self, query: sql.Composable | str, params: Any = None) -> list[dict[str, Any]]:
        """Run a query and return its rows as dicts by column name."""
        with self.connection.cursor(row_factory=dict_row) as cursor:
            return cursor.execute(query, params).fetchall()

    def count_items(self, dataset: str | DatasetState, where: Mapping[str, str | Sequence[str]] | None = None) -> int:
        """How many items of `dataset` pass the `where` filter (all of them without one)."""
        where = dict(where or {})
        return self._count_items(self.dataset_id(dataset), where)

    def _count_items(self, dataset_id: int, where: Mapping[str, Any]) -> int:
        return self.connection.execute(knn.count_items_sql(dataset_id, where)).fetchone()[0]

    def _knn(
        self,
        dataset: DatasetState,
        model: ModelInfo,
        vector: np.ndarray,
        k: int,
        metric: str,
        where: Mapping[str, Any],
        exact: bool,
        candidates: int,
    ) -> list[tuple[float, int]]:
        query = knn.knn_sql(dataset.id, model.id, model.dim, k, metric, where, exact, dataset.vector_type, candidates)
        return self.connection.execute(query, {"q": vector}).fetchall()
