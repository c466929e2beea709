"""Embedding shards: Parquet files of (id, vector) rows written by one model, for bulk loading.

A shard holds columns `id` (the manifest id, text) and `vector` (float32 list of the model's size);
its Parquet metadata names the model (`signclip.model`), its weights' fingerprint
(`signclip.fingerprint`) and the vector size (`signclip.dim`). The Ray pipeline writes them
(`signclip.cluster.embed`); any other tool can too. `read_shards` checks that a set of shards comes
from one model before anything is loaded.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from signclip.errors import SignclipError

MODEL_KEY, FINGERPRINT_KEY, DIM_KEY = b"signclip.model", b"signclip.fingerprint", b"signclip.dim"


class ShardError(SignclipError):
    """An embedding shard that cannot be used: unreadable, missing metadata, or of another model."""


@dataclass
class EmbeddingShards:
    """The rows of one or more shards: ids (N,) text, vectors (N, dim) float32, and their model."""

    ids: np.ndarray
    vectors: np.ndarray
    model: str
    fingerprint: str
    files: list[Path]


def shard_bytes(ids: Sequence[str], vectors: np.ndarray, model: str, fingerprint: str) -> bytes:
    """Encode (ids (N,), vectors (N, D) float32) as one Parquet shard of `model`; returns the file's bytes."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or len(vectors) != len(ids):
        raise ShardError(f"expected vectors (N, D) for N={len(ids)} ids, got shape {vectors.shape}")
    flat = pa.array(vectors.reshape(-1), type=pa.float32())
    column = (
        pa.FixedSizeListArray.from_arrays(flat, vectors.shape[1]) if len(ids) else pa.array([], pa.list_(pa.float32()))
    )
    table = pa.table({"id": pa.array(list(map(str, ids)), pa.string()), "vector": column})
    metadata = {
        MODEL_KEY: model.encode(),
        FINGERPRINT_KEY: fingerprint.encode(),
        DIM_KEY: str(vectors.shape[1]).encode(),
    }
    table = table.replace_schema_metadata(metadata)
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def shard_files(paths: Sequence[str | os.PathLike]) -> list[Path]:
    """The `.parquet` files among `paths` (folders are searched recursively, hidden files skipped)."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files += sorted(p for p in path.rglob("*.parquet") if not p.name.startswith("."))
        elif path.is_file():
            files.append(path)
        else:
            raise ShardError(f"{path}: no such file or folder")
    return files


def read_shard_model(path: Path) -> tuple[str, str, int]:
    """Return (model, fingerprint, dim) from a shard's metadata; ShardError when it is not a shard."""
    import pyarrow.parquet as pq

    try:
        metadata = pq.read_schema(path).metadata or {}
    except (OSError, ValueError) as error:
        raise ShardError(f"{path}: not a readable Parquet file: {error}") from None
    missing = [key.decode() for key in (MODEL_KEY, FINGERPRINT_KEY, DIM_KEY) if key not in metadata]
    if missing:
        raise ShardError(f"{path}: not an embedding shard (no {', '.join(missing)} in its metadata)")
    return metadata[MODEL_KEY].decode(), metadata[FINGERPRINT_KEY].decode(), int(metadata[DIM_KEY])


def read_shards(paths: Sequence[str | os.PathLike], fingerprint: str | None = None) -> EmbeddingShards:
    """Read every shard under `paths`; all must carry one model fingerprint (`fingerprint` when given).

    Returns the rows in file order. Raises ShardError for no shards, a foreign or unreadable file, shards
    of two models, or an id that appears twice.
    """
    import pyarrow.parquet as pq

    files = shard_files(paths)
    if not files:
        raise ShardError(f"no .parquet shards in {', '.join(map(str, paths))}")
    models = {path: read_shard_model(path) for path in files}
    (model, found, dim), *_ = models.values()
    for path, (other_model, other_fingerprint, other_dim) in models.items():
        if (other_fingerprint, other_dim) != (found, dim):
            raise ShardError(
                f"{path} holds embeddings of {other_model!r} (fingerprint {other_fingerprint[:12]}), "
                f"but {files[0]} of {model!r} (fingerprint {found[:12]}): load one model's shards at a time"
            )
    if fingerprint is not None and found != fingerprint:
        raise ShardError(
            f"the shards hold embeddings of {model!r} with fingerprint {found[:12]}, "
            f"not the expected {fingerprint[:12]}"
        )
    ids, vectors = [], []
    for path in files:
        table = pq.read_table(path, columns=["id", "vector"])
        ids.append(table.column("id").to_numpy(zero_copy_only=False).astype(str))
        flat = table.column("vector").combine_chunks().flatten().to_numpy(zero_copy_only=False)
        vectors.append(np.asarray(flat, dtype=np.float32).reshape(len(table), dim))
    all_ids = np.concatenate(ids)
    unique, counts = np.unique(all_ids, return_counts=True)
    if (counts > 1).any():
        raise ShardError(f"ids appear in more than one shard row, e.g. {unique[counts > 1][:3].tolist()}")
    return EmbeddingShards(all_ids, np.concatenate(vectors), model, found, files)
