"""The SQL of nearest-neighbour search and of the per-model HNSW indexes.

Per-model HNSW: all embeddings share one table with an untyped column per vector type (vector_types.py);
each (model, metric, vector type) gets a partial expression index, e.g. `USING hnsw ((vector::vector(DIM))
vector_cosine_ops) WHERE model_id = ID`, `((vector_half::halfvec(DIM)) halfvec_cosine_ops)`, or for the
binary type `((binary_quantize(vector_binary)::bit(DIM)) bit_hamming_ops)`, whose candidates are re-ranked
on the float32 column. A query repeats that expression and the model id as a literal (not a parameter, so
cached generic plans still match the partial index); the same query over the bare column (`vector <=> q`)
matches no index: the exact scan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from psycopg import sql

from signclip.store.errors import DimensionMismatchError, StoreError
from signclip.store.vector_types import VectorType, vector_type

METRICS = {"cosine": ("<=>", "cosine_ops"), "l2": ("<->", "l2_ops")}  # operator, operator class (after TYPE_)
HAMMING = ("<~>", "bit_hamming_ops")  # the binary type's index
FILTER_COLUMNS = ("gloss", "signer", "text", "spoken_language", "signed_language", "split")
HNSW_MAX_DIM = 2000  # pgvector's limit for HNSW over `vector`


def metric_sql(metric: str, kind: str | VectorType = "vector") -> tuple[str, str]:
    """Return (distance operator, operator class over the column of vector type `kind`) of `metric`; StoreError
    for an unknown metric."""
    if metric not in METRICS:
        raise StoreError(f"unknown metric {metric!r}; use one of {sorted(METRICS)}")
    operator, operator_class = METRICS[metric]
    return operator, f"{vector_type(kind).sql_type}_{operator_class}"


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


def index_name(model_id: int, metric: str, kind: str | VectorType = "vector") -> str:
    """Return the name of a model's HNSW index for `metric` over vectors of type `kind` (the binary type's
    Hamming index serves every metric)."""
    kind = vector_type(kind)
    if kind.quantized:
        return f"embeddings_hnsw_model{model_id}_{kind.name}"
    suffix = "" if kind.name == "vector" else f"_{kind.name}"  # the name the indexes had before vector types
    return f"embeddings_hnsw_model{model_id}_{metric}{suffix}"


def indexed_sql(kind: str | VectorType, dim: int, alias: str | None = None) -> sql.Composed:
    """The expression a type's HNSW index is built over: the column cast to its type and size (`vector(D)`,
    `halfvec(D)`), or for the binary type `binary_quantize(column)::bit(D)`."""
    kind = vector_type(kind)
    column = sql.Identifier(*filter(None, [alias, kind.column]))
    if kind.quantized:
        return sql.SQL("binary_quantize({})::bit({})").format(column, sql.Literal(int(dim)))
    return sql.SQL("{}::{}({})").format(column, sql.Identifier(kind.sql_type), sql.Literal(int(dim)))


def create_index_sql(
    model_id: int,
    dim: int,
    metric: str,
    m: int,
    ef_construction: int,
    kind: str | VectorType = "vector",
    name: str | None = None,
) -> sql.Composed:
    """Return CREATE INDEX for the partial HNSW index of one model, metric and vector type (named `name`,
    default `index_name`'s: a rebuild makes the new graph under another name and swaps it in)."""
    kind = vector_type(kind)
    operator_class = HAMMING[1] if kind.quantized else metric_sql(metric, kind)[1]
    return sql.SQL(
        "CREATE INDEX IF NOT EXISTS {name} ON embeddings USING hnsw (({expression}) {ops})"
        " WITH (m = {m}, ef_construction = {ef}) WHERE model_id = {model_id}"
    ).format(
        name=sql.Identifier(name or index_name(model_id, metric, kind)),
        expression=indexed_sql(kind, dim),
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
    kind: str | VectorType = "vector",
    candidates: int | None = None,
) -> sql.Composed:
    """Return the k-nearest query (parameter `q`, the query vector): rows (distance, item_id), nearest first
    (ties by item id), over the column of the dataset's vector type `kind`.

    Exact: the bare column, scanned. Approximate: the type's index expression (`indexed_sql`); for the binary
    type the index's `candidates` nearest by Hamming distance (default `k`) are re-ranked by `metric` on the
    float32 vectors.
    """
    kind = vector_type(kind)
    operator, _ = metric_sql(metric, kind)
    column = sql.Identifier("e", kind.column)
    query = sql.SQL("%(q)s::{}").format(sql.Identifier(kind.sql_type))
    join = sql.SQL("")
    if where:
        join = sql.SQL("JOIN items i ON i.id = e.item_id AND i.dataset_id = {}").format(sql.Literal(int(dataset_id)))
    scope = sql.SQL("FROM embeddings e {join} WHERE e.model_id = {model_id} AND e.dataset_id = {dataset_id} {where}")
    scope = scope.format(
        join=join,
        model_id=sql.Literal(int(model_id)),
        dataset_id=sql.Literal(int(dataset_id)),
        where=item_filter_sql(where),
    )
    if exact or not kind.quantized:
        if not exact:
            column = indexed_sql(kind, dim, "e")
            query = sql.SQL("%(q)s::{}({})").format(sql.Identifier(kind.sql_type), sql.Literal(int(dim)))
        nearest = sql.SQL("SELECT e.item_id, {column} {op} {q} AS distance {scope} ORDER BY {column} {op} {q}")
        nearest = nearest.format(column=column, op=sql.SQL(operator), q=query, scope=scope)
    else:
        nearest = sql.SQL(
            "SELECT c.item_id, c.{column} {op} %(q)s AS distance FROM ("
            " SELECT e.item_id, e.{column} {scope} ORDER BY {indexed} {hamming} binary_quantize(%(q)s::vector)"
            " LIMIT {candidates}) c ORDER BY c.{column} {op} %(q)s"
        ).format(
            column=sql.Identifier(kind.column),
            op=sql.SQL(operator),
            scope=scope,
            indexed=indexed_sql(kind, dim, "e"),
            hamming=sql.SQL(HAMMING[0]),
            candidates=sql.Literal(int(max(candidates or k, k))),
        )
    return sql.SQL(
        "WITH nearest AS MATERIALIZED ({nearest} LIMIT {k})"
        " SELECT n.distance, n.item_id FROM nearest n ORDER BY n.distance, n.item_id"
    ).format(nearest=nearest, k=sql.Literal(int(k)))


def item_select_sql(columns: Sequence[str]) -> sql.Composed:
    """Return `i.id AS item_id, i.<column> AS <name>, ...` for Item field names (`key` is `external_key`)."""
    named = [sql.SQL("i.id AS item_id")]
    for name in columns:
        column = "external_key" if name == "key" else name
        named.append(sql.SQL("i.{} AS {}").format(sql.Identifier(column), sql.Identifier(name)))
    return sql.SQL(", ").join(named)
