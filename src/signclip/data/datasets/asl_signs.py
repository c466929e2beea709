"""`asl-signs`: the Kaggle "Google - Isolated Sign Language Recognition" (asl-signs) download.

ROOT/train.csv has columns path (e.g. train_landmark_files/26734/1000035562.parquet), participant_id,
sequence_id, sign; each parquet holds one sequence of MediaPipe Holistic landmarks, which
`signclip.poses.io.read_any_pose` reads (30 fps). 250 signs by 21 participants, American Sign
Language; the competition's test set is hidden, so there is no official split.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from signclip.data.datasets.common import DatasetAdapter, LoadContext, read_csv_table

REQUIRED_COLUMNS = ["path", "participant_id", "sequence_id", "sign"]


def load(root: Path, context: LoadContext) -> pd.DataFrame:
    """Read `root/train.csv` into manifest rows pointing at the sequence parquet files."""
    index = read_csv_table(root / "train.csv", required=REQUIRED_COLUMNS)
    rows = []
    for line, record in enumerate(index.to_dict(orient="records"), start=2):
        relative, sequence = record["path"].strip(), record["sequence_id"].strip()
        if not relative or not sequence:
            context.problems.add(f"{root / 'train.csv'} line {line}: empty path or sequence_id")
            continue
        sign = record["sign"].strip()
        rows.append(
            {
                "id": sequence,
                "pose_path": str(root / relative),
                "text": sign,
                "gloss": sign,
                "signer": record["participant_id"].strip(),
                "spoken_language": "en",
                "signed_language": "ase",
                "split": "",
            }
        )
    return pd.DataFrame(rows)


ADAPTER = DatasetAdapter(
    name="asl-signs",
    description="Kaggle Google ISLR (asl-signs): train.csv + one landmark parquet per sequence",
    layout="ROOT/train.csv (path, participant_id, sequence_id, sign) + ROOT/train_landmark_files/...",
    load=load,
    default_split="signer",
)
