"""The manifest: the one table every dataset becomes, and everything downstream reads.

Columns: id, pose_path (or video_path), start_ms, end_ms, text, gloss, signer,
spoken_language, signed_language, split. Paths are stored as written; relative paths are resolved
against the manifest's folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from signclip.errors import SignclipError

MANIFEST_COLUMNS = [
    "id",
    "pose_path",
    "video_path",
    "start_ms",
    "end_ms",
    "text",
    "gloss",
    "signer",
    "spoken_language",
    "signed_language",
    "split",
]
TEXT_COLUMNS = [c for c in MANIFEST_COLUMNS if c not in ("start_ms", "end_ms")]


class ManifestError(SignclipError):
    """A manifest that cannot be used: missing, empty, unknown columns, duplicate ids, missing paths."""


def normalize_manifest(table: pd.DataFrame, source: str = "<manifest>") -> pd.DataFrame:
    """Return `table` with exactly MANIFEST_COLUMNS in order, typed; raises ManifestError when unusable.

    Missing optional columns are filled (empty text, NaN times); `id` must be unique and non-empty,
    and each row needs a pose_path or a video_path. Columns outside MANIFEST_COLUMNS are an error.
    """
    unknown = [c for c in table.columns if c not in MANIFEST_COLUMNS]
    if unknown:
        raise ManifestError(f"{source}: unknown columns {unknown}; a manifest has {MANIFEST_COLUMNS}")
    if "id" not in table.columns:
        raise ManifestError(f"{source}: no 'id' column")
    table = table.copy()
    for column in MANIFEST_COLUMNS:
        if column not in table.columns:
            table[column] = float("nan") if column in ("start_ms", "end_ms") else ""
    for column in TEXT_COLUMNS:
        table[column] = table[column].fillna("").astype(str)
    for column in ("start_ms", "end_ms"):
        table[column] = pd.to_numeric(table[column], errors="raise").astype("Float64")
    empty_ids = table["id"].str.strip() == ""
    if empty_ids.any():
        raise ManifestError(f"{source}: {int(empty_ids.sum())} rows have an empty id")
    duplicated = table["id"][table["id"].duplicated()].unique().tolist()
    if duplicated:
        raise ManifestError(f"{source}: duplicate ids {duplicated[:5]}{' ...' if len(duplicated) > 5 else ''}")
    no_path = (table["pose_path"] == "") & (table["video_path"] == "")
    if no_path.any():
        raise ManifestError(f"{source}: rows without pose_path or video_path, e.g. id {table['id'][no_path].iloc[0]}")
    return table[MANIFEST_COLUMNS].reset_index(drop=True)


def read_manifest(path: str | os.PathLike, check_files: bool = False) -> pd.DataFrame:
    """Read a manifest CSV or Parquet into a normalized DataFrame with relative paths made absolute.

    With `check_files`, every pose/video path must exist (the error lists the first missing ones).
    """
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"{path}: no such manifest")
    try:
        if path.suffix == ".parquet":
            table = pd.read_parquet(path)
        else:
            table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except Exception as error:
        raise ManifestError(f"{path}: not a readable manifest: {error}") from None
    if table.empty:
        raise ManifestError(f"{path}: the manifest has no rows")
    for column in ("start_ms", "end_ms"):
        if column in table.columns:
            table[column] = table[column].replace("", None)
    table = normalize_manifest(table, source=str(path))
    for column in ("pose_path", "video_path"):
        table[column] = [_resolve(p, path.parent) for p in table[column]]
    if check_files:
        paths = [p or v for p, v in zip(table["pose_path"], table["video_path"], strict=True)]
        missing = [p for p in paths if not Path(p).exists()]
        if missing:
            raise ManifestError(f"{path}: {len(missing)} listed files are missing, e.g. {missing[:3]}")
    return table


def write_manifest(table: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Validate `table` and write it atomically as CSV (or Parquet for a .parquet path); returns the path."""
    from signclip.poses.io import write_bytes_atomically

    path = Path(path)
    table = normalize_manifest(table, source=str(path))
    data = table.to_parquet(index=False) if path.suffix == ".parquet" else table.to_csv(index=False).encode()
    write_bytes_atomically(data, path)
    return path


def _resolve(value: str, base: Path) -> str:
    if not value or "://" in value or Path(value).is_absolute():
        return value
    return str((base / value).resolve())
