"""Search store benchmark: ingest, HNSW build, size, memory, k-NN latency and recall per vector type, against
NumPy and FAISS baselines.

For each size x dimension, clustered synthetic unit vectors (a mixture of Gaussians, ~100 points a cluster:
closer to real embeddings than plain Gaussian noise, which is HNSW's pessimistic case) are drawn once; for each
vector type (`vector` float32, `halfvec` float16, `binary` quantization re-ranked on float32) a fresh database
gets them bulk-ingested (binary COPY, through `Store.add_items` / `Store.add_embeddings`), the model's HNSW
index is built, table and index sizes and the PostgreSQL server's memory are read, and held-out queries run
through `Store.search` (the code the CLI uses). ef_search is raised until recall@k against exact search
reaches the target on the held-out queries; the chosen ef_search is then checked on `--check-queries` other
queries from the same mixture that the choice never saw (the recall and latency to quote). Baselines
measured in the same run: exact NumPy brute force (the recall reference), pgvector's exact scan, the first
vector type (the named baseline of the ratios), an in-process FAISS HNSW index with the same m /
ef_construction, and pgvector's per-row binary COPY. Last, the exact all-against-all top-k over the vectors.

    python benchmarks/search.py                                   # modest default: 20k x 384, vector
    python benchmarks/search.py --sizes 1000000 --vector-types vector halfvec binary --all-against-all 0
    python benchmarks/search.py --sizes 2000000 --vector-types halfvec --m 32 --ef-construction 128 --no-faiss

The vectors depend only on size, dimension and --queries (seeded), so `--no-faiss` reruns a graph setting
against the FAISS anchor of an earlier run of the same size.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
import psycopg
from psycopg.conninfo import make_conninfo

from signclip.evaluation.ranking import symmetric_top_k
from signclip.store import knn
from signclip.store.embedded_postgres import EmbeddedPostgres
from signclip.store.indexes import GraphSettings
from signclip.store.pgbinary import encode_id_vector_rows
from signclip.store.store import Store
from signclip.store.vector_types import VECTOR_TYPES, vector_type

MODEL = "bench"
STARTED = time.perf_counter()


def progress(message: str) -> None:
    """Print one progress line to stderr (minutes since start): long runs show where they are."""
    print(f"[{(time.perf_counter() - STARTED) / 60:6.1f} min] {message}", file=sys.stderr, flush=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000], help="vector counts (20000)")
    parser.add_argument("--dims", type=int, nargs="+", default=[384], help="dimensions (384; 768 = original model)")
    parser.add_argument("--queries", type=int, default=200, help="held-out queries per run (200)")
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--recall-target", type=float, default=0.95)
    parser.add_argument(
        "--ef-search", type=int, nargs="+", default=[20, 40, 64, 100, 128, 160, 200, 250, 300, 400, 600, 800, 1000]
    )
    parser.add_argument(
        "--vector-types",
        nargs="+",
        default=["vector"],
        choices=list(VECTOR_TYPES),
        help="vector types to store the vectors as, each in its own database; the first is the ratios' baseline",
    )
    parser.add_argument("--m", type=int, default=16)
    parser.add_argument("--ef-construction", type=int, default=64)
    parser.add_argument(
        "--check-queries",
        type=int,
        default=200,
        help="unseen queries the chosen ef_search is checked on (200; 0: skip the check)",
    )
    parser.add_argument("--exact-queries", type=int, default=20, help="queries for pgvector's exact scan (20)")
    parser.add_argument(
        "--all-against-all", type=int, default=None, help="items for the all-against-all run (0: skip it)"
    )
    parser.add_argument(
        "--no-faiss",
        action="store_true",
        help="skip the FAISS anchor (when a run on the same vectors, same size and dimension, already measured it)",
    )
    parser.add_argument("--database-url", help="benchmark on this server (default: a temporary embedded one)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    return parser.parse_args()


def clustered_unit_vectors(count: int, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (vectors (count, dim) float32 unit length, cluster labels): ~100 points per cluster."""
    rng = np.random.default_rng(seed)
    clusters = max(10, count // 100)
    centers = rng.normal(size=(clusters, dim)).astype(np.float32)
    labels = rng.integers(0, clusters, count)
    vectors = np.empty((count, dim), dtype=np.float32)
    for start in range(0, count, 100_000):
        stop = min(start + 100_000, count)
        chunk = centers[labels[start:stop]] + 0.6 * rng.normal(size=(stop - start, dim)).astype(np.float32)
        vectors[start:stop] = chunk / np.linalg.norm(chunk, axis=1, keepdims=True)
    return vectors, labels


def unseen_queries(total: int, dim: int, seed: int, count: int) -> np.ndarray:
    """`count` more unit vectors from the mixture of `clustered_unit_vectors(total, dim, seed)` (its cluster
    centers; other members and noise), which neither the stored vectors nor the held-out queries include."""
    centers = np.random.default_rng(seed).normal(size=(max(10, total // 100), dim)).astype(np.float32)
    rng = np.random.default_rng([seed, 1])
    points = centers[rng.integers(0, len(centers), count)] + 0.6 * rng.normal(size=(count, dim)).astype(np.float32)
    return points / np.linalg.norm(points, axis=1, keepdims=True)


def exact_top_k(vectors: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, list[float]]:
    """NumPy brute force, one query at a time on one thread (like one PostgreSQL backend or one FAISS
    search): ids (Q, k), seconds per query."""
    from threadpoolctl import threadpool_limits

    ids, seconds = [], []
    with threadpool_limits(1):
        for query in queries:
            started = time.perf_counter()
            scores = vectors @ query
            top = np.argpartition(-scores, k)[:k]
            ids.append(top[np.argsort(-scores[top])])
            seconds.append(time.perf_counter() - started)
    return np.array(ids), seconds


def recall(found: list[list[int]], truth: np.ndarray, k: int) -> float:
    return float(np.mean([len(set(f[:k]) & set(t[:k])) / k for f, t in zip(found, truth, strict=True)]))


def percentiles_ms(seconds: list[float]) -> tuple[float, float]:
    return float(np.percentile(seconds, 50) * 1000), float(np.percentile(seconds, 99) * 1000)


def pg_queries(store: Store, queries: np.ndarray, k: int, exact: bool) -> tuple[list[list[int]], list[float]]:
    """Run queries through Store.search; returns result positions (item id - 1) and seconds per query."""
    found, seconds = [], []
    for query in queries:
        started = time.perf_counter()
        results = store.search("bench", MODEL, query, k=k, exact=exact)
        seconds.append(time.perf_counter() - started)
        found.append([r.item_id - 1 for r in results])
    return found, seconds


def tune(
    label: str, candidates: list[int], target: float, run_at: Callable[[int], tuple[float, list[float]]]
) -> tuple[int, float, list[float], list[tuple[int, float]]]:
    """Raise ef_search through `candidates` until recall >= target; returns ef, recall, seconds, the sweep."""
    sweep = []
    for ef in candidates:
        found_recall, seconds = run_at(ef)
        sweep.append((ef, round(found_recall, 4)))
        progress(f"{label} ef_search {ef}: recall {found_recall:.3f}, p50 {np.percentile(seconds, 50) * 1000:.2f} ms")
        if found_recall >= target:
            break
    return ef, found_recall, seconds, sweep


def raw_copy_seconds(connection: psycopg.Connection, vectors: np.ndarray) -> tuple[float, float]:
    """Seconds to binary-COPY (id, vector) rows into a scratch table: (NumPy-encoded stream as the store
    does, the baseline of one `write_row` per row with pgvector's binary dumper)."""
    connection.execute("CREATE TEMP TABLE copy_scratch (item_id bigint, vector vector)")
    statement = "COPY copy_scratch (item_id, vector) FROM STDIN WITH (FORMAT BINARY)"
    started = time.perf_counter()
    with connection.transaction(), connection.cursor() as cursor, cursor.copy(statement) as copy:
        copy.write(encode_id_vector_rows(np.arange(len(vectors)), vectors))
    encoded = time.perf_counter() - started
    connection.execute("TRUNCATE copy_scratch")
    started = time.perf_counter()
    with connection.transaction(), connection.cursor() as cursor, cursor.copy(statement) as copy:
        copy.set_types(["int8", "vector"])
        for index, vector in enumerate(vectors):
            copy.write_row([index, vector])
    per_row = time.perf_counter() - started
    connection.execute("DROP TABLE copy_scratch")
    return encoded, per_row


def server_memory_mb(connection: psycopg.Connection) -> dict:
    """The PostgreSQL server's memory (postmaster and every child process; the server must run on this machine):
    the sum of RSS (counts shared buffers once per process that touched them) and of PSS (shared pages split
    between the processes: what the server really holds), and this connection's backend's RSS, in MiB."""
    import psutil

    backend = psutil.Process(connection.execute("SELECT pg_backend_pid()").fetchone()[0])
    postmaster = backend.parent()
    processes = [postmaster, *postmaster.children(recursive=True)]
    infos = [process.memory_full_info() for process in processes]
    return {
        "server_rss_mb": sum(info.rss for info in infos) / 2**20,
        "server_pss_mb": sum(info.pss for info in infos) / 2**20,
        "backend_rss_mb": backend.memory_info().rss / 2**20,
        "server_processes": len(processes),
    }


def check_choice(
    figures: dict,
    prefix: str,
    run_at: Callable[[np.ndarray, np.ndarray], tuple[float, list[float]]],
    check: tuple[np.ndarray, np.ndarray] | None,
) -> None:
    """Run the unseen check queries (`check`: (queries, truth) or None) at the chosen ef_search; adds
    `<prefix>_check_recall`, `_check_p50_ms` and `_check_p99_ms` to `figures`."""
    if check is None:
        return
    found_recall, seconds = run_at(*check)
    figures[f"{prefix}_check_recall"] = found_recall
    figures[f"{prefix}_check_p50_ms"], figures[f"{prefix}_check_p99_ms"] = percentiles_ms(seconds)


def type_figures(
    server_url: str,
    kind: str,
    vectors: np.ndarray,
    labels: np.ndarray,
    queries: np.ndarray,
    truth: np.ndarray,
    check: tuple[np.ndarray, np.ndarray] | None,
    args,
) -> dict:
    """Ingest, build, size, memory and queries for the vectors stored as vector type `kind`, in a fresh database."""
    count, dim = vectors.shape
    name = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    figures: dict = {"vector_type": kind}
    try:
        with Store.open(make_conninfo(server_url, dbname=name)) as store:
            store.use_vector_type("bench", kind)
            rows = [{"id": str(i), "pose_path": f"synthetic/{i}.pose", "gloss": f"c{labels[i]}"} for i in range(count)]
            progress(f"{kind}: ingesting {count:,} items")
            started = time.perf_counter()
            ids = store.add_items("bench", rows, batch_size=50_000)
            figures["items_ingest_s"] = time.perf_counter() - started
            assert ids[0] == 1 and ids[-1] == count  # positions = item id - 1
            del rows
            progress(f"{kind}: copying {count:,} vectors")
            started = time.perf_counter()
            store.add_embeddings(MODEL, ids, vectors, batch_size=50_000)
            figures["copy_vectors_s"] = time.perf_counter() - started
            if kind == args.vector_types[0]:
                sample = vectors[: min(count, 50_000)]
                figures["raw_copy_rows"] = len(sample)
                figures["raw_copy_s"], figures["raw_copy_per_row_s"] = raw_copy_seconds(store.connection, sample)
            index_bytes_per_dim = 1 / 8 if vector_type(kind).quantized else vector_type(kind).bytes_per_dim
            graph_bytes = count * (index_bytes_per_dim * dim + 16 * args.m + 64)
            memory = f"{max(1, int(np.ceil(1.3 * graph_bytes / 2**30)))}GB"
            progress(f"{kind}: building the HNSW index (maintenance_work_mem {memory})")
            started = time.perf_counter()
            store.build_index(MODEL, graph=GraphSettings(args.m, args.ef_construction), maintenance_work_mem=memory)
            figures["hnsw_build_s"] = time.perf_counter() - started
            figures["maintenance_work_mem"] = memory
            index = knn.index_name(store.model(MODEL).id, "cosine", kind)
            figures["table_mb"], figures["index_mb"] = (
                value / 2**20
                for value in store.connection.execute(
                    "SELECT pg_table_size('embeddings'), pg_relation_size(%s)", [index]
                ).fetchone()
            )

            progress(f"{kind}: index built in {figures['hnsw_build_s']:.0f} s; querying")
            exact_found, exact_seconds = pg_queries(store, queries[: args.exact_queries], args.k, exact=True)
            figures["pg_exact_recall"] = recall(exact_found, truth[: args.exact_queries], args.k)
            figures["pg_exact_p50_ms"], figures["pg_exact_p99_ms"] = percentiles_ms(exact_seconds)

            def pg_on(these: np.ndarray, their_truth: np.ndarray) -> tuple[float, list[float]]:
                pg_queries(store, these[:20], args.k, exact=False)  # warm the index pages
                found, seconds = pg_queries(store, these, args.k, exact=False)
                return recall(found, their_truth, args.k), seconds

            def pg_at(ef: int) -> tuple[float, list[float]]:
                store.set_ef_search(ef)
                return pg_on(queries, truth)

            ef, figures["pg_recall"], seconds, figures["pg_sweep"] = tune(
                kind, args.ef_search, args.recall_target, pg_at
            )
            figures["pg_ef_search"] = ef
            figures["pg_p50_ms"], figures["pg_p99_ms"] = percentiles_ms(seconds)
            check_choice(figures, "pg", pg_on, check)
            figures |= server_memory_mb(store.connection)
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    return figures


def benchmark(server_url: str, count: int, dim: int, args: argparse.Namespace) -> dict:
    """Every figure of one size x dimension: the NumPy reference, each vector type, then FAISS."""
    vectors, labels = clustered_unit_vectors(count + args.queries, dim, seed=count + dim)
    vectors, queries = vectors[:count], vectors[count:]
    figures: dict = {
        "vectors": count,
        "dim": dim,
        "queries": args.queries,
        "k": args.k,
        "m": args.m,
        "ef_construction": args.ef_construction,
        "load_average_at_start": os.getloadavg()[0],
    }
    progress(f"{count:,} x {dim}: exact NumPy top-{args.k} of {args.queries} queries")
    truth, numpy_seconds = exact_top_k(vectors, queries, args.k)
    figures["numpy_p50_ms"], figures["numpy_p99_ms"] = percentiles_ms(numpy_seconds)
    check = None
    if args.check_queries:
        unseen = unseen_queries(count + args.queries, dim, count + dim, args.check_queries)
        check = (unseen, exact_top_k(vectors, unseen, args.k)[0])
    figures["check_queries"] = args.check_queries
    figures["types"] = [
        type_figures(server_url, kind, vectors, labels[:count], queries, truth, check, args)
        for kind in args.vector_types
    ]
    if not args.no_faiss:
        figures |= faiss_figures(vectors, queries, truth, check, args)
    figures["load_average_at_end"] = os.getloadavg()[0]
    return figures


def faiss_figures(
    vectors: np.ndarray,
    queries: np.ndarray,
    truth: np.ndarray,
    check: tuple[np.ndarray, np.ndarray] | None,
    args: argparse.Namespace,
) -> dict:
    import faiss

    index = faiss.IndexHNSWFlat(vectors.shape[1], args.m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = args.ef_construction
    progress(f"FAISS: building HNSW over {len(vectors):,} vectors")
    started = time.perf_counter()
    index.add(vectors)
    build = time.perf_counter() - started

    def faiss_on(these: np.ndarray, their_truth: np.ndarray) -> tuple[float, list[float]]:
        found, seconds = [], []
        for query in these:
            started = time.perf_counter()
            _, ids = index.search(query[None, :], args.k)
            seconds.append(time.perf_counter() - started)
            found.append(ids[0].tolist())
        return recall(found, their_truth, args.k), seconds

    def faiss_at(ef: int) -> tuple[float, list[float]]:
        index.hnsw.efSearch = ef
        return faiss_on(queries, truth)

    ef, found_recall, seconds, sweep = tune("FAISS", args.ef_search, args.recall_target, faiss_at)
    p50, p99 = percentiles_ms(seconds)
    checked: dict = {}
    check_choice(checked, "faiss", faiss_on, check)
    return checked | {
        "faiss_build_s": build,
        "faiss_ef_search": ef,
        "faiss_recall": found_recall,
        "faiss_p50_ms": p50,
        "faiss_p99_ms": p99,
        "faiss_sweep": sweep,
    }


def all_against_all(count: int, dim: int, k: int) -> dict:
    vectors, _ = clustered_unit_vectors(count, dim, seed=7)
    started = time.perf_counter()
    symmetric_top_k(vectors, k, progress=False)
    return {"vectors": count, "dim": dim, "k": k, "seconds": time.perf_counter() - started}


def print_figures(figures: dict) -> None:
    """Print one size x dimension's figures: ingest and build per type, then one row per k-NN method."""
    n, d, types = figures["vectors"], figures["dim"], figures["types"]
    base = types[0]
    print(f"\n== {n:,} x {d} ({figures['queries']} held-out queries, k={figures['k']}) ==")
    print(
        f"load average {figures['load_average_at_start']:.1f} at start, {figures['load_average_at_end']:.1f} at end; "
        f"HNSW m {figures['m']}, ef_construction {figures['ef_construction']}"
    )
    if "raw_copy_s" in base:
        raw_rate = base["raw_copy_rows"] / base["raw_copy_s"]
        baseline_rate = base["raw_copy_rows"] / base["raw_copy_per_row_s"]
        print(
            f"raw binary COPY of {base['raw_copy_rows']:,} rows: NumPy-encoded {raw_rate:,.0f} rows/s vs per-row "
            f"write_row baseline {baseline_rate:,.0f} rows/s (x{raw_rate / baseline_rate:.1f})"
        )
    print(
        f"{'vector type':<10}{'items s':>9}{'vectors s':>10}{'rows/s':>9}{'build s':>9}{'work_mem':>9}"
        f"{'table MiB':>10}{'index MiB':>10}{'RSS MiB':>9}{'PSS MiB':>9}{'build/base':>11}{'index/base':>11}"
    )
    for t in types:
        print(
            f"{t['vector_type']:<10}{t['items_ingest_s']:>9.1f}{t['copy_vectors_s']:>10.1f}"
            f"{n / t['copy_vectors_s']:>9,.0f}{t['hnsw_build_s']:>9.1f}{t['maintenance_work_mem']:>9}"
            f"{t['table_mb']:>10,.0f}{t['index_mb']:>10,.0f}{t['server_rss_mb']:>9,.0f}{t['server_pss_mb']:>9,.0f}"
            f"{t['hnsw_build_s'] / base['hnsw_build_s']:>11.2f}{t['index_mb'] / base['index_mb']:>11.2f}"
        )
    has_faiss = "faiss_build_s" in figures
    if has_faiss:
        print(f"FAISS HNSW build {figures['faiss_build_s']:.1f} s (in process, float32)")
    for t in types:
        print(f"ef_search sweep (ef, recall@k), {t['vector_type']}: {t['pg_sweep']}")
    if has_faiss:
        print(f"ef_search sweep (ef, recall@k), FAISS: {figures['faiss_sweep']}")
    rows = [("NumPy exact (reference)", 1.0, figures["numpy_p50_ms"], figures["numpy_p99_ms"])]
    for t in types:
        rows.append(
            (f"{t['vector_type']} exact scan", t["pg_exact_recall"], t["pg_exact_p50_ms"], t["pg_exact_p99_ms"])
        )
    for t in types:
        label = f"{t['vector_type']} HNSW ef {t['pg_ef_search']}"
        rows.append((label, t["pg_recall"], t["pg_p50_ms"], t["pg_p99_ms"]))
    if has_faiss:
        faiss_row = (f"FAISS HNSW efSearch {figures['faiss_ef_search']}", figures["faiss_recall"])
        rows.append((*faiss_row, figures["faiss_p50_ms"], figures["faiss_p99_ms"]))
    base_label = f"p50 / {base['vector_type']}"
    faiss_label = "p50 / FAISS" if has_faiss else ""
    print(f"{'k-NN query':<30}{'recall@k':>9}{'p50 ms':>9}{'p99 ms':>9}{base_label:>15}{faiss_label:>13}")
    for label, found_recall, p50, p99 in rows:
        versus_faiss = f"{p50 / figures['faiss_p50_ms']:>13.2f}" if has_faiss else ""
        print(f"{label:<30}{found_recall:>9.3f}{p50:>9.2f}{p99:>9.2f}{p50 / base['pg_p50_ms']:>15.2f}{versus_faiss}")
    checks = [(f"{t['vector_type']} HNSW ef {t['pg_ef_search']}", t, "pg") for t in types]
    if has_faiss:
        checks.append((f"FAISS HNSW efSearch {figures['faiss_ef_search']}", figures, "faiss"))
    checks = [(label, found, prefix) for label, found, prefix in checks if f"{prefix}_check_recall" in found]
    if checks:
        print(f"the chosen ef_search on {figures['check_queries']} unseen queries (the figures to quote):")
        for label, found, prefix in checks:
            print(
                f"{label:<30}{found[f'{prefix}_check_recall']:>9.3f}{found[f'{prefix}_check_p50_ms']:>9.2f}"
                f"{found[f'{prefix}_check_p99_ms']:>9.2f}"
            )


def main() -> None:
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))  # the finally stops the server
    home = None
    url = args.database_url
    if url is None:
        home = Path(tempfile.mkdtemp(prefix="signclip-bench-"))
        url = EmbeddedPostgres(home).start()
    results = {"runs": [], "all_against_all": None}
    try:
        for count in args.sizes:
            for dim in args.dims:
                figures = benchmark(url, count, dim, args)
                print_figures(figures)
                results["runs"].append(figures)
    finally:
        if home is not None:
            EmbeddedPostgres(home).stop()
            shutil.rmtree(home, ignore_errors=True)
    aaa_count = min(max(args.sizes), 100_000) if args.all_against_all is None else args.all_against_all
    if aaa_count:
        aaa = all_against_all(aaa_count, args.dims[0], args.k)
        results["all_against_all"] = aaa
        print(
            f"\nall-against-all exact top-{aaa['k']} over {aaa['vectors']:,} x {aaa['dim']} "
            f"(symmetric blocked matrix products): {aaa['seconds']:.1f} s"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
