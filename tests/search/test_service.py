"""The search use cases (signclip.search.service) and what issue 12 asks of them: the model a dataset
was indexed with by default, errors naming the dataset's models, relevance cues, the query's own item left
out, unlabeled folders, pose jobs, validated dataset names, undefined metrics."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from embedders import PoseStatisticsEmbedder, index_table, save_tiny_model

from signclip.cli.wording import cli_message
from signclip.data.datasets.folder import folder_table
from signclip.data.manifest import read_manifest
from signclip.evaluation.analysis import rank_vectors
from signclip.evaluation.metrics import summarize
from signclip.evaluation.search import evaluate_dataset
from signclip.poses.io import read_pose
from signclip.search import models, service
from signclip.search.relevance import NULL_PROMPTS, Relevance, null_prompts, relevance_of, standing
from signclip.serve.errors import error_body
from signclip.store.items import InvalidDatasetNameError
from signclip.store.store import Store


@pytest.fixture
def indexed(store: Store, synthetic_manifest: Path, embedder) -> tuple[Store, object]:
    index_table(store, "synthetic", read_manifest(synthetic_manifest), embedder, progress=False)
    return store, embedder


def test_a_dataset_of_one_model_is_searched_with_it_by_default(store, synthetic_manifest, embedder, tmp_path):
    manifest = read_manifest(synthetic_manifest)
    index_table(store, "synthetic", manifest, embedder, progress=False, model_source=str(tmp_path / "model"))
    assert models.choose_model(store, "synthetic") == str(tmp_path / "model")  # where it was loaded from
    stored = store.dataset_models("synthetic")
    assert models.choose_loaded_model(stored, "synthetic", ["other", embedder.name], None) == embedder.name


def test_a_model_of_unknown_origin_must_be_given(indexed):
    store, _ = indexed  # indexed without a model source, under a name no registry knows
    with pytest.raises(models.ModelChoiceError, match="whose directory the store does not know") as caught:
        models.choose_model(store, "synthetic")
    assert caught.value.problem == "unknown_source" and "--model" not in str(caught.value)  # no front end's words
    assert cli_message(caught.value).endswith("give it with --model DIRECTORY")


def test_another_model_or_several_models_give_errors_naming_the_datasets_models(indexed, synthetic_manifest):
    store, _ = indexed
    with pytest.raises(models.ModelChoiceError, match="indexed with pose-statistics") as caught:
        models.choose_model(store, "synthetic", "signclip-small")
    assert caught.value.models == ["pose-statistics"]
    with pytest.raises(models.ModelChoiceError, match="none of which this server has loaded") as caught:
        models.choose_loaded_model(store.dataset_models("synthetic"), "synthetic", ["signclip-small"], None)
    assert caught.value.loaded == ["signclip-small"] and "signclip serve --model" in error_body(caught.value)["detail"]
    other = PoseStatisticsEmbedder(name="other-statistics", seed=3)
    index_table(store, "synthetic", read_manifest(synthetic_manifest), other, progress=False)
    with pytest.raises(models.ModelChoiceError, match="2 models") as caught:
        models.choose_model(store, "synthetic")
    assert caught.value.models == ["other-statistics", "pose-statistics"] and caught.value.problem == "several"
    stored = store.dataset_models("synthetic")  # two models: the loaded one that the dataset has is chosen
    assert models.choose_loaded_model(stored, "synthetic", ["signclip-small", "pose-statistics"], None) == (
        "pose-statistics"
    )


def test_search_by_example_leaves_out_the_query_item_and_gives_relevance(indexed, synthetic_manifest):
    store, embedder = indexed
    row = read_manifest(synthetic_manifest).iloc[0]
    query = service.Query(pose=read_pose(row["pose_path"]))
    with_self = service.search(store, embedder, "synthetic", query, k=3)
    assert with_self.results[0].key == row["id"] and with_self.results[0].distance == pytest.approx(0, abs=1e-5)
    assert with_self.relevance[0].strong and with_self.relevance[0].percentile == 1.0
    without = service.search(store, embedder, "synthetic", query, k=3, exclude_keys={row["id"]})
    assert row["id"] not in [hit.key for hit in without.results] and len(without.results) == 3
    assert len(without.relevance) == 3


def test_an_untrained_model_and_a_tiny_dataset_have_no_strong_hits(
    indexed, synthetic_manifest, store, tmp_path, tiny_text_model
):
    from signclip.model.hub import load_model

    _, embedder = indexed
    row = read_manifest(synthetic_manifest).iloc[0]
    query = service.Query(pose=read_pose(row["pose_path"]))
    untrained = load_model(save_tiny_model(tmp_path, tiny_text_model, "untrained", 16))  # random weights
    index_table(store, "untrained", read_manifest(synthetic_manifest), untrained, progress=False)
    answer = service.search(store, untrained, "untrained", query, k=3)
    assert answer.results and answer.strong_matches == 0 and "untrained" in answer.cue_undefined
    index_table(store, "one", read_manifest(synthetic_manifest).iloc[:1], embedder, progress=False)
    answer = service.search(store, embedder, "one", query, k=3)
    assert len(answer.results) == 1 and answer.results[0].distance == pytest.approx(0, abs=1e-5)
    assert answer.strong_matches == 0 and "too few" in answer.cue_undefined  # the query itself: no cue


def test_relevance_marks_only_scores_at_or_above_the_null_threshold():
    background = np.linspace(0.0, 0.5, 101)
    cues = standing(background, 0.5, [0.9, 0.25])
    assert cues[0] == Relevance(percentile=1.0, threshold=0.5, strong=True)
    assert not cues[1].strong and cues[1].percentile == pytest.approx(0.5, abs=0.01)
    assert len(set(null_prompts())) == NULL_PROMPTS and null_prompts() == null_prompts()  # fixed


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
    table = folder_table(root, require_glosses=False)
    assert sorted(table["id"]) == ["bye-1", "hello-1", "loose"]
    assert table.set_index("id")["gloss"].to_dict() == {"hello-1": "hello", "bye-1": "bye", "loose": ""}
    assert set(table["split"]) == {""} and table.attrs["without_gloss"] == 1
    with pytest.raises(Exception, match=r"1 files lie directly in the dataset folder.*: loose\.pose"):
        folder_table(root, require_glosses=True)
    flat = root / "hello"
    report = index_table(
        store, "flat", folder_table(flat, require_glosses=False), PoseStatisticsEmbedder(), progress=False
    )
    assert report.embedded == 1 and store.items("flat")["gloss"].tolist() == [""]
    answer = service.search(store, PoseStatisticsEmbedder(), "flat", service.Query(pose=read_pose(flat / "1.pose")))
    assert [hit.key for hit in answer.results] == ["1"]
    index_table(
        store, "flat", folder_table(root / "bye", require_glosses=False), PoseStatisticsEmbedder(), progress=False
    )
    with pytest.raises(Exception, match="evaluation needs labels"):
        evaluate_dataset(store, "flat", "pose-statistics", progress=False)


def test_video_rows_get_pose_files_below_the_poses_folder_by_their_folders(tmp_path):
    from signclip.data.manifest import normalize_manifest
    from signclip.search.planning import plan_pose_jobs

    for gloss in ("hello", "bye"):
        (tmp_path / "videos" / gloss).mkdir(parents=True)
        (tmp_path / "videos" / gloss / "1.mp4").write_bytes(b"not really a video")
    rows = [{"id": g, "video_path": str(tmp_path / "videos" / g / "1.mp4")} for g in ("hello", "bye")]
    rows.append({"id": "gone", "video_path": str(tmp_path / "videos" / "gone.mp4")})
    plan = plan_pose_jobs(normalize_manifest(pd.DataFrame(rows)), tmp_path / "poses")
    outputs = sorted(job.output for job in plan.jobs)
    assert outputs == [tmp_path / "poses" / "bye" / "1.pose", tmp_path / "poses" / "hello" / "1.pose"]
    assert [key for key, _ in plan.failed] == ["gone"] and sorted(plan.rows["id"]) == ["bye", "hello"]
    assert not (tmp_path / "poses").exists()  # planning writes nothing


def test_one_gloss_makes_the_metrics_undefined_not_perfect():
    result = rank_vectors(np.random.default_rng(0).normal(size=(5, 4)), ["HOUSE"] * 5, k=2)
    summary = summarize(result)
    assert summary["precision_at_k"] is None and summary["mean_average_precision"] is None
    assert "one gloss" in summary["undefined"]


def test_relevance_from_the_datasets_own_scores(store: Store):
    rng = np.random.default_rng(1)
    centres = np.eye(3, 16)
    vectors = np.repeat(centres, 5, axis=0) + 0.05 * rng.normal(size=(15, 16))
    ids = store.add_items("clusters", [{"id": f"i{i}", "pose_path": "/p.pose"} for i in range(15)])
    store.add_embeddings("toy", ids, vectors.astype(np.float32))
    own, other = float(vectors[0] @ centres[0] / np.linalg.norm(vectors[0])), 0.0
    pose_cues = relevance_of(store, "clusters", "toy", [own, other])
    assert pose_cues[0].strong and not pose_cues[1].strong  # a cluster member vs an unrelated item
    meaningless = rng.normal(size=(8, 16)) * 0.1 + centres[1]  # "prompts" that all land near cluster 1
    reach = float(
        np.max(
            (meaningless / np.linalg.norm(meaningless, axis=1, keepdims=True))
            @ (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).T
        )
    )
    weak, strong = relevance_of(store, "clusters", "toy", [reach - 0.01, reach + 0.01], null_vectors=meaningless)
    assert not weak.strong and strong.strong  # only a hit beyond what any meaningless text reaches
    assert weak.threshold == pytest.approx(reach, abs=1e-4)


def test_an_empty_answer_says_why(indexed, synthetic_manifest):
    store, embedder = indexed
    row = read_manifest(synthetic_manifest).iloc[0]
    query = service.Query(pose=read_pose(row["pose_path"]))
    found = service.search(store, embedder, "synthetic", query, k=3)
    assert found.results and found.empty_reason == ""
    nobody = service.search(store, embedder, "synthetic", query, k=3, where={"signer": ["nobody", "none"]})
    assert nobody.results == [] and nobody.empty_reason == "no item of 'synthetic' has signer=nobody|none"
    rows = read_manifest(synthetic_manifest)
    same = {"gloss": row["gloss"], "signer": row["signer"]}
    keys = set(rows[(rows["gloss"] == row["gloss"]) & (rows["signer"] == row["signer"])]["id"])
    excluded = service.search(store, embedder, "synthetic", query, k=3, where=same, exclude_keys=keys)
    assert excluded.results == [] and excluded.empty_reason == "every match was left out as the query's own item"
