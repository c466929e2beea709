"""The SQL of the store's listings and reads (the kNN and HNSW SQL is in knn.py, the ingest SQL in ingest.py)."""

from __future__ import annotations

from psycopg import sql

from signclip.store.vector_types import full_vector_sql

LIST_DATASETS = (
    "SELECT d.name, (SELECT count(*) FROM items i WHERE i.dataset_id = d.id),"
    " coalesce((SELECT jsonb_object_agg(m.name, c.n) FROM (SELECT model_id, count(*) AS n"
    "   FROM embeddings e WHERE e.dataset_id = d.id GROUP BY model_id) c"
    "   JOIN models m ON m.id = c.model_id), '{}'), d.vector_type"
    " FROM datasets d ORDER BY d.name"
)
DATASET_MODELS = (
    "SELECT m.name, count(*) FROM embeddings e JOIN models m ON m.id = e.model_id"
    " WHERE e.dataset_id = %s GROUP BY m.name ORDER BY m.name"
)
EMBEDDING_COUNT = "SELECT count(*) FROM embeddings e JOIN models m ON m.id = e.model_id WHERE m.name = %s"
LANGUAGES = (
    "SELECT spoken_language, signed_language, count(*) FROM items WHERE dataset_id = %s"
    " AND signed_language <> '' GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2"
)
NOT_EMBEDDED_BY = sql.SQL(
    " AND NOT EXISTS (SELECT 1 FROM embeddings e JOIN models m ON m.id = e.model_id"
    " WHERE e.item_id = i.id AND m.name = %s)"
)


def copy_vectors_sql(model_id: int, dataset_id: int, limit: int | None) -> sql.Composed:
    """COPY TO STDOUT (binary) of a dataset's (item_id, float32 vector) rows of one model (whatever the dataset's
    vector type), by item id; with `limit`, at
    most that many, a fixed pseudo-random choice (by a hash of the item id)."""
    chosen = sql.SQL("")
    if limit is not None:
        chosen = sql.SQL(
            " AND item_id IN (SELECT item_id FROM embeddings WHERE model_id = {} AND dataset_id = {}"
            " ORDER BY hashint8(item_id) LIMIT {})"
        ).format(sql.Literal(model_id), sql.Literal(dataset_id), sql.Literal(int(limit)))
    return sql.SQL(
        "COPY (SELECT item_id, {} FROM embeddings WHERE model_id = {} AND dataset_id = {}{} ORDER BY item_id)"
        " TO STDOUT (FORMAT BINARY)"
    ).format(full_vector_sql(), sql.Literal(model_id), sql.Literal(dataset_id), chosen)
