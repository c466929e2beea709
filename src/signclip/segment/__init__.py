"""Continuous signing -> sign and sentence segments (a room above poses and data, below train/search).

The indexer's entry point is `segment_pose(pose, segmenter, level)`; `segment_file` also reads
`.pose` files and extracts poses from videos. Segmenters: `dgs-2023` (default; a trained model for
MediaPipe Holistic poses), `motion` (no weights), trained tagger directories (`signclip segment train`).
"""

from __future__ import annotations

import os
from pathlib import Path

from pose_format import Pose

from signclip.errors import ConfigError
from signclip.segment.base import Segmenter
from signclip.segment.registry import DEFAULT_SEGMENTER, load_segmenter, segmenter_names
from signclip.segment.segments import LEVELS, Segment, SegmentationWarning, segments_to_json, warn

__all__ = [
    "DEFAULT_SEGMENTER",
    "LEVELS",
    "Segment",
    "SegmentationWarning",
    "Segmenter",
    "load_segmenter",
    "segment_file",
    "segment_pose",
    "segment_pose_levels",
    "segmenter_names",
    "segments_to_json",
]


def segment_pose_levels(
    pose: Pose, segmenter: str | os.PathLike | Segmenter = DEFAULT_SEGMENTER
) -> dict[str, list[Segment]]:
    """Segment the first person of `pose`: `{"sign": [...], "sentence": [...]}`, each sorted by start.

    `segmenter`: a Segmenter, a registered name or a tagger directory (load it once with
    `load_segmenter` when segmenting many poses). Empty lists, with a SegmentationWarning, for a pose
    without hands or too short; PoseLayoutError when the segmenter cannot read the layout."""
    return load_segmenter(segmenter).segment(pose)


def segment_pose(
    pose: Pose, segmenter: str | os.PathLike | Segmenter = DEFAULT_SEGMENTER, level: str = "sign"
) -> list[Segment]:
    """Segment `pose` and return the segments of one `level` ("sign" or "sentence"), sorted by start.

    Each Segment has start_frame, end_frame (inclusive), start_ms, end_ms, score and level."""
    if level not in LEVELS:
        raise ConfigError(f"unknown segment level {level!r}; choose one of {list(LEVELS)}")
    return segment_pose_levels(pose, segmenter)[level]


def read_pose_or_video(path: str | os.PathLike) -> Pose:
    """Read a `.pose`/`.parquet` pose, or extract MediaPipe Holistic from a video (signclip[video])."""
    from signclip.poses.extract import video_to_pose
    from signclip.poses.files import VIDEO_SUFFIXES
    from signclip.poses.io import read_any_pose

    path = Path(path)
    if path.suffix.lower() in VIDEO_SUFFIXES:
        pose = video_to_pose(path)
        if pose.body.data.shape[0] == 0 or not (pose.body.confidence > 0).any():
            warn(f"{path}: no person found in the video")
        return pose
    return read_any_pose(path, allow_nan=True)


def segment_file(
    path: str | os.PathLike, segmenter: str | os.PathLike | Segmenter = DEFAULT_SEGMENTER
) -> tuple[Pose, dict[str, list[Segment]]]:
    """Read (or extract) the pose of `path` and segment it; returns (pose, {level: segments})."""
    pose = read_pose_or_video(path)
    return pose, segment_pose_levels(pose, segmenter)
