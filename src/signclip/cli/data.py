"""`signclip dataset list|prepare|stats`: dataset adapters that write the manifest, and its statistics."""

from __future__ import annotations

import argparse
from pathlib import Path

from signclip.data.datasets import (
    DATASETS,
    dataset_names,
    describe_manifest,
    prepare_dataset,
    relative_paths,
)
from signclip.data.manifest import write_manifest
from signclip.data.splits import SPLIT_METHODS
from signclip.errors import ConfigError

MAX_PRINTED_PROBLEMS = 10


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the dataset commands to the CLI."""
    dataset = subparsers.add_parser("dataset", help="turn a dataset on disk into a manifest")
    commands = dataset.add_subparsers(dest="dataset_command", required=True, metavar="COMMAND")

    listing = commands.add_parser("list", help="list the dataset adapters, their layouts and options")
    listing.set_defaults(func=run_list)

    prepare = commands.add_parser("prepare", help="write the manifest (CSV or Parquet) of a dataset")
    prepare.add_argument("name", choices=dataset_names(), metavar="NAME", help="dataset adapter (see: dataset list)")
    prepare.add_argument("--root", required=True, type=Path, help="the dataset's folder (or index file)")
    prepare.add_argument("-o", "--output", required=True, type=Path, help="manifest path (.csv or .parquet)")
    prepare.add_argument(
        "--split-by",
        choices=SPLIT_METHODS,
        help="default: the dataset's official split when it has one, else the adapter's default",
    )
    prepare.add_argument("--seed", type=int, default=0, help="seed of the random/signer/language split")
    prepare.add_argument("--val-fraction", type=float, default=0.1, help="share of rows for validation")
    prepare.add_argument("--test-fraction", type=float, default=0.1, help="share of rows for testing")
    prepare.add_argument(
        "--work-dir", type=Path, help="where adapters that write poses put them (default: <output folder>/poses)"
    )
    prepare.add_argument("--poses-dir", type=Path, help="folder of <video name>.pose files to attach to video rows")
    prepare.add_argument(
        "--option", action="append", default=[], metavar="KEY=VALUE", help="adapter option (see: dataset list)"
    )
    prepare.add_argument("--spoken-language", help="spoken language code for rows without one (e.g. en)")
    prepare.add_argument("--signed-language", help="ISO 639-3 sign language code for rows without one (e.g. ase)")
    prepare.add_argument(
        "--skip-problems", action="store_true", help="drop rows with problems (listed) instead of failing"
    )
    prepare.add_argument("--verify", action="store_true", help="also read every pose file (slow on big datasets)")
    prepare.set_defaults(func=run_prepare)

    stats = commands.add_parser("stats", help="counts per language, concept, signer and split; pose lengths")
    stats.add_argument("manifest", type=Path, metavar="MANIFEST", help="manifest CSV or Parquet")
    stats.add_argument("-o", "--out-dir", required=True, type=Path, help="folder for the CSV files, plots, summary")
    stats.set_defaults(func=run_stats)


def run_list(args: argparse.Namespace) -> int:
    for adapter in DATASETS.values():
        print(f"{adapter.name}: {adapter.description}")
        print(f"  layout: {adapter.layout}")
        print(f"  default split: {adapter.default_split}")
        for option, (default, description) in adapter.options.items():
            print(f"  option {option} (default {default!r}): {description}")
    return 0


def run_prepare(args: argparse.Namespace) -> int:
    output = args.output.expanduser().resolve()
    table = prepare_dataset(
        args.name,
        args.root,
        split_by=args.split_by,
        seed=args.seed,
        val_fraction=args.val_fraction,
        test_fraction=args.test_fraction,
        work_dir=args.work_dir or output.parent / "poses",
        options=_parse_options(args.option),
        poses_dir=args.poses_dir,
        spoken_language=args.spoken_language,
        signed_language=args.signed_language,
        skip_problems=args.skip_problems,
        verify=args.verify,
    )
    problems = table.attrs.get("problems", [])
    write_manifest(relative_paths(table, output.parent), output)
    print(f"wrote {output} ({args.name}, split by {table.attrs.get('split_by')}, seed {args.seed})")
    for line in describe_manifest(table):
        print(f"  {line}")
    if problems:
        print(f"skipped {len(problems)} rows with problems:")
        for problem in problems[:MAX_PRINTED_PROBLEMS]:
            print(f"  - {problem}")
        if len(problems) > MAX_PRINTED_PROBLEMS:
            print(f"  ... and {len(problems) - MAX_PRINTED_PROBLEMS} more")
    return 0


def run_stats(args: argparse.Namespace) -> int:
    from signclip.data.manifest import read_manifest
    from signclip.data.stats import dataset_stats, write_stats

    stats = dataset_stats(read_manifest(args.manifest))
    paths = write_stats(stats, args.out_dir)
    print(stats_line(stats))
    print(f"wrote {', '.join(p.name for p in paths)} to {args.out_dir}")
    return 0


def stats_line(stats) -> str:
    """One line of totals for the terminal."""
    return (
        f"{int(stats.languages['items'].sum())} items, {stats.languages['signed_language'].nunique()} signed "
        f"languages, {len(stats.concepts)} concepts, {len(stats.signers)} signers"
        + (f"; {len(stats.unreadable)} items without a readable pose" if stats.unreadable else "")
    )


def _parse_options(values: list[str]) -> dict[str, str]:
    options = {}
    for value in values:
        key, separator, setting = value.partition("=")
        if not separator or not key.strip():
            raise ConfigError(f"--option {value!r}: expected KEY=VALUE, e.g. camera=cam1")
        options[key.strip()] = setting.strip()
    return options
