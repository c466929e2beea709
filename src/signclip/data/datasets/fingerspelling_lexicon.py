"""`fingerspelling-lexicon`: a sign lexicon folder with `index.csv` (the spoken-to-signed lexicon layout).

Columns: path (relative to the folder), spoken_language, signed_language, start, end, words,
glosses, priority. text and gloss are the `glosses` value (the letter, for fingerspelling). The
poses are taken whole: in this layout start/end locate the sign in the source recording, and the
listed poses are already trimmed to it. The layout names no signer; a `signer` column is used when
present, else every row is `signer-1`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from signclip.data.datasets.common import (
    DatasetAdapter,
    LoadContext,
    manifest_row,
    media_columns,
    path_id,
    read_csv_table,
)

DESCRIPTION = "sign lexicon folder with index.csv (path, spoken_language, signed_language, glosses, ...)"
LAYOUT = "ROOT/index.csv + the .pose files it lists (paths relative to ROOT)"
REQUIRED_COLUMNS = ["path", "spoken_language", "signed_language", "glosses"]
DEFAULT_SIGNER = "signer-1"


def load(root: Path, context: LoadContext) -> pd.DataFrame:
    """Read `root/index.csv` into manifest rows (absolute paths, no official split)."""
    index = root / "index.csv"
    table = read_csv_table(index, required=REQUIRED_COLUMNS)
    return pd.DataFrame(context.csv_rows(index, table, lambda record: _row(record, root)))


def _row(record: dict[str, str], root: Path) -> dict | str:
    relative = record["path"].strip()
    if not relative:
        return "empty path"
    label = record["glosses"].strip() or record.get("words", "").strip()
    signer = record.get("signer", "").strip() or DEFAULT_SIGNER
    languages = (record["spoken_language"].strip(), record["signed_language"].strip())
    return manifest_row(path_id(relative), label, signer=signer, languages=languages, **media_columns(root / relative))


ADAPTER = DatasetAdapter("fingerspelling-lexicon", DESCRIPTION, LAYOUT, load, default_split="random")
