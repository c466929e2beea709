"""The SQL of nearest-neighbour search and of the per-model HNSW indexes.

Per-model HNSW: all embeddings share one table with an untyped `vector` column; each (model, metric)
gets a partial expression index `USING hnsw ((vector::vector(DIM)) OPS) WHERE model_id = ID`. A query
repeats that cast and the model id as a literal (not a parameter, so cached generic plans still match
the partial index); the same query without the cast (`vector <=> q`) matches no index: the exact scan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from psycopg import sql

from signclip.store.errors import DimensionMismatchError, StoreError

METRICS = {"cosine": ("<=>", "vector_cosine_ops"), "l2": ("<->", "vector_l2_ops")}
FILTER_COLUMNS = ("gloss", "signer", "text", "spoken_language", "signed_language", "split")
HNSW_MAX_DIM = 2000  # pgvector's limit for HNSW over `vector`


def metric_sql(metric: str) -> tuple[str, str]:
    """Return (distance operator, operator class) of `metric`; StoreError for an unknown one."""
    if metric not in METRICS:
        raise StoreError(f"unknown metric {metric!r}; use one of {sorted(METRICS)}")
    return METRICS[metric]


def checked_query(vector: np.ndarray, dim: int, model: str, k: int, metric: str) -> np.ndarray:
    """Return the query vector as (D,) float32 after checking it, `k` and `metric`; StoreError otherwise."""
    metric_sql(metric)
    query = np.asarray(vector, dtype=np.float32).reshape(-1)
    if query.shape[0] != dim:
        raise DimensionMismatchError(
            f"the query vector has {query.shape[0]} dimensions but model {model!r} stores {dim}-d embeddings"
        )
    if not np.isfinite(query).all():
        raise StoreError("the query vector contains NaN or infinite values")
    if k < 1:
        raise StoreError(f"k must be at least 1, got {k}")
    return query


def index_name(model_id: int, metric: str) -> str:
    """Return the name of a model's HNSW index for `metric`."""
    return f"embeddings_hnsw_model{model_id}_{metric}"


def create_index_sql(model_id: int, dim: int, metric: str, m: int, ef_construction: int) -> sql.Composed:
    """Return CREATE INDEX for the partial HNSW index of one model and metric."""
    _, operator_class = metric_sql(metric)
    return sql.SQL(
        "CREATE INDEX IF NOT EXISTS {name} ON embeddings USING hnsw ((vector::vector({dim})) {ops})"
        " WITH (m = {m}, ef_construction = {ef}) WHERE model_id = {model_id}"
    ).format(
        name=sql.Identifier(index_name(model_id, metric)),
        dim=sql.Literal(int(dim)),
        ops=sql.SQL(operator_class),
        m=sql.Literal(int(m)),
        ef=sql.Literal(int(ef_construction)),
        model_id=sql.Literal(int(model_id)),
    )


def item_filter_sql(where: Mapping[str, str | Sequence[str]]) -> sql.Composed:
    """Return ` AND i.<field> = ANY(<values>)` clauses for `where` ({field: value or values})."""
    parts = []
    for column, value in where.items():
        if column not in FILTER_COLUMNS:
            raise StoreError(f"cannot filter on {column!r}; filter on one of {', '.join(FILTER_COLUMNS)}")
        values = [value] if isinstance(value, str) else list(value)
        if not values:
            raise StoreError(f"filter {column!r} has no values")
        parts.append(
            sql.SQL(" AND i.{} = ANY({})").format(sql.Identifier(column), sql.Literal([str(v) for v in values]))
        )
    return sql.Composed(parts)


def count_items_sql(dataset_id: int, where: Mapping[str, str | Sequence[str]]) -> sql.Composed:
    """Return a query counting the dataset's items that pass `where`."""
    return sql.SQL("SELECT count(*) FROM items i WHERE i.dataset_id = {} {}").format(
        sql.Literal(int(dataset_id)), item_filter_sql(where)
    )


def knn_sql(
    dataset_id: int,
    model_id: int,
    dim: int,
    k: int,
    metric: str,
    where: Mapping[str, str | Sequence[str]],
    exact: bool,
) -> sql.Composed:
    """Return the k-nearest query (parameter `q`, the query vector): rows (distance, item_id), nearest first
    (ties by item id)."""
    operator, _ = metric_sql(metric)
    vector = sql.SQL("e.vector") if exact else sql.SQL("e.vector::vector({})").format(sql.Literal(int(dim)))
    join = sql.SQL("")
    if where:
        join = sql.SQL("JOIN items i ON i.id = e.item_id AND i.dataset_id = {}").format(sql.Literal(int(dataset_id)))
    return sql.SQL(
        "WITH nearest AS MATERIALIZED ("
        " SELECT e.item_id, {vector} {op} %(q)s AS distance FROM embeddings e {join}"
        " WHERE e.model_id = {model_id} AND e.dataset_id = {dataset_id} {item_filter}"
        " ORDER BY {vector} {op} %(q)s LIMIT {k})"
        " SELECT n.distance, n.item_id FROM nearest n ORDER BY n.distance, n.item_id"
    ).format(
        vector=vector,
        op=sql.SQL(operator),
        join=join,
        model_id=sql.Literal(int(model_id)),
        dataset_id=sql.Literal(int(dataset_id)),
        item_filter=item_filter_sql(where),
        k=sql.Literal(int(k)),
    )


def item_select_sql(columns: Sequence[str]) -> sql.Composed:
    """Return `i.id AS item_id, i.<column> AS <name>, ...` for Item field names (`key` is `external_key`)."""
    named = [sql.SQL("i.id AS item_id")]
    for name in columns:
        column = "external_key" if name == "key" else name
        named.append(sql.SQL("i.{} AS {}").format(sql.Identifier(column), sql.Identifier(name)))
    return sql.SQL(", ").join(named)
