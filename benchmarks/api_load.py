"""Load on the HTTP API over loopback: N concurrent clients for T seconds against embed/text and search.

Sets up everything itself in a temporary folder: a synthetic dataset indexed with an untrained model
into an embedded PostgreSQL, then `signclip serve` in a subprocess on a free 127.0.0.1 port. For each
endpoint it prints requests/s, p50/p99 latency and the error count (which must be zero) for one client
and for N clients, as ratios against the named baseline: the same work called in-process through the
library (`model.embed_texts`; `service.search` with its relevance cue and a search cache, as the server
calls it), sequentially, in this run (what HTTP, JSON and the server add or win back by concurrency).
Phases run in interleaved rounds, so background load on a shared machine skews them alike.

    python benchmarks/api_load.py --clients 8 --seconds 6 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

WORDS = ["house", "tree", "water", "friend", "book", "eat", "drink", "school"]


@dataclass
class Run:
    """Latencies (seconds) and errors of one phase."""

    name: str
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: int = 0

    def add(self, other: Run) -> None:
        """Fold another round of the same phase into this one."""
        self.seconds += other.seconds
        self.latencies += other.latencies
        self.errors += other.errors

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def line(self, baseline: Run | None) -> str:
        p50, p99 = (np.percentile(self.latencies, q) * 1000 for q in (50, 99)) if self.latencies else (0.0, 0.0)
        ratio = f"{self.rate / baseline.rate:5.2f}x" if baseline and baseline.rate else "  base"
        return (
            f"{self.name:<34} {self.rate:8.1f} req/s  {ratio}  p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  "
            f"errors {self.errors}"
        )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def baseline(name: str, work: Callable[[int], object], seconds: float) -> Run:
    """Call `work(i)` sequentially in this process for `seconds`, on a worker thread as the server does.

    (On a busy 2-core machine torch's OpenMP pool is several times slower driven from the main thread.)
    """
    with ThreadPoolExecutor(1) as worker:
        return worker.submit(_call_for, name, work, seconds).result()


def _call_for(name: str, work: Callable[[int], object], seconds: float) -> Run:
    run = Run(name, seconds)
    deadline = time.perf_counter() + seconds
    for index in itertools.count():
        start = time.perf_counter()
        if start >= deadline:
            break
        work(index)
        run.latencies.append(time.perf_counter() - start)
    return run


async def load(name: str, url: str, make_body: Callable[[int], dict], clients: int, seconds: float) -> Run:
    """`clients` concurrent loops POSTing JSON to `url` until `seconds` have passed."""
    run = Run(name, seconds)
    counter = itertools.count()
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:

        async def one_client() -> None:
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                try:
                    response = await client.post(url, json=make_body(next(counter)))
                    if response.status_code != 200:
                        run.errors += 1
                        continue
                except httpx.HTTPError:
                    run.errors += 1
                    continue
                run.latencies.append(time.perf_counter() - start)

        await asyncio.gather(*(one_client() for _ in range(clients)))
    return run


def prepare(folder: Path, model_spec: str, glosses: int, signers: int, repetitions: int) -> tuple[Path, Path]:
    """Save the model and index a synthetic dataset; returns (model directory, signclip home)."""
    from signclip.data.manifest import read_manifest
    from signclip.data.synthetic import generate_dataset
    from signclip.model.hub import load_model, save_model
    from signclip.search.request import IndexOptions, validate_index_request
    from signclip.search.service import index_items
    from signclip.store.store import Store

    model = load_model(model_spec)
    model_dir = save_model(model, folder / "model") if not Path(model_spec).is_dir() else Path(model_spec)
    manifest = generate_dataset(folder / "data", glosses=glosses, signers=signers, repetitions=repetitions)
    home = folder / "home"
    with Store.open(home=home) as store:
        request = validate_index_request("synthetic", read_manifest(manifest), model, IndexOptions(progress=False))
        index_items(store, request)
    return model_dir, home


def start_server(model_dir: Path, home: Path, port: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "signclip.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--model", str(model_dir), "--home", str(home)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"signclip serve exited: {server.stderr.read().decode()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.3)
    server.terminate()
    raise RuntimeError("signclip serve did not become healthy in 180 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--seconds", type=float, default=6.0, help="seconds per phase, all rounds (default 6)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per phase (default 3)")
    parser.add_argument("--model", default="signclip-small", help="model directory or registered name")
    parser.add_argument("--glosses", type=int, default=30)
    parser.add_argument("--signers", type=int, default=5)
    parser.add_argument("--repetitions", type=int, default=4)
    args = parser.parse_args()

    from signclip.model.hub import load_model
    from signclip.search import service
    from signclip.search.cache import SearchCache
    from signclip.store.store import Store

    with tempfile.TemporaryDirectory(prefix="signclip-api-load-") as temporary:
        folder = Path(temporary)
        os.chmod(folder, 0o755)  # the embedded server's own user must reach its data folder when run as root
        model_dir, home = prepare(folder, args.model, args.glosses, args.signers, args.repetitions)
        model = load_model(model_dir)
        items = args.glosses * args.signers * args.repetitions
        print(f"model {model.name} ({model_dir}), dataset of {items} synthetic poses, {os.cpu_count()} CPUs")
        port = free_port()
        server = start_server(model_dir, home, port)
        base = f"http://127.0.0.1:{port}"
        try:
            with Store.open(home=home) as store:
                cache = SearchCache()  # the server keeps one too: the in-process call does the same work
                phases = [
                    (
                        "embed/text",
                        f"{base}/api/embed/text",
                        lambda i: {"text": f"<en> <ase> {WORDS[i % len(WORDS)]} {i}"},
                        lambda i: model.embed_texts([f"<en> <ase> {WORDS[i % len(WORDS)]} {i}"]),
                    ),
                    (
                        "search (text, k=10)",
                        f"{base}/api/search",
                        lambda i: {"dataset": "synthetic", "text": f"{WORDS[i % len(WORDS)]} {i}", "k": 10},
                        lambda i: service.search(
                            store, model, "synthetic", service.Query(text=f"{WORDS[i % len(WORDS)]} {i}"), cache=cache
                        ),
                    ),
                ]
                for name, url, make_body, library_call in phases:
                    share = args.seconds / args.rounds
                    runs = [Run(f"{name}: library, in-process", 0.0)]
                    runs += [Run(f"{name}: HTTP, {n} client{'s' if n > 1 else ''}", 0.0) for n in (1, args.clients)]
                    for _ in range(args.rounds):  # interleaved, so load from other processes hits all alike
                        measured = [baseline(runs[0].name, library_call, share)]
                        measured += [
                            asyncio.run(load(runs[i].name, url, make_body, n, share))
                            for i, n in ((1, 1), (2, args.clients))
                        ]
                        for total, part in zip(runs, measured, strict=True):
                            total.add(part)
                    for run in runs:
                        print(run.line(None if run is runs[0] else runs[0]))
                    if runs[1].errors or runs[2].errors:
                        raise SystemExit(f"{name}: {runs[1].errors + runs[2].errors} requests failed")
        finally:
            server.terminate()
            server.wait(timeout=60)


if __name__ == "__main__":
    main()
