"""Search commands: `signclip db` (embedded PostgreSQL), `signclip index` (datasets) and `signclip search`.

The store is `$DATABASE_URL` when set, else the embedded server in `$SIGNCLIP_HOME/postgres`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from signclip.cli.engine import add_engine_arguments, ray_options
from signclip.errors import SignclipError
from signclip.model.identity import DEFAULT_MODEL


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the db, index and search commands to the CLI."""
    _register_db(subparsers)
    _register_index(subparsers)
    _register_search(subparsers)


def _register_db(subparsers: argparse._SubParsersAction) -> None:
    db = subparsers.add_parser("db", help="the embedded PostgreSQL server (status, start, stop, path)")
    commands = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    for name, help_text in [
        ("status", "print whether the embedded server runs, its URL and data folder"),
        ("start", "start the embedded server and keep it running until `signclip db stop`"),
        ("stop", "stop the embedded server"),
        ("path", "print the embedded server's data folder"),
    ]:
        commands.add_parser(name, help=help_text).set_defaults(func=run_db)


def _register_index(subparsers: argparse._SubParsersAction) -> None:
    index = subparsers.add_parser("index", help="add, list and remove indexed datasets")
    commands = index.add_subparsers(dest="index_command", required=True, metavar="COMMAND")
    add = commands.add_parser("add", help="embed a folder of poses/videos or a manifest into the search store")
    add.add_argument("--dataset", required=True, help="dataset name in the store")
    source = add.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "folder", nargs="?", metavar="FOLDER", help="any folder of .pose/.mp4 files (glosses from <gloss>/ folders)"
    )
    source.add_argument("--manifest", metavar="M", help="manifest CSV or Parquet")
    add.add_argument("--model", default=DEFAULT_MODEL, help=f"model directory or registered name ({DEFAULT_MODEL})")
    add.add_argument("--workers", type=int, default=None, help="pose extraction processes (default: one per CPU)")
    add.add_argument("--batch-size", type=int, default=64, help="items embedded and committed together")
    add.add_argument("--force", action="store_true", help="re-embed items that are already embedded")
    add.add_argument("--poses-dir", help="where extracted poses go (default: $SIGNCLIP_HOME/poses/DATASET)")
    add.add_argument("--spoken-language", help="fill rows without one (e.g. en); used by text-search prompts")
    add.add_argument("--signed-language", help="fill rows without one (e.g. ase); used by text-search prompts")
    add.add_argument(
        "--segment",
        action="store_true",
        help="each row is a recording: index every segment of it (with start/end) instead of the whole recording",
    )
    add.add_argument("--segmenter", help="with --segment: dgs-2023 (default), motion, motion-boston or a tagger DIR")
    add.add_argument("--level", choices=["sign", "sentence"], help="with --segment: the segments to index (sign)")
    add_engine_arguments(add)
    add.set_defaults(func=run_index_add, parser=add)
    load = commands.add_parser(
        "load-embeddings", help="bulk-load embedding shards (Parquet: id, vector) made elsewhere into a dataset"
    )
    load.add_argument("--dataset", required=True, help="dataset name in the store")
    load.add_argument("shards", nargs="+", metavar="SHARDS", help=".parquet shards or folders of them")
    load.add_argument("--manifest", metavar="M", help="add these manifest rows as the dataset's items first")
    load.add_argument("--model", help="the model's directory or name, stored so that search can load it")
    load.add_argument("--maintenance-work-mem", default="1GB", help="PostgreSQL memory for the index build")
    load.add_argument("--parallel-workers", type=int, default=2, help="parallel workers for the index build")
    load.set_defaults(func=run_load_embeddings)
    listing = commands.add_parser("list", help="list the datasets with their item and embedding counts")
    listing.set_defaults(func=run_index_list)
    remove = commands.add_parser("remove", help="delete a dataset with its items and embeddings")
    remove.add_argument("--dataset", required=True)
    remove.set_defaults(func=run_index_remove)


def _register_search(subparsers: argparse._SubParsersAction) -> None:
    search = subparsers.add_parser(
        "search",
        help="search an indexed dataset by text, pose or video (or `search evaluate`)",
        description="Search an indexed dataset; `signclip search evaluate` runs all-against-all retrieval.",
    )
    search.add_argument("--dataset", help="dataset name in the store")
    query = search.add_mutually_exclusive_group()
    query.add_argument("--text", help="a word or phrase, wrapped in the model's prompt (e.g. <en> <ase> house)")
    query.add_argument("--pose", metavar="FILE", help="a .pose (or asl-signs .parquet) file")
    query.add_argument("--video", metavar="FILE", help="a video file (poses are extracted first)")
    search.add_argument("-k", type=int, default=10, help="number of results (10)")
    search.add_argument(
        "--where", action="append", default=[], metavar="FIELD=VALUE", help="filter, e.g. gloss=HOUSE or signer=s1"
    )
    search.add_argument("--model", help="model directory or registered name (default: the dataset's only model)")
    search.add_argument(
        "--raw-text",
        action="store_true",
        help="use --text as the prompt instead of wrapping it in the model's template",
    )
    search.add_argument("--exact", action="store_true", help="exact search instead of the HNSW index")
    search.add_argument("--json", action="store_true", help="print the results as JSON")
    search.set_defaults(func=run_search, parser=search)
    commands = search.add_subparsers(dest="search_command", metavar="COMMAND")
    evaluate = commands.add_parser("evaluate", help="all-against-all retrieval: each item queries the rest")
    evaluate.add_argument("--dataset", required=True)
    evaluate.add_argument(
        "--model", help="model (name or directory) the dataset was indexed with (default: the dataset's only model)"
    )
    evaluate.add_argument("-k", type=int, default=10)
    evaluate.add_argument("--method", choices=["embedding", "dtw"], default="embedding")
    evaluate.add_argument("--metric", choices=["cosine", "l2", "dot"], default="cosine", help="embedding metric")
    evaluate.add_argument("-o", "--out-dir", help="output folder (default: outputs/search-evaluate/DATASET-METHOD)")
    evaluate.set_defaults(func=run_evaluate)


# ---------------------------------------------------------------------- db


def run_db(args: argparse.Namespace) -> int:
    """Run `signclip db status|start|stop|path`."""
    from signclip.store.embedded_postgres import EmbeddedPostgres

    server = EmbeddedPostgres()
    if args.db_command == "path":
        print(server.data_dir)
    elif args.db_command == "start":
        print(server.start(keep=True))
    elif args.db_command == "stop":
        print("stopped" if server.stop() else "not running")
    else:
        if os.environ.get("DATABASE_URL"):
            print("DATABASE_URL is set: signclip uses that server, not the embedded one")
        for line in server.status().lines():
            print(line)
    return 0


# ---------------------------------------------------------------------- index


def run_index_add(args: argparse.Namespace) -> int:
    """Run `signclip index add`: read the folder or manifest, check the request, index it, print the report."""
    import signclip
    from signclip.model.identity import untrained_warning
    from signclip.search.request import IndexOptions, validate_index_request
    from signclip.search.service import index_items
    from signclip.search.sources import read_source, without_gloss_note
    from signclip.store.store import Store

    if not args.segment and (args.segmenter or args.level):
        args.parser.error("--segmenter and --level need --segment")
    options = IndexOptions(
        batch_size=args.batch_size,
        workers=args.workers,
        force=args.force,
        poses_dir=args.poses_dir,
        model_source=_model_source(args.model),
        segment=args.segment,
        **{name: value for name, value in (("segmenter", args.segmenter), ("level", args.level)) if value},
    )
    manifest = read_source(args.folder, args.manifest, args.spoken_language, args.signed_language)
    model = signclip.load_model(args.model)
    request = validate_index_request(args.dataset, manifest, model, options)  # before anything is written
    _warn(untrained_warning(model))
    _warn(without_gloss_note(manifest, args.folder))
    with Store.open() as store:
        engine = _engine(args, store, request.dataset)
        try:
            report = index_items(store, request, engine)
        except (SignclipError, KeyboardInterrupt):
            print(_stopped_note(store, args.dataset, model.name, len(manifest)), file=sys.stderr)
            raise
    for line in report.lines():
        print(line)
    return 0


def _engine(args: argparse.Namespace, store, dataset: str):
    """The engine of --engine: this machine's, or Ray's (shards under <store home>/shards/<dataset>/)."""
    from signclip.search.engine import LocalEngine

    if args.engine != "ray":
        return LocalEngine(args.workers)
    from signclip.cluster.engine import RayEngine

    return RayEngine(ray_options(args), store.home / "shards" / dataset, args.workers)


def run_load_embeddings(args: argparse.Namespace) -> int:
    """Run `signclip index load-embeddings`: add the manifest's items if given, then bulk-load the shards."""
    from signclip.search.sources import read_source
    from signclip.store.bulk import load_embeddings
    from signclip.store.store import Store

    with Store.open() as store:
        if args.manifest:
            store.add_items(args.dataset, read_source(None, args.manifest, None, None))
        report = load_embeddings(
            store,
            args.dataset,
            args.shards,
            model_source=_model_source(args.model) if args.model else None,
            maintenance_work_mem=args.maintenance_work_mem,
            parallel_workers=args.parallel_workers,
        )
    for line in report.lines():
        print(line)
    return 0


def _model_source(model: str) -> str:
    """The model as a later search can load it: a directory as an absolute path, else the name."""
    return str(Path(model).resolve()) if Path(model).is_dir() else model


def _stopped_note(store, dataset: str, model: str, total: int) -> str:
    """Say what a stopped index run left: nothing, or finished batches that a rerun continues from."""
    names = {d.name: d for d in store.list_datasets()}
    if dataset not in names:
        return f"the index run stopped; nothing was stored for dataset {dataset!r}"
    done = names[dataset].embeddings.get(model, 0)
    return (
        f"the index run stopped; dataset {dataset!r} keeps {done} items embedded by {model!r} of {total} given "
        "(resumable: rerun the same command to do the rest, or `signclip index remove` to start over)"
    )


def _warn(message: str | None) -> None:
    if message:
        print(message, file=sys.stderr)


def run_index_list(args: argparse.Namespace) -> int:
    """Run `signclip index list`: each dataset with its item and embedding counts."""
    from signclip.store.store import Store

    with Store.open() as store:
        datasets = store.list_datasets()
    if not datasets:
        print("no datasets indexed yet (signclip index add --dataset NAME FOLDER)")
    for dataset in datasets:
        models = ", ".join(f"{name}: {count}" for name, count in sorted(dataset.embeddings.items())) or "none"
        print(f"{dataset.name}\t{dataset.items} items\tembeddings: {models}")
    return 0


def run_index_remove(args: argparse.Namespace) -> int:
    """Run `signclip index remove`: delete a dataset."""
    from signclip.store.store import Store

    with Store.open() as store:
        removed = store.remove_dataset(args.dataset)
    print(f"removed dataset {args.dataset!r} ({removed} items)")
    return 0


# ---------------------------------------------------------------------- search


def parse_where(values: list[str]) -> dict[str, list[str]]:
    """Turn repeated `FIELD=VALUE` options into {field: [values]}; raises SignclipError for a bad one."""
    where: dict[str, list[str]] = {}
    for value in values:
        field, separator, wanted = value.partition("=")
        if not separator or not field.strip():
            raise SignclipError(f"--where {value!r}: expected FIELD=VALUE, e.g. gloss=HOUSE")
        where.setdefault(field.strip(), []).append(wanted)
    return where


def run_search(args: argparse.Namespace) -> int:
    """Run `signclip search`: rank the dataset by a text, pose or video query and print the hits."""
    import signclip
    from signclip.model.identity import untrained_warning
    from signclip.poses.io import read_any_pose
    from signclip.search.models import choose_model
    from signclip.search.service import Query, search
    from signclip.store.store import Store

    if args.dataset is None or (args.text, args.pose, args.video) == (None, None, None):
        args.parser.error("give --dataset and one of --text, --pose or --video (or use `signclip search evaluate`)")
    where = parse_where(args.where)
    with Store.open() as store:
        model_name = choose_model(store, args.dataset, args.model)  # fails before the model loads
        model = signclip.load_model(model_name)
        _warn(untrained_warning(model))
        pose = read_any_pose(args.pose) if args.pose is not None else None
        query = Query(text=args.text, pose=pose, video=args.video, prompt=not args.raw_text)
        answer = search(store, model, args.dataset, query, k=args.k, where=where, exact=args.exact or None)
    if answer.kind == "text" and query.prompt:
        print(f"prompt: {answer.prompt}", file=sys.stderr)
    if args.json:
        print(json.dumps([r.to_dict() for r in answer.results], indent=2, ensure_ascii=False))
        return 0
    if not answer.results:
        print("no results")
    elif not answer.strong_matches:
        print("no strong matches: no result stands out from the dataset's other items", file=sys.stderr)
    else:
        print("* = a strong match: it stands out from the dataset's other items", file=sys.stderr)
    for rank, (result, cue) in enumerate(zip(answer.results, answer.relevance, strict=True), start=1):
        path = result.video_path or result.pose_path
        mark = "*" if cue.strong else " "
        print(
            f"{rank:>3}{mark} {result.distance:.4f}  {result.gloss or result.text:<20}  {result.signer:<10}  "
            f"{result.time_range or '-':<15}  {path}"
        )
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    """Run `signclip search evaluate`: all-against-all retrieval, report files and headline figures."""
    from signclip.evaluation.report import write_report
    from signclip.evaluation.search import evaluate_dataset
    from signclip.search.models import choose_model_name
    from signclip.store.store import Store

    out_dir = Path(args.out_dir or Path("outputs") / "search-evaluate" / f"{args.dataset}-{args.method}")
    with Store.open() as store:
        model = None if args.method == "dtw" else choose_model_name(store, args.dataset, args.model)
        evaluation = evaluate_dataset(store, args.dataset, model, k=args.k, method=args.method, metric=args.metric)
    paths = write_report(evaluation, out_dir)
    summary = json.loads(paths[0].read_text())["summary"]
    if summary["undefined"]:
        counts = f"{summary['items']} items, {summary['glosses']} glosses"
        print(f"{counts}: retrieval metrics undefined: {summary['undefined']}")
    else:
        print(
            f"{summary['items']} items, {summary['glosses']} glosses: precision@{summary['k']} "
            f"{_figure(summary['precision_at_k'])}, recall@{summary['k']} {_figure(summary['recall_at_k'])}, "
            f"mAP {_figure(summary['mean_average_precision'])}"
        )
    print(f"wrote {', '.join(p.name for p in paths)} to {out_dir}", file=sys.stderr)
    return 0


def _figure(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
