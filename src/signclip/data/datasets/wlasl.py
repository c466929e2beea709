"""`wlasl`: WLASL (Li et al. 2020), word-level ASL, 2,000 glosses (subsets WLASL100/300/1000/2000).

ROOT/WLASL_v0.3.json (any WLASL_v*.json): a list of {gloss, instances: [{video_id, signer_id,
split, frame_start, frame_end, fps, url, ...}]}, ordered by frequency, so WLASL-N is the first N
glosses (option subset=100|300|1000|2000). Videos are ROOT/videos/<video_id>.mp4 as the WLASL start
kit's preprocess.py writes them: YouTube instances already cut to the sign, the others whole source
videos, for which frame_start/frame_end (1-based, -1 = end) become start_ms/end_ms.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from signclip.data.datasets.common import ASL, DatasetAdapter, DatasetError, LoadContext, manifest_row

DESCRIPTION = "WLASL: WLASL_v0.3.json (gloss -> instances with video_id, signer_id, split) + videos/"
LAYOUT = "ROOT/WLASL_v0.3.json + ROOT/videos/<video_id>.mp4"
OPTIONS = {"subset": ("all", "keep the first N glosses (WLASL100: 100, WLASL300: 300, ...)")}
YOUTUBE_HOSTS = ("youtube", "youtu.be")


def load(root: Path, context: LoadContext) -> pd.DataFrame:
    """Read the WLASL JSON into manifest rows (official split from each instance's split)."""
    index = _index_file(root)
    entries = _read_json(index)
    subset = context.options["subset"].strip().lower()
    if subset not in ("", "all"):
        if not subset.isdigit() or int(subset) < 1:
            raise DatasetError(f"wlasl: option subset must be a number of glosses (100, 300, ...), got {subset!r}")
        entries = entries[: int(subset)]
    videos = root / "videos"
    rows = []
    for number, entry in enumerate(entries):
        gloss = str(entry.get("gloss", "")).strip() if isinstance(entry, dict) else ""
        instances = entry.get("instances") if isinstance(entry, dict) else None
        if not gloss or not isinstance(instances, list):
            context.problems.add(f"{index} entry {number}: needs a gloss and a list of instances")
            continue
        for instance in instances:
            row = _instance_row(instance, gloss, videos)
            if isinstance(row, str):
                context.problems.add(f"{index} gloss {gloss!r}: {row}")
                continue
            rows.append(row)
    return pd.DataFrame(rows)


def _index_file(root: Path) -> Path:
    if root.is_file():
        return root
    candidates = sorted(root.glob("WLASL_v*.json"))
    if not candidates:
        raise DatasetError(f"{root}: no WLASL_v*.json index found")
    return candidates[-1]


def _read_json(path: Path) -> list:
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DatasetError(f"{path}: not a readable JSON file: {error}") from None
    if not isinstance(entries, list):
        raise DatasetError(f"{path}: expected a list of {{gloss, instances}} entries")
    return entries


def _instance_row(instance: object, gloss: str, videos: Path) -> dict | str:
    """Return one manifest row, or a message saying what is wrong with the instance."""
    if not isinstance(instance, dict) or not str(instance.get("video_id", "")).strip():
        return "an instance without video_id"
    video_id = str(instance["video_id"]).strip()
    start_ms = end_ms = float("nan")
    if not any(host in str(instance.get("url", "")) for host in YOUTUBE_HOSTS):
        try:
            fps = float(instance.get("fps", 25))
            frame_start, frame_end = int(instance.get("frame_start", 1)), int(instance.get("frame_end", -1))
        except (TypeError, ValueError):
            return f"instance {video_id}: fps, frame_start and frame_end must be numbers"
        if fps <= 0:
            return f"instance {video_id}: fps must be positive, got {fps}"
        if frame_start > 1:
            start_ms = (frame_start - 1) / fps * 1000
        if frame_end > 0:
            end_ms = frame_end / fps * 1000
    signer, split = str(instance.get("signer_id", "")).strip(), str(instance.get("split", "")).strip()
    media = {"video_path": str(videos / f"{video_id}.mp4"), "start_ms": start_ms, "end_ms": end_ms}
    return manifest_row(video_id, gloss, signer=signer, languages=ASL, split=split, **media)


ADAPTER = DatasetAdapter("wlasl", DESCRIPTION, LAYOUT, load, default_split="official", options=OPTIONS)
