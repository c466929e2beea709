"""`signclip info`: summarize pose files; `signclip extract`: videos -> .pose files."""

from __future__ import annotations

import argparse

from signclip.cli.engine import add_engine_arguments, ray_options
from signclip.poses.extract import extract_poses, run_jobs
from signclip.poses.files import VIDEO_SUFFIXES
from signclip.poses.io import read_pose, summarize_pose


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the pose commands to the CLI."""
    info = subparsers.add_parser("info", help="print frames, fps, components and hand presence of .pose files")
    info.add_argument("files", nargs="+", metavar="FILE")
    info.set_defaults(func=run_info)

    extract = subparsers.add_parser(
        "extract",
        help="extract MediaPipe Holistic poses from videos into .pose files",
        description=f"Write one .pose per video; folders are searched recursively for {' '.join(VIDEO_SUFFIXES)} "
        "and their structure is mirrored under OUT_DIR. Existing outputs are skipped (resumable); failures "
        "are reported, logged to OUT_DIR/extract_errors.log and make the exit code 1.",
    )
    extract.add_argument("inputs", nargs="+", metavar="INPUT", help="video files or folders")
    extract.add_argument("-o", "--out-dir", required=True, metavar="OUT_DIR", help="folder for the .pose files")
    extract.add_argument("--workers", type=int, default=None, help="worker processes (default: one per CPU)")
    extract.add_argument(
        "--fps",
        type=float,
        default=None,
        help="drop frames to about F per second before inference (never duplicates frames)",
        metavar="F",
    )
    extract.add_argument("--overwrite", action="store_true", help="extract again videos whose .pose exists")
    extract.add_argument(
        "--model-complexity",
        type=int,
        default=1,
        help="MediaPipe pose model; only 1 ships offline with mediapipe (default: 1)",
    )
    extract.add_argument("--no-progress", action="store_true", help="do not show the progress bar")
    add_engine_arguments(extract)
    extract.set_defaults(func=run_extract)


def run_info(args: argparse.Namespace) -> int:
    for index, path in enumerate(args.files):
        if index:
            print()
        print(f"{path}")
        for line in summarize_pose(read_pose(path)).lines():
            print(f"  {line}")
    return 0


def run_extract(args: argparse.Namespace) -> int:
    runner = run_jobs
    if args.engine == "ray":
        from signclip.cluster.extract import ray_runner

        runner = ray_runner(ray_options(args))
    report = extract_poses(
        args.inputs,
        args.out_dir,
        workers=args.workers,
        fps=args.fps,
        overwrite=args.overwrite,
        progress=not args.no_progress,
        model_complexity=args.model_complexity,
        runner=runner,
    )
    for line in report.lines():
        print(line)
    return 1 if report.failed else 0
