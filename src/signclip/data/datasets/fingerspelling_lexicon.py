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

from signclip.data.datasets.common import DatasetAdapter, LoadContext, media_columns, path_id, read_csv_table

REQUIRED_COLUMNS = ["path", "spoken_language", "signed_language", "glosses"]
DEFAULT_SIGNER = "signer-1"


def load(root: Path, context: LoadContext) -> pd.DataFrame:
    """Read `root/index.csv` into manifest rows (absolute paths, no official split)."""
    index = read_csv_table(root / "index.csv", required=REQUIRED_COLUMNS)
    rows = []
    for line, record in enumerate(index.to_dict(orient="records"), start=2):
        relative = record["path"].strip()
        if not relative:
            context.problems.add(f"{root / 'index.csv'} line {line}: empty path")
            continue
        label = record["glosses"].strip() or record.get("words", "").strip()
        rows.append(
            {
                "id": path_id(relative),
                **media_columns(root / relative),
                "text": label,
                "gloss": label,
                "signer": record.get("signer", "").strip() or DEFAULT_SIGNER,
                "spoken_language": record["spoken_language"].strip(),
                "signed_language": record["signed_language"].strip(),
                "split": "",
            }
        )
    return pd.DataFrame(rows)


ADAPTER = DatasetAdapter(
    name="fingerspelling-lexicon",
    description="sign lexicon folder with index.csv (path, spoken_language, signed_language, glosses, ...)",
    layout="ROOT/index.csv + the .pose files it lists (paths relative to ROOT)",
    load=load,
    default_split="random",
)
