"""`signclip segment`: segment poses/videos into signs and sentences, train a tagger, evaluate segmenters."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `segment`, `segment train`, `segment evaluate` and `segment tune-motion` to the CLI."""
    segment = subparsers.add_parser(
        "segment",
        add_help=False,  # every word, options and --help too, goes to the parser `dispatch` picks
        prefix_chars="\0",
        help="sign and sentence segments of continuous signing (JSON or ELAN); also: train, evaluate, tune-motion",
    )
    segment.add_argument("words", nargs=argparse.REMAINDER)
    segment.set_defaults(func=dispatch)


def _segment_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="signclip segment",
        description="signclip segment POSE_OR_VIDEO... [--segmenter NAME] [-o out.json|out.eaf]; "
        "signclip segment train CONFIG.yaml; signclip segment evaluate ...; signclip segment tune-motion ...",
    )
    parser.add_argument("inputs", nargs="+", metavar="POSE_OR_VIDEO")
    parser.add_argument("--segmenter", default=None, help="dgs-2023 (default), motion, motion-boston or a tagger dir")
    parser.add_argument("--level", choices=["sign", "sentence"], help="only this level (default: both)")
    parser.add_argument("-o", "--output", type=Path, help="out.json, out.eaf (one input) or a folder of .eaf files")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def _train_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="signclip segment train", description="train a BIO tagger")
    parser.add_argument("config", metavar="CONFIG.yaml")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--no-progress", action="store_true")
    return parser


def _evaluate_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="signclip segment evaluate", description="score segmenters")
    parser.add_argument("--segmenter", action="append", default=[], help="name or tagger dir (repeatable)")
    parser.add_argument("--boston", type=Path, help="RWTH-BOSTON-104 folder: score on its official test sentences")
    parser.add_argument("--compose", help="compose sequences from isolated signs: 'synthetic' or a manifest")
    parser.add_argument("--sequences", type=int, default=40, help="composed sequences (default 40)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--output", type=Path, default=Path("segment-report"), help="report folder")
    return parser


def _tune_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="signclip segment tune-motion", description="cross-validate motion")
    parser.add_argument("--boston", type=Path, required=True, help="RWTH-BOSTON-104 folder (train sentences)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--work-dir", type=Path, default=Path("segment-report/poses"))
    return parser


def dispatch(args: argparse.Namespace) -> int:
    """Run `segment train|evaluate|tune-motion ...`, or `segment POSE_OR_VIDEO...` for any other words."""
    words = args.words
    if words and words[0] == "train":
        return run_train(_train_parser().parse_args(words[1:]))
    if words and words[0] == "evaluate":
        return run_evaluate(_evaluate_parser().parse_args(words[1:]))
    if words and words[0] == "tune-motion":
        return run_tune(_tune_parser().parse_args(words[1:]))
    return run_segment(_segment_parser().parse_args(words))


def _print_warnings(caught: list[warnings.WarningMessage]) -> None:
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)


def run_segment(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from signclip.segment import DEFAULT_SEGMENTER, load_segmenter, segment_file, segments_to_json
    from signclip.segment.elan import write_eaf

    segmenter = load_segmenter(args.segmenter or DEFAULT_SEGMENTER)
    output = args.output
    eaf_folder = output is not None and output.suffix.lower() not in (".json", ".eaf")
    if output is not None and output.suffix.lower() == ".eaf" and len(args.inputs) > 1:
        print("error: -o out.eaf takes one input; give a folder for many", file=sys.stderr)
        return 2
    results = {}
    bar = tqdm(args.inputs, desc="segment", unit="file", disable=args.no_progress or len(args.inputs) < 2)
    for path in bar:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            pose, levels = segment_file(path, segmenter)
        _print_warnings(caught)
        if args.level:
            levels = {args.level: levels[args.level]}
        video = path if not str(path).endswith((".pose", ".parquet")) else None
        pose_link = path if video is None else None
        if output is not None and (output.suffix.lower() == ".eaf" or eaf_folder):
            target = output if not eaf_folder else output / f"{Path(path).stem}.eaf"
            write_eaf(levels, target, video_path=video, pose_path=pose_link)
        results[str(path)] = {
            "segmenter": segmenter.name,
            "fps": float(pose.body.fps),
            "frames": int(pose.body.data.shape[0]),
            **segments_to_json(levels),
        }
    text = json.dumps(results if len(results) > 1 else next(iter(results.values())), indent=2)
    if output is None:
        print(text)
    elif output.suffix.lower() == ".json":
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text + "\n")
        print(f"wrote {output}")
    else:
        print(f"wrote {output}")
    return 0


def run_train(args: argparse.Namespace) -> int:
    from signclip.train.tagger import load_segment_train_config, train_tagger

    result = train_tagger(load_segment_train_config(args.config, args.overrides), progress=not args.no_progress)
    print(f"wrote {result.best_dir} ({result.epochs} epochs, {result.seconds:.0f} s)")
    print(f"validation: {json.dumps(result.val_metrics)}")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from signclip.segment.evaluation import run_evaluation

    report = run_evaluation(
        args.segmenter or ["dgs-2023", "motion"], args.output, boston=args.boston, compose=args.compose,
        sequences=args.sequences, seed=args.seed,
    )  # fmt: skip
    for data, section in report["data"].items():
        print(f"{data} ({section['recordings']} recordings, {section['true_signs']} signs):")
        for line in section["summary"]:
            print(f"  {line}")
    print(f"wrote {args.output / 'report.json'} and the figures beside it")
    return 0


def run_tune(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from signclip.segment.evaluation import boston_recordings, tune_motion

    result = tune_motion(boston_recordings(args.boston, args.work_dir, "train"), folds=args.folds)
    print(f"cross-validated sign segment F1 over {args.folds} folds of the train videos: {result['cv_f1']:.3f}")
    print(f"chosen on all train videos (F1 {result['train_f1']:.3f}): {json.dumps(asdict(result['config']))}")
    return 0
