"""The engine seam: who does the heavy stages of indexing (extract, segment, embed), with typed outcomes.

An `Engine` runs video -> pose jobs (`ExtractReport`), segments recordings (`SegmentOutcome` per
recording) and embeds rows (`EmbeddedBatch`es, keyed by manifest id). `LocalEngine` does it on this
machine: a process pool for MediaPipe, this process for segmenting and embedding; the Ray engine
(`signclip.cluster.session.RayEngine`) on Ray Data actors. Both read and embed rows with `embed_rows`,
so the fallback that finds the items at fault in a failing batch exists once, and a row gives the
same vector on either engine.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd
from pose_format import Pose
from tqdm import tqdm

from signclip.data.table import read_item_pose
from signclip.errors import SignclipError
from signclip.poses.extract import ExtractReport, VideoJob, run_extraction
from signclip.poses.io import read_any_pose
from signclip.search.request import IndexModel, Segmentation
from signclip.search.segmenting import SegmentOutcome, segment_record

EMBED_COLUMNS = ["id", "pose_path", "start_ms", "end_ms"]


@dataclass
class EmbeddedBatch:
    """Vectors (N, D) float32 for the manifest ids `keys` (N,), and the rows of the batch that failed (key, why)."""

    keys: list[str]
    vectors: np.ndarray
    failed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def rows(self) -> int:
        """How many rows the batch covered, embedded or failed."""
        return len(self.keys) + len(self.failed)


class Engine(Protocol):
    """What runs the heavy stages; every method returns the same typed outcomes on every engine."""

    def session(self) -> contextlib.AbstractContextManager[Any]:
        """Hold the engine's resources (a Ray connection) for every stage run inside the block."""
        ...

    def extract(self, jobs: list[VideoJob], progress: bool) -> ExtractReport:
        """Extract each job's video into its .pose file; the report lists what was written and what failed."""
        ...

    def segment(
        self, records: list[dict[str, Any]], segmentation: Segmentation, progress: bool
    ) -> list[SegmentOutcome]:
        """Segment each recording (a manifest record with its pose_path); one outcome per record, same order."""
        ...

    def embed(self, rows: pd.DataFrame, model: IndexModel, batch_size: int, progress: bool) -> Iterator[EmbeddedBatch]:
        """Embed rows (EMBED_COLUMNS) in batches of `batch_size`, yielding each batch as it is done."""
        ...


@dataclass
class LocalEngine:
    """This machine: `workers` MediaPipe processes (default one per CPU), segmenting and embedding here."""

    workers: int | None = None

    def session(self) -> contextlib.AbstractContextManager[Any]:
        """Nothing to hold: the process pool lives for one extraction."""
        return contextlib.nullcontext(self)

    def extract(self, jobs: list[VideoJob], progress: bool) -> ExtractReport:
        """Extract on the local process pool."""
        return run_extraction(jobs, self.workers, progress=progress)

    def segment(
        self, records: list[dict[str, Any]], segmentation: Segmentation, progress: bool
    ) -> list[SegmentOutcome]:
        """Segment in this process, one recording after the other."""
        bar = tqdm(records, desc="segmenting", unit="recording", disable=not progress)
        return [segment_record(record, segmentation.segmenter, segmentation.level) for record in bar]

    def embed(self, rows: pd.DataFrame, model: IndexModel, batch_size: int, progress: bool) -> Iterator[EmbeddedBatch]:
        """Embed in this process, one batch of `batch_size` rows at a time."""
        records = rows[EMBED_COLUMNS].to_dict(orient="records")
        for start in range(0, len(records), batch_size):
            yield embed_rows(model.model, records[start : start + batch_size], batch_size)


def embed_rows(model: Any, rows: list[dict[str, Any]], batch_size: int) -> EmbeddedBatch:
    """Read and embed rows (EMBED_COLUMNS) with `model`: all at once, and when that fails, one by one to
    find the rows at fault. Rows whose pose cannot be read or embedded are in `failed`, not fatal; a model
    that returns vectors of the wrong shape raises RuntimeError (a bug, not bad data)."""
    keys, poses, failed = [], [], []
    recording: dict[str, Pose] = {}  # the last whole pose file read: consecutive segments share it
    for row in rows:
        try:
            if row["pose_path"] and not pd.isna(row["start_ms"]) and row["pose_path"] not in recording:
                recording = {row["pose_path"]: read_any_pose(row["pose_path"])}
            poses.append(read_item_pose(row, pose=recording.get(row["pose_path"])))
            keys.append(str(row["id"]))
        except SignclipError as error:
            failed.append((str(row["id"]), str(error)))
    dim = int(model.embed_dim)
    if not poses:
        return EmbeddedBatch([], np.zeros((0, dim), dtype=np.float32), failed)
    try:
        return EmbeddedBatch(keys, _checked(model.embed_poses(poses, batch_size=batch_size), len(poses), model), failed)
    except SignclipError:
        pass  # find the rows at fault one by one
    kept, vectors = [], []
    for key, pose in zip(keys, poses, strict=True):
        try:
            vectors.append(_checked(model.embed_poses([pose], batch_size=1), 1, model)[0])
            kept.append(key)
        except SignclipError as error:
            failed.append((key, str(error)))
    stacked = np.stack(vectors) if vectors else np.zeros((0, dim), dtype=np.float32)
    return EmbeddedBatch(kept, stacked, failed)


def _checked(vectors: np.ndarray, count: int, model: Any) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.shape != (count, model.embed_dim):
        raise RuntimeError(
            f"model {model.name!r} returned vectors of shape {vectors.shape} for {count} poses, "
            f"expected ({count}, {model.embed_dim})"
        )
    return vectors
