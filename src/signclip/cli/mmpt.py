"""Original-checkpoint commands: `signclip convert-mmpt` (import a fairseq/MMPT checkpoint) and
`signclip models` (the known models and where each is found)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the convert-mmpt and models commands to the CLI."""
    convert = subparsers.add_parser(
        "convert-mmpt",
        help="convert an original SignCLIP checkpoint (fairseq/MMPT checkpoint_best.pt) into a model directory",
    )
    convert.add_argument("checkpoint", metavar="CHECKPOINT", help="the original .pt file")
    convert.add_argument(
        "--config", required=True, metavar="NAME", help="mmpt model config: signclip-e7.2, fingerclip or a .json file"
    )
    convert.add_argument(
        "--tokenizer",
        metavar="PATH_OR_NAME",
        help="tokenizer folder or Hugging Face name (default: the config's text model, e.g. bert-base-cased)",
    )
    convert.add_argument(
        "-o", "--output", metavar="MODEL_DIR", help="where to write (default: $SIGNCLIP_HOME/models/<config name>)"
    )
    convert.add_argument(
        "--trust-checkpoint",
        action="store_true",
        help="if the safe reading fails, unpickle fully (weights_only=False; runs code stored in the file)",
    )
    convert.set_defaults(func=run_convert)

    models = subparsers.add_parser("models", help="list the known models and where each is found")
    models.add_argument("names", nargs="*", metavar="NAME", help="only these models")
    models.set_defaults(func=run_models)


def run_convert(args: argparse.Namespace) -> int:
    from signclip.model.convert_mmpt import convert_checkpoint

    report = convert_checkpoint(
        args.checkpoint, args.config, args.output, tokenizer=args.tokenizer, trust_checkpoint=args.trust_checkpoint
    )
    for line in report.lines():
        print(line)
    print(f"use it with: signclip demo POSE --model {report.output} --texts ...")
    return 0


def run_models(args: argparse.Namespace) -> int:
    from signclip.model.config import models_home
    from signclip.model.convert_mmpt import model_locations

    locations = model_locations(args.names or None)
    print(f"model directories: {models_home()} (set SIGNCLIP_HOME to move it)")
    width = max(len(location.name) for location in locations)
    for location in locations:
        where = {
            "local": str(location.path),
            "untrained": "registered config, built untrained on load",
            "missing": "not converted yet",
        }[location.status]
        print(f"{location.name:<{width}}  {location.architecture:<8}  {where}")
        if location.hint:
            print(f"{'':<{width}}  to get it: {location.hint}")
    return 0
