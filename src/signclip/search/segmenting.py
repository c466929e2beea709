"""Continuous recordings as their segments (`signclip index add --segment`): one recording -> its segment rows.

`segment_record(record, segmenter, level)` reads one recording (a manifest record with its pose_path:
a pose, or a time range of one), segments it, and returns a `SegmentOutcome`: every segment of the
chosen level as one manifest row with key `<recording key>#<level><n>` (n from 1, in time order, so a
rerun with the same segmenter gives the same keys and is idempotent), the recording's video_path and
pose_path, start_ms/end_ms into the recording, the recording's signer, languages and split, and
`metadata` {recording, segmenter, level, score}. The recording's gloss and text are not copied: they
describe the recording, not each segment. Every engine segments with this function.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from signclip.data.table import read_item_pose
from signclip.errors import SignclipError

KEPT_FIELDS = ("signer", "spoken_language", "signed_language", "split")


@dataclass
class SegmentOutcome:
    """What segmenting one recording gave: its key, its segment rows, why it could not be read or segmented
    (`error`, "" if it could), and why it has no segments (`unsegmented`, "" if it has some)."""

    id: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""
    unsegmented: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The outcome as JSON-ready data (how the Ray engine sends it back)."""
        return asdict(self)


def segment_record(record: dict[str, Any], segmenter: Any, level: str) -> SegmentOutcome:
    """Segment one recording under a loaded Segmenter (see the module doc); never raises for bad data."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            pose = read_item_pose(record, allow_nan=True)
            segments = segmenter.segment(pose)[level]
        except SignclipError as error:
            return SegmentOutcome(record["id"], error=str(error))
    reason = ""
    if not segments:
        reason = "; ".join(str(w.message) for w in caught) or f"the segmenter found no {level} segments"
    offset = _offset_ms(record, float(pose.body.fps))
    rows = [_segment_row(record, segment, n, offset, segmenter.name) for n, segment in enumerate(segments, 1)]
    return SegmentOutcome(record["id"], rows, unsegmented=reason)


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


def is_stale_segment(key: str, recordings: set[str], level: str, current: set[str]) -> bool:
    """Whether stored item `key` is a `level` segment of one of `recordings` that this run no longer has."""
    recording, separator, segment = key.rpartition("#")
    number = segment.removeprefix(level)
    return bool(separator) and recording in recordings and number != segment and number.isdigit() and key not in current
