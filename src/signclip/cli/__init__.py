"""The `signclip` command: argument parsing and printing only; the work lives in library modules.

Each command group is a module of this package exposing `register(subparsers)`, which adds its
sub-commands and sets `func(args) -> int | None` on each.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from signclip.errors import SignclipError

COMMAND_MODULES = [
    "signclip.cli.poses",
    "signclip.cli.data",
    "signclip.cli.model",
    "signclip.cli.mmpt",
    "signclip.cli.train",
    "signclip.cli.segment",
    "signclip.cli.index",
    "signclip.cli.search",
    "signclip.cli.serve",
    "signclip.cli.quickstart",
]


def build_parser() -> argparse.ArgumentParser:
    """Return the full argument parser with every available sub-command registered."""
    parser = argparse.ArgumentParser(prog="signclip", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name == name:
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI on `argv` (default: sys.argv[1:]); returns the process exit code."""
    args = build_parser().parse_args(argv)
    try:
        code = args.func(args)
    except SignclipError as error:
        from signclip.cli.wording import cli_message

        print(f"error: {cli_message(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
