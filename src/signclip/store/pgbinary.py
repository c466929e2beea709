"""PostgreSQL binary COPY rows of `(bigint id, vector)` encoded and decoded with NumPy, without a Python loop.

A pgvector value in binary form is `int16 dim, int16 unused, dim x float32`, big-endian; a binary COPY
stream is a header, then per row `int16 field count` and per field `int32 length` + bytes, then `int16 -1`.
With a fixed dimension every row has the same size, so a batch is one structured NumPy array.
"""

from __future__ import annotations

import numpy as np

from signclip.errors import SignclipError

COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
COPY_TRAILER = (-1).to_bytes(2, "big", signed=True)


def _row_dtype(dim: int) -> np.dtype:
    return np.dtype(
        [
            ("fields", ">i2"),
            ("id_length", ">i4"),
            ("id", ">i8"),
            ("vector_length", ">i4"),
            ("dim", ">i2"),
            ("unused", ">i2"),
            ("vector", ">f4", (dim,)),
        ]
    )


def encode_id_vector_rows(ids: np.ndarray, vectors: np.ndarray) -> bytes:
    """Return a complete binary COPY stream for rows `(ids[i], vectors[i])`; ids (N,) int, vectors (N, D)."""
    ids = np.asarray(ids, dtype=np.int64)
    vectors = np.asarray(vectors, dtype=np.float32)
    count, dim = vectors.shape
    rows = np.empty(count, dtype=_row_dtype(dim))
    rows["fields"] = 2
    rows["id_length"] = 8
    rows["id"] = ids
    rows["vector_length"] = 4 + 4 * dim
    rows["dim"] = dim
    rows["unused"] = 0
    rows["vector"] = vectors
    return COPY_HEADER + rows.tobytes() + COPY_TRAILER


def decode_id_vector_rows(data: bytes, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Parse a binary COPY stream of `(bigint, vector(dim))` rows; returns ids (N,) int64, vectors (N, D) float32."""
    if not data.startswith(COPY_HEADER[:11]):
        raise SignclipError("not a PostgreSQL binary COPY stream")
    extension_length = int.from_bytes(data[15:19], "big")
    body = memoryview(data)[19 + extension_length : len(data) - len(COPY_TRAILER)]
    row_dtype = _row_dtype(dim)
    if len(body) % row_dtype.itemsize:
        raise SignclipError(f"binary COPY rows are not all (bigint, vector({dim})) rows")
    rows = np.frombuffer(body, dtype=row_dtype)
    if len(rows) and (np.any(rows["dim"] != dim) or np.any(rows["fields"] != 2)):
        raise SignclipError(f"binary COPY rows are not all (bigint, vector({dim})) rows")
    return rows["id"].astype(np.int64), rows["vector"].astype(np.float32)
