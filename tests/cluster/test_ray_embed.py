"""Embedding on Ray actors into Parquet shards: equal to in-process embedding, resumable, one model per folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ray")

from signclip.cluster.embed import embed_manifest
from signclip.cluster.session import RayOptions
from signclip.data.table import TableSource, load_table, read_table_poses
from signclip.errors import SignclipError
from signclip.model.hub import create_model, save_model
from signclip.store.shards import ShardError, read_shards

FINGERSPELLING = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "fingerspelling"
TINY = {"base": "signclip-small", "name": "tiny-ray", "tower_dim": 16, "pose_encoder": {"layers": 1, "width": 32}}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return save_model(create_model(TINY), tmp_path_factory.mktemp("model") / "tiny")


@pytest.fixture(scope="module")
def table():
    if not FINGERSPELLING.is_dir():
        pytest.skip("needs ../shared/data/fingerspelling")
    rows = load_table(TableSource(dataset="fingerspelling-lexicon", root=str(FINGERSPELLING)))
    return rows[rows["signed_language"].isin(["ase", "gsg"])].reset_index(drop=True)


def test_shards_equal_in_process_embeddings_and_a_rerun_resumes(ray_local, model_dir, table, tmp_path):
    from signclip.model.hub import load_model

    expected = load_model(model_dir).embed_poses(read_table_poses(table), batch_size=64)
    broken = table.copy()
    broken.loc[0, "pose_path"] = str(tmp_path / "missing.pose")
    report = embed_manifest(broken, model_dir, tmp_path / "shards", RayOptions(), actors=2, batch_size=16)
    assert report.embedded == len(table) - 1 and [key for key, _ in report.failed] == [table["id"][0]]
    assert "missing.pose" in (tmp_path / "shards" / "embed_errors.log").read_text()
    shards = read_shards([tmp_path / "shards"])
    assert shards.model == "tiny-ray" and len(shards.files) == len(report.shards) == 4
    order = {key: row for row, key in enumerate(shards.ids)}
    rows = [order[key] for key in table["id"][1:]]
    np.testing.assert_allclose(shards.vectors[rows], expected[1:], atol=1e-6)

    again = embed_manifest(table, model_dir, tmp_path / "shards", RayOptions(), actors=2, batch_size=16)
    assert (again.embedded, again.skipped, again.failed) == (1, len(table) - 1, [])
    assert len(read_shards([tmp_path / "shards"]).ids) == len(table)


def test_a_folder_with_another_model_s_shards_is_refused(ray_local, model_dir, table, tmp_path):
    embed_manifest(table.head(4), model_dir, tmp_path / "shards", RayOptions(), actors=1)
    other = save_model(create_model({**TINY, "name": "other", "tower_dim": 8}), tmp_path / "other")
    with pytest.raises(ShardError, match="fingerprint"):
        embed_manifest(table.head(4), other, tmp_path / "shards", RayOptions(), actors=1)
    assert isinstance(ShardError("x"), SignclipError)
