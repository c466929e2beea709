"""Indexing a dataset: manifest -> items -> (videos -> poses) -> embeddings -> store, batch by batch.

Resumable: items already embedded by the model are skipped (unless `force`), videos whose pose was
already extracted are not extracted again, and each embedding batch is committed on its own, so an
interrupted run keeps every finished batch and a rerun does only the rest.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd
from pose_format import Pose
from tqdm import tqdm

from signclip.data.table import read_item_pose
from signclip.errors import SignclipError
from signclip.model.identity import model_fingerprint
from signclip.poses.extract import JobRunner
from signclip.poses.io import read_any_pose
from signclip.search.extraction import extract_video_poses
from signclip.search.segmenting import SegmentRunner, segment_recordings
from signclip.segment.registry import DEFAULT_SEGMENTER
from signclip.store.store import Store


class PoseEmbedder(Protocol):
    """What indexing needs from a model (a SignCLIP model is one): a name, a size, and pose embedding."""

    @property
    def name(self) -> str: ...

    @property
    def embed_dim(self) -> int: ...

    def embed_poses(self, poses: Sequence[Pose], batch_size: int = 32) -> np.ndarray: ...


@dataclass(frozen=True)
class IndexOptions:
    """How an index run goes.

    `batch_size` items are embedded and committed together; `workers` pose extraction processes
    (default one per CPU); `force` re-embeds items already embedded; `poses_dir` receives extracted
    poses (default `<store home>/poses/<dataset>`), mirroring the videos' folders; `all_or_nothing`
    reads and embeds every row before writing anything (a bad row raises, the store is left as it
    was); `model_source` (the model's directory or registered name) is stored with a new model so a
    later search can load it. With `segment`, each row is a recording and every `level` segment
    `segmenter` finds in it becomes an item (see segmenting.py). `extract_runner` runs pose extraction
    (default: the local process pool; `signclip.cluster.extract.ray_runner` for Ray), `segment_runner`
    segmentation (default: this process; `signclip.cluster.segment.ray_segment_runner`). With `embed` False
    the run stops once the items are stored and their poses extracted (the Ray pipeline then embeds them
    into shards and bulk-loads them).
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
    extract_runner: JobRunner | None = None
    segment_runner: SegmentRunner | None = None
    embed: bool = True


@dataclass
class IndexReport:
    """What an index run did: items in the manifest, embedded now, skipped as done, extracted, failed,
    and the store ids of the manifest's rows (in row order)."""

    dataset: str
    model: str
    items: int = 0
    recordings: int = 0
    segmenter: str | None = None
    unsegmented: list[tuple[str, str]] = field(default_factory=list)
    embedded: int = 0
    already_embedded: int = 0
    removed: int = 0
    extracted: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    item_ids: list[int] = field(default_factory=list)
    index_built: bool = False
    seconds: float = 0.0

    def lines(self) -> list[str]:
        """Return the report as printable lines."""
        rate = self.embedded / self.seconds if self.seconds else 0.0
        lines = [f"dataset {self.dataset!r}, model {self.model!r}: {self.items} items in the manifest"]
        if self.segmenter is not None:
            lines[0] = (
                f"dataset {self.dataset!r}, model {self.model!r}: {self.recordings} recordings -> "
                f"{self.items} segments (segmenter {self.segmenter!r})"
            )
        lines += [
            f"embedded {self.embedded} now ({rate:.1f} items/s), {self.already_embedded} already embedded, "
            f"{self.extracted} videos extracted to poses, {len(self.failed)} failed",
        ]
        if self.removed:
            lines.append(f"removed {self.removed} stored segments that re-segmented recordings no longer have")
        if self.index_built:
            lines.append("built the HNSW index for this model")
        lines += [f"no segments: {key}: {message}" for key, message in self.unsegmented[:20]]
        lines += [f"failed: {key}: {message}" for key, message in self.failed[:20]]
        if len(self.failed) > 20:
            lines.append(f"... and {len(self.failed) - 20} more failures")
        return lines


def index_manifest(
    store: Store,
    dataset: str,
    manifest: pd.DataFrame,
    embedder: PoseEmbedder,
    options: IndexOptions | None = None,
    **settings,
) -> IndexReport:
    """Add `manifest`'s rows to `dataset` and embed those the model has not embedded yet; returns a report.

    `options` (or IndexOptions fields as keywords) say how. Video rows are extracted to poses first.
    Items whose pose cannot be read or embedded are reported, not fatal; any other error (or Ctrl-C)
    stops the run with the finished batches kept (all_or_nothing: with nothing written).
    """
    options = dataclasses.replace(options or IndexOptions(), **settings)
    if options.batch_size < 1:
        raise SignclipError(f"batch size must be at least 1, got {options.batch_size}")
    started = time.perf_counter()
    report = IndexReport(dataset=dataset, model=embedder.name, items=len(manifest))
    poses_dir = Path(options.poses_dir) if options.poses_dir is not None else store.home / "poses" / dataset
    segmented: list[str] = []
    if options.segment:
        manifest, segmented = _segments_of(manifest, options, poses_dir, report)
    metadata = {"fingerprint": fingerprint_of(embedder)}
    if options.model_source:
        metadata["source"] = options.model_source
    if options.all_or_nothing:
        report.item_ids = _index_all_or_nothing(store, dataset, manifest, embedder, metadata, options.batch_size)
        report.embedded = len(manifest)
        report.removed = _remove_stale_segments(store, dataset, manifest, segmented, options.level)
        report.seconds = time.perf_counter() - started
        return report
    store.register_model(embedder.name, embedder.embed_dim, metadata)
    item_ids = store.add_items(dataset, manifest)
    report.item_ids = [int(i) for i in item_ids]
    report.removed = _remove_stale_segments(store, dataset, manifest, segmented, options.level)
    items = store.items(dataset, pending_model=None if options.force else embedder.name)
    items = items[items["item_id"].isin(item_ids)].reset_index(drop=True)
    report.already_embedded = len(manifest) - len(items)
    items = _extract_videos(store, items, poses_dir, options, report)
    if not options.embed:
        report.seconds = time.perf_counter() - started
        return report
    batch_size = options.batch_size
    with tqdm(total=len(items), desc=f"indexing {dataset}", unit="item", disable=not options.progress) as bar:
        for start in range(0, len(items), batch_size):
            batch = items.iloc[start : start + batch_size]
            ids, vectors = _embed_batch(batch, embedder, batch_size, report)
            if len(ids):
                store.add_embeddings(embedder.name, ids, vectors)
            report.embedded += len(ids)
            bar.update(len(batch))
    if report.embedded or report.already_embedded:
        report.index_built = store.build_index(embedder.name)
    report.seconds = time.perf_counter() - started
    return report


def _segments_of(
    manifest: pd.DataFrame, options: IndexOptions, poses_dir: Path, report: IndexReport
) -> tuple[pd.DataFrame, list[str]]:
    """The segment rows of the manifest's recordings and the keys of the recordings segmented (with or
    without segments; not those that failed); what happened to the recordings goes in `report`."""
    from signclip.segment import LEVELS, load_segmenter

    if options.level not in LEVELS:
        raise SignclipError(f"unknown segment level {options.level!r}; choose one of {list(LEVELS)}")
    segmenter = load_segmenter(options.segmenter)
    segmented = segment_recordings(
        manifest,
        segmenter,
        options.level,
        poses_dir,
        options.workers,
        options.progress,
        options.extract_runner,
        options.segment_runner,
        options.segmenter,
    )
    if options.all_or_nothing and (segmented.failed or segmented.unsegmented):
        key, message = (segmented.failed or segmented.unsegmented)[0]
        raise SignclipError(f"recording {key!r}: {message}; nothing was indexed")
    report.segmenter, report.recordings, report.items = segmenter.name, segmented.recordings, len(segmented.rows)
    report.extracted, report.unsegmented = segmented.extracted, segmented.unsegmented
    report.failed += segmented.failed
    return segmented.rows, segmented.segmented


def _remove_stale_segments(store: Store, dataset: str, rows: pd.DataFrame, recordings: list[str], level: str) -> int:
    """Delete the stored `level` segments of `recordings` that this run's segment `rows` no longer have (a
    recording re-segmented into fewer segments); returns how many were removed."""
    if not recordings:
        return 0
    wanted, current = set(recordings), set(rows["id"].astype(str))

    def stale(key: str) -> bool:
        recording, sep, segment = key.rpartition("#")
        number = segment.removeprefix(level)
        return bool(sep) and recording in wanted and number != segment and number.isdigit() and key not in current

    return store.remove_items(dataset, [key for key in store.items(dataset)["key"].astype(str) if stale(key)])


def _index_all_or_nothing(
    store: Store, dataset: str, manifest: pd.DataFrame, embedder: PoseEmbedder, metadata: dict, batch_size: int
) -> list[int]:
    """Read and embed every row (any failure raises), then store items and embeddings in one transaction."""
    poses = [read_item_pose(row) for row in manifest.to_dict(orient="records")]
    vectors = _checked(embedder.embed_poses(poses, batch_size=batch_size), len(poses), embedder)
    with store.transaction():
        store.register_model(embedder.name, embedder.embed_dim, metadata)
        item_ids = store.add_items(dataset, manifest)
        store.add_embeddings(embedder.name, item_ids, vectors)
    return [int(i) for i in item_ids]


def fingerprint_of(model: object) -> str | None:
    """The model's weights fingerprint: its own `fingerprint` (the server caches one), else computed."""
    if hasattr(model, "fingerprint"):
        return model.fingerprint
    return model_fingerprint(model)


def _extract_videos(
    store: Store, items: pd.DataFrame, poses_dir: Path, options: IndexOptions, report: IndexReport
) -> pd.DataFrame:
    """Extract poses for video-only items, record their pose paths; returns the items that have a pose."""
    videos = items[(items["pose_path"] == "") & (items["video_path"] != "")]
    missing = [not Path(video).is_file() for video in videos["video_path"]]
    for key, video in zip(videos["key"][missing], videos["video_path"][missing], strict=True):
        report.failed.append((key, f"{video}: no such video file"))
    videos = videos[[not m for m in missing]]
    if videos.empty:
        return items[items["pose_path"] != ""].reset_index(drop=True)
    extraction = extract_video_poses(
        list(videos["video_path"]), poses_dir, options.workers, options.progress, options.extract_runner
    )
    report.extracted += extraction.written
    done_ids, done_paths = [], []
    for item_id, key, video in zip(videos["item_id"], videos["key"], videos["video_path"], strict=True):
        output = extraction.pose_of(video)
        if output is not None:
            done_ids.append(item_id)
            done_paths.append(str(output))
        else:
            report.failed.append((key, extraction.error_of(video)))
    store.set_pose_paths(done_ids, done_paths)
    items = items.copy()
    items.loc[items["item_id"].isin(done_ids), "pose_path"] = done_paths
    return items[items["pose_path"] != ""].reset_index(drop=True)


def _embed_batch(
    batch: pd.DataFrame, embedder: PoseEmbedder, batch_size: int, report: IndexReport
) -> tuple[np.ndarray, np.ndarray]:
    """Read and embed one batch; items that fail (unreadable pose, wrong layout) are reported and left out."""
    ids, poses = [], []
    recording: dict[str, Pose] = {}  # the last whole pose file read: consecutive segments share it
    for _, row in batch.iterrows():
        try:
            if row["pose_path"] and not pd.isna(row["start_ms"]) and row["pose_path"] not in recording:
                recording = {row["pose_path"]: read_any_pose(row["pose_path"])}
            poses.append(read_item_pose(row, pose=recording.get(row["pose_path"])))
            ids.append(row["item_id"])
        except SignclipError as error:
            report.failed.append((row["key"], str(error)))
    if not poses:
        return np.zeros(0, dtype=np.int64), np.zeros((0, embedder.embed_dim), dtype=np.float32)
    try:
        return np.array(ids), _checked(embedder.embed_poses(poses, batch_size=batch_size), len(poses), embedder)
    except SignclipError:
        pass  # find the item(s) at fault one by one
    keys = dict(zip(batch["item_id"], batch["key"], strict=True))
    kept_ids, vectors = [], []
    for item_id, pose in zip(ids, poses, strict=True):
        try:
            vectors.append(_checked(embedder.embed_poses([pose], batch_size=1), 1, embedder)[0])
            kept_ids.append(item_id)
        except SignclipError as error:
            report.failed.append((keys[item_id], str(error)))
    stacked = np.stack(vectors) if vectors else np.zeros((0, embedder.embed_dim), dtype=np.float32)
    return np.array(kept_ids, dtype=np.int64), stacked


def _checked(vectors: np.ndarray, count: int, embedder: PoseEmbedder) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.shape != (count, embedder.embed_dim):
        raise RuntimeError(
            f"model {embedder.name!r} returned vectors of shape {vectors.shape} for {count} poses, "
            f"expected ({count}, {embedder.embed_dim})"
        )
    return vectors
