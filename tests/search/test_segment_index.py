"""`index add --segment`: recordings become one item per segment, with their recording and start/end times."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from embedders import index_table

from signclip.errors import SignclipError
from signclip.poses.io import read_pose, write_pose
from signclip.poses.transforms.core import with_body
from signclip.search.service import item_pose, stored_item
from signclip.store.store import Store

FPS = 30.0
DGS_SIGNS = [(17, 34), (35, 58), (59, 93)]  # dgs-2023's sign segments of continuous_signing.pose (model README)


def segment_index(store: Store, manifest: pd.DataFrame, embedder, tmp_path: Path, **options):
    return index_table(
        store, "long", manifest, embedder, segment=True, poses_dir=tmp_path / "poses", progress=False, **options
    )


def test_every_segment_becomes_an_item_with_its_recording_and_times(store, fixtures_dir, embedder, tmp_path):
    recording = str(fixtures_dir / "continuous_signing.pose")
    manifest = pd.DataFrame(
        [{"id": "story", "pose_path": recording, "gloss": "STORY", "text": "a story", "signer": "s1", "split": "test"}]
    )
    report = segment_index(store, manifest, embedder, tmp_path)
    assert (report.recordings, report.items, report.embedded, report.failed) == (1, 3, 3, [])
    assert "1 recordings -> 3 segments (segmenter 'dgs-2023')" in report.lines()[0]
    items = store.items("long").set_index("key")
    assert list(items.index) == ["story#sign1", "story#sign2", "story#sign3"]
    expected = [(start / FPS * 1000, (end + 1) / FPS * 1000) for start, end in DGS_SIGNS]
    assert np.allclose(items[["start_ms", "end_ms"]].to_numpy(dtype=float), expected)
    assert set(items["pose_path"]) == {recording} and set(items["signer"]) == {"s1"}
    assert set(items["gloss"]) == {""} and set(items["text"]) == {""} and set(items["split"]) == {"test"}
    assert items["metadata"].iloc[0]["recording"] == "story" and items["metadata"].iloc[0]["level"] == "sign"
    frames = [item_pose(stored_item(store, i)).body.data.shape[0] for i in items["item_id"]]
    assert frames == [end - start + 1 for start, end in DGS_SIGNS]

    rerun = segment_index(store, manifest, embedder, tmp_path)
    assert (rerun.items, rerun.embedded, rerun.already_embedded) == (3, 0, 3)
    assert len(store.items("long")) == 3


def test_sentences_and_a_recording_without_hands_is_reported_not_fatal(store, fixtures_dir, embedder, tmp_path):
    pose = read_pose(fixtures_dir / "continuous_signing.pose")
    confidence = pose.body.confidence.copy()
    confidence[:, :, 33:] = 0  # only the body: no face, no hands
    handless = write_pose(with_body(pose, np.ma.getdata(pose.body.data), confidence), tmp_path / "handless.pose")
    manifest = pd.DataFrame(
        [
            {"id": "story", "pose_path": str(fixtures_dir / "continuous_signing.pose")},
            {"id": "still", "pose_path": str(handless)},
        ]
    )
    report = segment_index(store, manifest, embedder, tmp_path, level="sentence")
    assert (report.recordings, report.items) == (2, 4)  # sentences 27-34, 38-38, 41-79, 84-89
    assert [key for key, _ in report.unsegmented] == ["still"] and "hand" in report.unsegmented[0][1]
    assert any(line.startswith("no segments: still:") for line in report.lines())
    assert list(store.items("long")["key"]) == [f"story#sentence{n}" for n in range(1, 5)]


def test_a_time_range_of_a_recording_is_segmented_within_it(store, fixtures_dir, embedder, tmp_path):
    start, end = 1000.0, 3000.0  # frames 30-89 at 30 fps
    row = {"id": "part", "pose_path": str(fixtures_dir / "continuous_signing.pose"), "start_ms": start, "end_ms": end}
    report = segment_index(store, pd.DataFrame([row]), embedder, tmp_path)
    items = store.items("long")
    assert report.items == len(items) >= 1
    assert (items["start_ms"] >= start).all() and (items["end_ms"] <= end + 1e-6).all()
    frames = items["start_ms"].to_numpy(dtype=float) * FPS / 1000
    assert np.allclose(frames, np.round(frames))  # on the recording's frames, not the cut's


def test_all_or_nothing_refuses_a_recording_without_segments(store, fixtures_dir, embedder, tmp_path):
    short = {"id": "short", "pose_path": str(fixtures_dir / "continuous_signing.pose"), "end_ms": 30.0}
    with pytest.raises(SignclipError, match=r"recording 'short'.*nothing was indexed"):
        segment_index(store, pd.DataFrame([short]), embedder, tmp_path, all_or_nothing=True)
    assert store.list_datasets() == []


def test_a_segmenter_that_cannot_read_the_layout_fails_the_recording(store, fixtures_dir, embedder, tmp_path):
    manifest = pd.DataFrame([{"id": "openpose", "pose_path": str(fixtures_dir / "openpose.pose")}])
    report = segment_index(store, manifest, embedder, tmp_path)
    assert report.items == 0 and [key for key, _ in report.failed] == ["openpose"]
    assert "motion" in report.failed[0][1]


@pytest.mark.slow  # runs MediaPipe Holistic on a real 58-frame video
def test_a_video_is_extracted_once_and_segmented(store, fixtures_dir, embedder, tmp_path):
    pytest.importorskip("mediapipe")
    video = str(fixtures_dir / "test_video.mp4")
    manifest = pd.DataFrame([{"id": "clip", "video_path": video, "signer": "s2", "gloss": "CLIP"}])
    report = segment_index(store, manifest, embedder, tmp_path)
    assert report.extracted == 1 and report.items >= 1 and report.embedded == report.items, report.lines()
    items = store.items("long")
    assert set(items["video_path"]) == {video} and set(items["pose_path"]) == {str(tmp_path / "poses/test_video.pose")}
    assert (items["start_ms"] < items["end_ms"]).all() and (items["end_ms"] <= 58 / 29.9 * 1000).all()
    rerun = segment_index(store, manifest, embedder, tmp_path)
    assert (rerun.extracted, rerun.embedded, rerun.already_embedded) == (0, 0, report.items)


def test_a_recording_re_segmented_into_fewer_segments_leaves_no_stale_items(store, fixtures_dir, embedder, tmp_path):
    recording = str(fixtures_dir / "continuous_signing.pose")
    whole = {"id": "story", "pose_path": recording}
    other = {"id": "story#2", "pose_path": recording}  # a key that merely starts like story's segments
    assert segment_index(store, pd.DataFrame([whole, other]), embedder, tmp_path).items == 6
    shorter = {**whole, "start_ms": 0.0, "end_ms": 1300.0}  # frames 0-38: only dgs-2023's first sign or two
    report = segment_index(store, pd.DataFrame([shorter]), embedder, tmp_path)
    keys = set(store.items("long")["key"])
    assert 1 <= report.items < 3 and report.removed == 3 - report.items
    assert {k for k in keys if k.startswith("story#sign")} == {f"story#sign{n}" for n in range(1, report.items + 1)}
    assert {f"story#2#sign{n}" for n in (1, 2, 3)} <= keys  # another recording's segments are kept
    assert f"removed {report.removed} stored segments" in "\n".join(report.lines())
    broken = {"id": "story#2", "pose_path": str(tmp_path / "gone.pose")}
    assert segment_index(store, pd.DataFrame([broken]), embedder, tmp_path).removed == 0  # failed: nothing lost
    assert {f"story#2#sign{n}" for n in (1, 2, 3)} <= set(store.items("long")["key"])
