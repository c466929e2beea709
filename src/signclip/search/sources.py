"""What `signclip index add` reads: a manifest file, or any folder of poses and videos.

A folder needs no labels and no split: every pose (.pose, .parquet) or video below it is one item
whose key is its path below the folder; an item under `<gloss>/` takes that folder's name as its gloss
and text, a file directly in the folder has none. A pose and a video of the same name are one item.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from signclip.data.table import TableSource, load_table
from signclip.errors import SignclipError


def read_source(
    folder: str | None, manifest: str | None, spoken: str | None = None, signed: str | None = None
) -> pd.DataFrame:
    """Return the manifest table of `manifest`, of a folder's files (`folder_table`), or of a folder CSV."""
    source = TableSource(manifest=manifest, spoken_language=spoken, signed_language=signed)
    if manifest is None and Path(folder).is_dir():
        return _fill(folder_table(Path(folder)), spoken, signed)
    if manifest is None:
        source.dataset, source.root = "folder", folder
    return load_table(source)


def folder_table(root: Path) -> pd.DataFrame:
    """One manifest row per pose or video file below `root` (see the module doc); SignclipError if none."""
    from signclip.data.datasets.common import POSE_SUFFIXES, VIDEO_SUFFIXES, media_columns, path_id

    suffixes = POSE_SUFFIXES + VIDEO_SUFFIXES
    media = sorted(
        path
        for path in root.rglob("*")
        if path.is_file() and path.suffix.lower() in suffixes and not path.name.startswith(".")
    )
    if not media:
        raise SignclipError(f"{root}: no pose or video files found (suffixes {', '.join(suffixes)})")
    rows: dict[str, dict] = {}
    owner: dict[str, Path] = {}
    for path in media:
        relative = path.relative_to(root)
        key = path_id(relative)
        if key in owner and owner[key].with_suffix("") != relative.with_suffix(""):
            raise SignclipError(f"{root}: {owner[key]} and {relative} would both be item {key!r}; rename one")
        owner[key] = relative
        gloss = relative.parts[0] if len(relative.parts) > 1 else ""
        row = rows.setdefault(key, {"id": key, "text": gloss, "gloss": gloss, "split": ""})
        column = next(iter(media_columns(path)))
        if column in row:
            raise SignclipError(f"{root}: two {column.split('_')[0]} files for {relative.with_suffix('')}")
        row[column] = str(path.resolve())
    return pd.DataFrame(list(rows.values()))


def _fill(table: pd.DataFrame, spoken: str | None, signed: str | None) -> pd.DataFrame:
    for column, value in (("spoken_language", spoken), ("signed_language", signed)):
        if value:
            table[column] = value
    return table
