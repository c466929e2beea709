"""The first indexing stage: a request checked whole before anything is written anywhere.

`validate_index_request(dataset, table, model, options)` checks the dataset name, the options, the
manifest's columns (normalizing it, once for the run), the segmenter and level, and the model's size;
it needs no store and writes nothing, so a front end calls it before it opens the store or keeps an
upload, and passes the `IndexRequest` to `service.index_items`, whose first step checks the model
against the store (`check_against_store`: its size and weights where the store already knows the name).
Extracted videos go to `<store home>/poses/<dataset>` unless the options name a folder; a dataset name
that passes the check cannot leave that folder.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
from pose_format import Pose

from signclip.data.manifest import normalize_manifest
from signclip.errors import ConfigError
from signclip.model.identity import model_fingerprint
from signclip.segment.base import Segmenter
from signclip.segment.registry import DEFAULT_SEGMENTER
from signclip.store.errors import DimensionMismatchError, UnknownModelError
from signclip.store.indexes import GraphSettings
from signclip.store.items import check_dataset_name
from signclip.store.knn import HNSW_MAX_DIM
from signclip.store.store import Store
from signclip.store.vector_types import vector_type


class PoseEmbedder(Protocol):
    """What indexing needs from a model (a SignCLIP model is one): a name, a size, and pose embedding."""

    @property
    def name(self) -> str: ...

    @property
    def embed_dim(self) -> int: ...

    def embed_poses(self, poses: Sequence[Pose], batch_size: int = 32) -> np.ndarray: ...


@dataclass(frozen=True)
class IndexOptions:
    """How an index run goes (the choices of a user; `validate_index_request` checks them).

    `batch_size` items are embedded and committed together; `workers` pose extraction processes (or
    Ray actors; default one per CPU); `force` re-embeds items already embedded; `poses_dir` receives
    extracted poses (default `<store home>/poses/<dataset>`); `all_or_nothing` reads and embeds every row
    before writing any (a bad row raises, the store is left as it was); `model_source` (the model's
    directory or registered name) is stored with a new model so that a later search can load it. With
    `segment`, each row is a recording and every `level` segment that `segmenter` finds in it becomes an
    item (see segmenting.py). `vector_type` ("vector", "halfvec" or "binary", see store/vector_types.py)
    is how the dataset's vectors are stored: None keeps the dataset's type ("vector" for a new one);
    another type than the stored one converts its vectors (`Store.use_vector_type`). `graph` sets how the
    model's HNSW index is built (None: as the model's last settings, else pgvector's defaults); other
    settings than an existing index's rebuild it after the run (`Store.build_index`).
    """

    batch_size: int = 64
    workers: int | None = None
    force: bool = False
    poses_dir: str | os.PathLike | None = None
    progress: bool = True
    all_or_nothing: bool = False
    model_source: str | None = None
    segment: bool = False
    segmenter: str = DEFAULT_SEGMENTER
    level: str = "sign"
    vector_type: str | None = None
    graph: GraphSettings | None = None


@dataclass(frozen=True)
class IndexModel:
    """The model of a run: loaded (`model`), where it loads from (`source`: a directory or registered name,
    None for an embedder that only exists in this process) and its weights' fingerprint."""

    model: Any
    source: str | None
    fingerprint: str | None

    @property
    def name(self) -> str:
        """The name its embeddings carry in the store."""
        return self.model.name

    @property
    def embed_dim(self) -> int:
        """The size of its vectors."""
        return int(self.model.embed_dim)

    @property
    def metric(self) -> str:
        """The distance its vectors are compared by: "l2" for the training-free pose index, else "cosine"."""
        return getattr(self.model, "metric", "cosine")


@dataclass(frozen=True)
class Segmentation:
    """How recordings become items: the loaded `segmenter`, the name or directory it loads from, the level."""

    segmenter: Segmenter
    source: str
    level: str


@dataclass(frozen=True)
class IndexRequest:
    """A checked index request: the dataset, its rows (the normalized manifest: recordings when
    `segmentation` is set, else items), the model, the folder the options name for extracted poses (None:
    the store's), and the options."""

    dataset: str
    rows: pd.DataFrame
    model: IndexModel
    poses_dir: Path | None
    segmentation: Segmentation | None
    options: IndexOptions

    def poses_folder(self, store: Store) -> Path:
        """Where extracted poses go: the options' folder, else `<store home>/poses/<dataset>`."""
        return self.poses_dir or (store.home / "poses" / self.dataset).resolve()


def validate_index_request(
    dataset: str, table: pd.DataFrame, model: PoseEmbedder, options: IndexOptions | None = None
) -> IndexRequest:
    """Check a whole index request; returns it as an IndexRequest, having written nothing.

    Raises InvalidDatasetNameError, ConfigError (an option, the segmenter or the level),
    UnknownVectorTypeError, ManifestError (columns, ids, rows without a pose or video) or
    DimensionMismatchError (a size no store holds).
    """
    options = options or IndexOptions()
    check_dataset_name(dataset)
    if options.batch_size < 1:
        raise ConfigError(f"batch size must be at least 1, got {options.batch_size}")
    if options.workers is not None and options.workers < 1:
        raise ConfigError(f"workers must be at least 1, got {options.workers}")
    if options.vector_type is not None:
        vector_type(options.vector_type)
    if options.graph is not None and not isinstance(options.graph, GraphSettings):
        raise ConfigError(f"graph must be GraphSettings(m, ef_construction), got {options.graph!r}")
    rows = normalize_manifest(table, source="recordings" if options.segment else f"dataset {dataset}")
    segmentation = _segmentation(options) if options.segment else None
    index_model = IndexModel(model, options.model_source, model_fingerprint(model))
    if not 1 <= index_model.embed_dim <= HNSW_MAX_DIM:
        raise DimensionMismatchError(
            f"model {index_model.name!r} makes {index_model.embed_dim}-d vectors; the store holds 1 to "
            f"{HNSW_MAX_DIM} dimensions"
        )
    poses_dir = Path(options.poses_dir).resolve() if options.poses_dir is not None else None
    if poses_dir is not None and poses_dir.exists() and not poses_dir.is_dir():
        raise ConfigError(f"{poses_dir}: the poses folder is a file")
    return IndexRequest(dataset, rows, index_model, poses_dir, segmentation, options)


def _segmentation(options: IndexOptions) -> Segmentation:
    from signclip.segment import LEVELS, load_segmenter

    if options.level not in LEVELS:
        raise ConfigError(f"unknown segment level {options.level!r}; choose one of {list(LEVELS)}")
    return Segmentation(load_segmenter(options.segmenter), str(options.segmenter), options.level)


def check_against_store(store: Store, request: IndexRequest) -> None:
    """Refuse (reading the store, writing nothing) a model whose name the store holds for another size
    (DimensionMismatchError) or other weights (ModelMismatchError)."""
    model = request.model
    try:
        store.check_model(model.name, model.embed_dim, model.fingerprint)
    except UnknownModelError:
        return
