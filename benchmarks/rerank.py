"""Search by example with the training-free index and DTW re-ranking at N items, beside brute-force DTW.

Builds, in a temporary embedded PostgreSQL, a dataset of N items (default 100,000) made from real poses (the
shared fingerspelling poses, else the synthetic signer): each item is one of them, played at a random speed
(0.7-1.4x) with a little noise, stored as the training-free index stores it: its `pose-dtw` vector (HNSW,
l2) and its pose as DTW compares it (`pose_sequences`). Queries are the real poses themselves. For each
query it times `service.search` (the index's top C candidates re-ranked by DTW: what the API does, with the
server's search cache) and, on the same items, the baseline: brute-force DTW of the query against all N
stored sequences, which is what the re-ranking approximates; it prints p50/p99 of both, the ratio, and how
often DTW's own top 10 was among the C candidates.

    python benchmarks/rerank.py --items 100000 --queries 30 --brute-force 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from signclip.evaluation.dtw import DTWSettings, dtw_distance_matrix, subsampled_frames
from signclip.model.pose_dtw import PoseDTWIndex
from signclip.poses.transforms import PoseTensor
from signclip.search.rerank import DEFAULT_CANDIDATES, query_sequence
from signclip.search.service import Query, search
from signclip.store.store import Store

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fingerspelling"


def real_poses(count: int) -> list:
    """Up to `count` real poses: the shared fingerspelling poses, else the synthetic signer's."""
    from signclip.poses.io import read_pose

    if SHARED.is_dir():
        return [read_pose(path) for path in sorted(SHARED.rglob("*.pose"))[:count]]
    from signclip.data.synthetic import synthetic_pose

    return [synthetic_pose(gloss % 12, gloss // 12) for gloss in range(count)]


def warped(sequence: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """`sequence` (frames, features) played at a random speed (linear interpolation) with a little noise."""
    frames = max(2, round(len(sequence) / rng.uniform(0.7, 1.4)))
    positions = np.linspace(0, len(sequence) - 1, frames)
    low = np.floor(positions).astype(int)
    high = np.minimum(low + 1, len(sequence) - 1)
    weight = (positions - low)[:, None]
    played = sequence[low] * (1 - weight) + sequence[high] * weight
    return (played + rng.normal(0, 0.02, size=played.shape)).astype(np.float32)


def build(store: Store, sources: list[np.ndarray], items: int, index: PoseDTWIndex) -> None:
    """Store `items` warped copies of `sources` as dataset "big", as the training-free index would."""
    rng = np.random.default_rng(0)
    store.register_model(index.name, index.embed_dim, {"fingerprint": index.known_fingerprint, "metric": "l2"})
    for start in range(0, items, 10_000):
        count = min(10_000, items - start)
        picks = rng.integers(len(sources), size=count)
        sequences = [warped(sources[i], rng) for i in picks]
        rows = [{"id": f"item-{start + n}", "pose_path": f"/synthetic/{start + n}.pose", "gloss": f"G{p}"}
                for n, p in enumerate(picks)]  # fmt: skip
        ids = store.add_items("big", rows)
        vectors = np.stack([index.features(PoseTensor(s, np.ones(len(s), dtype=bool))) for s in sequences])
        store.add_embeddings(index.name, ids, vectors.astype(np.float32))
        store.add_pose_sequences(ids, "fingerclip", sequences)
    store.build_index(index.name)
    store.connection.execute("VACUUM ANALYZE pose_sequences")  # settled, as autovacuum leaves a finished table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=30, help="timed searches (each a real pose)")
    parser.add_argument("--brute-force", type=int, default=3, help="queries also timed by brute-force DTW")
    parser.add_argument("--candidates", type=int, default=DEFAULT_CANDIDATES)
    args = parser.parse_args()

    from signclip.search.cache import SearchCache
    from signclip.search.rerank import Rerank

    index, dtw = PoseDTWIndex(), DTWSettings()
    poses = real_poses(max(args.queries, 50))
    sources = [subsampled_frames(query_sequence(pose)[0], dtw.max_frames) for pose in poses]
    with tempfile.TemporaryDirectory(prefix="signclip-rerank-") as temporary:
        os.chmod(temporary, 0o755)  # the embedded server's own user must reach its data folder when run as root
        with Store.open(home=Path(temporary) / "home") as store:
            started = time.perf_counter()
            build(store, sources, args.items, index)
            print(f"{args.items} items stored (vectors, HNSW, DTW sequences) in {time.perf_counter() - started:.0f} s")
            ids, _ = store.vectors("big", index.name)
            stored = store.pose_sequences(ids, "fingerclip")
            everything = [PoseTensor(stored[int(i)], np.ones(len(stored[int(i)]), dtype=bool)) for i in ids]
            key_of = dict(zip(store.items("big")["item_id"], store.items("big")["key"], strict=True))
            rerank, cache = Rerank("dtw", args.candidates), SearchCache()  # the server keeps one cache
            search(store, index, "big", Query(pose=poses[0]), k=10, rerank=rerank, cache=cache)  # fills it
            times, found = [], []
            for n, pose in enumerate(poses[: args.queries]):
                begun = time.perf_counter()
                answer = search(store, index, "big", Query(pose=pose), k=10, rerank=rerank, cache=cache)
                times.append(time.perf_counter() - begun)
                if n < args.brute_force:
                    begun = time.perf_counter()
                    distances = dtw_distance_matrix([query_sequence(pose)[0]], everything)[0]
                    found.append((time.perf_counter() - begun, distances, answer))
    brute = [seconds for seconds, _, _ in found]
    p50, p99 = statistics.median(times) * 1000, float(np.percentile(times, 99)) * 1000
    print(f"index + DTW re-rank of the top {args.candidates}: p50 {p50:.1f} ms, p99 {p99:.1f} ms, {len(times)} queries")
    slow = statistics.median(brute)
    print(f"baseline, brute-force DTW against all {args.items}: {slow * 1000:.0f} ms per query ({len(brute)} queries)")
    print(f"the index with re-ranking is {slow / statistics.median(times):.0f}x faster than the baseline")
    agree = []
    for _, distances, answer in found:
        top = {key_of[int(ids[i])] for i in np.argsort(distances, kind="stable")[:10]}
        agree.append(len(top & {hit.key for hit in answer.results}) / 10)
    print(f"share of brute-force DTW's top 10 in the re-ranked top 10: {np.mean(agree):.3f}")


if __name__ == "__main__":
    main()
