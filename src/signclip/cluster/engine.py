"""The Ray engine: the indexing stages' heavy work (extract, segment, embed) on Ray Data actors.

It answers the engine seam (`signclip.search.engine.Engine`) with the same typed outcomes as the local
engine: extraction on CPU actors that each hold one MediaPipe graph (extract.py), segmentation on
actors holding one segmenter (segment.py; GPUs when the cluster has them), embedding on actors holding
the model (embed.py; GPUs when the cluster has them) that write Parquet shards under `shards_dir`, which
a rerun skips. The vectors come back to the indexing stages from those shards, and the stages store them
as on the local path; outputs are the same bytes and vectors on either engine.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from signclip.cluster.embed import embed_manifest
from signclip.cluster.extract import ray_runner
from signclip.cluster.segment import segment_on_ray
from signclip.cluster.session import RayOptions, ray_session
from signclip.errors import SignclipError
from signclip.poses.extract import ExtractReport, VideoJob, default_workers, run_extraction
from signclip.search.engine import EMBED_COLUMNS, EmbeddedBatch
from signclip.search.request import IndexModel, Segmentation
from signclip.search.segmenting import SegmentOutcome
from signclip.store.shards import read_shards, shard_files


@dataclass
class RayEngine:
    """Ray Data actors on a local Ray or a cluster (`options`): `actors` per stage (default: the cluster's
    CPUs, or its GPUs for segmenting and embedding), embedding shards under `shards_dir`."""

    options: RayOptions
    shards_dir: Path
    actors: int | None = None

    @contextlib.contextmanager
    def session(self) -> Iterator[RayEngine]:
        """Hold one Ray session for every stage run inside the block (each would otherwise start its own)."""
        with ray_session(self.options):
            yield self

    def extract(self, jobs: list[VideoJob], progress: bool) -> ExtractReport:
        """Extract on Ray's CPU actors, one MediaPipe graph each."""
        workers = self.actors or self.options.num_cpus or default_workers()
        return run_extraction(jobs, workers, progress=progress, runner=ray_runner(self.options))

    def segment(
        self, records: list[dict[str, Any]], segmentation: Segmentation, progress: bool
    ) -> list[SegmentOutcome]:
        """Segment on Ray actors that load the segmenter from its name or directory."""
        return segment_on_ray(self.options, records, segmentation.source, segmentation.level, self.actors)

    def embed(self, rows: pd.DataFrame, model: IndexModel, batch_size: int, progress: bool) -> Iterator[EmbeddedBatch]:
        """Embed on Ray actors into shards (rows already in a shard of these weights are not embedded again),
        then yield the rows' vectors shard by shard, with the rows that failed in the first batch."""
        if model.source is None:
            raise SignclipError(
                f"the ray engine loads the model on its actors, so it needs the directory or registered name that "
                f"model {model.name!r} loads from (IndexOptions.model_source)"
            )
        folder = self.shards_dir / model.name
        report = embed_manifest(
            rows[EMBED_COLUMNS], model.source, folder, self.options, self.actors, batch_size, model.fingerprint
        )
        wanted = set(rows["id"].astype(str))
        failed = report.failed
        for shard in shard_files([folder]):
            embeddings = read_shards([shard], model.fingerprint)
            chosen = [i for i, key in enumerate(embeddings.ids) if key in wanted]
            if chosen:
                wanted -= {embeddings.ids[i] for i in chosen}
                yield EmbeddedBatch([str(embeddings.ids[i]) for i in chosen], embeddings.vectors[chosen], failed)
                failed = []
        if failed:
            yield EmbeddedBatch([], np.zeros((0, model.embed_dim), dtype=np.float32), failed)
