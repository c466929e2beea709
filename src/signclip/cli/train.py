"""`signclip train`, `signclip evaluate` and `signclip baseline dtw`: training and retrieval evaluation."""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the train, evaluate and baseline commands to the CLI."""
    train = subparsers.add_parser("train", help="train a SignCLIP model from a YAML config")
    train.add_argument("config", metavar="CONFIG.yaml", help="training config (see configs/)")
    train.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override a config value, e.g. --set epochs=5 --set data.root=DIR --set output_dir=DIR",
    )  # fmt: skip
    train.add_argument("--resume", action="store_true", help="continue from OUTPUT_DIR/checkpoint.pt")
    train.add_argument(
        "--cv-by", metavar="COLUMN",
        help="cross-validate instead: hold out whole values of COLUMN (e.g. signed_language) fold by fold, "
        "score the model and the DTW baselines on each fold, write OUTPUT_DIR/cv.csv",
    )  # fmt: skip
    train.add_argument("--folds", type=int, default=4, help="number of --cv-by folds (default: 4)")
    train.add_argument(
        "--baseline", dest="baselines", action="append", metavar="PRESET",
        help="DTW preprocessing preset scored on the same folds (repeatable; default: fingerclip and "
        "handshape_2d)",
    )  # fmt: skip
    train.set_defaults(func=run_train)

    evaluate = subparsers.add_parser("evaluate", help="text<->pose retrieval metrics of a model (SignCLIP's)")
    evaluate.add_argument("--model", required=True, help="model directory or registered name")
    _add_data_arguments(evaluate)
    evaluate.add_argument("--flip", action="store_true", help="average each pose's embedding with its mirror's")
    evaluate.add_argument(
        "--anonymize", action="store_true",
        help="remove each pose's appearance (pose-anonymization) before the model's preprocessing; "
        "needs MediaPipe Holistic poses",
    )  # fmt: skip
    evaluate.add_argument(
        "--zero-shot", action="store_true",
        help="evaluate the test split of this data, which the model was not trained on, with its own prompts "
        "and none of its other rows (no --neighbours, --few-shot or --linear-probe)",
    )  # fmt: skip
    evaluate.add_argument("--prompt", help="prompt template (default: the one the model was trained with)")
    evaluate.add_argument(
        "--neighbours", metavar="WEIGHT|auto",
        help="fuse the text scores with the votes of each text's nearest training pose (rows outside --split) at "
        "WEIGHT, or auto: a weight cross-fitted over folds of the evaluated rows",
    )  # fmt: skip
    evaluate.add_argument(
        "--neighbours-by", choices=["embedding", "dtw"], default="embedding",
        help="with --neighbours: the nearest pose by the model's embedding, or by DTW (the layout's DTW preset)",
    )  # fmt: skip
    evaluate.add_argument("--few-shot", action="store_true", help="also few-shot nearest-neighbour accuracy (1/5/10)")
    evaluate.add_argument("--linear-probe", action="store_true", help="also a logistic-regression probe")
    evaluate.add_argument("--label-column", default="text", help="class labels of --few-shot/--linear-probe")
    evaluate.set_defaults(func=run_evaluate)

    baseline = subparsers.add_parser("baseline", help="non-learned baselines, scored like `evaluate`")
    methods = baseline.add_subparsers(dest="baseline_method", required=True, metavar="METHOD")
    dtw = methods.add_parser("dtw", help="nearest neighbour by dynamic time warping on normalized hand keypoints")
    _add_data_arguments(dtw)
    dtw.add_argument(
        "--preprocess", default="fingerclip",
        help="preprocessing preset (default: fingerclip; poses it does not fit, such as RWTH-BOSTON-104's 2D "
        "hands and nose, get their layout's preset, keypoints_2d)",
    )  # fmt: skip
    dtw.add_argument("--band", type=float, help="Sakoe-Chiba band as a fraction of the sequence (default: none)")
    dtw.set_defaults(func=run_dtw)


def _add_data_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--manifest", help="manifest CSV/Parquet")
    source.add_argument("--dataset", help="dataset adapter name (with --root; see: signclip dataset list)")
    parser.add_argument("--root", help="the dataset's folder (with --dataset)")
    parser.add_argument("--split-by", help="re-split a --dataset: random, signer, language or official")
    parser.add_argument("--seed", type=int, default=0, help="seed of the --split-by split")
    parser.add_argument("--split", help="evaluate only this split (default: every row)")
    parser.add_argument("--group-by", help="compute the metrics within each value of this column, e.g. signed_language")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run_train(args: argparse.Namespace) -> int:
    from signclip.train import load_train_config, train

    config = load_train_config(args.config, args.overrides)
    if args.cv_by:
        return _cross_validate(config, args)
    result = train(config, resume=args.resume)
    if result.best_dir is None:  # a torchrun process other than rank 0: rank 0 reports
        return 0
    validation = f" (validation {result.best_metric:.4f})" if result.best_metric is not None else ""
    print(f"best model: {result.best_dir}{validation}")
    print(f"metrics: {result.output_dir / 'metrics.csv'}")
    return 0


def _cross_validate(config, args: argparse.Namespace) -> int:
    from signclip.train.crossval import CrossValidationOptions, cross_validate

    defaults = CrossValidationOptions()
    baselines = tuple(args.baselines) if args.baselines else defaults.baselines
    result = cross_validate(config, CrossValidationOptions(by=args.cv_by, folds=args.folds, baselines=baselines))
    print("\n".join(result.lines))
    print(f"table: {result.output_dir / 'cv.csv'}")
    return 0


def _table(args: argparse.Namespace):
    from signclip.data.table import TableSource, load_table
    from signclip.errors import SignclipError

    if args.dataset and not args.root:
        raise SignclipError(f"--dataset {args.dataset} needs its folder: --root DIR")
    split_by = args.split_by if args.dataset else None  # --split-by re-splits a --dataset, not a manifest
    return load_table(
        TableSource(manifest=args.manifest, dataset=args.dataset, root=args.root, split_by=split_by, seed=args.seed)
    )


def _number(text: str, option: str) -> float:
    """`text` as a finite number; SignclipError naming `option` otherwise."""
    from signclip.errors import SignclipError

    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value == value or value in (float("inf"), float("-inf")):
        raise SignclipError(f"{option} takes a number or auto, got {text!r}")
    return value


def run_evaluate(args: argparse.Namespace) -> int:
    from signclip.errors import SignclipError
    from signclip.evaluation.probes import probe_model
    from signclip.evaluation.retrieval import Neighbours, evaluate_model
    from signclip.model.hub import load_model
    from signclip.model.identity import untrained_warning

    if args.zero_shot and (args.few_shot or args.linear_probe):
        raise SignclipError(
            "--zero-shot does not combine with --few-shot or --linear-probe, which learn from labelled rows of the "
            "evaluated data; run the probes in an evaluation of their own"
        )
    table = _table(args)
    model = load_model(args.model)
    warning = untrained_warning(model)
    if warning:
        print(warning, file=sys.stderr)
    neighbours = None
    if args.neighbours is not None:
        weight = None if args.neighbours == "auto" else _number(args.neighbours, "--neighbours")
        neighbours = Neighbours(args.neighbours_by, weight)
    report = evaluate_model(
        model, table, args.split, args.group_by, args.flip, args.prompt, neighbours, progress=not args.json,
        anonymize=args.anonymize, zero_shot=args.zero_shot, data_name=args.dataset or args.manifest,
    )  # fmt: skip
    if args.few_shot or args.linear_probe:
        probes = probe_model(
            model, table, args.split, args.label_column, args.few_shot, args.linear_probe, args.flip, args.anonymize
        )
        report.update(probes)
    _print(report, args.json)
    return 0


def run_dtw(args: argparse.Namespace) -> int:
    from signclip.evaluation.dtw import DTWSettings
    from signclip.evaluation.dtw_baseline import dtw_report

    settings = DTWSettings(args.preprocess, args.band)
    report = dtw_report(_table(args), args.split, args.group_by, settings, progress=not args.json)
    if not args.json:
        if "note" in report:
            print(f"note: {report['note']}", file=sys.stderr)
        print(f"references: {report['references']}")
    _print(report, args.json)
    return 0


def _print(report: dict, as_json: bool) -> None:
    from signclip.evaluation.retrieval import format_report

    if as_json:
        print(json.dumps(report, indent=2))
        return
    for line in format_report(report):
        print(line)
    for k, result in report.get("few_shot", {}).items():
        accuracy = "n/a (no class has enough examples)" if result["accuracy"] is None else f"{result['accuracy']:.3f}"
        print(f"few-shot {k}-shot nearest neighbour: accuracy {accuracy} ({result['classes']} classes)")
    if "linear_probe" in report:
        probe = report["linear_probe"]
        counts = ", ".join(f"{key} {value}" for key, value in probe.items() if key != "accuracy")
        print(f"linear probe: accuracy {probe['accuracy']:.3f} ({counts})")
