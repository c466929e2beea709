"""Dataset folders in the layouts the adapters of `signclip.data.datasets` read: the real file names and index
files, with stub videos or synthetic poses (`signclip.data.synthetic.synthetic_pose`). Used by the adapter tests
(tests/data/) and by the tests of configs/paper (tests/test_paper_configs.py); pytest puts tests/ on sys.path.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from pose_format import Pose

from signclip.data.synthetic import synthetic_pose
from signclip.poses.io import write_pose

VIDEO = b"\x00\x00\x00\x18ftypmp42"  # the start of an MP4 file: enough for the adapters, which only list videos
KAGGLE_TYPES = {"face": 468, "left_hand": 21, "pose": 33, "right_hand": 21}  # a Kaggle asl-signs parquet's types
HOLISTIC_ORDER = ("pose", "face", "left_hand", "right_hand")  # the same points in a Holistic pose's order


def touch_video(path: Path) -> Path:
    """Write a stub video file at `path` (folders made)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(VIDEO)
    return path


def synthetic(path: Path, gloss: int, signer: int, seed: int = 0) -> Path:
    """Write `synthetic_pose(gloss, signer, seed)` to `path` (folders made)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_pose(synthetic_pose(gloss, signer, seed), path)


# ----------------------------------------------------------------------------- rwth-fingerspelling


def rwth_fingerspelling(
    root: Path,
    signers: Sequence[int] = (1, 2, 3, 4),
    letters: Sequence[str] = ("a", "sch", "ae", "3"),
    folders: dict[int, str] | None = None,
    poses: bool = False,
) -> Path:
    """`<signer>_<letter>_<session>_<camera>.mpg` for two sessions and both cameras (in `folders[session]` when
    given); with `poses`, a synthetic `.pose` of that name instead of each video (the letter is the gloss)."""
    for signer in signers:
        for number, letter in enumerate(letters):
            for session in (1, 2):
                for camera in ("cam1", "cam2"):
                    stem = root / (folders[session] if folders else ".") / f"{signer}_{letter}_{session}_{camera}"
                    if poses:
                        synthetic(stem.with_suffix(".pose"), number, signer, seed=session)
                    else:
                        touch_video(stem.with_suffix(".mpg"))
    return root


# ----------------------------------------------------------------------------- asl-citizen

ASL_CITIZEN_SPLITS = {
    "train": [("P1", "111-APPLE.mp4", "APPLE"), ("P1", "112-GO2.mp4", "GO2"), ("P2", "113-APPLE.mp4", "APPLE")],
    "val": [("P3", "211-GO2.mp4", "GO2")],
    "test": [("P4", "311-APPLE.mp4", "APPLE"), ("P4", "312-GO2.mp4", "GO2")],
}


def asl_citizen(
    root: Path, splits: dict[str, list[tuple[str, str, str]]] | None = None, poses_dir: Path | None = None
) -> Path:
    """`splits/{train,val,test}.csv` ((participant, video file, gloss) rows) and `videos/`; with `poses_dir`, a
    synthetic `<video name>.pose` there for every video (gloss number = its first appearance)."""
    header = "Participant ID,Video file,Gloss,ASL-LEX Code\n"
    glosses: dict[str, int] = {}
    for split, rows in (splits or ASL_CITIZEN_SPLITS).items():
        lines = [f"{participant},{video},{gloss},A_01_001\n" for participant, video, gloss in rows]
        (root / "splits").mkdir(parents=True, exist_ok=True)
        (root / "splits" / f"{split}.csv").write_text(header + "".join(lines))
        for number, (participant, video, gloss) in enumerate(rows):
            touch_video(root / "videos" / video)
            if poses_dir is not None:
                signer = int("".join(c for c in participant if c.isdigit()) or 0)
                synthetic(
                    poses_dir / f"{Path(video).stem}.pose", glosses.setdefault(gloss, len(glosses)), signer, number
                )
    return root


# ----------------------------------------------------------------------------- sem-lex

SEM_LEX_ROWS = [
    "v1,s1,1.2,train,asllex,last_year",
    "v2,s2,1.0,train,asllex,think_chin_2",
    "v3,s3,0.9,val,asllex,apple",
    "v4,s4,1.1,test,asllex,apple",
    "v1,s1,1.2,train,asllex,last_year",
]


def sem_lex(root: Path, rows: Sequence[str] = SEM_LEX_ROWS, poses: Iterable[str] = ("v2",)) -> Path:
    """`sem-lex-metadata.csv` (video_id, signer_id, duration, split, label_type, label rows), `videos/` and a
    synthetic `poses/<video_id>.pose` for each id in `poses` (gloss number = the label's first appearance)."""
    (root / "sem-lex-metadata.csv").write_text(
        "video_id,signer_id,duration,split,label_type,label\n" + "\n".join(rows) + "\n"
    )
    labels: dict[str, int] = {}
    records = {row.split(",")[0]: row.split(",") for row in rows}
    for video in records:
        touch_video(root / "videos" / f"{video}.mp4")
    for video in poses:
        _, signer, *_, label = records[video]
        synthetic(root / "poses" / f"{video}.pose", labels.setdefault(label, len(labels)), int(signer.lstrip("s") or 0))
    return root


# ----------------------------------------------------------------------------- asl-signs (Kaggle)


def kaggle_sequence(path: Path, frames: int = 3, seed: int = 0) -> Path:
    """A Kaggle asl-signs sequence parquet of random landmarks (the left hand absent, NaN)."""
    rng = np.random.default_rng(seed)
    rows = [
        {"frame": 20 + f, "row_id": f"{20 + f}-{kind}-{i}", "type": kind, "landmark_index": i}
        for f in range(frames)
        for kind, count in KAGGLE_TYPES.items()
        for i in range(count)
    ]
    table = pd.DataFrame(rows)
    table[["x", "y", "z"]] = rng.random((len(table), 3))
    table.loc[table["type"] == "left_hand", ["x", "y", "z"]] = np.nan
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_parquet(path)
    return path


def kaggle_sequence_of(pose: Pose, path: Path) -> Path:
    """Write a Holistic Pose (1000 x 1000 frame) as a Kaggle asl-signs parquet: x, y, z divided by 1000, as
    `read_asl_signs_parquet` reads them back; points with confidence 0 are NaN."""
    data = np.asarray(pose.body.data.filled(0) if np.ma.isMaskedArray(pose.body.data) else pose.body.data)[:, 0]
    present = np.asarray(pose.body.confidence)[:, 0] > 0
    frames, points = data.shape[:2]
    kinds = np.concatenate([[kind] * KAGGLE_TYPES[kind] for kind in HOLISTIC_ORDER])
    index = np.concatenate([np.arange(KAGGLE_TYPES[kind]) for kind in HOLISTIC_ORDER])
    values = np.where(present[..., None], data / 1000.0, np.nan).reshape(frames * points, 3)
    table = pd.DataFrame(
        {
            "frame": np.repeat(np.arange(frames), points),
            "row_id": [f"{f}-{k}-{i}" for f in range(frames) for k, i in zip(kinds, index, strict=True)],
            "type": np.tile(kinds, frames),
            "landmark_index": np.tile(index, frames),
        }
    )
    table[["x", "y", "z"]] = values
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_parquet(path)
    return path


def asl_signs(
    root: Path,
    participants: Sequence[int] = (16069, 25571, 26734, 28656),
    signs: Sequence[str] = ("TV", "after", "airplane"),
    synthetic_poses: bool = False,
) -> Path:
    """`train.csv` (path, participant_id, sequence_id, sign) and one `train_landmark_files/<participant>/<sequence>
    .parquet` per participant and sign: random landmarks, or with `synthetic_poses` the synthetic signer."""
    lines = ["path,participant_id,sequence_id,sign"]
    sequence = 1000
    for signer, participant in enumerate(participants):
        for gloss, sign in enumerate(signs):
            relative = f"train_landmark_files/{participant}/{sequence}.parquet"
            if synthetic_poses:
                kaggle_sequence_of(synthetic_pose(gloss, signer, sequence), root / relative)
            else:
                kaggle_sequence(root / relative, seed=sequence)
            lines.append(f"{relative},{participant},{sequence},{sign}")
            sequence += 1
    (root / "train.csv").write_text("\n".join(lines) + "\n")
    return root


# ----------------------------------------------------------------------------- spreadthesign


def spreadthesign(root: Path, lines: Sequence[str], pose_folder: str = "poses") -> Path:
    """`index.csv` of `lines` (a header, then rows naming a `.pose` file) and a synthetic pose for each row's file
    under `pose_folder` (gloss number = the file name's length modulo 8)."""
    (root / "index.csv").write_text("\n".join(lines) + "\n")
    for line in lines[1:]:
        name = next(part for part in line.split(",") if part.endswith(".pose"))
        synthetic(root / pose_folder / name, len(name) % 8, 0)
    return root
