"""Embedding a manifest on Ray Data: actors holding the model embed batches and write Parquet shards.

Each batch of manifest rows becomes one shard `part-<hash of its ids>.parquet` (see
`signclip.store.shards`), written atomically by the actor that embedded it. The actors run on GPUs
when the cluster has them (one GPU each), else on CPUs. Rows whose id already sits in a shard of the
same model under the output folder are skipped, so a rerun resumes; shards of another model there
are refused.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from signclip.cluster.session import RayOptions, cluster_gpus, map_with_actors, ray_session
from signclip.search.engine import EMBED_COLUMNS
from signclip.store.shards import read_shards, shard_bytes, shard_files

ERROR_LOG_NAME = "embed_errors.log"


@dataclass
class EmbedReport:
    """What `embed_manifest` did: rows embedded now, skipped as already in shards, failed; the shards."""

    embedded: int = 0
    skipped: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    shards: list[Path] = field(default_factory=list)
    actors: int = 0
    device: str = "cpu"
    seconds: float = 0.0
    error_log: Path | None = None

    def lines(self) -> list[str]:
        """The report as printable lines."""
        rate = self.embedded / self.seconds if self.seconds else 0.0
        return [
            f"embedded {self.embedded} items ({rate:.1f}/s) on {self.actors} {self.device} actor(s), "
            f"{self.skipped} already in shards, {len(self.failed)} failed; {len(self.shards)} new shard(s)",
            *(f"failed: {key}: {message}" for key, message in self.failed[:20]),
            *([f"errors logged to {self.error_log}"] if self.error_log else []),
        ]


class EmbedActor:
    """A Ray Data actor holding one loaded model; each call embeds a batch of rows and writes its shard."""

    def __init__(self, model: str, out_dir: str, device: str):
        import torch

        from signclip.model.hub import load_model
        from signclip.model.identity import model_fingerprint

        if device == "cpu":
            torch.set_num_threads(1)  # one CPU per actor (map_with_actors asks Ray for one)
        self.model = load_model(model, device=device)
        self.fingerprint = model_fingerprint(self.model)
        self.out_dir = Path(out_dir)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list]:
        """Embed the rows (id, pose_path, start_ms, end_ms); returns per row its id, error ("" if none), shard."""
        from signclip.poses.io import write_bytes_atomically
        from signclip.search.engine import embed_rows

        rows = pd.DataFrame({column: batch[column] for column in EMBED_COLUMNS}).to_dict(orient="records")
        embedded = embed_rows(self.model, rows, batch_size=len(rows) or 1)
        errors = dict(embedded.failed)
        shard = ""
        if embedded.keys:
            name = hashlib.sha256("\n".join(embedded.keys).encode()).hexdigest()[:20]
            path = self.out_dir / f"part-{name}.parquet"
            write_bytes_atomically(
                shard_bytes(embedded.keys, embedded.vectors, self.model.name, self.fingerprint), path
            )
            shard = str(path)
        return {
            "id": [str(row["id"]) for row in rows],
            "error": [errors.get(str(row["id"]), "") for row in rows],
            "shard": [shard if str(row["id"]) not in errors else "" for row in rows],
        }


def embed_manifest(
    table: pd.DataFrame,
    model: str | os.PathLike,
    out_dir: str | os.PathLike,
    options: RayOptions | None = None,
    actors: int | None = None,
    batch_size: int = 256,
    fingerprint: str | None = None,
) -> EmbedReport:
    """Embed every row of `table` (manifest columns; rows need a pose_path) into shards under `out_dir`.

    `model` is a model directory or registered name, loaded once per actor (and once here for its
    fingerprint unless `fingerprint` is given). `actors` defaults to the cluster's GPUs when it has any,
    else its CPUs.
    Returns the report; raises SignclipError when `out_dir` holds shards of another model.
    """
    from signclip.model.hub import load_model
    from signclip.model.identity import model_fingerprint

    started = time.perf_counter()
    out_dir = Path(out_dir)
    fingerprint = fingerprint or model_fingerprint(load_model(model))
    existing = shard_files([out_dir]) if out_dir.is_dir() else []
    done = set(read_shards(existing, fingerprint).ids) if existing else set()
    pending = table[~table["id"].astype(str).isin(done)]
    report = EmbedReport(skipped=len(table) - len(pending))
    if pending.empty:
        report.seconds = time.perf_counter() - started
        return report
    out_dir.mkdir(parents=True, exist_ok=True)
    with ray_session(options or RayOptions()) as ray:
        gpus = cluster_gpus(ray)
        report.device = "gpu" if gpus else "cpu"
        rows = pending[EMBED_COLUMNS].astype({"id": str, "pose_path": str}).reset_index(drop=True)
        blocks = max(1, -(-len(rows) // batch_size))
        report.actors = min(blocks, actors or gpus or int(ray.cluster_resources().get("CPU", 1)))
        dataset = ray.data.from_items(rows.to_dict(orient="records"), override_num_blocks=blocks)
        arguments = (str(model), str(out_dir), "cuda" if gpus else "cpu")
        results = map_with_actors(
            dataset, EmbedActor, arguments, report.actors, batch_size, gpus_per_actor=1.0 if gpus else 0.0
        )
        shards = set()
        for row in results.iter_rows():
            if row["error"]:
                report.failed.append((row["id"], row["error"]))
            else:
                report.embedded += 1
                shards.add(row["shard"])
    report.shards = sorted(map(Path, shards))
    if report.failed:
        from signclip.poses.extract import log_failures

        report.error_log = out_dir / ERROR_LOG_NAME
        log_failures(report.failed, report.error_log)
    report.seconds = time.perf_counter() - started
    return report
