"""`signclip search`: search an indexed dataset by text, pose or video, and `signclip search evaluate`.

The store is `$DATABASE_URL` when set, else the embedded server in `$SIGNCLIP_HOME/postgres`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from signclip.cli.wording import DATABASE_URL_HELP, EF_SEARCH_HELP, warn
from signclip.errors import SignclipError
from signclip.search.rerank import DEFAULT_CANDIDATES
from signclip.store.indexes import DEFAULT_EF_SEARCH


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the search command (and `search evaluate`) to the CLI."""
    _register_search(subparsers)


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
    search.add_argument("--ef-search", type=int, default=DEFAULT_EF_SEARCH, metavar="N", help=EF_SEARCH_HELP)
    search.add_argument(
        "--rerank",
        choices=["dtw", "none"],
        help="dtw: re-rank the index's top --candidates by DTW on their poses (default for the training-free "
        "index's pose and video queries)",
    )
    search.add_argument(
        "--candidates",
        type=int,
        help=f"with --rerank dtw: candidates to re-rank (default {DEFAULT_CANDIDATES}, or those kept for the model)",
    )
    search.add_argument(
        "--fusion-weight",
        type=float,
        help="with --rerank dtw and a learned model: the weight of DTW (default: the one kept for the dataset)",
    )
    search.add_argument("--json", action="store_true", help="print the results as JSON")
    search.add_argument(
        "-o",
        "--output",
        metavar="HITS.csv|HITS.eaf",
        help="also write the hits: a CSV (recording, start_ms, end_ms, score, gloss), or an ELAN file per "
        "recording with a SEARCH tier",
    )
    search.add_argument("--database-url", metavar="URL", help=DATABASE_URL_HELP)
    search.set_defaults(func=run_search, parser=search)
    commands = search.add_subparsers(dest="search_command", metavar="COMMAND")
    evaluate = commands.add_parser("evaluate", help="all-against-all retrieval: each item queries the rest")
    evaluate.add_argument("--dataset", required=True)
    evaluate.add_argument(
        "--model", help="model (name or directory) the dataset was indexed with (default: the dataset's only model)"
    )
    evaluate.add_argument("-k", type=int, default=10)
    evaluate.add_argument("--method", choices=["embedding", "dtw"], default="embedding")
    evaluate.add_argument("--metric", choices=["cosine", "l2", "dot"], help="embedding metric (default: the model's)")
    evaluate.add_argument(
        "--rerank",
        choices=["dtw"],
        help="compare the learned model, DTW, the training-free index and the hybrid side by side (P@1, P@10, "
        "mAP), choose the hybrid's fusion weight by cross-fitting and keep it for the dataset's searches",
    )
    evaluate.add_argument(
        "--candidates", type=int, default=DEFAULT_CANDIDATES, help=f"with --rerank ({DEFAULT_CANDIDATES})"
    )
    evaluate.add_argument("--queries", metavar="SPLIT", help="with --rerank: the items of SPLIT query the others")
    evaluate.add_argument("--folds", type=int, default=5, help="with --rerank: cross-fitting folds (5)")
    evaluate.add_argument("-o", "--out-dir", help="output folder (default: outputs/search-evaluate/DATASET-METHOD)")
    evaluate.add_argument("--database-url", metavar="URL", help=DATABASE_URL_HELP)
    evaluate.set_defaults(func=run_evaluate)


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


def query_label(args: argparse.Namespace) -> str:
    """The query as an exported hit names it: the text, or the example's file name."""
    if args.text is not None:
        return args.text
    return f"example {Path(args.pose or args.video).name}"


def run_search(args: argparse.Namespace) -> int:
    """Run `signclip search`: rank the dataset by a text, pose or video query and print the hits."""
    import signclip
    from signclip.model.identity import untrained_warning
    from signclip.poses.io import read_any_pose
    from signclip.search.exports import answer_hits, check_export_path, write_hits
    from signclip.search.models import choose_model
    from signclip.search.rerank import Rerank
    from signclip.search.service import Query, search
    from signclip.store.store import Store

    if args.dataset is None or (args.text, args.pose, args.video) == (None, None, None):
        args.parser.error("give --dataset and one of --text, --pose or --video (or use `signclip search evaluate`)")
    where = parse_where(args.where)
    output = check_export_path(args.output) if args.output else None  # a bad suffix fails before the search
    with Store.open(args.database_url, ef_search=args.ef_search) as store:
        model_name = choose_model(store, args.dataset, args.model)  # fails before the model loads
        model = signclip.load_model(model_name)
        warn(untrained_warning(model))
        pose = read_any_pose(args.pose) if args.pose is not None else None
        query = Query(text=args.text, pose=pose, video=args.video, prompt=not args.raw_text)
        asked = args.rerank or args.candidates is not None or args.fusion_weight is not None
        rerank = Rerank(args.rerank or "dtw", args.candidates, args.fusion_weight) if asked else None
        answer = search(
            store, model, args.dataset, query, k=args.k, where=where, exact=args.exact or None, rerank=rerank
        )
        if output is not None and answer.results:
            hits = answer_hits(answer, store.metric_of(answer.model))
            for path in write_hits(store, hits, query_label(args), output):
                print(f"wrote {path}", file=sys.stderr)
    if answer.kind == "text" and query.prompt:
        print(f"prompt: {answer.prompt}", file=sys.stderr)
    if answer.reranked is not None:
        print(answer.reranked.line(), file=sys.stderr)
    if args.json:
        print(json.dumps([r.to_dict() for r in answer.results], indent=2, ensure_ascii=False))
        return 0
    if not answer.results:
        print(f"no results: {answer.empty_reason}")
    elif answer.cue_undefined:
        print(f"no relevance cue: {answer.cue_undefined}", file=sys.stderr)
    elif not answer.strong_matches:
        print("no strong matches: no result stands out from the dataset's other items", file=sys.stderr)
    else:
        print("* = a strong match: it stands out from the dataset's other items", file=sys.stderr)
    for rank, (result, cue) in enumerate(zip(answer.results, answer.relevance, strict=True), start=1):
        path = result.video_path or result.pose_path
        mark = "*" if cue.strong else " "
        dtw = f"  dtw {result.dtw_distance:.4f}" if result.dtw_distance is not None else ""
        print(
            f"{rank:>3}{mark} {result.distance:.4f}{dtw}  {result.gloss or result.text:<20}  {result.signer:<10}  "
            f"{result.time_range or '-':<15}  {path}"
        )
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    """Run `signclip search evaluate`: all-against-all retrieval, report files and headline figures."""
    from signclip.evaluation.report import write_report
    from signclip.evaluation.search import evaluate_dataset
    from signclip.search.models import choose_model_name
    from signclip.store.store import Store

    method = "rerank" if args.rerank else args.method
    out_dir = Path(args.out_dir or Path("outputs") / "search-evaluate" / f"{args.dataset}-{method}")
    if args.rerank:
        return _run_comparison(args, out_dir)
    with Store.open(args.database_url) as store:
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


def _run_comparison(args: argparse.Namespace, out_dir: Path) -> int:
    """`search evaluate --rerank dtw`: every method side by side; the hybrid's weight kept for the dataset."""
    from signclip.search.models import choose_model_name
    from signclip.search.rerank import compare_and_keep
    from signclip.store.store import Store

    with Store.open(args.database_url) as store:
        model = choose_model_name(store, args.dataset, args.model)
        comparison, kept = compare_and_keep(store, args.dataset, model, args.candidates, args.queries, args.folds)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "comparison.json").write_text(json.dumps(comparison.to_dict(), indent=2) + "\n")
    for line in comparison.lines():
        print(line)
    if kept:
        print(kept, file=sys.stderr)
    print(f"wrote comparison.json to {out_dir}", file=sys.stderr)
    return 0


def _figure(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
