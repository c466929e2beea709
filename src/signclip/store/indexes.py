"""A Store's HNSW indexes (one per model, metric and vector type) and its datasets' vector types.

A dataset's vector type (vector_types.py) is chosen when it is created (`use_vector_type` before its first
`add_items`) or switched later, which converts its stored vectors in one transaction: an interrupted or
refused switch leaves the old vectors, and the old type, as they were.

An index's graph settings (`GraphSettings`: m, ef_construction) are kept by PostgreSQL with the index itself
and read back by `list_indexes`; asking `build_index` for other settings than an index has rebuilds it under
another name and swaps it in, so searches use the old graph until the new one is whole.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

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

HAMMING_METRIC = "hamming"
MODEL_TYPES = (
    "SELECT d.vector_type FROM datasets d WHERE EXISTS"
    " (SELECT 1 FROM embeddings e WHERE e.model_id = %s AND e.dataset_id = d.id) ORDER BY 1"
)
DATASET_MODEL_IDS = "SELECT DISTINCT model_id FROM embeddings WHERE dataset_id = %s"
EMBEDDING_INDEXES = (
    "SELECT c.relname, coalesce(c.reloptions, '{}'), pg_relation_size(c.oid) FROM pg_index x"
    " JOIN pg_class c ON c.oid = x.indexrelid JOIN pg_am a ON a.oid = c.relam"
    " WHERE x.indrelid = 'embeddings'::regclass AND a.amname = 'hnsw'"
)
REBUILD_SUFFIX = "_rebuild"
MODEL_GRAPH = "SELECT metadata->'hnsw_graph' FROM models WHERE id = %s"
SET_MODEL_GRAPH = "UPDATE models SET metadata = metadata || jsonb_build_object('hnsw_graph', %s::jsonb) WHERE id = %s"


@dataclass(frozen=True)
class GraphSettings:
    """How an HNSW graph is built: `m` links a node keeps per layer (2 m on the bottom one) and
    `ef_construction` candidates searched while linking it (pgvector's defaults: 16 and 64).

    A denser graph reaches higher recall at large sizes for a longer build and a somewhat larger index
    (docs/search.md, Corpus scale). StoreError, naming the limit, for values pgvector refuses.
    """

    m: int = 16
    ef_construction: int = 64

    def __post_init__(self) -> None:
        if not 2 <= self.m <= 100:
            raise StoreError(f"HNSW m must be 2 to 100, got {self.m}")
        if not 4 <= self.ef_construction <= 1000:
            raise StoreError(f"HNSW ef_construction must be 4 to 1000, got {self.ef_construction}")
        if self.ef_construction < 2 * self.m:
            raise StoreError(
                f"HNSW ef_construction must be at least 2 m ({2 * self.m} for m {self.m}), got {self.ef_construction}"
            )

    def __str__(self) -> str:
        return f"m {self.m} / ef_construction {self.ef_construction}"


DEFAULT_EF_SEARCH = 100  # pgvector's default is 40; 100 reaches recall@10 0.95 up to about 1M vectors


def check_ef_search(ef_search: int) -> int:
    """Return `ef_search` (the candidates an HNSW search keeps) if pgvector accepts it (1-1000), else raise
    StoreError naming the limit. Large collections need more (docs/search.md, Corpus scale)."""
    if isinstance(ef_search, bool) or not isinstance(ef_search, int) or not 1 <= ef_search <= 1000:
        raise StoreError(f"HNSW ef_search must be a whole number from 1 to 1000, got {ef_search!r}")
    return ef_search


GRAPH_OPTIONS = ("m", "ef_construction")  # GraphSettings' fields, as the index's storage options name them


@dataclass(frozen=True)
class IndexInfo:
    """One HNSW index of the store: its model, metric ("hamming" for the binary type's), vector type, graph
    settings and size on disk."""

    model: str
    metric: str
    vector_type: str
    graph: GraphSettings
    size_bytes: int


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
        graph: GraphSettings | None = None,
        maintenance_work_mem: str = "1GB",
        parallel_workers: int = 2,
        kind: str | None = None,
    ) -> bool:
        """Create the HNSW index of `model` for `metric` (default: the model's, see `metric_of`) over vectors of
        type `kind` (default: every type the model's datasets use) where it is missing, with `graph` (default
        `model_graph`'s); returns True when one was built now.

        A given `graph` is kept with the model, for the indexes built later (after a bulk load, for a new
        vector type). An index whose settings differ from a given `graph` is rebuilt: the new graph is made
        under another name (reads go on using the old one; writes wait) and replaces the old one in one
        transaction, so an interrupted rebuild leaves the old index as it was. `maintenance_work_mem` should
        hold the whole graph (about N x (bytes a vector + 16 m + 64) bytes) for a fast build.
        """
        model_info, metric = self.model(model), metric or self.metric_of(model)
        kinds = [vector_type(kind)] if kind is not None else [VECTOR_TYPES[t] for t in self.vector_types_of(model)]
        existing = {(info.metric, info.vector_type): info.graph for info in self.list_indexes(model)}
        wanted = graph or self.model_graph(model)
        have = {k.name: existing.get((_index_metric(metric, k), k.name)) for k in kinds}
        todo = [k for k in kinds if have[k.name] is None or (graph is not None and have[k.name] != graph)]
        if not todo:
            self._keep_graph(model_info.id, graph)
            return False
        self.connection.execute(sql.SQL("SET maintenance_work_mem = {}").format(sql.Literal(maintenance_work_mem)))
        self.connection.execute(
            sql.SQL("SET max_parallel_maintenance_workers = {}").format(sql.Literal(int(parallel_workers)))
        )
        for built in todo:
            name = knn.index_name(model_info.id, metric, built)
            rebuild = have[built.name] is not None
            fresh = name + REBUILD_SUFFIX if rebuild else name
            if rebuild:
                self._drop(fresh)  # a rebuild that was interrupted before its swap
            self.connection.execute(
                knn.create_index_sql(
                    model_info.id, model_info.dim, metric, wanted.m, wanted.ef_construction, built, name=fresh
                )
            )
            if not rebuild:
                continue
            with self.connection.transaction():
                self.connection.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
                self.connection.execute(
                    sql.SQL("ALTER INDEX {} RENAME TO {}").format(sql.Identifier(fresh), sql.Identifier(name))
                )
        self._keep_graph(model_info.id, graph)
        self.connection.execute("ANALYZE embeddings")
        return True

    def _keep_graph(self, model_id: int, graph: GraphSettings | None) -> None:
        """Store `graph` (when given) with the model, for the indexes built later."""
        if graph is not None:
            self.connection.execute(SET_MODEL_GRAPH, [Jsonb(asdict(graph)), model_id])

    def model_graph(self, model: str) -> GraphSettings:
        """The graph settings `model`'s indexes are built with: the last ones given to `build_index`, else the
        defaults (read from the store each time, so another process's choice counts)."""
        row = self.connection.execute(MODEL_GRAPH, [self.model(model).id]).fetchone()
        return GraphSettings(**row[0]) if row and row[0] else GraphSettings()

    def list_indexes(self, model: str | None = None) -> list[IndexInfo]:
        """The store's HNSW indexes (of `model` only, when given) with their graph settings and sizes, sorted by
        model, metric and vector type; a rebuild in progress is not listed."""
        models = [self.model(model)] if model is not None else self.list_models()
        names = {
            knn.index_name(info.id, metric, kind): (info.name, _index_metric(metric, kind), kind.name)
            for info in models
            for metric in knn.METRICS
            for kind in VECTOR_TYPES.values()
        }
        found = []
        for name, options, size in self.connection.execute(EMBEDDING_INDEXES).fetchall():
            if name in names:
                settings = dict(option.split("=", 1) for option in options)
                graph = GraphSettings(**{key: int(value) for key, value in settings.items() if key in GRAPH_OPTIONS})
                found.append(IndexInfo(*names[name], graph, int(size)))
                self._indexes.add(name)
        return sorted(found, key=lambda info: (info.model, info.metric, info.vector_type))

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


def _index_metric(metric: str, kind: VectorType) -> str:
    """The metric an index of `kind` is listed under: the binary type's Hamming index serves every metric."""
    return HAMMING_METRIC if kind.quantized else metric
