"""The Ray pipeline against the local one, in the same run: extraction, embedding, loading into the store.

1. Extraction: `signclip extract DIR -o OUT --workers W` (the process pool) against the same command with
   `--engine ray` (a local Ray started by the command), both as fresh commands on `--copies` copies of the
   fixture video, best of `--repeats`; videos/s and the ratio ray / pool (target >= 0.9). Given two or
   more `--copies`, also the marginal rate between the smallest and the largest run, (n2 - n1) / (t2 - t1),
   for each engine: the throughput once both are started, which is what a large collection sees.
2. Embedding: the fingerspelling poses (or `--poses N` synthetic ones) embedded in this process with one
   model (the baseline) against `cluster.embed.embed_manifest` on W Ray actors; embeddings/s, the ratio,
   and the largest difference between the two.
3. Loading: `--vectors` random unit vectors written as shards and bulk-loaded (`search.bulk.load_embeddings`:
   one binary COPY stream, index built after) against what `index add` does (`Store.add_embeddings` per
   batch of 64 into an indexed table); rows/s and the ratio.

    python benchmarks/pipeline.py [--copies 8 [24 ...]] [--workers 2] [--repeats 1] [--vectors 50000] [--dim 384]
                                  [--stages extraction embedding loading]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SHARED = Path(__file__).resolve().parents[2] / "shared"


def timed_command(command: list[str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
    return time.perf_counter() - start


def extraction(folder: Path, copies: int, workers: int, repeats: int) -> dict[str, float]:
    """Time both engines on `copies` videos; returns the best seconds of each."""
    videos = folder / f"videos-{copies}"
    videos.mkdir()
    for index in range(copies):
        shutil.copy(SHARED / "fixtures" / "test_video.mp4", videos / f"v{index}.mp4")
    signclip = str(Path(sys.executable).with_name("signclip"))
    best = {"pool": float("inf"), "ray": float("inf")}
    for repeat in range(repeats):
        for engine in ("pool", "ray") if repeat % 2 == 0 else ("ray", "pool"):
            out = folder / f"out-{engine}-{copies}"
            shutil.rmtree(out, ignore_errors=True)
            command = [signclip, "extract", str(videos), "-o", str(out), "--workers", str(workers), "--no-progress"]
            best[engine] = min(best[engine], timed_command([*command, "--engine", engine]))
    outputs = sorted((folder / f"out-ray-{copies}").glob("*.pose"))
    same = len(outputs) == copies and all(
        (folder / f"out-pool-{copies}" / p.name).read_bytes() == p.read_bytes() for p in outputs
    )
    print(f"extraction, {copies} videos x 58 frames, {workers} workers (fresh commands, best of {repeats}):")
    for engine, seconds in best.items():
        print(f"  {engine:<5} {seconds:6.1f} s  {copies / seconds:.2f} videos/s  {copies * 58 / seconds:.1f} frames/s")
    print(f"  ray / pool: {best['pool'] / best['ray']:.2f}x (target >= 0.9); outputs byte-identical: {same}")
    return best


def marginal(sizes: list[int], runs: list[dict[str, float]]) -> None:
    """Print each engine's videos/s between the smallest and the largest run, and their ratio."""
    (small, first), (large, last) = (sizes[0], runs[0]), (sizes[-1], runs[-1])
    rates = {engine: (large - small) / max(last[engine] - first[engine], 1e-9) for engine in first}
    print(f"marginal rate from {small} to {large} videos (start-up excluded):")
    for engine, rate in rates.items():
        print(f"  {engine:<5} {rate:.2f} videos/s")
    print(f"  ray / pool: {rates['ray'] / rates['pool']:.2f}x")


def embedding(folder: Path, workers: int) -> None:
    from signclip.cluster.embed import embed_manifest
    from signclip.cluster.session import RayOptions
    from signclip.data.table import TableSource, load_table, read_table_poses
    from signclip.model.hub import load_model
    from signclip.store.shards import read_shards

    root = SHARED / "data" / "fingerspelling"
    source = TableSource(dataset="fingerspelling-lexicon", root=str(root)) if root.is_dir() else None
    table = load_table(source) if source else load_table(TableSource(synthetic={"glosses": 12}), folder)
    model = load_model("signclip-small")
    start = time.perf_counter()
    local = model.embed_poses(read_table_poses(table), batch_size=64)
    local_seconds = time.perf_counter() - start
    start = time.perf_counter()
    report = embed_manifest(table, "signclip-small", folder / "shards", RayOptions(num_cpus=workers), actors=workers)
    ray_seconds = time.perf_counter() - start
    shards = read_shards([folder / "shards"])
    order = {key: row for row, key in enumerate(shards.ids)}
    difference = np.abs(shards.vectors[[order[k] for k in table["id"]]] - local).max()
    print(f"embedding {len(table)} poses with signclip-small:")
    print(f"  in process (baseline): {len(table) / local_seconds:.1f} poses/s")
    print(f"  ray, {report.actors} actors (start-up included): {len(table) / ray_seconds:.1f} poses/s")
    print(f"  ray / in process: {local_seconds / ray_seconds:.2f}x; largest difference {difference:.1e}")


def loading(folder: Path, count: int, dim: int) -> None:
    import pandas as pd

    from signclip.store.bulk import load_embeddings
    from signclip.store.shards import shard_bytes
    from signclip.store.store import Store

    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((count, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    keys = [f"item-{i}" for i in range(count)]
    rows = pd.DataFrame({"id": keys, "pose_path": [f"/p/{k}.pose" for k in keys], "text": "x"})
    (folder / "load").mkdir()
    for part, start in enumerate(range(0, count, 10_000)):
        data = shard_bytes(keys[start : start + 10_000], vectors[start : start + 10_000], "bench", "b" * 64)
        (folder / "load" / f"part-{part}.parquet").write_bytes(data)
    with Store.open(home=folder / "home") as store:
        item_ids = store.add_items("bulk", rows)
        store.add_items("batches", rows)
        start = time.perf_counter()
        report = load_embeddings(store, "bulk", [folder / "load"])
        bulk_seconds = time.perf_counter() - start
        batch_ids = store.items("batches")["item_id"].to_numpy()
        store.register_model("bench-batches", dim)
        store.build_index("bench-batches")
        start = time.perf_counter()
        for begin in range(0, count, 64):
            store.add_embeddings("bench-batches", batch_ids[begin : begin + 64], vectors[begin : begin + 64])
        batch_seconds = time.perf_counter() - start
        assert len(item_ids) == count
    print(f"loading {count} x {dim} vectors into PostgreSQL + pgvector:")
    print(f"  index add's path (batches of 64 into an indexed table): {count / batch_seconds:,.0f} rows/s")
    print(
        f"  bulk load: {count / bulk_seconds:,.0f} rows/s (COPY {report.load_seconds:.1f} s, "
        f"HNSW build {report.index_seconds:.1f} s); ratio {batch_seconds / bulk_seconds:.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, nargs="+", default=[8])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--vectors", type=int, default=50_000)
    parser.add_argument("--dim", type=int, default=384)
    stages = ("extraction", "embedding", "loading")
    parser.add_argument("--stages", nargs="+", choices=stages, default=list(stages))
    args = parser.parse_args()
    sizes = sorted(set(args.copies))
    with tempfile.TemporaryDirectory(prefix="signclip-pipeline-") as folder:
        if "extraction" in args.stages:
            runs = [extraction(Path(folder), copies, args.workers, args.repeats) for copies in sizes]
            if len(sizes) > 1:
                marginal(sizes, runs)
        if "embedding" in args.stages:
            embedding(Path(folder), args.workers)
        if "loading" in args.stages:
            loading(Path(folder), args.vectors, args.dim)


if __name__ == "__main__":
    main()
