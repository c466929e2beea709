"""`folder`: a generic dataset, either `ROOT/<gloss>/<file>.pose|.mp4` or a CSV with path and text columns.

Folder layout: every pose (.pose, .parquet) or video under ROOT/<gloss>/ (any depth) is one row
whose text and gloss are the folder name; a pose and a video with the same name become one row.
CSV layout (ROOT is a .csv file): columns path and text, optionally id, gloss, signer,
spoken_language, signed_language, split, start_ms, end_ms; paths are relative to the CSV's folder.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from signclip.data.datasets.common import (
    MEDIA_SUFFIXES,
    DatasetAdapter,
    DatasetError,
    LoadContext,
    find_media,
    manifest_row,
    media_columns,
    path_id,
    read_csv_table,
)

DESCRIPTION = "generic: ROOT/<gloss>/<file>.pose|.mp4, or a CSV file with path and text columns"
LAYOUT = "ROOT/<gloss>/<name>.pose|.mp4 (any depth), or ROOT = a .csv with path,text[,id,gloss,signer,...]"
CSV_REQUIRED = ["path", "text"]
CSV_OPTIONAL = ["id", "gloss", "signer", "spoken_language", "signed_language", "split", "start_ms", "end_ms"]


def load(root: Path, context: LoadContext) -> pd.DataFrame:
    """Read a gloss-per-folder tree or a path/text CSV into manifest rows."""
    if root.is_file():
        if root.suffix.lower() != ".csv":
            raise DatasetError(f"{root}: the folder dataset takes a directory or a .csv file")
        return _load_csv(root, context)
    return _load_tree(root)


def _load_tree(root: Path) -> pd.DataFrame:
    media = find_media(root, skip_hidden=True)
    loose = [path.name for path, _ in media if path.parent == root]
    if loose:
        raise DatasetError(
            f"{root}: files directly in the dataset folder have no gloss folder: {loose[:5]} "
            "(expected ROOT/<gloss>/<file>)"
        )
    if not media:
        raise DatasetError(
            f"{root}: no pose or video files found (expected ROOT/<gloss>/<file> with suffix "
            f"{', '.join(MEDIA_SUFFIXES)})"
        )
    rows: dict[str, dict] = {}
    for path, column in media:
        relative = path.relative_to(root)
        item_id = path_id(relative)
        gloss = relative.parts[0]
        row = rows.setdefault(item_id, manifest_row(item_id, gloss))
        if column in row:
            raise DatasetError(f"{root}: two {column.split('_')[0]} files for {relative.with_suffix('')}")
        row[column] = str(path)
    return pd.DataFrame(list(rows.values()))


def _load_csv(path: Path, context: LoadContext) -> pd.DataFrame:
    table = read_csv_table(path, required=CSV_REQUIRED, allowed=CSV_REQUIRED + CSV_OPTIONAL)
    return pd.DataFrame(context.csv_rows(path, table, lambda record: _csv_row(record, path.parent)))


def _csv_row(record: dict[str, str], folder: Path) -> dict | str:
    relative = record.pop("path").strip()
    if not relative:
        return "empty path"
    text = record["text"].strip()
    row = {
        **{k: v.strip() for k, v in record.items()},
        **media_columns(folder / relative),
        "id": record.get("id", "").strip() or path_id(relative),
        "gloss": record.get("gloss", "").strip() or text,
    }
    try:
        for column in ("start_ms", "end_ms"):
            row[column] = float(row[column]) if row.get(column) else float("nan")
    except ValueError:
        return "start_ms/end_ms must be numbers (milliseconds)"
    return row


ADAPTER = DatasetAdapter("folder", DESCRIPTION, LAYOUT, load, default_split="random")
