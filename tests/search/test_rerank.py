"""DTW re-ranking of search candidates: DTW's order on the stored poses, the fusion weight kept per dataset and
model, and the errors (no poses, another layout, a text query, candidates capped)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from embedders import PoseStatisticsEmbedder, index_table

from signclip.data.manifest import read_manifest
from signclip.evaluation.dtw import dtw_distance_matrix
from signclip.model.pose_dtw import PoseDTWIndex, TextSearchError
from signclip.poses.io import read_pose
from signclip.search import service
from signclip.search.rerank import Rerank, RerankError, compare_and_keep, query_sequence


@pytest.fixture
def manifest(synthetic_manifest) -> pd.DataFrame:
    return read_manifest(synthetic_manifest)


def test_the_training_free_index_reranks_pose_queries_by_dtw(store, manifest, tmp_path):
    index = PoseDTWIndex()
    index_table(store, "signs", manifest, index, progress=False, model_source="pose-dtw")
    query_row = manifest.iloc[0]
    query = service.Query(pose=read_pose(query_row["pose_path"]))
    answer = service.search(store, index, "signs", query, k=5, exclude_keys={query_row["id"]})
    assert answer.reranked is not None and answer.reranked.weight is None and answer.reranked.preset == "fingerclip"
    assert answer.reranked.candidates == len(manifest) and "16 items" in answer.reranked.note  # C capped, said
    distances = [hit.dtw_distance for hit in answer.results]
    assert distances == sorted(distances) and len(distances) == 5
    tensor, _ = query_sequence(query.pose)
    others = manifest[manifest["id"] != query_row["id"]]
    items = [index.preprocess(read_pose(path))[0] for path in others["pose_path"]]
    brute = dtw_distance_matrix([tensor], items)[0]  # DTW against every other item
    expected = list(others["id"].to_numpy()[np.argsort(brute, kind="stable")][:5])
    assert [hit.key for hit in answer.results] == expected
    np.testing.assert_allclose(distances, np.sort(brute)[:5], rtol=1e-5)

    plain = service.search(store, index, "signs", query, k=5, rerank=Rerank("none"))
    assert plain.reranked is None and all(hit.dtw_distance is None for hit in plain.results)
    with pytest.raises(TextSearchError, match="text search needs a trained or converted model"):
        service.search(store, index, "signs", service.Query(text="house"))


def test_stored_sequences_serve_later_searches_without_the_pose_files(store, manifest, tmp_path):
    copied = manifest.copy()
    for i, path in enumerate(manifest["pose_path"]):
        shutil.copy(path, tmp_path / f"{i}.pose")
        copied.loc[i, "pose_path"] = str(tmp_path / f"{i}.pose")
    index = PoseDTWIndex()
    index_table(store, "copies", copied, index, progress=False)
    query = service.Query(pose=read_pose(manifest.iloc[0]["pose_path"]))
    first = service.search(store, index, "copies", query, k=3)
    for path in copied["pose_path"]:
        Path(path).unlink()
    again = service.search(store, index, "copies", query, k=3)
    assert [hit.key for hit in again.results] == [hit.key for hit in first.results]


def test_candidates_without_poses_and_a_query_of_another_layout_are_refused(store, manifest, boston_dir):
    index = PoseDTWIndex()
    index_table(store, "signs", manifest, index, progress=False)
    from signclip.poses.io import read_keypoint_csv

    two_d = read_keypoint_csv(boston_dir / "hands_condensed.csv", group_column="video")["2"]
    with pytest.raises(RerankError, match=r"another layout than the query.*2D tracks of 3 points"):
        service.search(store, index, "signs", service.Query(pose=two_d), k=3)
    ids = store.add_items("gone", [{"id": f"g{i}", "pose_path": f"/nowhere/{i}.pose", "gloss": "G"} for i in range(3)])
    store.add_embeddings(index.name, ids, np.eye(3, 256, dtype=np.float32))
    with pytest.raises(RerankError, match=r"dataset 'gone': 3 of the 3 candidates have no pose to re-rank by"):
        service.search(store, index, "gone", service.Query(pose=read_pose(manifest.iloc[0]["pose_path"])), k=2)
    with pytest.raises(RerankError, match="takes a pose or video query"):
        service.search(store, index, "signs", service.Query(text="x"), rerank=Rerank())


def test_a_learned_model_fuses_with_dtw_at_the_weight_evaluation_kept(store, manifest):
    learned = PoseStatisticsEmbedder()
    index_table(store, "signs", manifest, learned, progress=False)
    query = service.Query(pose=read_pose(manifest.iloc[3]["pose_path"]))
    before = service.search(store, learned, "signs", query, k=3, rerank=Rerank())
    assert before.reranked.weight == 1.0 and "not chosen on this dataset" in before.reranked.weight_source
    comparison, kept = compare_and_keep(store, "signs", learned.name, 200, None, 4)
    assert f"kept fusion weight {comparison.weight:g}" in kept and comparison.hybrid_candidates is not None
    after = service.search(store, learned, "signs", query, k=3, rerank=Rerank())
    assert after.reranked.weight == comparison.weight and "search evaluate --rerank dtw" in after.reranked.weight_source
    given = service.search(store, learned, "signs", query, k=3, rerank=Rerank(weight=0.0))
    cosine_order = service.search(store, learned, "signs", query, k=3)
    assert [hit.key for hit in given.results] == [hit.key for hit in cosine_order.results]  # weight 0: the cosine's
    with pytest.raises(Exception, match="candidates must be at least 1"):
        Rerank(candidates=0)
