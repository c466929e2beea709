"""ELAN `.eaf` files (pympi-ling): write SIGN and SENTENCE tiers linked to the video and pose; read tiers.

Annotations are in milliseconds; ELAN is what sign language annotators use, so corrected tiers become
training data (`signclip dataset prepare elan`).
"""

from __future__ import annotations

import mimetypes
import os
from pathlib import Path

from signclip.data.eaf import Annotation, ElanError, read_eaf
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
    from pympi.Elan import Eaf

    eaf = Eaf(author=AUTHOR)
    if video_path is not None:
        mimetype = mimetypes.guess_type(str(video_path))[0] or "video/mp4"
        eaf.add_linked_file(Path(video_path).resolve().as_uri(), relpath=str(video_path), mimetype=mimetype)
    if pose_path is not None:
        eaf.add_linked_file(Path(pose_path).resolve().as_uri(), relpath=str(pose_path), mimetype="application/pose")
    if "default" in eaf.tiers:
        eaf.remove_tier("default")
    for level, items in segments.items():
        tier = TIERS.get(level, level.upper())
        eaf.add_tier(tier)
        texts = (values or {}).get(level, [])
        for index, segment in enumerate(items):
            start, end = round(segment.start_ms), round(segment.end_ms)
            if end <= start:
                end = start + 1
            eaf.add_annotation(tier, start, end, texts[index] if index < len(texts) else "")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    eaf.to_file(str(path))
    return path
