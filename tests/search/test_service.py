"""The search use cases (signclip.search.service) and what issue 12 asks of them: the model a dataset
was indexed with by default, errors naming the dataset's models, relevance cues, the query's own item left
out, unlabeled folders, mirrored extraction, validated dataset names, undefined metrics."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from signclip.data.manifest import read_manifest
from signclip.metrics import summarize
from signclip.poses.io import read_pose
from signclip.search import service
from signclip.search.analysis import rank_vectors
from signclip.search.evaluation import evaluate_dataset
from signclip.search.indexer import _mirror_videos, index_manifest
from signclip.search.items import InvalidDatasetNameError
from signclip.search.relevance import score_standing, strong_threshold
from signclip.search.sources import folder_table
from signclip.search.store import Store

from .conftest import PoseStatisticsEmbedder


@pytest.fixture
def indexed(store: Store, synthetic_manifest: Path, embedder) -> tuple[Store, object]:
    index_manifest(store, "synthetic", read_manifest(synthetic_manifest), embedder, progress=False)
    return store, embedder


def test_a_dataset_of_one_model_is_searched_with_it_by_default(indexed):
    store, embedder = indexed
    assert service.choose_model(store, "synthetic") == embedder.name
    assert service.choose_loaded_model(store, "synthetic", ["other", embedder.name], None) == embedder.name


def test_another_model_or_several_models_give_errors_naming_the_datasets_models(indexed, synthetic_manifest):
    store, _ = indexed
    with pytest.raises(service.ModelChoiceError, match="indexed with pose-statistics") as caught:
        service.choose_model(store, "synthetic", "signclip-small")
    assert caught.value.models == ["pose-statistics"]
    with pytest.raises(service.ModelChoiceError, match="has not loaded"):
        service.choose_loaded_model(store, "synthetic", ["signclip-small"], None)
    other = PoseStatisticsEmbedder(name="other-statistics", seed=3)
    index_manifest(store, "synthetic", read_manifest(synthetic_manifest), other, progress=False)
    with pytest.raises(service.ModelChoiceError, match="2 models") as caught:
        service.choose_model(store, "synthetic")
    assert caught.value.models == ["other-statistics", "pose-statistics"]


def test_search_by_example_leaves_out_the_query_item_and_gives_relevance(indexed, synthetic_manifest):
    store, embedder = indexed
    row = read_manifest(synthetic_manifest).iloc[0]
    query = service.Query(pose=read_pose(row["pose_path"]))
    with_self = service.search(store, embedder, "synthetic", query, k=3)
    assert with_self.results[0].key == row["id"] and with_self.results[0].distance == pytest.approx(0, abs=1e-5)
    assert with_self.relevance[0].strong and with_self.relevance[0].percentile == pytest.approx(15 / 16)
    without = service.search(store, embedder, "synthetic", query, k=3, exclude_keys={row["id"]})
    assert row["id"] not in [hit.key for hit in without.results] and len(without.results) == 3
    assert len(without.relevance) == 3


def test_relevance_marks_only_scores_that_stand_out():
    background = np.random.default_rng(0).normal(0.3, 0.05, 1000)
    cues = score_standing(background, [0.3 + 0.05 * (strong_threshold(1000) + 0.5), float(background.max())])
    assert cues[0].strong and cues[0].percentile == 1.0
    assert not cues[1].strong  # the best of 1000 unrelated scores is not a strong match
    assert strong_threshold(1000) == pytest.approx(np.sqrt(2 * np.log(1000)) + 1)


def test_untrained_registered_model_is_warned_about(tmp_path):
    assert "untrained" in service.untrained_warning("signclip-small")
    (tmp_path / "config.json").write_text("{}")
    assert service.untrained_warning(str(tmp_path)) is None


def test_dataset_names_are_validated(store: Store):
    for bad in ("../etc", ".hidden", "a/b", ""):
        with pytest.raises(InvalidDatasetNameError, match="not allowed"):
            store.add_items(bad, [{"id": "x", "pose_path": "/p.pose"}])
    assert len(store.add_items("ok-name_1.2", [{"id": "x", "pose_path": "/p.pose"}])) == 1


def test_unlabeled_folders_index_and_search_by_example_but_do_not_evaluate(store, synthetic_manifest, tmp_path):
    manifest = read_manifest(synthetic_manifest)
    root = tmp_path / "archive"
    (root / "hello").mkdir(parents=True)
    (root / "bye").mkdir()
    shutil.copy(manifest.iloc[0]["pose_path"], root / "hello" / "1.pose")
    shutil.copy(manifest.iloc[1]["pose_path"], root / "bye" / "1.pose")
    shutil.copy(manifest.iloc[2]["pose_path"], root / "loose.pose")
    table = folder_table(root)
    assert sorted(table["id"]) == ["bye-1", "hello-1", "loose"]
    assert table.set_index("id")["gloss"].to_dict() == {"hello-1": "hello", "bye-1": "bye", "loose": ""}
    assert set(table["split"]) == {""}
    flat = root / "hello"
    report = index_manifest(store, "flat", folder_table(flat), PoseStatisticsEmbedder(), progress=False)
    assert report.embedded == 1 and store.items("flat")["gloss"].tolist() == [""]
    answer = service.search(store, PoseStatisticsEmbedder(), "flat", service.Query(pose=read_pose(flat / "1.pose")))
    assert [hit.key for hit in answer.results] == ["1"]
    index_manifest(store, "flat", folder_table(root / "bye"), PoseStatisticsEmbedder(), progress=False)
    with pytest.raises(Exception, match="evaluation needs labels"):
        evaluate_dataset(store, "flat", "pose-statistics", progress=False)


def test_extraction_mirrors_the_video_folders(tmp_path):
    from signclip.poses.extract import plan_extraction

    for gloss in ("hello", "bye"):
        (tmp_path / "videos" / gloss).mkdir(parents=True)
        (tmp_path / "videos" / gloss / "1.mp4").write_bytes(b"not really a video")
    videos = [str(tmp_path / "videos" / g / "1.mp4") for g in ("hello", "bye")]
    mirror = _mirror_videos(videos, tmp_path / "links")
    outputs = sorted(job.output for job in plan_extraction([mirror], tmp_path / "poses").jobs)
    assert outputs == [tmp_path / "poses" / "bye" / "1.pose", tmp_path / "poses" / "hello" / "1.pose"]


def test_one_gloss_makes_the_metrics_undefined_not_perfect():
    result = rank_vectors(np.random.default_rng(0).normal(size=(5, 4)), ["HOUSE"] * 5, k=2)
    summary = summarize(result)
    assert summary["precision_at_k"] is None and summary["mean_average_precision"] is None
    assert "one gloss" in summary["undefined"]
