"""`signclip quickstart`: the README's main job on embedded defaults."""

from __future__ import annotations

import argparse
import tempfile

from signclip.quickstart import run_quickstart


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the quickstart command to the CLI."""
    parser = subparsers.add_parser("quickstart", help="run the end-to-end tour on generated data")
    parser.add_argument("--workdir", help="where to write the generated data (default: a temporary folder)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    workdir = args.workdir or tempfile.mkdtemp(prefix="signclip-quickstart-")
    run_quickstart(workdir)
    return 0
