"""Indexing continuous recordings as their segments (`signclip index add --segment`).

Each manifest row is a recording (a video, a pose, or a time range of one). Its pose is extracted once
(videos, into the poses folder, skipped when already there), segmented by a `signclip.segment`
segmenter, and every segment of the chosen level becomes one manifest row: key `<recording key>#<level><n>`
(n from 1, in time order, so a rerun with the same segmenter gives the same keys and is idempotent),
the recording's video_path and pose_path, start_ms/end_ms into the recording, the recording's signer,
languages and split, and `metadata` {recording, segmenter, level, score}. The recording's gloss and text
are not copied: they describe the recording, not each segment.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm import tqdm

from signclip.data.manifest import normalize_manifest
from signclip.data.table import read_item_pose
from signclip.errors import SignclipError
from signclip.poses.extract import JobRunner
from signclip.search.extraction import extract_video_poses

KEPT_FIELDS = ("signer", "spoken_language", "signed_language", "split")


@dataclass
class SegmentedRecordings:
    """Segment rows of a manifest's recordings, and what happened to the recordings: how many there were,
    poses extracted now, the keys of those segmented (with or without segments), those without segments
    (with the segmenter's warning) and those that failed."""

    rows: pd.DataFrame
    recordings: int = 0
    segmented: list[str] = field(default_factory=list)
    extracted: int = 0
    unsegmented: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


SegmentRunner = Callable[[list[dict[str, Any]], str, str], list[dict[str, Any]]]
"""Segments records elsewhere (e.g. on Ray actors): (records, segmenter name or directory, level) -> one
`segment_record` outcome per record, in any order (each names its record's `id`)."""


def segment_recordings(
    manifest: pd.DataFrame,
    segmenter: Any,
    level: str,
    poses_dir: Path,
    workers: int | None = None,
    progress: bool = True,
    runner: JobRunner | None = None,
    segment_runner: SegmentRunner | None = None,
    segmenter_source: str | None = None,
) -> SegmentedRecordings:
    """Turn each recording of `manifest` into rows of its `level` segments under `segmenter` (a loaded
    Segmenter); a recording without a pose file is extracted first (by `runner`, default the local
    pool). With `segment_runner`, the recordings are segmented by it (with `segmenter_source`, the name
    or directory `segmenter` was loaded from) instead of in this process. Recordings that cannot be read
    or segmented are reported, not fatal."""
    recordings = normalize_manifest(manifest, source="recordings")
    result = SegmentedRecordings(rows=pd.DataFrame(), recordings=len(recordings))
    pose_paths = _recording_poses(recordings, poses_dir, workers, progress, runner, result)
    records = [
        {**record, "pose_path": pose_paths[record["id"]]}
        for record in recordings.to_dict(orient="records")
        if record["id"] in pose_paths
    ]
    if segment_runner is not None:
        by_key = {
            outcome["id"]: outcome for outcome in segment_runner(records, segmenter_source or segmenter.name, level)
        }
        outcomes = [by_key[record["id"]] for record in records]
    else:
        bar = tqdm(records, desc="segmenting", unit="recording", disable=not progress)
        outcomes = [segment_record(record, segmenter, level) for record in bar]
    rows: list[dict[str, Any]] = []
    for outcome in outcomes:
        if outcome["error"]:
            result.failed.append((outcome["id"], outcome["error"]))
            continue
        result.segmented.append(outcome["id"])
        if outcome["unsegmented"]:
            result.unsegmented.append((outcome["id"], outcome["unsegmented"]))
        rows += outcome["rows"]
    result.rows = pd.DataFrame(rows, columns=[*recordings.columns, "metadata"])
    return result


def segment_record(record: dict[str, Any], segmenter: Any, level: str) -> dict[str, Any]:
    """Segment one recording (a manifest record with its pose_path): {"id", "rows": its segment rows,
    "error": why it could not be read or segmented ("" if it could), "unsegmented": why it has no
    segments ("" if it has some)}."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            pose = read_item_pose(record, allow_nan=True)
            segments = segmenter.segment(pose)[level]
        except SignclipError as error:
            return {"id": record["id"], "rows": [], "error": str(error), "unsegmented": ""}
    reason = ""
    if not segments:
        reason = "; ".join(str(w.message) for w in caught) or f"the segmenter found no {level} segments"
    offset = _offset_ms(record, float(pose.body.fps))
    rows = [_segment_row(record, segment, n, offset, segmenter.name) for n, segment in enumerate(segments, 1)]
    return {"id": record["id"], "rows": rows, "error": "", "unsegmented": reason}


def _recording_poses(
    recordings: pd.DataFrame,
    poses_dir: Path,
    workers: int | None,
    progress: bool,
    runner: JobRunner | None,
    result: SegmentedRecordings,
) -> dict[str, str]:
    """The pose file of each recording (by key), extracting those that only have a video."""
    poses = {key: path for key, path in zip(recordings["id"], recordings["pose_path"], strict=True) if path}
    videos = recordings[recordings["pose_path"] == ""]
    present = [Path(video).is_file() for video in videos["video_path"]]
    for key, video, is_file in zip(videos["id"], videos["video_path"], present, strict=True):
        if not is_file:
            result.failed.append((key, f"{video}: no such video file"))
    videos = videos.loc[present]
    extraction = extract_video_poses(list(videos["video_path"]), poses_dir, workers, progress, runner)
    result.extracted = extraction.written
    for key, video in zip(videos["id"], videos["video_path"], strict=True):
        output = extraction.pose_of(video)
        if output is None:
            result.failed.append((key, extraction.error_of(video)))
        else:
            poses[key] = str(output)
    return poses


def _offset_ms(record: dict[str, Any], fps: float) -> float:
    """Where the recording's pose starts in its file: 0, or the first frame of its start_ms."""
    start = record.get("start_ms")
    if start is None or pd.isna(start):
        return 0.0
    from signclip.poses.transforms.core import crop_start_frame

    return crop_start_frame(float(start), fps) / fps * 1000.0


def _segment_row(record: dict[str, Any], segment: Any, number: int, offset: float, segmenter: str) -> dict[str, Any]:
    """The manifest row of one segment of `record` (see the module doc)."""
    return {
        **{column: "" for column in record},
        **{name: record[name] for name in KEPT_FIELDS},
        "id": f"{record['id']}#{segment.level}{number}",
        "pose_path": record["pose_path"],
        "video_path": record["video_path"],
        "start_ms": offset + float(segment.start_ms),
        "end_ms": offset + float(segment.end_ms),
        "metadata": {
            "recording": record["id"],
            "segmenter": segmenter,
            "level": segment.level,
            "score": float(segment.score),
        },
    }
