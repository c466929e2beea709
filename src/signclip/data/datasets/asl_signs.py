"""`asl-signs`: the Kaggle "Google - Isolated Sign Language Recognition" (asl-signs) download.

ROOT/train.csv has columns path (e.g. train_landmark_files/26734/1000035562.parquet), participant_id,
sequence_id, sign; each parquet holds one sequence of MediaPipe Holistic landmarks, which
`signclip.poses.io.read_any_pose` reads (30 fps). 250 signs by 21 participants, American Sign
Language; the competition's test set is hidden, so there is no official split.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from signclip.data.datasets.common import ASL, DatasetAdapter, LoadContext, manifest_row, read_csv_table

DESCRIPTION = "Kaggle Google ISLR (asl-signs): train.csv + one landmark parquet per sequence"
LAYOUT = "ROOT/train.csv (path, participant_id, sequence_id, sign) + ROOT/train_landmark_files/..."
REQUIRED_COLUMNS = ["path", "participant_id", "sequence_id", "sign"]


def load(root: Path, context: LoadContext) -> pd.DataFrame:
    """Read `root/train.csv` into manifest rows pointing at the sequence parquet files."""
    index = root / "train.csv"
    table = read_csv_table(index, required=REQUIRED_COLUMNS)
    return pd.DataFrame(context.csv_rows(index, table, lambda record: _row(record, root)))


def _row(record: dict[str, str], root: Path) -> dict | str:
    relative, sequence = record["path"].strip(), record["sequence_id"].strip()
    if not relative or not sequence:
        return "empty path or sequence_id"
    signer = record["participant_id"].strip()
    return manifest_row(sequence, record["sign"].strip(), signer=signer, languages=ASL, pose_path=str(root / relative))


ADAPTER = DatasetAdapter("asl-signs", DESCRIPTION, LAYOUT, load, default_split="signer")
