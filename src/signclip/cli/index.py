"""Store commands: `signclip db` (the embedded PostgreSQL) and `signclip index` (datasets: add, load, list, remove).

The store is `--database-url`, else `$DATABASE_URL` when set, else the embedded server in
`$SIGNCLIP_HOME/postgres`. A dataset's vectors are stored as `--vector-type` (vector, halfvec or binary; see
signclip.store.vector_types), chosen at `index add` or `load-embeddings` and shown by `index list`.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from signclip.cli.engine import add_engine_arguments, ray_options
from signclip.cli.wording import DATABASE_URL_HELP, warn
from signclip.errors import SignclipError
from signclip.model.config import TRAINING_FREE_MODELS
from signclip.store.vector_types import VECTOR_TYPES

VECTOR_TYPE_HELP = (
    f"how the dataset's vectors are stored: {', '.join(VECTOR_TYPES)} (float32; float16, half the memory; an "
    "HNSW index of the binary quantization re-ranked on float32). Default: the dataset's type, 'vector' for a new "
    "one; another type converts the stored vectors"
)


GRAPH_HELP = (
    "how the model's HNSW index is built: links per node (--hnsw-m, default 16) and candidates while linking "
    "(--hnsw-ef-construction, default 4 x m). A denser graph keeps recall at millions of vectors for a longer "
    "build (docs/search.md). Kept with the model; other settings than its index's rebuild the index"
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the db and index commands to the CLI."""
    _register_db(subparsers)
    _register_index(subparsers)


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
    add.add_argument(
        "--model",
        default=TRAINING_FREE_MODELS[0],
        help=f"model directory or registered name (default {TRAINING_FREE_MODELS[0]}: the training-free pose index, "
        "for search by example; text search needs a trained or converted model)",
    )
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
    add.add_argument("--vector-type", metavar="TYPE", help=VECTOR_TYPE_HELP)
    _add_graph_arguments(add)
    add.add_argument("--database-url", metavar="URL", help=DATABASE_URL_HELP)
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
    load.add_argument("--vector-type", metavar="TYPE", help=VECTOR_TYPE_HELP)
    _add_graph_arguments(load)
    load.add_argument("--database-url", metavar="URL", help=DATABASE_URL_HELP)
    load.set_defaults(func=run_load_embeddings)
    listing = commands.add_parser(
        "list", help="list the datasets with their items, embeddings and vector type, then the HNSW indexes"
    )
    listing.add_argument("--database-url", metavar="URL", help=DATABASE_URL_HELP)
    listing.set_defaults(func=run_index_list)
    remove = commands.add_parser("remove", help="delete a dataset with its items and embeddings")
    remove.add_argument("--dataset", required=True)
    remove.add_argument("--database-url", metavar="URL", help=DATABASE_URL_HELP)
    remove.set_defaults(func=run_index_remove)


def _add_graph_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("HNSW graph", GRAPH_HELP)
    group.add_argument("--hnsw-m", type=int, metavar="M", help="links per node per layer (2 to 100)")
    group.add_argument("--hnsw-ef-construction", type=int, metavar="N", help="candidates while linking (>= 2 m)")


def _graph(args: argparse.Namespace):
    """The GraphSettings the flags ask for (None without them); StoreError for values pgvector refuses."""
    from signclip.store.indexes import GraphSettings

    if args.hnsw_m is None and args.hnsw_ef_construction is None:
        return None
    m = args.hnsw_m if args.hnsw_m is not None else GraphSettings.m
    return GraphSettings(m, args.hnsw_ef_construction if args.hnsw_ef_construction is not None else 4 * m)


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
    from signclip.search.request import IndexOptions, check_against_store, validate_index_request
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
        vector_type=args.vector_type,
        graph=_graph(args),
        **{name: value for name, value in (("segmenter", args.segmenter), ("level", args.level)) if value},
    )
    manifest = read_source(args.folder, args.manifest, args.spoken_language, args.signed_language)
    model = signclip.load_model(args.model)
    request = validate_index_request(args.dataset, manifest, model, options)  # before anything is written
    warn(untrained_warning(model))
    warn(without_gloss_note(manifest, args.folder))
    if not getattr(model, "embeds_texts", True):
        warn(
            f"note: indexing with {model.name!r}, the training-free pose index: search by a pose or a video; text "
            "search needs a trained or converted model (signclip train CONFIG, or signclip convert-mmpt)"
        )
    with Store.open(args.database_url) as store:
        engine = _engine(args, store, request.dataset)
        try:
            if options.vector_type is not None:
                check_against_store(store, request)  # a refused model converts nothing
                converted = store.use_vector_type(request.dataset, options.vector_type)
                _say_converted(converted, request.dataset, options.vector_type)
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
    from signclip.store.vector_types import vector_type

    if args.vector_type is not None:
        vector_type(args.vector_type)  # an unknown type is refused before the store is opened
    graph = _graph(args)
    with Store.open(args.database_url) as store:
        if args.vector_type is not None:
            _say_converted(store.use_vector_type(args.dataset, args.vector_type), args.dataset, args.vector_type)
        if args.manifest:
            store.add_items(args.dataset, read_source(None, args.manifest, None, None))
        report = load_embeddings(
            store,
            args.dataset,
            args.shards,
            model_source=_model_source(args.model) if args.model else None,
            maintenance_work_mem=args.maintenance_work_mem,
            parallel_workers=args.parallel_workers,
            graph=graph,
        )
    for line in report.lines():
        print(line)
    return 0


def _say_converted(converted: int, dataset: str, vector_type: str) -> None:
    """Print how many stored vectors a vector type switch converted (nothing when none were)."""
    if converted:
        print(f"dataset {dataset!r}: converted {converted} stored vectors to {vector_type}", file=sys.stderr)


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


def run_index_list(args: argparse.Namespace) -> int:
    """Run `signclip index list`: each dataset with its item and embedding counts and its vector type."""
    from signclip.store.store import Store

    with Store.open(args.database_url) as store:
        datasets, indexes = store.list_datasets(), store.list_indexes()
    if not datasets:
        print("no datasets indexed yet (signclip index add --dataset NAME FOLDER)")
    for dataset in datasets:
        models = ", ".join(f"{name}: {count}" for name, count in sorted(dataset.embeddings.items())) or "none"
        print(f"{dataset.name}\t{dataset.items} items\tembeddings: {models}\tvectors: {dataset.vector_type}")
    embedded = {name for dataset in datasets for name in dataset.embeddings}
    for index in (index for index in indexes if index.model in embedded):
        print(
            f"HNSW index of {index.model!r} over {index.vector_type} ({index.metric}): {index.graph}, "
            f"{_size(index.size_bytes)}"
        )
    return 0


def _size(size_bytes: int) -> str:
    """A size on disk as people read it: KiB below a MiB, MiB below a GiB, else GiB."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20)):
        if size_bytes >= scale:
            return f"{size_bytes / scale:,.1f} {unit}"
    return f"{size_bytes / 2**10:,.0f} KiB"


def run_index_remove(args: argparse.Namespace) -> int:
    """Run `signclip index remove`: delete a dataset."""
    from signclip.store.store import Store

    with Store.open(args.database_url) as store:
        removed = store.remove_dataset(args.dataset)
    print(f"removed dataset {args.dataset!r} ({removed} items)")
    return 0
