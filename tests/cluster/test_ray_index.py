"""`index add --engine ray` against the local path: the same items, pose files and embeddings in the store;
bulk loading shards made elsewhere; shards of another model refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("ray")

from embedders import index_table

from signclip.cluster.engine import RayEngine
from signclip.cluster.session import RayOptions
from signclip.data.table import TableSource, load_table
from signclip.model.hub import create_model, load_model, save_model
from signclip.search.request import IndexOptions
from signclip.store.bulk import load_embeddings
from signclip.store.shards import ShardError, read_shards, shard_bytes
from signclip.store.store import Store

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
TINY = {"base": "signclip-small", "name": "tiny-index", "tower_dim": 16, "pose_encoder": {"layers": 1, "width": 32}}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> str:
    return str(save_model(create_model(TINY), tmp_path_factory.mktemp("model") / "tiny"))


@pytest.fixture
def manifest(tmp_path) -> pd.DataFrame:
    """Fingerspelling poses of two languages plus a video row of the real fixture video."""
    if not (SHARED / "data" / "fingerspelling").is_dir() or not (SHARED / "fixtures" / "test_video.mp4").is_file():
        pytest.skip("needs ../shared (fingerspelling poses and the fixture video)")
    table = load_table(TableSource(dataset="fingerspelling-lexicon", root=str(SHARED / "data" / "fingerspelling")))
    table = table[table["signed_language"].isin(["ase", "gss"])].reset_index(drop=True)
    video = tmp_path / "videos" / "signer.mp4"
    video.parent.mkdir()
    shutil.copy(SHARED / "fixtures" / "test_video.mp4", video)
    row = {**table.iloc[0].to_dict(), "id": "video-1", "pose_path": "", "video_path": str(video), "gloss": "VIDEO"}
    return pd.concat([table, pd.DataFrame([row])], ignore_index=True)


def stored(store: Store, dataset: str, model: str) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    items = store.items(dataset).drop(columns=["item_id", "pose_path"]).sort_values("key", ignore_index=True)
    ids, vectors = store.vectors(dataset, model)
    keys = dict(zip(store.items(dataset)["item_id"], store.items(dataset)["key"], strict=True))
    return items, {keys[int(i)]: v for i, v in zip(ids, vectors, strict=True)}


def test_the_ray_path_stores_what_the_local_path_stores(ray_local, store, tmp_path, model_dir, manifest):

    model = load_model(model_dir)
    local = index_table(store, "local", manifest, model, IndexOptions(progress=False, workers=1))
    ray = RayEngine(RayOptions(), tmp_path / "shards", actors=2)
    options = IndexOptions(progress=False, workers=2, model_source=model_dir)
    report = index_table(store, "ray", manifest, model, options, engine=ray)
    assert (report.embedded, report.extracted, report.failed) == (local.embedded, 1, []) == (len(manifest), 1, [])
    assert len(read_shards([tmp_path / "shards" / "tiny-index"]).ids) == len(manifest)
    local_items, local_vectors = stored(store, "local", "tiny-index")
    ray_items, ray_vectors = stored(store, "ray", "tiny-index")
    pd.testing.assert_frame_equal(local_items, ray_items)
    assert local_vectors.keys() == ray_vectors.keys()
    for key, vector in local_vectors.items():
        np.testing.assert_allclose(ray_vectors[key], vector, atol=1e-6)
    poses = {name: sorted(store.home.glob(f"poses/{name}/**/*.pose")) for name in ("local", "ray")}
    assert [p.read_bytes() for p in poses["local"]] == [p.read_bytes() for p in poses["ray"]] and poses["ray"]
    assert store.has_index("tiny-index")

    again = index_table(store, "ray", manifest, model, options, engine=ray)
    assert (again.embedded, again.already_embedded, again.extracted) == (0, len(manifest), 0)


def test_bulk_load_maps_ids_to_items_and_refuses_unknown_ids_and_other_weights(store, tmp_path, model_dir):
    rows = pd.DataFrame({"id": ["a", "b"], "pose_path": ["/x/a.pose", "/x/b.pose"], "text": ["A", "B"]})
    store.add_items("bulk", rows)
    vectors = np.eye(2, 16, dtype=np.float32)
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "one.parquet").write_bytes(shard_bytes(["a", "b"], vectors, "bulk-model", "f" * 64))
    report = load_embeddings(store, "bulk", [tmp_path / "s"])
    assert report.rows == 2 and store.has_index("bulk-model")
    ids, stored_vectors = store.vectors("bulk", "bulk-model")
    keys = dict(zip(store.items("bulk")["item_id"], store.items("bulk")["key"], strict=True))
    np.testing.assert_allclose(stored_vectors[[keys[int(i)] == "b" for i in ids]][0], vectors[1], atol=1e-6)
    assert load_embeddings(store, "bulk", [tmp_path / "s"]).rows == 2  # idempotent: the same rows again
    assert len(store.vectors("bulk", "bulk-model")[0]) == 2

    (tmp_path / "u").mkdir()
    (tmp_path / "u" / "x.parquet").write_bytes(shard_bytes(["a", "zz"], vectors, "bulk-model", "f" * 64))
    with pytest.raises(ShardError, match="not items of dataset 'bulk'"):
        load_embeddings(store, "bulk", [tmp_path / "u"])
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "x.parquet").write_bytes(shard_bytes(["a", "b"], vectors, "bulk-model", "0" * 64))
    with pytest.raises(Exception, match="other weights"):
        load_embeddings(store, "bulk", [tmp_path / "o"])
    assert len(store.vectors("bulk", "bulk-model")[0]) == 2  # nothing lost


def test_the_ray_path_indexes_segments_of_a_recording(ray_local, store, tmp_path, model_dir):
    recording = SHARED / "fixtures" / "continuous_signing.pose"
    if not recording.is_file():
        pytest.skip("needs ../shared/fixtures/continuous_signing.pose")
    manifest = pd.DataFrame([{"id": "story", "pose_path": str(recording), "signer": "s1"}])
    options = IndexOptions(progress=False, segment=True, model_source=model_dir)
    engine = RayEngine(RayOptions(), tmp_path / "shards")
    report = index_table(store, "story", manifest, load_model(model_dir), options, engine=engine)
    items = store.items("story").sort_values("key", ignore_index=True)
    assert items["key"].tolist() == ["story#sign1", "story#sign2", "story#sign3"]
    assert report.embedded == 3 and len(read_shards([tmp_path / "shards" / "tiny-index"]).ids) == 3
    assert (items["start_ms"] > 0).all() and (items["end_ms"] > items["start_ms"]).all()
