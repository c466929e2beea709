"""The planning stages: which rows have a pose, and which videos become pose files (explicit jobs).

`plan_pose_jobs(rows, poses_dir)` gives each video-only row its pose file in `poses_dir`: the video's
path below the videos' common folder with `.pose` (so `hello/1.mp4` and `bye/1.mp4` get two files, and
nothing outside `poses_dir` is ever named). A pose file already there is used as it is (runs resume); the
rest become `VideoJob`s for the engine's extract stage. Rows whose video is missing are reported.
`attach_poses(plan, report)` then fills the rows' pose paths from what the extraction wrote.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from signclip.poses.extract import ExtractReport, VideoJob


@dataclass
class PosePlan:
    """The rows to index (pose paths filled where the pose exists or is being extracted), the videos to
    extract now, and the rows that cannot be indexed (key, why)."""

    rows: pd.DataFrame
    jobs: list[VideoJob] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def plan_pose_jobs(rows: pd.DataFrame, poses_dir: Path) -> PosePlan:
    """Plan the pose of every row of a normalized manifest (see the module doc); writes nothing."""
    videos = rows[(rows["pose_path"] == "") & (rows["video_path"] != "")]
    present = [Path(video).is_file() for video in videos["video_path"]]
    failed = [
        (key, f"{video}: no such video file")
        for key, video, is_file in zip(videos["id"], videos["video_path"], present, strict=True)
        if not is_file
    ]
    outputs = pose_outputs([video for video, ok in zip(videos["video_path"], present, strict=True) if ok], poses_dir)
    planned = rows.copy()
    jobs: dict[Path, VideoJob] = {}
    for index, video in zip(videos.index, videos["video_path"], strict=True):
        output = outputs.get(Path(video).resolve())
        if output is None:
            continue
        planned.loc[index, "pose_path"] = str(output)
        if not output.exists():
            jobs.setdefault(output, VideoJob(Path(video), output))
    missing = {key for key, _ in failed}
    kept = planned[~planned["id"].isin(missing)].reset_index(drop=True)
    return PosePlan(kept, list(jobs.values()), failed)


def pose_outputs(videos: list[str | os.PathLike], poses_dir: Path) -> dict[Path, Path]:
    """{resolved video: its .pose in `poses_dir`}: the path below the videos' common folder, `.pose` suffix."""
    resolved = sorted({Path(video).resolve() for video in videos})
    if not resolved:
        return {}
    root = Path(os.path.commonpath([str(video.parent) for video in resolved]))
    return {video: poses_dir / video.relative_to(root).with_suffix(".pose") for video in resolved}


def attach_poses(plan: PosePlan, extraction: ExtractReport) -> PosePlan:
    """The plan after its jobs ran: rows whose video failed to extract move to `failed` with the reason."""
    errors = {str(video): message for video, message in extraction.failed}
    outputs = {str(job.output): str(job.video) for job in plan.jobs}
    written = {str(path) for path in extraction.written}
    lost = [
        (key, errors.get(outputs[pose], f"{outputs[pose]}: no pose was extracted"))
        for key, pose in zip(plan.rows["id"], plan.rows["pose_path"], strict=True)
        if pose in outputs and pose not in written
    ]
    lost_keys = {key for key, _ in lost}
    rows = plan.rows[~plan.rows["id"].isin(lost_keys)].reset_index(drop=True)
    return PosePlan(rows, [], plan.failed + lost)
