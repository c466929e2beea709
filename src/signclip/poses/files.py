"""Which files are poses and which are videos: the one list of suffixes that every room uses."""

from __future__ import annotations

import os
from pathlib import Path

POSE_SUFFIXES = (".pose", ".parquet")
VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".flv", ".wmv")
MEDIA_SUFFIXES = POSE_SUFFIXES + VIDEO_SUFFIXES


def is_video(path: str | os.PathLike) -> bool:
    """Whether `path` names a video by its suffix (any case)."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def is_media(path: Path) -> bool:
    """Whether `path` is a visible pose or video file (not a folder, not a name starting with a dot)."""
    return path.is_file() and path.suffix.lower() in MEDIA_SUFFIXES and not path.name.startswith(".")
