"""Reading and writing pose sequences: `.pose` files, Kaggle asl-signs parquet files, keypoint CSVs.

Every reader returns a pose-format `Pose`; every problem with a file raises `PoseFileError` naming the file.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pose_format import Pose
from pose_format.numpy import NumPyPoseBody
from pose_format.pose_header import PoseHeader, PoseHeaderComponent, PoseHeaderDimensions

from signclip.errors import PoseFileError
from signclip.poses import holistic


def pose_from_bytes(data: bytes, name: str = "<bytes>", allow_nan: bool = False) -> Pose:
    """Parse `.pose` bytes into a Pose; `name` is used in error messages.

    NaN coordinates are an error unless `allow_nan`, which masks them (zero, confidence 0).
    """
    if len(data) == 0:
        raise PoseFileError(f"{name}: the file is empty, not a .pose file")
    try:
        pose = Pose.read(data)
    except Exception as error:  # pose-format raises many kinds for bad bytes
        raise PoseFileError(
            f"{name}: not a readable .pose file (truncated, corrupt or another format): {type(error).__name__}: {error}"
        ) from None
    frames, _, points, _ = pose.body.data.shape
    expected_points = sum(len(c.points) for c in pose.header.components)
    if points != expected_points:
        raise PoseFileError(f"{name}: the body has {points} points but the header lists {expected_points}")
    values = np.ma.getdata(pose.body.data)
    nan = np.isnan(values)
    if nan.any():
        nan = nan.any(axis=-1)
        if not allow_nan:
            bad_frames = np.unique(np.nonzero(nan)[0])
            raise PoseFileError(
                f"{name}: contains NaN coordinates in {len(bad_frames)} of {frames} frames "
                f"(first at frame {bad_frames[0]})"
            )
        pose = pose_from_array(pose.header, np.ma.getdata(pose.body.data), pose.body.fps, pose.body.confidence)
    return pose


def read_pose(path: str | os.PathLike, allow_nan: bool = False) -> Pose:
    """Read a `.pose` file into a Pose; raises PoseFileError naming the file and the problem."""
    path = Path(path)
    if not path.is_file():
        raise PoseFileError(f"{path}: no such file")
    return pose_from_bytes(path.read_bytes(), name=str(path), allow_nan=allow_nan)


def pose_to_bytes(pose: Pose) -> bytes:
    """Serialize a Pose into `.pose` bytes."""
    with tempfile.SpooledTemporaryFile() as buffer:
        pose.write(buffer)
        buffer.seek(0)
        return buffer.read()


def write_pose(pose: Pose, path: str | os.PathLike) -> Path:
    """Write a Pose to `path` atomically (temporary file, then rename); returns the path."""
    path = Path(path)
    write_bytes_atomically(pose_to_bytes(pose), path)
    return path


def write_bytes_atomically(data: bytes, path: Path) -> None:
    """Write `data` to `path` through a temporary file in the same folder and a rename; the file gets the
    mode the user's umask gives a new file (as `open` would), not mkstemp's private 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.parent / f".{path.name}.{secrets.token_hex(8)}.tmp"
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def pose_from_array(header: PoseHeader, data: np.ndarray, fps: float, confidence: np.ndarray | None = None) -> Pose:
    """Build a Pose from coordinates `data` (frames, people, points, dims); NaN or confidence 0 = missing."""
    values = np.array(data, dtype=np.float32)
    confidence = np.ones(values.shape[:-1], np.float32) if confidence is None else np.array(confidence, np.float32)
    nan = np.isnan(values)
    if nan.any():  # the common case, no NaN, skips the per-point reduction
        missing = nan.any(axis=-1)
        confidence[missing] = 0
        values[missing] = 0.0
    mask = np.repeat((confidence == 0)[..., None], values.shape[-1], axis=-1)
    body = NumPyPoseBody(fps=fps, data=np.ma.masked_array(values, mask=mask), confidence=confidence)
    return Pose(header, body)


ASL_SIGNS_TYPES = {
    "pose": (holistic.BODY, 33),
    "face": (holistic.FACE, 468),
    "left_hand": (holistic.LEFT_HAND, 21),
    "right_hand": (holistic.RIGHT_HAND, 21),
}
ASL_SIGNS_COLUMNS = {"frame", "type", "landmark_index", "x", "y", "z"}


def _read_table(path: Path, kind: str):
    """Read a `kind` ("parquet" or "CSV") file into a pandas DataFrame; PoseFileError naming the file when
    it is absent or unreadable."""
    import pandas as pd

    if not path.is_file():
        raise PoseFileError(f"{path}: no such file")
    reader = pd.read_parquet if kind == "parquet" else pd.read_csv
    try:
        return reader(path)
    except Exception as error:
        raise PoseFileError(f"{path}: not a readable {kind} file: {error}") from None


def read_asl_signs_parquet(path: str | os.PathLike, fps: float = 30.0) -> Pose:
    """Read one Kaggle "asl-signs" (Google ISLR) sequence parquet into a Holistic Pose.

    The file has one row per (frame, landmark) with columns frame, row_id, type
    (face/left_hand/pose/right_hand), landmark_index, x, y, z; 543 landmarks a frame, x and y
    normalized to [0, 1]. Coordinates are scaled to a 1000x1000 image; NaN rows become missing points.
    """
    path = Path(path)
    table = _read_table(path, "parquet")
    missing_columns = ASL_SIGNS_COLUMNS - set(table.columns)
    if missing_columns:
        raise PoseFileError(f"{path}: not an asl-signs sequence, missing columns {sorted(missing_columns)}")
    unknown_types = set(table["type"].unique()) - set(ASL_SIGNS_TYPES)
    if unknown_types:
        raise PoseFileError(f"{path}: unknown landmark types {sorted(unknown_types)}")
    header = holistic.holistic_header(width=1000, height=1000, depth=1000)
    offsets, start = {}, 0
    for kind, (_, count) in ASL_SIGNS_TYPES.items():
        offsets[kind] = start
        start += count
    frame_ids = np.sort(table["frame"].unique())
    frame_index = np.searchsorted(frame_ids, table["frame"].to_numpy())
    point_index = table["type"].map(offsets).to_numpy() + table["landmark_index"].to_numpy()
    if (point_index >= start).any() or (table["landmark_index"] < 0).any():
        raise PoseFileError(f"{path}: landmark_index out of range for its type")
    data = np.full((len(frame_ids), 1, start, 3), np.nan, dtype=np.float32)
    data[frame_index, 0, point_index] = table[["x", "y", "z"]].to_numpy(dtype=np.float32) * 1000
    return pose_from_array(header, data, fps=fps)


def read_any_pose(path: str | os.PathLike, allow_nan: bool = False) -> Pose:
    """Read a pose by its suffix: `.pose` (read_pose) or a Kaggle asl-signs `.parquet` sequence (30 fps)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".pose":
        return read_pose(path, allow_nan=allow_nan)
    if suffix == ".parquet":
        return read_asl_signs_parquet(path)
    raise PoseFileError(f"{path}: unknown pose file type {suffix or '(no suffix)'!r}; expected .pose or .parquet")


def read_keypoint_csv(
    path: str | os.PathLike, fps: float = 30.0, group_column: str = "video", component: str = "KEYPOINTS_2D"
) -> dict[str, Pose]:
    """Read a per-frame keypoint CSV into one 2D Pose per `group_column` value (one "" pose if absent).

    Columns named `<point>-x` and `<point>-y` (or `<point>_x`, `<point>_y`) become points of a
    single component, e.g. RWTH-BOSTON-104's `hands_condensed.csv` gives points left, right, nose.
    Rows are ordered by a `frame` column when present; frames missing from the sequence stay missing.
    """
    path = Path(path)
    table = _read_table(path, "CSV")
    points = [c[:-2] for c in table.columns if c.endswith(("-x", "_x"))]
    points = [p for p in points if f"{p}-y" in table.columns or f"{p}_y" in table.columns]
    if not points:
        raise PoseFileError(f"{path}: no keypoint columns (expected pairs like 'left-x', 'left-y')")

    def column(point: str, axis: str) -> str:
        return f"{point}-{axis}" if f"{point}-{axis}" in table.columns else f"{point}_{axis}"

    header = PoseHeader(
        version=0.2,
        dimensions=PoseHeaderDimensions(width=1000, height=1000, depth=0),
        components=[PoseHeaderComponent(component, points, [], [(255, 255, 255)], "XYC")],
    )
    coordinates = [column(p, axis) for p in points for axis in ("x", "y")]
    groups = table.groupby(group_column, sort=False) if group_column in table.columns else [("", table)]
    poses = {}
    for key, rows in groups:
        if "frame" in rows.columns:
            frame = rows["frame"].to_numpy(dtype=int)
            frame = frame - frame.min()
        else:
            frame = np.arange(len(rows))
        data = np.full((frame.max() + 1, 1, len(points), 2), np.nan, dtype=np.float32)
        data[frame, 0] = rows[coordinates].to_numpy(dtype=np.float32).reshape(len(rows), len(points), 2)
        poses[str(key)] = pose_from_array(header, data, fps=fps)
    return poses


@dataclass(frozen=True)
class PoseSummary:
    """What `signclip info` prints about one pose."""

    frames: int
    fps: float
    duration_s: float
    people: int
    dimensions: int
    components: list[tuple[str, int, str]]
    hand_presence: dict[str, float]

    def lines(self) -> list[str]:
        """Return the summary as printable lines."""
        out = [
            f"frames: {self.frames}",
            f"fps: {self.fps:g}",
            f"duration: {self.duration_s:.2f} s",
            f"people: {self.people}",
            f"points: {sum(n for _, n, _ in self.components)} ({self.dimensions}D)",
            "components:",
        ]
        out += [f"  {name}: {count} points ({point_format})" for name, count, point_format in self.components]
        out += [f"{hand} present: {share:.0%} of frames" for hand, share in self.hand_presence.items()]
        return out


def summarize_pose(pose: Pose) -> PoseSummary:
    """Summarize a pose: frames, fps, duration, components, and the share of frames with each hand."""
    frames = pose.body.data.shape[0]
    fps = float(pose.body.fps)
    presence = {}
    start = 0
    for c in pose.header.components:
        end = start + len(c.points)
        side = next((s for s in ("left", "right") if s in c.name.lower() and "hand" in c.name.lower()), None)
        if side and frames:
            present = (pose.body.confidence[:, 0, start:end] > 0).any(axis=-1)
            presence[f"{side} hand"] = float(present.mean())
        start = end
    return PoseSummary(
        frames=frames,
        fps=fps,
        duration_s=frames / fps if fps else 0.0,
        people=pose.body.data.shape[1],
        dimensions=pose.body.data.shape[-1],
        components=[(c.name, len(c.points), c.format) for c in pose.header.components],
        hand_presence=presence,
    )
