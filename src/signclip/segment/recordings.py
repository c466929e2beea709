"""Recordings with ground-truth segments, from a manifest whose rows are segments of longer recordings.

Rows sharing a `pose_path` (or, without one, a `video_path`) are one recording; each row's
`start_ms`/`end_ms` become an inclusive frame span; frames between rows are outside any segment (O).
Sentence spans join rows separated by less than `sentence_gap_ms`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from pose_format import Pose

from signclip.data.manifest import read_manifest
from signclip.errors import ConfigError
from signclip.poses.io import read_any_pose
from signclip.segment.segments import ms_to_frames

Span = tuple[int, int]


@dataclass
class Recording:
    """One continuous recording: its pose, its sign spans and sentence spans (inclusive frames)."""

    key: str
    pose: Pose
    signs: list[Span]
    sentences: list[Span] = field(default_factory=list)
    signer: str = ""
    video_path: str = ""
    pose_path: str = ""

    @property
    def frames(self) -> int:
        return int(self.pose.body.data.shape[0])

    @property
    def fps(self) -> float:
        return float(self.pose.body.fps)


def join_sentences(signs: list[Span], max_gap: int) -> list[Span]:
    """Join sorted sign spans separated by at most `max_gap` frames into sentence spans."""
    sentences: list[list[int]] = []
    for start, end in sorted(signs):
        if sentences and start - sentences[-1][1] - 1 <= max_gap:
            sentences[-1][1] = max(sentences[-1][1], end)
        else:
            sentences.append([start, end])
    return [(s, e) for s, e in sentences]


def recordings_from_manifest(
    manifest: pd.DataFrame | str | os.PathLike,
    splits: tuple[str, ...] | None = None,
    sentence_gap_ms: float = 1000.0,
) -> list[Recording]:
    """Group manifest rows (of `splits`, default all) into Recordings, reading each pose once.

    Rows without start_ms/end_ms cover their whole pose. Raises ConfigError when no row has a pose.
    """
    table = read_manifest(manifest) if isinstance(manifest, str | os.PathLike) else manifest
    if splits:
        table = table[table["split"].isin(splits)]
    table = table[table["pose_path"].astype(str) != ""]
    if table.empty:
        raise ConfigError(f"the manifest has no rows with a pose_path in splits {splits or 'any'}")
    recordings = []
    for pose_path, rows in table.groupby("pose_path", sort=False):
        pose = read_any_pose(pose_path, allow_nan=True)
        frames, fps = int(pose.body.data.shape[0]), float(pose.body.fps)
        spans = []
        for start_ms, end_ms in zip(rows["start_ms"], rows["end_ms"], strict=True):
            span = ms_to_frames(float(start_ms), float(end_ms), fps, frames)
            if span is not None:
                spans.append(span)
        spans.sort()
        first = rows.iloc[0]
        recordings.append(
            Recording(
                key=Path(str(pose_path)).stem,
                pose=pose,
                signs=spans,
                sentences=join_sentences(spans, round(sentence_gap_ms / 1000 * fps)),
                signer=str(first.get("signer", "")),
                video_path=str(first.get("video_path", "")),
                pose_path=str(pose_path),
            )
        )
    return recordings
