"""Model commands: `signclip demo` (score texts against a pose) and `signclip model info` (what a model is
and where its weights come from)."""

from __future__ import annotations

import argparse
import json
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

    model = subparsers.add_parser("model", help="inspect a model")
    actions = model.add_subparsers(dest="model_command", required=True, metavar="ACTION")
    info = actions.add_parser(
        "info",
        help="print a model's architecture, sizes, weight fingerprint and provenance (where its weights come from)",
    )
    info.add_argument("model", metavar="MODEL", help="model directory or name")
    info.add_argument("--json", action="store_true", help="print one JSON object: config, provenance, fingerprint")
    info.set_defaults(func=run_info)


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


def run_info(args: argparse.Namespace) -> int:
    from signclip.model.hub import load_model
    from signclip.model.identity import model_fingerprint

    model = load_model(args.model)
    config, provenance, fingerprint = model.config, model.provenance, model_fingerprint(model)
    if args.json:
        print(json.dumps({"config": config.to_dict(), "provenance": provenance.to_dict(), "fingerprint": fingerprint}))
        return 0
    print(f"name: {config.name}")
    print(
        f"architecture: {config.architecture}, {config.towers} x {config.tower_dim} dimensions, "
        f"{config.input_features} input features (preprocess {config.preprocess!r}, prompt {config.prompt!r})"
    )
    print(f"fingerprint: sha256 {fingerprint}")
    print(f"provenance: {provenance.describe()}")
    return 0
