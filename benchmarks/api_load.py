"""Load on the HTTP API over loopback: 1, 4, 8 and 16 concurrent clients embedding poses (base64 JSON, and
uploaded as files) and texts and searching, against a server with dynamic batching (its defaults), one whose
batches never wait to fill (`--max-wait-ms 0`) and one without batching (`--max-batch 1`).

Sets up everything itself in a temporary folder: a synthetic dataset indexed with an untrained model into an
embedded PostgreSQL, then three `signclip serve` subprocesses on free 127.0.0.1 ports. For each endpoint it
prints requests/s, p50/p99 latency and the error count (which must be zero) per client count and server, as
ratios against the named baseline: the same work called in-process through the library, sequentially, in
this run (reading the pose, from base64 or the file's bytes, and `model.embed_poses`; `model.embed_texts`;
`service.search` with its relevance cue and a search cache, as the server calls it); then batching over no
batching at each client count, and N clients over one client of the same server. Phases run in interleaved
rounds, so background load on a shared machine skews them alike.

    python benchmarks/api_load.py --clients 1 4 8 16 --seconds 4 --rounds 2

"""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import json
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
Body = tuple[bytes, str]
"""A request body as a client sends it, and its content type."""


def json_body(value: dict) -> Body:
    """`value` as JSON text, UTF-8."""
    return json.dumps(value).encode(), "application/json"


def upload_body(field: str, filename: str, data: bytes) -> Body:
    """A multipart form uploading `data` as file `filename` in `field`."""
    request = httpx.Request("POST", "http://127.0.0.1/", files={field: (filename, data)})
    return request.read(), request.headers["content-type"]


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

    def line(self) -> str:
        p50, p99 = (np.percentile(self.latencies, q) * 1000 for q in (50, 99)) if self.latencies else (0.0, 0.0)
        return f"{self.name:<52} {self.rate:8.1f} req/s  p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  errors {self.errors}"


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


async def load(name: str, url: str, make_body: Callable[[int], Body], clients: int, seconds: float) -> Run:
    """`clients` concurrent loops POSTing the bodies of `make_body` to `url` until `seconds` have passed."""
    run = Run(name, seconds)
    counter = itertools.count()
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:

        async def one_client() -> None:
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                try:
                    content, content_type = make_body(next(counter))
                    response = await client.post(url, content=content, headers={"content-type": content_type})
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


def start_server(model_dir: Path, home: Path, port: int, extra: list[str]) -> subprocess.Popen:
    command = [sys.executable, "-m", "signclip.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--model", str(model_dir), "--home", str(home), *extra]
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


SERVERS = {"batching": [], "batching, no wait": ["--max-wait-ms", "0"], "no batching": ["--max-batch", "1"]}
"""The servers compared: the default batching, batching that never waits for a batch to fill (a pass takes
what queued while the last one ran), and none."""


def phases(model, store, cache) -> list[tuple[str, str, Callable[[int], Body], Callable[[int], object]]]:
    """(name, path, request body of call i, the same work in-process for call i) of each endpoint measured.

    The pose bodies are encoded once, as a client holding its files (or their base64) would send them: the
    clients then share the two cores with the server as little as a real client would. Poses go as base64
    JSON (the original server's form) and as a multipart upload of the `.pose` file."""
    from signclip.data.synthetic import synthetic_pose
    from signclip.poses.io import pose_from_bytes, pose_to_bytes
    from signclip.search import service

    files = [pose_to_bytes(synthetic_pose(gloss=i % 10, signer=i % 4, seed=i)) for i in range(32)]
    poses = [base64.b64encode(data).decode() for data in files]
    pose_bodies = [json_body({"pose": pose}) for pose in poses]
    upload_bodies = [upload_body("pose", f"{i}.pose", data) for i, data in enumerate(files)]

    def word(i: int) -> str:
        return f"{WORDS[i % len(WORDS)]} {i}"

    return [
        (
            "embed/pose",
            "/api/embed/pose",
            lambda i: pose_bodies[i % len(poses)],
            lambda i: model.embed_poses([pose_from_bytes(base64.b64decode(poses[i % len(poses)]))]),
        ),
        (
            "embed/pose (upload)",
            "/api/embed/pose",
            lambda i: upload_bodies[i % len(files)],
            lambda i: model.embed_poses([pose_from_bytes(files[i % len(files)])]),
        ),
        (
            "embed/text",
            "/api/embed/text",
            lambda i: json_body({"text": f"<en> <ase> {word(i)}"}),
            lambda i: model.embed_texts([f"<en> <ase> {word(i)}"]),
        ),
        (
            "search (text, k=10)",
            "/api/search",
            lambda i: json_body({"dataset": "synthetic", "text": word(i), "k": 10}),
            lambda i: service.search(store, model, "synthetic", service.Query(text=word(i)), cache=cache),
        ),
    ]


def measure_phase(name, path, make_body, library_call, bases: dict[str, str], args) -> dict[tuple[str, int], Run]:
    """The library baseline and every (server, clients) run of one phase, over interleaved rounds."""
    share = args.seconds / args.rounds
    runs = {("library", 1): Run(f"{name}: library, in-process", 0.0)}
    for server in bases:
        for n in args.clients:
            runs[(server, n)] = Run(f"{name}: {server}, {n} client{'s' if n > 1 else ''}", 0.0)
    for _ in range(args.rounds):  # interleaved, so load from other processes hits all alike
        runs[("library", 1)].add(baseline(name, library_call, share))
        for (server, n), total in runs.items():
            if server != "library":
                total.add(asyncio.run(load(total.name, bases[server] + path, make_body, n, share)))
    return runs


def print_phase(runs: dict[tuple[str, int], Run], clients: list[int]) -> int:
    """Print one phase's runs with their ratios; returns the failed requests."""
    library = runs[("library", 1)]
    print(f"{library.line()}  [baseline]")
    for (server, n), run in runs.items():
        if server == "library":
            continue
        ratios = [f"{run.rate / library.rate:5.2f}x library"]
        if n != clients[0]:
            ratios.append(f"{run.rate / runs[(server, clients[0])].rate:5.2f}x {clients[0]} client")
        if server.startswith("batching"):
            ratios.append(f"{run.rate / runs[('no batching', n)].rate:5.2f}x no batching")
        print(f"{run.line()}  [{', '.join(ratios)}]")
    return sum(run.errors for run in runs.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 8, 16], help="client counts (1 4 8 16)")
    parser.add_argument("--seconds", type=float, default=4.0, help="seconds per run, all rounds (default 4)")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds per phase (default 2)")
    parser.add_argument("--phases", nargs="+", help="only the phases whose name starts with one of these")
    parser.add_argument("--model", default="signclip-small", help="model directory or registered name")
    parser.add_argument("--glosses", type=int, default=30)
    parser.add_argument("--signers", type=int, default=5)
    parser.add_argument("--repetitions", type=int, default=4)
    args = parser.parse_args()

    from signclip.model.hub import load_model
    from signclip.search.cache import SearchCache
    from signclip.store.store import Store

    with tempfile.TemporaryDirectory(prefix="signclip-api-load-") as temporary:
        folder = Path(temporary)
        os.chmod(folder, 0o755)  # the embedded server's own user must reach its data folder when run as root
        model_dir, home = prepare(folder, args.model, args.glosses, args.signers, args.repetitions)
        model = load_model(model_dir)
        items = args.glosses * args.signers * args.repetitions
        print(f"model {model.name} ({model_dir}), dataset of {items} synthetic poses, {os.cpu_count()} CPUs")
        servers, bases = [], {}
        try:
            for name, extra in SERVERS.items():
                port = free_port()
                servers.append(start_server(model_dir, home, port, extra))
                bases[name] = f"http://127.0.0.1:{port}"
            failed = 0
            with Store.open(home=home) as store:
                for phase in phases(model, store, SearchCache()):
                    if args.phases and not phase[0].startswith(tuple(args.phases)):
                        continue
                    failed += print_phase(measure_phase(*phase, bases, args), args.clients)
            if failed:
                raise SystemExit(f"{failed} requests failed")
        finally:
            for server in servers:
                server.terminate()
                server.wait(timeout=60)


if __name__ == "__main__":
    main()
