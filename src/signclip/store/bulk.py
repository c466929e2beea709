"""Bulk loading: embedding shards made elsewhere (the Ray pipeline, another tool) into the store.

`load_embeddings(store, dataset, shards)` checks the shards (one model, see `search.shards`), checks
the model against the store (same name and size; a stored fingerprint must match), maps the shards'
ids to the dataset's item keys, writes the vectors with binary COPY, and builds the model's HNSW index
after loading, with `maintenance_work_mem` and parallel maintenance workers set for the build.
Idempotent: loading the same shards again replaces the same rows.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from signclip.store.indexes import GraphSettings
from signclip.store.shards import ShardError, read_shards
from signclip.store.store import Store


@dataclass
class LoadReport:
    """What `load_embeddings` did: rows loaded, seconds spent loading and building, the build settings."""

    dataset: str
    model: str
    rows: int
    shards: int
    load_seconds: float
    index_seconds: float
    maintenance_work_mem: str
    parallel_workers: int
    graph: str = ""

    def lines(self) -> list[str]:
        """The report as printable lines."""
        rate = self.rows / self.load_seconds if self.load_seconds else 0.0
        return [
            f"dataset {self.dataset!r}, model {self.model!r}: loaded {self.rows} embeddings from {self.shards} "
            f"shard(s) in {self.load_seconds:.1f} s ({rate:,.0f} rows/s)",
            f"HNSW index ({self.graph}) built after loading in {self.index_seconds:.1f} s "
            f"(maintenance_work_mem {self.maintenance_work_mem}, {self.parallel_workers} parallel workers)",
        ]


def load_embeddings(
    store: Store,
    dataset: str,
    shards: Sequence[str | os.PathLike],
    model_source: str | None = None,
    maintenance_work_mem: str = "1GB",
    parallel_workers: int = 2,
    graph: GraphSettings | None = None,
) -> LoadReport:
    """Load the shards' vectors as the embeddings of `dataset`'s items (shard ids = item keys).

    The model is registered from the shards' metadata (`model_source`, a directory or name, is stored
    with it so search can load it). Raises ShardError, before anything is written, when a shard id is
    not an item of the dataset, or a store error when the model's name is taken by other weights.
    The model's HNSW index is dropped before loading and built again after it, with `graph` (default: the
    model's settings, see `Store.model_graph`).
    """
    embeddings = read_shards(shards)
    dim = embeddings.vectors.shape[1]
    metadata = {"fingerprint": embeddings.fingerprint, **({"source": model_source} if model_source else {})}
    store.register_model(embeddings.model, dim, metadata)
    items = store.items(dataset)
    item_of = dict(zip(items["key"].astype(str), items["item_id"], strict=True))
    unknown = [key for key in embeddings.ids if key not in item_of]
    if unknown:
        raise ShardError(
            f"{len(unknown)} shard ids are not items of dataset {dataset!r}, e.g. {unknown[:3]}; add the items "
            "first (signclip index load-embeddings --manifest M, or signclip index add without embedding)"
        )
    started = time.perf_counter()
    store.drop_index(embeddings.model)
    store.add_embeddings(embeddings.model, np.array([item_of[key] for key in embeddings.ids]), embeddings.vectors)
    loaded = time.perf_counter()
    store.build_index(
        embeddings.model, graph=graph, maintenance_work_mem=maintenance_work_mem, parallel_workers=parallel_workers
    )
    return LoadReport(
        dataset=dataset,
        model=embeddings.model,
        rows=len(embeddings.ids),
        shards=len(embeddings.files),
        load_seconds=loaded - started,
        index_seconds=time.perf_counter() - loaded,
        maintenance_work_mem=maintenance_work_mem,
        parallel_workers=parallel_workers,
        graph=str(store.model_graph(embeddings.model)),
    )
