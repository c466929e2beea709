"""Segmentation on Ray actors: the same segment rows as in this process, failures reported the same way."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("ray")

from signclip.cluster.engine import RayEngine
from signclip.cluster.session import RayOptions
from signclip.data.manifest import normalize_manifest
from signclip.search.engine import LocalEngine
from signclip.search.request import Segmentation
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
    records = normalize_manifest(manifest).to_dict(orient="records")
    segmentation = Segmentation(load_segmenter("dgs-2023"), "dgs-2023", "sign")
    local = LocalEngine().segment(records, segmentation, progress=False)
    remote = RayEngine(RayOptions(), tmp_path / "shards", actors=2).segment(records, segmentation, progress=False)
    rows = [row for outcome in local for row in outcome.rows]
    assert len(rows) >= 3 and {row["id"].split("#")[0] for row in rows} == {"story", "later"}
    assert remote == local
    assert [outcome.id for outcome in remote if outcome.error] == ["broken"]
