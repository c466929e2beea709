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
    POSE_SUFFIXES,
    VIDEO_SUFFIXES,
    DatasetAdapter,
    DatasetError,
    LoadContext,
    media_columns,
    path_id,
    read_csv_table,
)

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
    media = sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and p.suffix.lower() in POSE_SUFFIXES + VIDEO_SUFFIXES and not p.name.startswith(".")
    )
    loose = [p.name for p in media if p.parent == root]
    if loose:
        raise DatasetError(
            f"{root}: files directly in the dataset folder have no gloss folder: {loose[:5]} "
            "(expected ROOT/<gloss>/<file>)"
        )
    if not media:
        raise DatasetError(
            f"{root}: no pose or video files found (expected ROOT/<gloss>/<file> with suffix "
            f"{', '.join(POSE_SUFFIXES + VIDEO_SUFFIXES)})"
        )
    rows: dict[str, dict] = {}
    for path in media:
        relative = path.relative_to(root)
        item_id = path_id(relative)
        gloss = relative.parts[0]
        row = rows.setdefault(item_id, {"id": item_id, "text": gloss, "gloss": gloss, "split": ""})
        column = next(iter(media_columns(path)))
        if column in row:
            raise DatasetError(f"{root}: two {column.split('_')[0]} files for {relative.with_suffix('')}")
        row[column] = str(path)
    return pd.DataFrame(list(rows.values()))


def _load_csv(path: Path, context: LoadContext) -> pd.DataFrame:
    table = read_csv_table(path, required=CSV_REQUIRED, allowed=CSV_REQUIRED + CSV_OPTIONAL)
    rows = []
    for line, record in enumerate(table.to_dict(orient="records"), start=2):
        relative = record.pop("path").strip()
        if not relative:
            context.problems.add(f"{path} line {line}: empty path")
            continue
        text = record["text"].strip()
        row = {
            **{k: v.strip() for k, v in record.items()},
            **media_columns(path.parent / relative),
            "id": record.get("id", "").strip() or path_id(relative),
            "gloss": record.get("gloss", "").strip() or text,
        }
        try:
            for column in ("start_ms", "end_ms"):
                row[column] = float(row[column]) if row.get(column) else float("nan")
        except ValueError:
            context.problems.add(f"{path} line {line}: start_ms/end_ms must be numbers (milliseconds)")
            continue
        rows.append(row)
    return pd.DataFrame(rows)


ADAPTER = DatasetAdapter(
    name="folder",
    description="generic: ROOT/<gloss>/<file>.pose|.mp4, or a CSV file with path and text columns",
    layout="ROOT/<gloss>/<name>.pose|.mp4 (any depth), or ROOT = a .csv with path,text[,id,gloss,signer,...]",
    load=load,
    default_split="random",
)
