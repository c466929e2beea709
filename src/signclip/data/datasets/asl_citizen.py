"""`asl-citizen`: ASL Citizen (Desai et al. 2023), 83k videos of 2,731 signs by 52 signers.

ROOT/splits/{train,val,test}.csv (or the three CSVs directly in ROOT) with columns Participant ID,
Video file, Gloss, ASL-LEX Code; videos in ROOT/videos/. The CSVs are the official, signer-
independent split. gloss is the dataset's gloss ("APPLE2"); text is its normalized form ("apple").
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from signclip.data.datasets.common import (
    ASL,
    DatasetAdapter,
    DatasetError,
    LoadContext,
    manifest_row,
    path_id,
    read_csv_table,
)
from signclip.data.prompts import normalize_asl_citizen_gloss

DESCRIPTION = "ASL Citizen: splits/{train,val,test}.csv (Participant ID, Video file, Gloss) + videos/"
LAYOUT = "ROOT/splits/train.csv|val.csv|test.csv + ROOT/videos/<Video file>"
SPLIT_FILES = {"train": "train.csv", "val": "val.csv", "test": "test.csv"}
REQUIRED_COLUMNS = ["Participant ID", "Video file", "Gloss"]


def load(root: Path, context: LoadContext) -> pd.DataFrame:
    """Read the three split CSVs into manifest rows pointing at ROOT/videos/<Video file>."""
    splits_dir = root / "splits" if (root / "splits").is_dir() else root
    present = {split: splits_dir / name for split, name in SPLIT_FILES.items() if (splits_dir / name).is_file()}
    if not present:
        raise DatasetError(f"{root}: no ASL Citizen split files (expected splits/train.csv, val.csv, test.csv)")
    videos = root / "videos"
    rows = []
    for split, path in present.items():
        table = read_csv_table(path, required=REQUIRED_COLUMNS)
        rows += context.csv_rows(path, table, lambda record, split=split: _row(record, split, videos))
    return pd.DataFrame(rows)


def _row(record: dict[str, str], split: str, videos: Path) -> dict | str:
    video, gloss = record["Video file"].strip(), record["Gloss"].strip()
    if not video:
        return "empty Video file"
    signer = record["Participant ID"].strip()
    text = normalize_asl_citizen_gloss(gloss)
    return manifest_row(
        path_id(video), text, gloss=gloss, signer=signer, languages=ASL, split=split, video_path=str(videos / video)
    )


ADAPTER = DatasetAdapter("asl-citizen", DESCRIPTION, LAYOUT, load, default_split="official")
