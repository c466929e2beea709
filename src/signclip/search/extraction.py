"""Videos -> pose files for indexing: each video extracted once into a poses folder mirroring the videos'
folders; a video whose pose is already there is not extracted again (so index runs are resumable)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from signclip.poses.extract import JobRunner


@dataclass
class VideoPoses:
    """What `extract_video_poses` did: the pose file of each video (by resolved video path), the error of
    each video that has none, and how many poses were written now (not found already extracted)."""

    poses: dict[Path, Path] = field(default_factory=dict)
    errors: dict[Path, str] = field(default_factory=dict)
    written: int = 0

    def pose_of(self, video: str) -> Path | None:
        """The pose file of `video`, or None when there is none."""
        return self.poses.get(Path(video).resolve())

    def error_of(self, video: str) -> str:
        """Why `video` has no pose file."""
        return self.errors.get(Path(video).resolve(), f"{video}: no pose was extracted")


def extract_video_poses(
    videos: Sequence[str],
    poses_dir: Path,
    workers: int | None = None,
    progress: bool = True,
    runner: JobRunner | None = None,
) -> VideoPoses:
    """Extract MediaPipe Holistic poses of `videos` (existing files) into `poses_dir`, skipping those done;
    `runner` runs the extraction jobs (default: the local process pool)."""
    result = VideoPoses()
    if not videos:
        return result
    from signclip.poses.extract import extract_poses, plan_extraction, run_jobs

    with tempfile.TemporaryDirectory(prefix="signclip-videos-") as links:
        mirror = _mirror_videos(list(videos), Path(links))
        plan = plan_extraction([mirror], poses_dir)
        output_of = {job.video.resolve(): job.output for job in plan.jobs + plan.skipped}
        extraction = extract_poses([mirror], poses_dir, workers=workers, progress=progress, runner=runner or run_jobs)
    result.written = len(extraction.written)
    result.errors = {Path(video).resolve(): message for video, message in extraction.failed}
    result.poses = {video: output for video, output in output_of.items() if output.exists()}
    return result


def _mirror_videos(videos: list[str], folder: Path) -> Path:
    """Link each video into `folder` at its path below the videos' common folder; returns `folder`.

    Extracting the mirror writes `poses_dir/<same relative path>.pose`, so `hello/1.mp4` and
    `bye/1.mp4` get two pose files, and only the videos asked for are extracted.
    """
    resolved = sorted({Path(video).resolve() for video in videos})
    root = Path(os.path.commonpath([str(video.parent) for video in resolved]))
    for video in resolved:
        link = folder / video.relative_to(root)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(video)
    return folder
