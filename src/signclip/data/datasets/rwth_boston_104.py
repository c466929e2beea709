"""`rwth-boston-104`: RWTH-BOSTON-104 word segments over per-frame hand positions (ASL, 3 signers).

ROOT/hands_condensed.csv (video, frame, left-x, left-y, right-x, right-y, nose-x, nose-y),
ROOT/train_words.csv and ROOT/test_words.csv (video, speaker, word, startframe, endframe; frames
inclusive), ROOT/speaker.csv (video, speaker) when the word files lack a speaker. The positions
are written as one 2D .pose per video into the work directory (`<work_dir>/<video>.pose`, 30 fps);
each word is a row over its video's pose with start_ms = startframe / fps * 1000 and
end_ms = (endframe + 1) / fps * 1000 (the end of the last frame). Official split: train/test.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from tqdm import tqdm

from signclip.data.datasets.common import ASL, DatasetAdapter, DatasetError, LoadContext, manifest_row, read_csv_table
from signclip.poses.io import read_keypoint_csv, write_pose

DESCRIPTION = "RWTH-BOSTON-104: word segments (train/test_words.csv) over hands_condensed.csv"
LAYOUT = "ROOT/hands_condensed.csv + ROOT/train_words.csv + ROOT/test_words.csv [+ ROOT/speaker.csv]"
FPS = 30.0
WORD_FILES = {"train": "train_words.csv", "test": "test_words.csv"}
WORD_COLUMNS = ["video", "word", "startframe", "endframe"]


def load(root: Path, context: LoadContext) -> pd.DataFrame:
    """Write one pose per video into the work directory and return one manifest row per word."""
    work_dir = context.require_work_dir("rwth-boston-104")
    hands = root / "hands_condensed.csv"
    if not hands.is_file():
        raise DatasetError(f"{root}: no hands_condensed.csv (not an RWTH-BOSTON-104 folder)")
    words = _read_words(root)
    poses = read_keypoint_csv(hands, fps=FPS, group_column="video")
    rows, used = [], set()
    for line, record in words.iterrows():
        row = _word_row(record, poses, work_dir)
        if isinstance(row, str):
            context.problems.add(f"{root / WORD_FILES[record['split']]} line {line}: {row}")
            continue
        used.add(record["video"])
        rows.append(row)
    for video in tqdm(
        sorted(used, key=_video_order), desc="rwth-boston-104 poses", unit="video", leave=False, delay=1.0
    ):
        write_pose(poses[video], work_dir / f"{video}.pose")
    return pd.DataFrame(rows)


def _read_words(root: Path) -> pd.DataFrame:
    """Read both word files into one table with a split column, indexed by CSV line number."""
    missing = [name for name in WORD_FILES.values() if not (root / name).is_file()]
    if len(missing) == len(WORD_FILES):
        raise DatasetError(f"{root}: no word segment files ({', '.join(WORD_FILES.values())})")
    speakers = _speakers(root)
    tables = []
    for split, name in WORD_FILES.items():
        if name in missing:
            continue
        table = read_csv_table(root / name, required=WORD_COLUMNS)
        table.index = table.index + 2
        table["split"] = split
        if "speaker" not in table.columns:
            table["speaker"] = table["video"].str.strip().map(speakers).fillna("")
        tables.append(table)
    words = pd.concat(tables)
    words["video"] = words["video"].str.strip()
    return words


def _speakers(root: Path) -> dict[str, str]:
    path = root / "speaker.csv"
    if not path.is_file():
        return {}
    table = read_csv_table(path, required=["video", "speaker"])
    return dict(zip(table["video"].str.strip(), table["speaker"].str.strip(), strict=True))


def _word_row(record: pd.Series, poses: dict, work_dir: Path) -> dict | str:
    """Return the manifest row of one word segment, or a message saying what is wrong with it."""
    video = record["video"]
    if video not in poses:
        return f"video {video!r} has no frames in hands_condensed.csv"
    try:
        start, end = int(record["startframe"]), int(record["endframe"])
    except ValueError:
        return f"startframe/endframe {record['startframe']!r}/{record['endframe']!r} are not frame numbers"
    frames = poses[video].body.data.shape[0]
    if not 0 <= start <= end < frames:
        return f"frames {start}-{end} are outside video {video} (frames 0-{frames - 1})"
    pose = {
        "pose_path": str(work_dir / f"{video}.pose"),
        "start_ms": start / FPS * 1000,
        "end_ms": (end + 1) / FPS * 1000,
    }
    signer, split = record["speaker"].strip(), record["split"]
    return manifest_row(
        f"{video}-{start}-{end}", record["word"].strip(), signer=signer, languages=ASL, split=split, **pose
    )


def _video_order(video: str) -> tuple[int, str]:
    return (int(video), video) if video.isdigit() else (0, video)


ADAPTER = DatasetAdapter("rwth-boston-104", DESCRIPTION, LAYOUT, load, default_split="official")
