"""`signclip index add --engine ray`: the indexing pipeline with its heavy stages on Ray Data.

1. items are stored and video rows extracted to poses on Ray's CPU actors (`index_manifest` with
   `embed=False` and the Ray job runner: the same items, keys and pose files as the local path), and
   with `segment`, recordings segmented on Ray actors (GPUs when the cluster has them);
2. the items the model has not embedded yet are embedded on Ray actors (GPUs when the cluster has
   them) into Parquet shards under `<store home>/shards/<dataset>/<model>/`;
3. this run's shards are bulk-loaded with binary COPY (all of the folder's when a stopped run left
   embedded items unloaded) and the HNSW index is built after loading.
A rerun skips finished poses, shards and stored embeddings at every stage.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pandas as pd

from signclip.cluster.embed import embed_manifest
from signclip.cluster.engine import RayOptions, ray_session
from signclip.cluster.extract import ray_runner
from signclip.cluster.segment import ray_segment_runner
from signclip.search.indexer import IndexOptions, IndexReport, index_manifest
from signclip.store.bulk import LoadReport, load_embeddings
from signclip.store.store import Store


def index_on_ray(
    store: Store,
    dataset: str,
    manifest: pd.DataFrame,
    model_source: str,
    options: IndexOptions | None = None,
    ray: RayOptions | None = None,
    shards_dir: str | Path | None = None,
) -> tuple[IndexReport, LoadReport | None]:
    """Index `manifest` into `dataset` with the model at `model_source` (a directory or registered name).

    `options.workers` is the number of extraction and embedding actors (default: the cluster's CPUs);
    `shards_dir` defaults to `<store home>/shards/<dataset>/<model name>`. Returns the index report
    (items, extracted, embedded, failed) and the bulk-load report (None when nothing was left to load).
    """
    from signclip.model.hub import load_model

    started = time.perf_counter()
    ray = ray or RayOptions()
    model = load_model(model_source)
    options = options or IndexOptions()
    options = dataclasses.replace(
        options,
        extract_runner=ray_runner(ray),
        segment_runner=ray_segment_runner(ray, options.workers),
        embed=False,
        model_source=str(model_source),
    )
    with ray_session(ray):  # one Ray for every stage (each would otherwise start its own)
        report = index_manifest(store, dataset, manifest, model, options)
        pending = store.items(dataset, pending_model=None if options.force else model.name)
        pending = pending[pending["item_id"].isin(report.item_ids) & (pending["pose_path"] != "")]
        shards = Path(shards_dir) if shards_dir is not None else store.home / "shards" / dataset / model.name
        rows = pending.rename(columns={"key": "id"})
        embedding = embed_manifest(
            rows, model_source, shards, ray, actors=options.workers, batch_size=options.batch_size
        )
        report.failed += embedding.failed
        load = None
        if embedding.embedded or embedding.skipped:
            # Only this run's shards, unless pending items sat in older ones (a run stopped before loading).
            to_load = [shards] if embedding.skipped else embedding.shards
            load = load_embeddings(store, dataset, to_load, model_source=str(model_source))
            report.embedded = embedding.embedded
            report.index_built = True
    report.seconds = time.perf_counter() - started
    return report, load
