"""Indexing a manifest into the store: batches, resuming after a crash, failures, concurrent search."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from embedders import PoseStatisticsEmbedder, index_table

from signclip.data.manifest import read_manifest
from signclip.poses.io import read_pose
from signclip.store.errors import DimensionMismatchError
from signclip.store.store import Store


class CrashingEmbedder(PoseStatisticsEmbedder):
    """Embeds `good_batches` batches, then raises `error` (a crash, or Ctrl-C) from inside the callback."""

    def __init__(self, good_batches: int, error: BaseException) -> None:
        super().__init__()
        self.good_batches = good_batches
        self.error = error

    def embed_poses(self, poses, batch_size=32):
        if self.calls >= self.good_batches:
            raise self.error
        return super().embed_poses(poses, batch_size)


def embedding_count(store: Store) -> int:
    return store.connection.execute("SELECT count(*) FROM embeddings").fetchone()[0]


def test_index_embeds_every_item_and_finds_each_pose_first(store: Store, synthetic_manifest: Path, embedder):
    manifest = read_manifest(synthetic_manifest)
    report = index_table(store, "synthetic", manifest, embedder, batch_size=5, progress=False)
    assert (report.items, report.embedded, report.already_embedded, report.failed) == (16, 16, 0, [])
    assert report.index_built
    assert embedder.calls == 4  # 16 items in batches of 5
    ids, vectors = store.vectors("synthetic", embedder.name)
    items = store.items("synthetic").set_index("item_id").loc[ids]
    first = items.iloc[0]
    results = store.search("synthetic", embedder.name, vectors[0], k=3)
    assert results[0].key == first["key"] and results[0].distance == pytest.approx(0, abs=1e-5)
    again = index_table(store, "synthetic", manifest, embedder, batch_size=5, progress=False)
    assert (again.embedded, again.already_embedded) == (0, 16)
    forced = index_table(store, "synthetic", manifest, embedder, batch_size=8, force=True, progress=False)
    assert forced.embedded == 16
    assert embedding_count(store) == 16


@pytest.mark.parametrize("error", [RuntimeError("model crashed"), KeyboardInterrupt()])
def test_a_crash_keeps_finished_batches_and_a_rerun_does_the_rest(store, synthetic_manifest, error):
    manifest = read_manifest(synthetic_manifest)
    crashing = CrashingEmbedder(good_batches=2, error=error)
    with pytest.raises(type(error)):
        index_table(store, "synthetic", manifest, crashing, batch_size=4, progress=False)
    assert embedding_count(store) == 8  # two committed batches of 4
    assert len(store.items("synthetic", pending_model=crashing.name)) == 8
    rerun = PoseStatisticsEmbedder()
    report = index_table(store, "synthetic", manifest, rerun, batch_size=4, progress=False)
    assert (report.embedded, report.already_embedded) == (8, 8)
    assert rerun.calls == 2
    assert embedding_count(store) == 16
    assert len(store.items("synthetic")) == 16


def test_unreadable_pose_files_are_reported_and_the_rest_indexed(store, synthetic_manifest, embedder, tmp_path):
    manifest = read_manifest(synthetic_manifest)
    broken = tmp_path / "broken.pose"
    broken.write_bytes(b"not a pose at all")
    manifest.loc[2, "pose_path"] = str(broken)
    manifest.loc[5, "pose_path"] = str(tmp_path / "missing.pose")
    report = index_table(store, "synthetic", manifest, embedder, batch_size=4, progress=False)
    assert report.embedded == 14
    failed = dict(report.failed)
    assert set(failed) == {manifest.loc[2, "id"], manifest.loc[5, "id"]}
    assert "not a readable .pose file" in failed[manifest.loc[2, "id"]]
    assert "no such file" in failed[manifest.loc[5, "id"]]
    assert any("failed:" in line for line in report.lines())


def test_a_model_of_another_size_under_the_same_name_is_refused_before_any_work(store, synthetic_manifest):
    manifest = read_manifest(synthetic_manifest)
    index_table(store, "synthetic", manifest, PoseStatisticsEmbedder(embed_dim=24), progress=False)
    other = PoseStatisticsEmbedder(embed_dim=12)
    with pytest.raises(DimensionMismatchError, match=r"24-d embeddings.*12-d"):
        index_table(store, "synthetic", manifest, other, progress=False)
    assert other.calls == 0


INGEST_SCRIPT = """
import sys, numpy as np
from signclip.store.store import Store
rng = np.random.default_rng(1)
with Store.open(sys.argv[1]) as store:
    for batch in range(int(sys.argv[2])):
        rows = [{"id": f"live-{batch}-{i}", "pose_path": "x.pose", "gloss": "LIVE"} for i in range(200)]
        ids = store.add_items("live", rows)
        store.add_embeddings("toy", ids, rng.normal(size=(200, 16)).astype(np.float32))
        print(batch, flush=True)
"""


@pytest.mark.slow  # starts a second Python process
def test_searching_while_another_process_ingests(store: Store, database_url: str):
    rng = np.random.default_rng(0)
    base = rng.normal(size=(500, 16)).astype(np.float32)
    ids = store.add_items("base", [{"id": f"b{i}", "pose_path": "x.pose", "gloss": f"G{i % 4}"} for i in range(500)])
    store.add_embeddings("toy", ids, base)
    store.build_index("toy")
    expected = [r.item_id for r in store.search("base", "toy", base[7], k=10)]
    writer = subprocess.Popen(
        [sys.executable, "-c", INGEST_SCRIPT, database_url, "10"], stdout=subprocess.PIPE, text=True
    )
    try:
        searches, live_counts = 0, []
        while writer.poll() is None or searches < 3:
            assert [r.item_id for r in store.search("base", "toy", base[7], k=10)] == expected
            if any(d.name == "live" for d in store.list_datasets()):
                live_counts.append(len(store.search("live", "toy", base[7], k=5000, exact=True)))
            searches += 1
            time.sleep(0.02)
    finally:
        writer.wait(timeout=120)
    assert writer.returncode == 0
    assert live_counts == sorted(live_counts)  # committed batches only ever grow
    assert all(count % 200 == 0 for count in live_counts)  # never half a batch
    assert len(store.search("live", "toy", base[7], k=6000, exact=True)) == 2000


@pytest.mark.slow  # runs MediaPipe Holistic on a real 58-frame video
def test_video_rows_are_extracted_once_and_embedded(store: Store, fixtures_dir: Path, embedder, tmp_path: Path):
    pytest.importorskip("mediapipe")
    manifest = pd.DataFrame(
        [
            {"id": "video-sign", "video_path": str(fixtures_dir / "test_video.mp4"), "gloss": "SIGN"},
            {"id": "missing-video", "video_path": str(tmp_path / "gone.mp4"), "gloss": "SIGN"},
        ]
    )
    poses_dir = tmp_path / "poses"
    report = index_table(store, "videos", manifest, embedder, poses_dir=poses_dir, workers=1, progress=False)
    assert (report.extracted, report.embedded) == (1, 1)
    assert dict(report.failed) == {"missing-video": f"{tmp_path / 'gone.mp4'}: no such video file"}
    pose_path = store.items("videos").set_index("key").loc["video-sign", "pose_path"]
    assert pose_path == str(poses_dir / "test_video.pose")
    assert read_pose(pose_path).body.data.shape[0] == 58
    rerun = index_table(store, "videos", manifest, embedder, poses_dir=poses_dir, workers=1, progress=False)
    assert (rerun.extracted, rerun.embedded, rerun.already_embedded) == (0, 0, 1)
