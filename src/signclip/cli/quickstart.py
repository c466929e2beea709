"""`signclip quickstart`: the README's main job on embedded defaults."""

from __future__ import annotations

import argparse

from signclip.quickstart import run_quickstart


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the quickstart command to the CLI."""
    parser = subparsers.add_parser(
        "quickstart", help="train, index, search and evaluate end to end (generated data or your folder)"
    )
    parser.add_argument("--workdir", default="signclip-quickstart", help="work folder (default: ./signclip-quickstart)")
    parser.add_argument("--folder", help="your data instead of generated poses: <gloss>/<file>.pose|.mp4")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    run_quickstart(args.workdir, folder=args.folder)
    return 0
