"""What `signclip index add` reads: a manifest file, or any folder of poses and videos.

A folder needs no labels and no split (`data.datasets.folder.folder_table` without required glosses):
every pose or video below it is one item whose key is its path below the folder; an item under
`<gloss>/` takes that folder's name as its gloss and text, a file directly in the folder has none (the
table's `attrs["without_gloss"]` counts them, for the front ends to say so).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from signclip.data.table import TableSource, load_table


def read_source(
    folder: str | None, manifest: str | None, spoken: str | None = None, signed: str | None = None
) -> pd.DataFrame:
    """Return the manifest table of `manifest`, of a folder's files (`folder_table`), or of a folder CSV."""
    source = TableSource(manifest=manifest, spoken_language=spoken, signed_language=signed)
    if manifest is None and Path(folder).is_dir():
        from signclip.data.datasets.folder import folder_table

        table = folder_table(Path(folder), require_glosses=False)
        for column, value in (("spoken_language", spoken), ("signed_language", signed)):
            if value:
                table[column] = value
        return table
    if manifest is None:
        source.dataset, source.root = "folder", folder
    return load_table(source)


def without_gloss_note(table: pd.DataFrame, folder: str | None) -> str | None:
    """The note a front end prints when a folder's files have no gloss folder, or None."""
    count = table.attrs.get("without_gloss", 0)
    if not count:
        return None
    return (
        f"note: {count} of the {len(table)} items lie directly in {folder}, not in a <gloss>/ folder: they are "
        "indexed with an empty gloss (found by example or by text, left out of `search evaluate`)"
    )
