"""Batch ingest through binary/text COPY into session staging tables, one transaction per batch.

Items are upserted by (dataset, external key); embeddings by (model, item). When an item's source
(video, pose, segment times) changes, its embeddings and pose sequences are deleted so that they are
computed again.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from signclip.store.errors import StoreError
from signclip.store.pgbinary import encode_id_vector_rows
from signclip.store.vector_types import HALFVEC_MAX, VECTOR_TYPES, column_values_sql, type_columns_sql

ITEM_COLUMNS = [
    "external_key",
    "gloss",
    "text",
    "signer",
    "spoken_language",
    "signed_language",
    "split",
    "pose_path",
    "video_path",
    "start_ms",
    "end_ms",
    "metadata",
]
_TIME_COLUMNS = slice(ITEM_COLUMNS.index("start_ms"), ITEM_COLUMNS.index("end_ms") + 1)
_METADATA_COLUMN = ITEM_COLUMNS.index("metadata")

_CREATE_ITEM_STAGING = (
    "CREATE TEMP TABLE IF NOT EXISTS item_staging (position bigint,"
    " external_key text, gloss text, text text, signer text, spoken_language text,"
    " signed_language text, split text, pose_path text, video_path text,"
    " start_ms double precision, end_ms double precision, metadata jsonb) ON COMMIT DELETE ROWS"
)
_CREATE_EMBEDDING_STAGING = (
    "CREATE TEMP TABLE IF NOT EXISTS embedding_staging (item_id bigint, vector vector) ON COMMIT DELETE ROWS"
)
_SOURCE_CHANGED = (
    " WHERE e.item_id = i.id AND i.dataset_id = %(dataset)s AND i.external_key = s.external_key"
    " AND (i.video_path IS DISTINCT FROM s.video_path OR (s.pose_path <> '' AND i.pose_path <> s.pose_path)"
    " OR i.start_ms IS DISTINCT FROM s.start_ms OR i.end_ms IS DISTINCT FROM s.end_ms)"
)
_DROP_STALE = [  # what is computed from an item's source
    f"DELETE FROM {table} e USING items i, item_staging s{_SOURCE_CHANGED}"
    for table in ("embeddings", "pose_sequences")
]
# A video item's extracted pose path is kept when the manifest gives no pose path and the video is the same.
_UPSERT_ITEMS = (
    "INSERT INTO items (dataset_id, " + ", ".join(ITEM_COLUMNS) + ")"
    " SELECT %(dataset)s, " + ", ".join(f"s.{c}" for c in ITEM_COLUMNS) + " FROM item_staging s"
    " ON CONFLICT (dataset_id, external_key) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in ITEM_COLUMNS if c not in ("external_key", "pose_path"))
    + ", pose_path = CASE WHEN excluded.pose_path <> '' THEN excluded.pose_path"
    " WHEN items.video_path = excluded.video_path THEN items.pose_path ELSE '' END"
)
_ITEM_IDS = (
    "SELECT i.id FROM item_staging s JOIN items i ON i.dataset_id = %s AND i.external_key = s.external_key"
    " ORDER BY s.position"
)
# Each vector goes to the column of its dataset's vector type (the others NULL). FOR SHARE waits for a type
# switch in progress (which locks the dataset row first) and then reads the new type.
_UPSERT_EMBEDDINGS = sql.SQL(
    "INSERT INTO embeddings (item_id, dataset_id, model_id, {columns})"
    " SELECT s.item_id, i.dataset_id, %s, {values} FROM embedding_staging s JOIN items i ON i.id = s.item_id"
    " JOIN datasets d ON d.id = i.dataset_id FOR SHARE OF d"
    " ON CONFLICT (model_id, item_id) DO UPDATE SET {updates}"
).format(
    columns=type_columns_sql(),
    values=column_values_sql(sql.SQL("s.vector"), sql.SQL("d.vector_type")),
    updates=sql.SQL(", ").join(
        sql.SQL("{0} = excluded.{0}").format(sql.Identifier(t.column)) for t in VECTOR_TYPES.values()
    ),
)


def check_vectors(model: str, item_ids, vectors) -> tuple[np.ndarray, np.ndarray]:
    """Return item ids (N,) int64 and vectors (N, D) float32; StoreError for a wrong shape, NaN or repeated ids."""
    vectors = np.asarray(vectors, dtype=np.float32)
    item_ids = np.asarray(item_ids, dtype=np.int64)
    if vectors.ndim != 2 or len(vectors) != len(item_ids):
        raise StoreError(f"expected vectors (N, D) for N={len(item_ids)} item ids, got shape {vectors.shape}")
    if not np.isfinite(vectors).all():
        raise StoreError(f"model {model!r}: vectors contain NaN or infinite values")
    if len(np.unique(item_ids)) != len(item_ids):
        raise StoreError(f"model {model!r}: the item ids repeat; give each item one vector")
    return item_ids, vectors


def upsert_items(connection: psycopg.Connection, dataset_id: int, batch: pd.DataFrame) -> np.ndarray:
    """Upsert one batch of item rows (columns ITEM_COLUMNS) in one transaction; returns ids (N,) in row order."""
    connection.execute(_CREATE_ITEM_STAGING)
    with connection.transaction(), connection.cursor() as cursor:
        with cursor.copy(f"COPY item_staging (position, {', '.join(ITEM_COLUMNS)}) FROM STDIN") as copy:
            for position, row in enumerate(batch[ITEM_COLUMNS].itertuples(index=False)):
                values = list(row)
                values[_TIME_COLUMNS] = [None if pd.isna(v) else float(v) for v in values[_TIME_COLUMNS]]
                values[_METADATA_COLUMN] = Jsonb(dict(values[_METADATA_COLUMN] or {}))
                copy.write_row([position, *values])
        for statement in _DROP_STALE:
            cursor.execute(statement, {"dataset": dataset_id})
        cursor.execute(_UPSERT_ITEMS, {"dataset": dataset_id})
        ids = cursor.execute(_ITEM_IDS, [dataset_id]).fetchall()
    return np.array([row[0] for row in ids], dtype=np.int64)


def upsert_embeddings(
    connection: psycopg.Connection, model_id: int, model_name: str, item_ids: np.ndarray, vectors: np.ndarray
) -> None:
    """Upsert one batch of vectors (N, D) for item ids (N,) by binary COPY, in one transaction; each is stored
    as its dataset's vector type (float32 sent, cast to halfvec by the server for a halfvec dataset)."""
    connection.execute(_CREATE_EMBEDDING_STAGING)
    with connection.transaction(), connection.cursor() as cursor:
        with cursor.copy("COPY embedding_staging (item_id, vector) FROM STDIN WITH (FORMAT BINARY)") as copy:
            copy.write(encode_id_vector_rows(item_ids, vectors))
        try:
            written = cursor.execute(_UPSERT_EMBEDDINGS, [model_id]).rowcount
        except psycopg.errors.NumericValueOutOfRange:
            raise StoreError(
                f"model {model_name!r}: a vector has a value beyond +-{HALFVEC_MAX:g}, which a halfvec dataset "
                "(float16) cannot hold; nothing of this batch was stored (store the dataset as vector)"
            ) from None
        if written != len(item_ids):
            raise StoreError(
                f"model {model_name!r}: {len(item_ids) - written} of {len(item_ids)} item ids are not in the "
                "store (or repeat); add the items first"
            )
