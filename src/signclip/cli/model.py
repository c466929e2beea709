"""Model commands: `signclip demo` (score texts against a pose)."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the model commands to the CLI."""
    demo = subparsers.add_parser(
        "demo", help="score texts against one .pose file with a model and print them, highest first"
    )
    demo.add_argument("pose", metavar="POSE", help=".pose file")
    demo.add_argument("--texts", nargs="+", required=True, metavar="TEXT", help='prompts, e.g. "<en> <ase> house"')
    demo.add_argument(
        "--model",
        help="model directory or name (default: signclip-e7.2 once converted with convert-mmpt, else signclip-small)",
    )
    demo.set_defaults(func=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    from signclip.model.config import local_model_dir
    from signclip.model.hub import load_model
    from signclip.model.identity import DEFAULT_MODEL, untrained_warning

    name = args.model or ("signclip-e7.2" if local_model_dir("signclip-e7.2") else DEFAULT_MODEL)
    model = load_model(name)
    warning = untrained_warning(model)
    if warning:
        print(warning, file=sys.stderr)
    scores = model.score(args.pose, args.texts)
    for text, score in sorted(zip(args.texts, scores.tolist(), strict=True), key=lambda pair: -pair[1]):
        print(f"{score:+.4f}  {text}")
    return 0
