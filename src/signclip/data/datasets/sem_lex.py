"""`sem-lex`: the Sem-Lex Benchmark (Kezar et al. 2023), 84k isolated ASL signs, vocabulary of 3,149.

A metadata CSV (ROOT/sem-lex-metadata.csv, ROOT/metadata.csv, or ROOT itself as the .csv) with
columns video_id, label (or gloss), signer_id and split; videos as ROOT/videos/<video_id>.mp4 (or
ROOT/<video_id>.mp4), poses as ROOT/poses/<video_id>.pose when present. The released metadata lists
some videos twice: identical repeats are dropped, conflicting ones are problems. gloss is the label
("last_year"), text its normalized form ("last year").
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from signclip.data.datasets.common import ASL, DatasetAdapter, DatasetError, LoadContext, manifest_row, read_index_csv
from signclip.data.prompts import normalize_sem_lex_gloss

DESCRIPTION = "Sem-Lex Benchmark: metadata CSV (video_id, label, signer_id, split) + videos/"
LAYOUT = "ROOT/sem-lex-metadata.csv (or metadata.csv) + ROOT/videos/<video_id>.mp4 [+ ROOT/poses/<video_id>.pose]"
METADATA_FILES = ("sem-lex-metadata.csv", "semlex_metadata.csv", "metadata.csv")


def load(root: Path, context: LoadContext) -> pd.DataFrame:
    """Read the Sem-Lex metadata into manifest rows (official split from its split column)."""
    metadata, table = read_index_csv(root, METADATA_FILES, "Sem-Lex metadata CSV", required=["video_id"])
    folder = metadata.parent
    label_column = next((c for c in ("label", "gloss") if c in table.columns), None)
    if label_column is None:
        raise DatasetError(f"{metadata}: no label or gloss column (found {list(table.columns)})")
    videos = folder / "videos" if (folder / "videos").is_dir() else folder
    poses = folder / "poses"
    seen: dict[str, tuple] = {}

    def row(record: dict[str, str]) -> dict | str | None:
        video_id, label = record["video_id"].strip(), record[label_column].strip()
        signer, split = record.get("signer_id", "").strip(), record.get("split", "").strip()
        if not video_id:
            return "empty video_id"
        key = (label, signer, split)
        if video_id in seen:
            if seen[video_id] != key:
                first = seen[video_id]
                return f"video_id {video_id} listed again with a different label/signer/split {key} (first {first})"
            return None
        seen[video_id] = key
        pose = poses / f"{video_id}.pose"
        media = {"video_path": str(videos / f"{video_id}.mp4"), "pose_path": str(pose) if pose.is_file() else ""}
        return manifest_row(
            video_id, normalize_sem_lex_gloss(label), gloss=label, signer=signer, languages=ASL, split=split, **media
        )

    return pd.DataFrame(context.csv_rows(metadata, table, row))


ADAPTER = DatasetAdapter("sem-lex", DESCRIPTION, LAYOUT, load, default_split="official")
