"""`elan`: ELAN `.eaf` files beside their videos or poses; one row per annotation of a chosen tier.

ROOT/**/NAME.eaf with ROOT/**/NAME.pose (or a pose/video the .eaf links to, or NAME.mp4 beside it).
gloss = text = the annotation's value; start_ms/end_ms from the annotation. Option `tier` (default
SIGN) picks the tier. A malformed .eaf is a problem naming the file (its rows are not kept).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from signclip.data.datasets.common import DatasetAdapter, LoadContext
from signclip.data.eaf import ElanError, read_eaf
from signclip.poses.files import POSE_SUFFIXES, VIDEO_SUFFIXES


def _media(eaf: Path, linked: list[str]) -> tuple[str, str]:
    """(pose_path, video_path) of one .eaf: linked files first, then files with its name beside it."""
    pose, video = "", ""
    candidates = [eaf.parent / Path(p.removeprefix("file://")).name for p in linked if p]
    candidates += [eaf.with_suffix(s) for s in (*POSE_SUFFIXES, *VIDEO_SUFFIXES)]
    for candidate in candidates:
        if not candidate.is_file():
            continue
        if candidate.suffix.lower() in POSE_SUFFIXES and not pose:
            pose = str(candidate.resolve())
        elif candidate.suffix.lower() in VIDEO_SUFFIXES and not video:
            video = str(candidate.resolve())
    return pose, video


def load(root: Path, context: LoadContext) -> pd.DataFrame:
    """One manifest row per annotation of the chosen tier of every .eaf under `root`."""
    tier = context.options.get("tier", "SIGN")
    rows = []
    for eaf in sorted(root.rglob("*.eaf")):
        try:
            tiers, linked = read_eaf(eaf)
        except ElanError as error:
            context.problems.add(str(error))
            continue
        if tier not in tiers:
            context.problems.add(f"{eaf}: no tier {tier!r} (it has {sorted(tiers)})")
            continue
        pose, video = _media(eaf, linked)
        if not pose and not video:
            context.problems.add(f"{eaf}: no pose or video beside it or linked from it")
            continue
        relative = eaf.relative_to(root).with_suffix("")
        for annotation in tiers[tier]:
            rows.append(
                {
                    "id": f"{relative.as_posix()}-{annotation.start_ms}-{annotation.end_ms}",
                    "pose_path": pose,
                    "video_path": video,
                    "start_ms": float(annotation.start_ms),
                    "end_ms": float(annotation.end_ms),
                    "text": annotation.value,
                    "gloss": annotation.value,
                    "split": "",
                }
            )
    return pd.DataFrame(rows)


ADAPTER = DatasetAdapter(
    name="elan",
    description="ELAN .eaf annotations beside their poses/videos: one row per annotation of a tier",
    layout="ROOT/**/NAME.eaf + ROOT/**/NAME.pose (or NAME.mp4, or the media the .eaf links)",
    load=load,
    default_split="random",
    options={"tier": ("SIGN", "the tier whose annotations become rows")},
)
