"""Indexing a dataset: manifest -> items -> (videos -> poses) -> embeddings -> store, batch by batch.

Resumable: items already embedded by the model are skipped (unless `force`), videos whose pose was
already extracted are not extracted again, and each embedding batch is committed on its own, so an
interrupted run keeps every finished batch and a rerun does only the rest.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
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
from signclip.search.store import Store


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
    later search can load it. `extract_runner` runs pose extraction (default: the local process pool;
    `signclip.cluster.extract.ray_runner` for Ray). With `embed` False the run stops once the items are
    stored and their poses extracted (the Ray pipeline then embeds them into shards and bulk-loads them).
    """

    batch_size: int = 64
    workers: int | None = None
    force: bool = False
    poses_dir: str | os.PathLike | None = None
    progress: bool = True
    all_or_nothing: bool = False
    model_source: str | None = None
    extract_runner: JobRunner | None = None
    embed: bool = True


@dataclass
class IndexReport:
    """What an index run did: items in the manifest, embedded now, skipped as done, extracted, failed,
    and the store ids of the manifest's rows (in row order)."""

    dataset: str
    model: str
    items: int = 0
    embedded: int = 0
    already_embedded: int = 0
    extracted: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    item_ids: list[int] = field(default_factory=list)
    index_built: bool = False
    seconds: float = 0.0

    def lines(self) -> list[str]:
        """Return the report as printable lines."""
        rate = self.embedded / self.seconds if self.seconds else 0.0
        lines = [
            f"dataset {self.dataset!r}, model {self.model!r}: {self.items} items in the manifest",
            f"embedded {self.embedded} now ({rate:.1f} items/s), {self.already_embedded} already embedded, "
            f"{self.extracted} videos extracted to poses, {len(self.failed)} failed",
        ]
        if self.index_built:
            lines.append("built the HNSW index for this model")
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
    metadata = {"fingerprint": fingerprint_of(embedder)}
    if options.model_source:
        metadata["source"] = options.model_source
    if options.all_or_nothing:
        report.item_ids = _index_all_or_nothing(store, dataset, manifest, embedder, metadata, options.batch_size)
        report.embedded = len(manifest)
        report.seconds = time.perf_counter() - started
        return report
    store.register_model(embedder.name, embedder.embed_dim, metadata)
    item_ids = store.add_items(dataset, manifest)
    report.item_ids = [int(i) for i in item_ids]
    items = store.items(dataset, pending_model=None if options.force else embedder.name)
    items = items[items["item_id"].isin(item_ids)].reset_index(drop=True)
    report.already_embedded = len(manifest) - len(items)
    poses_dir = Path(options.poses_dir) if options.poses_dir is not None else store.home / "poses" / dataset
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
    from signclip.poses.extract import extract_poses, plan_extraction, run_jobs

    with tempfile.TemporaryDirectory(prefix="signclip-videos-") as links:
        mirror = _mirror_videos(list(videos["video_path"]), Path(links))
        plan = plan_extraction([mirror], poses_dir)
        output_of = {job.video.resolve(): job.output for job in plan.jobs + plan.skipped}
        extraction = extract_poses(
            [mirror],
            poses_dir,
            workers=options.workers,
            progress=options.progress,
            runner=options.extract_runner or run_jobs,
        )
    report.extracted = len(extraction.written)
    errors = {Path(video).resolve(): message for video, message in extraction.failed}
    done_ids, done_paths = [], []
    for item_id, key, video in zip(videos["item_id"], videos["key"], videos["video_path"], strict=True):
        output = output_of.get(Path(video).resolve())
        if output is not None and output.exists():
            done_ids.append(item_id)
            done_paths.append(str(output))
        else:
            report.failed.append((key, errors.get(Path(video).resolve(), f"{video}: no pose was extracted")))
    store.set_pose_paths(done_ids, done_paths)
    items = items.copy()
    items.loc[items["item_id"].isin(done_ids), "pose_path"] = done_paths
    return items[items["pose_path"] != ""].reset_index(drop=True)


def _mirror_videos(videos: list[str], folder: Path) -> Path:
    """Link each video into `folder` at its path below the videos' common folder; returns `folder`.

    Extracting the mirror writes `poses_dir/<same relative path>.pose`, so `hello/1.mp4` and
    `bye/1.mp4` get two pose files, and only the videos asked for are extracted.
    """
    resolved = sorted({Path(video).resolve() for video in videos})
    root = Path(os.path.commonpath([str(video.parent) for video in resolved]))
    for video in resolved:
        link = folder / video.relative_to(root)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(video)
    return folder


def _embed_batch(
    batch: pd.DataFrame, embedder: PoseEmbedder, batch_size: int, report: IndexReport
) -> tuple[np.ndarray, np.ndarray]:
    """Read and embed one batch; items that fail (unreadable pose, wrong layout) are reported and left out."""
    ids, poses = [], []
    for _, row in batch.iterrows():
        try:
            poses.append(read_item_pose(row))
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
