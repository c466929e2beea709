"""Segmentation on Ray actors: the same segment rows as in this process, failures reported the same way."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("ray")

from signclip.cluster.engine import RayOptions
from signclip.cluster.segment import ray_segment_runner
from signclip.search.segmenting import segment_recordings
from signclip.segment import load_segmenter

SHARED = Path(__file__).resolve().parents[2].parent / "shared"


def test_ray_actors_give_the_rows_of_local_segmentation(ray_local, tmp_path):
    recording = SHARED / "fixtures" / "continuous_signing.pose"
    if not recording.is_file():
        pytest.skip("needs ../shared/fixtures/continuous_signing.pose")
    manifest = pd.DataFrame(
        [
            {"id": "story", "pose_path": str(recording), "signer": "s1"},
            {"id": "later", "pose_path": str(recording), "start_ms": 1000.0, "end_ms": 4000.0},
            {"id": "broken", "pose_path": str(tmp_path / "missing.pose")},
        ]
    )
    segmenter = load_segmenter("dgs-2023")
    local = segment_recordings(manifest, segmenter, "sign", tmp_path / "poses", progress=False)
    runner = ray_segment_runner(RayOptions(), actors=2, batch_size=1)
    remote = segment_recordings(manifest, segmenter, "sign", tmp_path / "poses", progress=False, segment_runner=runner)
    assert len(local.rows) >= 3 and set(local.rows["id"].str.split("#").str[0]) == {"story", "later"}
    pd.testing.assert_frame_equal(remote.rows, local.rows)
    assert [key for key, _ in remote.failed] == ["broken"] and remote.failed == local.failed
    assert remote.unsegmented == local.unsegmented
