"""The search store: datasets, models, items and embeddings in PostgreSQL + pgvector.

Per-model HNSW: all embeddings live in one table with an untyped `vector` column; each (model, metric)
gets a *partial expression index* `USING hnsw ((vector::vector(DIM)) OPS) WHERE model_id = ID`. Queries
repeat the same cast and the model id as a literal so the planner matches that index; the same query
without the cast (`vector <=> q`) matches no index and is the exact search (SQL in `knn`). Ingest goes
through COPY into session staging tables, one transaction per batch, upserting by (dataset, manifest id)
(`ingest`). Schema versions are numbered SQL files applied by `schema.apply_migrations`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psycopg
from pgvector.psycopg import register_vector
from psycopg import sql
from psycopg.types.json import Jsonb

from signclip.data.manifest import normalize_manifest
from signclip.search import knn
from signclip.search.errors import (
    DimensionMismatchError,
    ModelMismatchError,
    StoreError,
    UnknownDatasetError,
    UnknownModelError,
)
from signclip.search.ingest import ITEM_COLUMNS, upsert_embeddings, upsert_items
from signclip.search.pgbinary import decode_id_vector_rows
from signclip.search.schema import apply_migrations
from signclip.search.server import EmbeddedPostgres, default_home

__all__ = [
    "DatasetInfo",
    "DimensionMismatchError",
    "ModelInfo",
    "ModelMismatchError",
    "SearchResult",
    "Store",
    "StoreError",
    "UnknownDatasetError",
    "UnknownModelError",
]
EXACT_SEARCH_LIMIT = 10_000  # filtered searches over at most this many items are exact


@dataclass(frozen=True)
class SearchResult:
    """One ranked hit: the item and its distance to the query (cosine distance = 1 - cosine similarity)."""

    item_id: int
    key: str
    distance: float
    gloss: str
    text: str
    signer: str
    spoken_language: str
    signed_language: str
    split: str
    pose_path: str
    video_path: str
    start_ms: float | None
    end_ms: float | None
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the result as a JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class DatasetInfo:
    """A dataset's name, item count and embedding count per model name."""

    name: str
    items: int
    embeddings: dict[str, int]


@dataclass(frozen=True)
class ModelInfo:
    """A model known to the store: id, name, embedding dimension and free-form metadata."""

    id: int
    name: str
    dim: int
    metadata: dict[str, Any]


class Store:
    """A connection to the search database (not thread-safe: open one Store per thread or process)."""

    def __init__(
        self,
        connection: psycopg.Connection,
        home: Path,
        server: EmbeddedPostgres | None = None,
        ef_search: int = 100,
    ) -> None:
        self.connection = connection
        self.home = home
        self._server = server
        self._ef_search = None
        self._models: dict[str, ModelInfo] = {}  # models are never changed or removed once stored
        self._indexes: set[str] = set()  # HNSW indexes known to exist
        self.set_ef_search(ef_search)

    @classmethod
    def open(
        cls, database_url: str | None = None, home: str | os.PathLike | None = None, ef_search: int = 100
    ) -> Store:
        """Connect to `database_url` (default `$DATABASE_URL`), else to the embedded server in `home`.

        The embedded server (`home/postgres`, default `$SIGNCLIP_HOME`) is started if needed and stopped
        when the last Store using it closes. Missing schema migrations are applied.
        """
        home = Path(home).expanduser() if home is not None else default_home()
        database_url = database_url or os.environ.get("DATABASE_URL") or None
        server = None
        if database_url is None:
            server = EmbeddedPostgres(home)
            database_url = server.acquire()
        try:
            connection = psycopg.connect(database_url, autocommit=True)
        except psycopg.OperationalError as error:
            if server is not None:
                server.release()
            raise StoreError(f"cannot connect to {_redact(database_url)}: {error}") from None
        try:
            apply_migrations(connection)
            register_vector(connection)
            connection.execute("SET hnsw.iterative_scan = relaxed_order")
        except BaseException as error:
            connection.close()
            if server is not None:
                server.release()
            if isinstance(error, psycopg.Error):
                raise StoreError(
                    f"{_redact(database_url)}: cannot prepare the signclip schema (the server needs the pgvector "
                    f"extension, and the user the right to create it): {error}"
                ) from None
            raise
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

    def set_ef_search(self, ef_search: int) -> None:
        """Set HNSW's `ef_search` (candidate list size: higher = better recall, slower) for this connection."""
        if ef_search != self._ef_search:
            self.connection.execute(sql.SQL("SET hnsw.ef_search = {}").format(sql.Literal(int(ef_search))))
            self._ef_search = ef_search

    # ------------------------------------------------------------------ datasets and models

    def list_datasets(self) -> list[DatasetInfo]:
        """Return every dataset with its item count and embedding counts per model, sorted by name."""
        rows = self.connection.execute(
            "SELECT d.name, (SELECT count(*) FROM items i WHERE i.dataset_id = d.id),"
            " coalesce((SELECT jsonb_object_agg(m.name, c.n) FROM (SELECT model_id, count(*) AS n"
            "   FROM embeddings e WHERE e.dataset_id = d.id GROUP BY model_id) c"
            "   JOIN models m ON m.id = c.model_id), '{}')"
            " FROM datasets d ORDER BY d.name"
        ).fetchall()
        return [DatasetInfo(name, items, dict(counts)) for name, items, counts in rows]

    def remove_dataset(self, name: str) -> int:
        """Delete a dataset with its items and embeddings; returns the number of items removed."""
        dataset_id = self.dataset_id(name)
        with self.connection.transaction():
            self.connection.execute("DELETE FROM embeddings WHERE dataset_id = %s", [dataset_id])
            removed = self.connection.execute("DELETE FROM items WHERE dataset_id = %s", [dataset_id]).rowcount
            self.connection.execute("DELETE FROM datasets WHERE id = %s", [dataset_id])
        return removed

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

    # ------------------------------------------------------------------ ingest

    def add_items(
        self, dataset: str, rows: pd.DataFrame | Iterable[Mapping[str, Any]], batch_size: int = 10_000
    ) -> np.ndarray:
        """Upsert manifest rows into `dataset` (created if new); returns their item ids (N,) in row order.

        A row whose manifest id is already stored updates that item; if its source (video, pose or
        segment times) changed, the item's embeddings are dropped so the next index run recomputes them.
        An extra `metadata` column of dicts is stored as JSON. One transaction per batch.
        """
        table = pd.DataFrame(rows) if not isinstance(rows, pd.DataFrame) else rows
        metadata = list(table["metadata"]) if "metadata" in table.columns else [{}] * len(table)
        table = normalize_manifest(table.drop(columns=["metadata"], errors="ignore"), source=f"dataset {dataset}")
        table = table.assign(metadata=metadata).rename(columns={"id": "external_key"})[ITEM_COLUMNS]
        dataset_id = self.connection.execute(
            "INSERT INTO datasets (name) VALUES (%s) ON CONFLICT (name) DO UPDATE SET name = excluded.name"
            " RETURNING id",
            [dataset],
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

        Re-adding an item's embedding replaces it. One transaction per batch; returns the rows written.
        """
        vectors = np.asarray(vectors, dtype=np.float32)
        item_ids = np.asarray(item_ids, dtype=np.int64)
        if vectors.ndim != 2 or len(vectors) != len(item_ids):
            raise StoreError(f"expected vectors (N, D) for N={len(item_ids)} item ids, got shape {vectors.shape}")
        if not np.isfinite(vectors).all():
            raise StoreError(f"model {model!r}: vectors contain NaN or infinite values")
        if len(np.unique(item_ids)) != len(item_ids):
            raise StoreError(f"model {model!r}: the item ids repeat; give each item one vector")
        model_info = self.register_model(model, vectors.shape[1])
        for start in range(0, len(item_ids), batch_size):
            batch = slice(start, start + batch_size)
            upsert_embeddings(self.connection, model_info.id, model, item_ids[batch], vectors[batch])
        return len(item_ids)

    def set_pose_paths(self, item_ids: Sequence[int], pose_paths: Sequence[str]) -> None:
        """Record the pose files extracted for video items (so a rerun does not extract again)."""
        with self.connection.cursor() as cursor:
            cursor.executemany(
                "UPDATE items SET pose_path = %s WHERE id = %s",
                [(str(path), int(item)) for item, path in zip(item_ids, pose_paths, strict=True)],
            )

    # ------------------------------------------------------------------ reading

    def items(self, dataset: str, pending_model: str | None = None) -> pd.DataFrame:
        """Return the items of `dataset` (item_id, key, gloss, ... metadata) sorted by item id.

        With `pending_model`, only the items that have no embedding from that model yet.
        """
        dataset_id = self.dataset_id(dataset)
        query = "SELECT i.id, " + ", ".join(f"i.{c}" for c in ITEM_COLUMNS) + " FROM items i WHERE i.dataset_id = %s"
        params: list[Any] = [dataset_id]
        if pending_model is not None:
            query += (
                " AND NOT EXISTS (SELECT 1 FROM embeddings e JOIN models m ON m.id = e.model_id"
                " WHERE e.item_id = i.id AND m.name = %s)"
            )
            params.append(pending_model)
        rows = self.connection.execute(query + " ORDER BY i.id", params).fetchall()
        table = pd.DataFrame(rows, columns=["item_id", *ITEM_COLUMNS]).rename(columns={"external_key": "key"})
        return table.astype({"item_id": "int64"})

    def item(self, item_id: int) -> dict[str, Any] | None:
        """Return one item as a dict (item_id, dataset, key, gloss, ... metadata), or None if there is none."""
        columns = ", ".join(f"i.{c}" for c in ITEM_COLUMNS)
        row = self.connection.execute(
            f"SELECT i.id, d.name, {columns} FROM items i JOIN datasets d ON d.id = i.dataset_id WHERE i.id = %s",
            [int(item_id)],
        ).fetchone()
        if row is None:
            return None
        names = ["item_id", "dataset", "key", *ITEM_COLUMNS[1:]]
        return dict(zip(names, row, strict=True))

    def languages(self, dataset: str) -> list[tuple[str, str, int]]:
        """Return the dataset's (spoken_language, signed_language, items) pairs, most items first."""
        rows = self.connection.execute(
            "SELECT spoken_language, signed_language, count(*) FROM items WHERE dataset_id = %s"
            " AND signed_language <> '' GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2",
            [self.dataset_id(dataset)],
        ).fetchall()
        return [(spoken, signed, count) for spoken, signed, count in rows]

    def vectors(self, dataset: str, model: str) -> tuple[np.ndarray, np.ndarray]:
        """Return all of `dataset`'s embeddings by `model`: item ids (N,) int64 ascending, vectors (N, D) float32."""
        dataset_id, model_info = self.dataset_id(dataset), self.model(model)
        query = sql.SQL(
            "COPY (SELECT item_id, vector FROM embeddings WHERE model_id = {} AND dataset_id = {} ORDER BY item_id)"
            " TO STDOUT (FORMAT BINARY)"
        ).format(sql.Literal(model_info.id), sql.Literal(dataset_id))
        with self.connection.cursor() as cursor, cursor.copy(query) as copy:
            data = b"".join(bytes(chunk) for chunk in copy)
        return decode_id_vector_rows(data, model_info.dim)

    # ------------------------------------------------------------------ indexes and search

    def build_index(
        self,
        model: str,
        metric: str = "cosine",
        m: int = 16,
        ef_construction: int = 64,
        maintenance_work_mem: str = "1GB",
        parallel_workers: int = 2,
    ) -> bool:
        """Create the HNSW index of `model` for `metric` if missing; returns True when it was built now.

        Build settings (`m`, `ef_construction`) matter only at build time; `maintenance_work_mem` should
        hold the whole graph (about N x (4 D + 8 m) bytes) for a fast build.
        """
        model_info = self.model(model)
        if self.has_index(model, metric):
            return False
        self.connection.execute(sql.SQL("SET maintenance_work_mem = {}").format(sql.Literal(maintenance_work_mem)))
        self.connection.execute(
            sql.SQL("SET max_parallel_maintenance_workers = {}").format(sql.Literal(int(parallel_workers)))
        )
        self.connection.execute(knn.create_index_sql(model_info.id, model_info.dim, metric, m, ef_construction))
        self.connection.execute("ANALYZE embeddings")
        return True

    def has_index(self, model: str, metric: str = "cosine") -> bool:
        """Return whether `model` has an HNSW index for `metric`."""
        knn.metric_sql(metric)
        name = knn.index_name(self.model(model).id, metric)
        if name not in self._indexes and self.connection.execute("SELECT to_regclass(%s)", [name]).fetchone()[0]:
            self._indexes.add(name)
        return name in self._indexes

    def search(
        self,
        dataset: str,
        model: str,
        vector: np.ndarray,
        k: int = 10,
        where: Mapping[str, str | Sequence[str]] | None = None,
        metric: str = "cosine",
        exact: bool | None = None,
    ) -> list[SearchResult]:
        """Return the `k` items of `dataset` nearest to `vector` (D,) by `model`'s embeddings, nearest first.

        `where` filters on item fields (gloss, signer, text, spoken_language, signed_language, split; a
        value or a list of values). The HNSW index answers when there is one (approximate, tuned by
        `ef_search`); `exact=True`, or a filter leaving at most EXACT_SEARCH_LIMIT items, scans exactly.
        """
        dataset_id, model_info = self.dataset_id(dataset), self.model(model)
        knn.metric_sql(metric)
        query_vector = np.asarray(vector, dtype=np.float32).reshape(-1)
        if query_vector.shape[0] != model_info.dim:
            raise DimensionMismatchError(
                f"the query vector has {query_vector.shape[0]} dimensions but model {model!r} stores "
                f"{model_info.dim}-d embeddings"
            )
        if not np.isfinite(query_vector).all():
            raise StoreError("the query vector contains NaN or infinite values")
        if k < 1:
            raise StoreError(f"k must be at least 1, got {k}")
        where = dict(where or {})
        knn.item_filter_sql(where)  # validates the filter before any decision
        if exact is None:
            exact = not self.has_index(model, metric)
            if not exact and where:
                exact = self._count_items(dataset_id, where) <= EXACT_SEARCH_LIMIT
        results = self._knn(dataset_id, model_info, query_vector, k, metric, where, exact)
        if not exact and len(results) < k and self._count_items(dataset_id, where) > len(results):
            results = self._knn(dataset_id, model_info, query_vector, k, metric, where, exact=True)
        return results

    # ------------------------------------------------------------------ internals

    def dataset_id(self, name: str) -> int:
        """Return the id of dataset `name`; raises UnknownDatasetError naming the datasets there are."""
        row = self.connection.execute("SELECT id FROM datasets WHERE name = %s", [name]).fetchone()
        if row is None:
            known = ", ".join(d.name for d in self.list_datasets()) or "none"
            raise UnknownDatasetError(f"no dataset named {name!r} in the store (datasets there: {known})")
        return row[0]

    def _count_items(self, dataset_id: int, where: Mapping[str, Any]) -> int:
        return self.connection.execute(knn.count_items_sql(dataset_id, where)).fetchone()[0]

    def _knn(
        self,
        dataset_id: int,
        model: ModelInfo,
        vector: np.ndarray,
        k: int,
        metric: str,
        where: Mapping[str, Any],
        exact: bool,
    ) -> list[SearchResult]:
        query = knn.knn_sql(dataset_id, model.id, model.dim, k, metric, where, exact, ITEM_COLUMNS)
        rows = self.connection.execute(query, {"q": vector}).fetchall()
        return [SearchResult(row[1], row[2], float(row[0]), *row[3:]) for row in rows]


def _redact(url: str) -> str:
    """Return `url` with any password replaced by ***."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url
