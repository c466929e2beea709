"""ELAN `.eaf` files (pympi-ling): write SIGN and SENTENCE tiers linked to the video and pose; read tiers.

Annotations are in milliseconds; ELAN is what sign language annotators use, so corrected tiers become
training data (`signclip dataset prepare elan`).
"""

from __future__ import annotations

import os
from pathlib import Path

from signclip.data.eaf import Annotation, ElanError, read_eaf, write_annotations
from signclip.segment.segments import Segment

TIERS = {"sign": "SIGN", "sentence": "SENTENCE"}
AUTHOR = "signclip"

__all__ = ["TIERS", "Annotation", "ElanError", "read_eaf", "write_eaf"]


def write_eaf(
    segments: dict[str, list[Segment]],
    path: str | os.PathLike,
    video_path: str | os.PathLike | None = None,
    pose_path: str | os.PathLike | None = None,
    values: dict[str, list[str]] | None = None,
) -> Path:
    """Write `{level: segments}` to an `.eaf` at `path`, one tier per level (sign -> SIGN, sentence ->
    SENTENCE), linked to `video_path` and `pose_path` when given; `values` optionally gives each
    segment's annotation text. Returns the path."""
    annotations = []
    for level, items in segments.items():
        tier, texts = TIERS.get(level, level.upper()), (values or {}).get(level, [])
        for index, segment in enumerate(items):
            text = texts[index] if index < len(texts) else ""
            annotations.append(Annotation(tier, round(segment.start_ms), round(segment.end_ms), text))
    media = [file for file in (video_path, pose_path) if file is not None]
    tiers = [TIERS.get(level, level.upper()) for level in segments]
    return write_annotations(annotations, path, media, author=AUTHOR, tiers=tiers)
