"""`signclip info`: summarize pose files."""

from __future__ import annotations

import argparse

from signclip.poses.io import read_pose, summarize_pose


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the pose commands to the CLI."""
    info = subparsers.add_parser("info", help="print frames, fps, components and hand presence of .pose files")
    info.add_argument("files", nargs="+", metavar="FILE")
    info.set_defaults(func=run_info)


def run_info(args: argparse.Namespace) -> int:
    for index, path in enumerate(args.files):
        if index:
            print()
        print(f"{path}")
        for line in summarize_pose(read_pose(path)).lines():
            print(f"  {line}")
    return 0
