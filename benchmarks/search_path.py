"""The search path on a large dataset: `signclip search` wall time and HTTP search latency at N items.

Builds, in a temporary folder, a dataset of N items (default 100,000) whose vectors are random unit vectors
stored under a saved `signclip-small` (untrained: the figures time the path, not the answers), with its
HNSW index, in an embedded PostgreSQL. Then it times, for text and pose queries:
- `signclip search --dataset big --text WORD -k 10` as a new process, wall clock (median of --repeats);
- one HTTP client against `signclip serve`, sequential requests (p50/p99 over --requests);
- the baseline: the same query embedded in process and `Store.search` alone (no relevance cue, no model
  checks, no HTTP), which every other row does and more.

It runs against whatever `signclip` the interpreter imports, so the same script measures a checkout of an
older commit too (PYTHONPATH=OLD/src): that is how the before/after figures in docs/benchmarks.md were made.

    python benchmarks/search_path.py --items 100000 --repeats 5 --requests 200
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from api_load import free_port, start_server

try:  # the store moved rooms; both layouts are measured with this script
    from signclip.store.store import Store
except ImportError:  # pragma: no cover - an older checkout
    from signclip.search.store import Store


def build(folder: Path, items: int, seed: int = 0) -> tuple[Path, Path, Path]:
    """A saved model, a query pose and a store holding `items` random vectors of the model; returns
    (model directory, pose file, signclip home)."""
    from signclip.data.synthetic import synthetic_pose
    from signclip.model.hub import create_model, save_model
    from signclip.model.identity import model_fingerprint
    from signclip.poses.io import write_pose

    model = create_model("signclip-small")
    model_dir = save_model(model, folder / "model")
    pose = write_pose(synthetic_pose(0, 0), folder / "query.pose")
    home = folder / "home"
    rng = np.random.default_rng(seed)
    with Store.open(home=home) as store:
        metadata = {"fingerprint": model_fingerprint(model), "source": str(model_dir)}
        store.register_model(model.name, model.embed_dim, metadata)
        for start in range(0, items, 50_000):
            count = min(50_000, items - start)
            rows = [
                {"id": f"item-{i}", "pose_path": str(pose), "gloss": f"G{i % 500}", "signed_language": "ase",
                 "spoken_language": "en"}
                for i in range(start, start + count)
            ]  # fmt: skip
            ids = store.add_items("big", rows)
            vectors = rng.normal(size=(count, model.embed_dim)).astype(np.float32)
            store.add_embeddings(model.name, ids, vectors / np.linalg.norm(vectors, axis=1, keepdims=True))
        store.build_index(model.name)
    return model_dir, pose, home


def cli_seconds(arguments: list[str], home: Path, repeats: int) -> list[float]:
    """Wall-clock seconds of `signclip ARGUMENTS` as a new process, `repeats` times."""
    command = [sys.executable, "-m", "signclip.cli", *arguments]
    environment = {**os.environ, "SIGNCLIP_HOME": str(home)}
    environment.pop("DATABASE_URL", None)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        done = subprocess.run(command, env=environment, capture_output=True, text=True)
        times.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(f"signclip {' '.join(arguments)} failed: {done.stderr[-2000:]}")
    return times


def serve(model_dir: Path, home: Path) -> tuple[subprocess.Popen, str]:
    """`signclip serve` on a free loopback port, once healthy; returns (process, base URL)."""
    port = free_port()
    return start_server(model_dir, home, port), f"http://127.0.0.1:{port}"


def http_latencies(url: str, bodies: list[dict]) -> list[float]:
    """Seconds of each POST of `bodies` to `url`, one after the other on one connection."""
    times = []
    with httpx.Client(timeout=120) as client:
        for body in bodies:
            started = time.perf_counter()
            response = client.post(url, json=body)
            times.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise SystemExit(f"{url}: {response.status_code} {response.text[:500]}")
    return times


def line(name: str, times: list[float], baseline: float | None = None) -> str:
    p50, p99 = np.percentile(times, 50) * 1000, np.percentile(times, 99) * 1000
    ratio = f"{p50 / (baseline * 1000):6.1f}x the baseline" if baseline else "        baseline"
    return f"{name:<44} p50 {p50:8.1f} ms  p99 {p99:8.1f} ms  {ratio}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5, help="`signclip search` processes per query kind")
    parser.add_argument("--requests", type=int, default=200, help="HTTP requests per query kind")
    args = parser.parse_args()

    from signclip.model.hub import load_model

    with tempfile.TemporaryDirectory(prefix="signclip-search-path-") as temporary:
        folder = Path(temporary)
        os.chmod(folder, 0o755)  # the embedded server's own user must reach its data folder when run as root
        started = time.perf_counter()
        model_dir, pose_file, home = build(folder, args.items)
        model = load_model(model_dir)
        print(f"{args.items} items of {model.name} stored and indexed in {time.perf_counter() - started:.0f} s")
        words = ["house", "tree", "water", "friend", "book", "eat", "drink", "school"]
        with Store.open(home=home) as store:
            baseline = []
            for i in range(args.requests):
                begun = time.perf_counter()
                store.search("big", model.name, model.embed_texts([f"<en> <ase> {words[i % 8]}"])[0], k=10)
                baseline.append(time.perf_counter() - begun)
        base = statistics.median(baseline)
        print(line("baseline: embed text + Store.search, in process", baseline))
        for kind, query in (("text", "house"), ("pose", str(pose_file))):
            times = cli_seconds(["search", "--dataset", "big", f"--{kind}", query], home, args.repeats)
            print(line(f"signclip search --{kind} (new process)", times, base))
        server, url = serve(model_dir, home)
        try:
            import base64

            pose_b64 = base64.b64encode(pose_file.read_bytes()).decode()
            texts = [{"dataset": "big", "text": words[i % 8], "k": 10} for i in range(args.requests)]
            poses = [{"dataset": "big", "pose": pose_b64, "k": 10} for _ in range(args.requests)]
            print(line("HTTP /api/search text, 1 client", http_latencies(f"{url}/api/search", texts), base))
            print(line("HTTP /api/search pose, 1 client", http_latencies(f"{url}/api/search", poses), base))
        finally:
            server.terminate()
            server.wait(timeout=60)


if __name__ == "__main__":
    main()
