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
    MAX_LISTED_PROBLEMS,
    DatasetAdapter,
    DatasetError,
    LoadContext,
    find_media,
    manifest_row,
    media_columns,
    path_id,
    read_csv_table,
)
from signclip.poses.files import MEDIA_SUFFIXES

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
    return folder_table(root, require_glosses=True)


def folder_table(root: Path, require_glosses: bool) -> pd.DataFrame:
    """One manifest row per pose or video file below `root` (a pose and a video of the same name are one row):
    id from its path below `root`, gloss and text from its first folder (`ROOT/<gloss>/...`).

    Files directly in `root` have no gloss: with `require_glosses` (a labelled dataset) they are refused,
    naming every one (up to MAX_LISTED_PROBLEMS, then "and N more"); without it (an unlabelled collection)
    they get an empty gloss, and `table.attrs["without_gloss"]` counts them. DatasetError for no media
    files or two files that would be one id.
    """
    root = Path(root).resolve()
    media = find_media(root, skip_hidden=True)
    if not media:
        raise DatasetError(
            f"{root}: no pose or video files found (expected ROOT/<gloss>/<file> with suffix "
            f"{', '.join(MEDIA_SUFFIXES)})"
        )
    loose = [path.name for path, _ in media if path.parent == root]
    if loose and require_glosses:
        listed = ", ".join(loose[:MAX_LISTED_PROBLEMS])
        more = f" and {len(loose) - MAX_LISTED_PROBLEMS} more" if len(loose) > MAX_LISTED_PROBLEMS else ""
        raise DatasetError(
            f"{root}: {len(loose)} files lie directly in the dataset folder, without a gloss folder: {listed}{more} "
            "(expected ROOT/<gloss>/<file>: training and evaluation need each file's gloss; an index of unlabeled "
            "files takes them with an empty gloss)"
        )
    rows: dict[str, dict] = {}
    owner: dict[str, Path] = {}
    for path, column in media:
        relative = path.relative_to(root)
        item_id = path_id(relative)
        if item_id in owner and owner[item_id].with_suffix("") != relative.with_suffix(""):
            raise DatasetError(f"{root}: {owner[item_id]} and {relative} would both be item {item_id!r}; rename one")
        owner[item_id] = relative
        gloss = relative.parts[0] if len(relative.parts) > 1 else ""
        row = rows.setdefault(item_id, manifest_row(item_id, gloss))
        if column in row:
            raise DatasetError(f"{root}: two {column.split('_')[0]} files for {relative.with_suffix('')}")
        row[column] = str(path)
    table = pd.DataFrame(list(rows.values()))
    table.attrs["without_gloss"] = len({path_id(name) for name in loose})
    return table


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
