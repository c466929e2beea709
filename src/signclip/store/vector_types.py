"""How a dataset's vectors are stored and indexed: `vector` (float32), `halfvec` (float16) or `binary`.

Each type has its own nullable column in `embeddings` (migration 5), and every row fills exactly one: the
column in use *is* the row's type, so a model's per-type partial HNSW indexes (knn.py) each hold exactly the
rows of that type (pgvector does not index NULLs) and an index built before the types existed stays valid.

- `vector`: float32, 4 bytes a dimension; HNSW over `vector(D)`.
- `halfvec`: float16, 2 bytes a dimension (values within +-65504, about 3 significant digits); HNSW over
  `halfvec(D)`: half the table and index, distances in half precision.
- `binary`: float32 rows like `vector`, HNSW over `binary_quantize(vector)::bit(D)` with Hamming distance
  (1 bit a dimension, a 32nd of the graph's vector bytes); the index's candidates (as many as `ef_search`) are
  re-ranked by the model's metric on the float32 vectors, so distances are exact and recall is the candidates'.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

from signclip.store.errors import StoreError


class UnknownVectorTypeError(StoreError):
    """A vector type that the store does not offer."""


@dataclass(frozen=True)
class VectorType:
    """One way of storing a dataset's vectors: its name, its `embeddings` column and that column's pgvector
    type, and whether its HNSW index is over the binary quantization (re-ranked on the column)."""

    name: str
    column: str
    sql_type: str
    quantized: bool
    bytes_per_dim: float  # of the stored vector (the binary type stores float32 and indexes 1 bit a dimension)


VECTOR_TYPES = {
    "vector": VectorType("vector", "vector", "vector", quantized=False, bytes_per_dim=4),
    "halfvec": VectorType("halfvec", "vector_half", "halfvec", quantized=False, bytes_per_dim=2),
    "binary": VectorType("binary", "vector_binary", "vector", quantized=True, bytes_per_dim=4),
}
DEFAULT_VECTOR_TYPE = "vector"
HALFVEC_MAX = 65504.0  # the largest float16


def vector_type(name: str | VectorType) -> VectorType:
    """Return the vector type `name` (or `name` itself); UnknownVectorTypeError naming the choices."""
    if isinstance(name, VectorType):
        return name
    if name not in VECTOR_TYPES:
        raise UnknownVectorTypeError(f"unknown vector type {name!r}; choose one of {', '.join(VECTOR_TYPES)}")
    return VECTOR_TYPES[name]


def full_vector_sql(alias: str | None = None) -> sql.Composed:
    """The row's vector as float32 `vector`, whichever column holds it (`coalesce` over the type columns)."""
    columns = [
        sql.SQL("{}::vector").format(sql.Identifier(*filter(None, [alias, t.column]))) for t in VECTOR_TYPES.values()
    ]
    return sql.SQL("coalesce({})").format(sql.SQL(", ").join(columns))


def column_values_sql(source: sql.Composable, type_name: sql.Composable) -> sql.Composed:
    """The type columns' values (in VECTOR_TYPES order) for a float32 vector `source` stored as the type named
    by the SQL expression `type_name`: that type's column gets `source` cast to its type, the others NULL."""
    values = [
        sql.SQL("CASE WHEN {} = {} THEN {}::{} END").format(
            type_name, sql.Literal(t.name), source, sql.Identifier(t.sql_type)
        )
        for t in VECTOR_TYPES.values()
    ]
    return sql.SQL(", ").join(values)


def type_columns_sql() -> sql.Composed:
    """The type columns of `embeddings`, comma-separated (VECTOR_TYPES order)."""
    return sql.SQL(", ").join(sql.Identifier(t.column) for t in VECTOR_TYPES.values())


def convert_sql(dataset_id: int, target: VectorType) -> sql.Composed:
    """UPDATE moving a dataset's embeddings into `target`'s column (converted from whichever column holds them)."""
    assignments = [
        sql.SQL("{} = {}").format(
            sql.Identifier(t.column),
            sql.SQL("{}::{}").format(full_vector_sql(), sql.Identifier(t.sql_type)) if t == target else sql.NULL,
        )
        for t in VECTOR_TYPES.values()
    ]
    return sql.SQL("UPDATE embeddings SET {} WHERE dataset_id = {} AND {} IS NULL").format(
        sql.SQL(", ").join(assignments), sql.Literal(int(dataset_id)), sql.Identifier(target.column)
    )
