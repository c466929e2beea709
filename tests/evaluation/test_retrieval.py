"""Evaluation of models: retrieval wiring, grouping, flip, anonymize, zero-shot, neighbour fusion, probes, CLI
output and errors."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from signclip.cli import main
from signclip.data.manifest import read_manifest, write_manifest
from signclip.data.prompts import render_prompts
from signclip.data.synthetic import generate_dataset
from signclip.data.table import read_table_poses
from signclip.errors import PoseLayoutError
from signclip.evaluation.probes import few_shot_knn, linear_probe, linear_probe_cross_validated, probe_model
from signclip.evaluation.retrieval import (
    NEIGHBOUR_WEIGHTS,
    EvaluationError,
    Neighbours,
    embed_table_poses,
    evaluate_model,
    format_report,
    fuse_scores,
    nearest_neighbour_scores,
    retrieval_metrics,
)
from signclip.model.hub import create_model, save_model
from signclip.model.identity import Provenance
from signclip.poses.io import read_keypoint_csv, write_pose
from signclip.poses.transforms import anonymize_pose, mirror_pose

TINY_MODEL = {
    "base": "signclip-small",
    "name": "tiny-test",
    "tower_dim": 16,
    "preprocess": [{"name": "normalize_shoulders"}, {"name": "select", "preset": "upper_body_hands"}],
    "input_features": 201,
    "prompt": "plain",
    "freeze_text": True,
    "pose_encoder": {"width": 16, "conv_blocks": 1, "layers": 1, "heads": 2, "mlp_ratio": 1},
}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """Generated data: 4 glosses x 3 signers x 2 repetitions; the last signer is the `test` split."""
    return generate_dataset(tmp_path_factory.mktemp("data"), glosses=4, signers=3, repetitions=2)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """An untrained tiny model saved as a model directory."""
    return save_model(create_model(TINY_MODEL, seed=1), tmp_path_factory.mktemp("model") / "tiny")


@pytest.fixture(scope="module")
def model(model_dir):
    from signclip.model.hub import load_model

    return load_model(model_dir)


def test_evaluate_model_matches_the_metrics_of_its_embeddings(model, dataset):
    table = read_manifest(dataset)
    report = evaluate_model(model, table, split="test")
    rows = table[table["split"] == "test"]
    texts = render_prompts("plain", rows)
    unique = sorted(set(texts))
    scores = model.embed_texts(unique) @ model.embed_poses(read_table_poses(rows)).T
    expected = retrieval_metrics(scores, np.array([unique.index(t) for t in texts]))
    assert report["v2t"] == pytest.approx(expected["v2t"])
    assert report["t2v"] == pytest.approx(expected["t2v"])
    assert report["n_poses"] == 8 and report["n_texts"] == 4 and report["groups"] == {}


def test_group_by_reports_each_group_and_their_mean(model, dataset):
    table = read_manifest(dataset)
    report = evaluate_model(model, table, group_by="signer")
    assert sorted(report["groups"]) == ["signer-0", "signer-1", "signer-2"]
    for direction, key in (("v2t", "R@1"), ("t2v", "MedR")):
        mean = np.mean([g[direction][key] for g in report["groups"].values()])
        assert report[direction][key] == pytest.approx(mean)
    assert all(g["n_texts"] == 4 and g["n_poses"] == 8 for g in report["groups"].values())


def test_flip_changes_the_embeddings_of_asymmetric_signing(model, dataset):
    # the tiny model's preprocessing keeps the signer's sides (no dominant-hand mirroring to undo the flip)
    table = read_manifest(dataset)
    plain = evaluate_model(model, table, split="test")
    flipped = evaluate_model(model, table, split="test", flip=True)
    assert set(flipped) == set(plain)
    poses = read_table_poses(table.head(3))
    assert not np.allclose(embed_table_poses(model, poses), embed_table_poses(model, poses, flip=True))


def test_neighbour_scores_pick_the_closest_reference_of_each_text():
    similarity = np.array([[0.9, 0.1, 0.5], [0.2, 0.8, 0.3]])  # 2 poses x 3 references
    scores = nearest_neighbour_scores(similarity, ["a", "b", "a"], ["a", "b", "c"])
    assert scores[:, 0].tolist() == [0.9, 0.1, -np.inf]
    assert scores[:, 1].tolist() == [0.3, 0.8, -np.inf]
    fused = fuse_scores(np.array([[1.0, 1.0], [0.0, 0.0], [0.0, 0.0]]), scores, weight=1.0)
    assert np.isfinite(fused).all()
    assert fused[0, 0] > fused[1, 0] == fused[2, 0]  # a wins; c (no neighbours) gets the lowest one present


def test_dtw_neighbours_with_a_cross_fitted_weight(model, dataset):
    from signclip.evaluation.dtw import dtw_distances

    table = read_manifest(dataset)
    report = evaluate_model(model, table, split="test", neighbours=Neighbours("dtw", folds=4))
    entry = report["neighbours"]
    assert entry["by"] == "dtw" and len(entry["weights"]) == 4 and entry["chosen_on_all"] in NEIGHBOUR_WEIGHTS
    assert any("weight cross-fitted per fold" in line for line in format_report(report))
    tests, training = table[table["split"] == "test"], table[table["split"] != "test"]
    texts = render_prompts("plain", tests)
    unique = sorted(set(texts))
    nearest = nearest_neighbour_scores(
        -dtw_distances(table, "test").distances, render_prompts("plain", training), unique
    )  # the nearest training pose by DTW, at a weight given: the same figures as computed here
    given = evaluate_model(model, table, split="test", neighbours=Neighbours("dtw", weight=2.0))
    poses = model.embed_poses(read_table_poses(tests))
    scores = fuse_scores(model.embed_texts(unique) @ poses.T, nearest, 2.0)
    expected = retrieval_metrics(scores, np.array([unique.index(t) for t in texts]))
    assert given["v2t"]["R@1"] == pytest.approx(expected["v2t"]["R@1"])
    with pytest.raises(EvaluationError, match="neighbours by 'cosine'"):
        Neighbours("cosine")


def test_neighbours_option_fuses_text_scores_with_the_nearest_training_pose(model, dataset):
    table = read_manifest(dataset)
    fused = evaluate_model(model, table, split="test", neighbours=Neighbours(weight=1.0))
    assert 0 <= fused["v2t"]["R@1"] <= 1 and fused["n_poses"] == 8
    tests, training = table[table["split"] == "test"], table[table["split"] != "test"]
    texts = render_prompts("plain", tests)
    unique = sorted(set(texts))
    poses = model.embed_poses(read_table_poses(tests))
    references = model.embed_poses(read_table_poses(training))
    nearest = nearest_neighbour_scores(poses @ references.T, render_prompts("plain", training), unique)
    scores = fuse_scores(model.embed_texts(unique) @ poses.T, nearest, 1.0)
    expected = retrieval_metrics(scores, np.array([unique.index(t) for t in texts]))
    assert fused["v2t"] == pytest.approx(expected["v2t"]) and fused["t2v"] == pytest.approx(expected["t2v"])


def test_few_shot_knn_on_separable_and_on_random_embeddings():
    rng = np.random.default_rng(0)
    centres = np.eye(4)
    labels = np.repeat(["a", "b", "c", "d"], 12)
    clustered = centres[np.repeat(np.arange(4), 12)] + rng.normal(0, 0.05, (48, 4))
    clustered /= np.linalg.norm(clustered, axis=1, keepdims=True)
    results = few_shot_knn(clustered, labels, shots=(1, 5, 10), episodes=5)
    assert all(results[k]["accuracy"] == 1.0 and results[k]["classes"] == 4 for k in (1, 5, 10))
    assert results[10]["queries"] == 4 * 2
    noise = rng.normal(size=(48, 4))
    assert few_shot_knn(noise, labels, shots=(1,), episodes=20)[1]["accuracy"] < 0.6
    assert few_shot_knn(clustered, labels, shots=(12,))[12] == {"accuracy": None, "classes": 0, "queries": 0}


def test_linear_probe_separable_and_unseen_labels():
    rng = np.random.default_rng(1)
    train = np.concatenate([rng.normal(-2, 0.3, (10, 3)), rng.normal(2, 0.3, (10, 3))])
    labels = ["left"] * 10 + ["right"] * 10
    test = np.array([[-2.0, -2.0, -2.0], [2.0, 2.0, 2.0], [2.0, 2.0, 2.0]])
    result = linear_probe(train, labels, test, ["left", "right", "middle"])
    assert result == {"accuracy": pytest.approx(2 / 3), "train": 20, "test": 3, "unseen": 1}
    cross = linear_probe_cross_validated(train, labels, folds=5)
    assert cross["accuracy"] == 1.0 and cross["folds"] == 5 and cross["classes"] == 2


def test_errors_name_the_problem(model, dataset):
    table = read_manifest(dataset)
    with pytest.raises(EvaluationError, match="no rows in split 'dev'"):
        evaluate_model(model, table, split="dev")
    with pytest.raises(EvaluationError, match="cannot group by 'dialect'"):
        evaluate_model(model, table, group_by="dialect")
    with pytest.raises(EvaluationError, match="2 classes"):
        linear_probe(np.zeros((3, 2)), ["a"] * 3, np.zeros((1, 2)), ["a"])


def test_cli_json_has_exactly_the_documented_keys(model_dir, dataset, capsys):
    code = main(["evaluate", "--model", str(model_dir), "--manifest", str(dataset), "--split", "test", "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert list(report) == ["t2v", "v2t", "groups", "n_poses", "n_texts"]
    assert list(report["t2v"]) == ["P@1", "P@5", "P@10", "MedR"]
    assert list(report["v2t"]) == ["R@1", "R@5", "R@10", "MedR"]


def test_cli_probes_and_groups(model_dir, dataset, capsys):
    args = ["evaluate", "--model", str(model_dir), "--manifest", str(dataset), "--group-by", "signer"]
    assert main([*args, "--few-shot", "--linear-probe"]) == 0
    out = capsys.readouterr().out
    assert "signer-1" in out and out.count("pose->text") == 4
    assert "few-shot 1-shot nearest neighbour: accuracy" in out and "linear probe: accuracy" in out


def test_cli_errors_without_traceback(model_dir, dataset, tmp_path, capsys):
    empty = tmp_path / "empty.csv"
    empty.write_text("id,pose_path,text\n")
    assert main(["evaluate", "--model", str(model_dir), "--manifest", str(empty)]) == 1
    assert "no rows" in capsys.readouterr().err
    assert main(["evaluate", "--model", "signclip-huge", "--manifest", str(dataset)]) == 1
    assert "unknown model 'signclip-huge'" in capsys.readouterr().err
    assert main(["evaluate", "--model", str(model_dir), "--manifest", str(dataset), "--split", "dev"]) == 1
    assert "no rows in split 'dev'" in capsys.readouterr().err


# ----------------------------------------------------------------------------- test-time anonymization


def recording(model, method: str, monkeypatch) -> list:
    """Make `model.<method>` (embed_poses or embed_texts) record the items it is given, then embed them as
    before; returns the record."""
    seen, embed = [], getattr(model, method)

    def record(items, *args, **kwargs):
        seen.extend(items)
        return embed(items, *args, **kwargs)

    monkeypatch.setattr(model, method, record)
    return seen


def test_anonymize_embeds_anonymized_poses_and_scores_them(model, dataset, monkeypatch):
    table = read_manifest(dataset)
    rows = table[table["split"] == "test"]
    poses = read_table_poses(rows)
    anonymized = [anonymize_pose(pose) for pose in poses]
    assert not np.allclose(embed_table_poses(model, poses), embed_table_poses(model, poses, anonymize=True))
    texts = render_prompts("plain", rows)
    unique = sorted(set(texts))
    scores = model.embed_texts(unique) @ model.embed_poses(anonymized).T
    expected = retrieval_metrics(scores, np.array([unique.index(t) for t in texts]))
    seen = recording(model, "embed_poses", monkeypatch)
    report = evaluate_model(model, table, split="test", anonymize=True)
    assert len(seen) == len(anonymized)
    for embedded, pose in zip(seen, anonymized, strict=True):
        np.testing.assert_array_equal(np.ma.getdata(embedded.body.data), np.ma.getdata(pose.body.data))
    assert report["v2t"] == pytest.approx(expected["v2t"]) and report["t2v"] == pytest.approx(expected["t2v"])


def test_anonymize_with_flip_mirrors_the_anonymized_pose(model, dataset):
    poses = read_table_poses(read_manifest(dataset).head(3))
    anonymized = [anonymize_pose(pose) for pose in poses]
    summed = model.embed_poses(anonymized) + model.embed_poses([mirror_pose(pose) for pose in anonymized])
    expected = summed / np.linalg.norm(summed, axis=1, keepdims=True)
    both = embed_table_poses(model, poses, flip=True, anonymize=True)
    np.testing.assert_allclose(both, expected, atol=1e-6)
    assert not np.allclose(both, embed_table_poses(model, poses, flip=True))


def test_probes_take_anonymized_poses(model, dataset, monkeypatch):
    table = read_manifest(dataset)
    seen = recording(model, "embed_poses", monkeypatch)
    probe_model(model, table, "test", few_shot=False, anonymize=True)
    first = anonymize_pose(read_table_poses(table.head(1))[0])
    assert len(seen) == len(table)
    np.testing.assert_array_equal(np.ma.getdata(seen[0].body.data), np.ma.getdata(first.body.data))


def hands_only_manifest(dataset, folder) -> tuple:
    """A manifest of the first pose of `dataset` cut to its right hand; returns (manifest, the pose file)."""
    table = read_manifest(dataset).head(1)
    path = folder / "right-hand.pose"
    write_pose(read_table_poses(table)[0].get_components(["RIGHT_HAND_LANDMARKS"]), path)
    return write_manifest(table.assign(pose_path=str(path)), folder / "hands.csv"), path


def boston_like_manifest(folder) -> tuple:
    """A manifest of one pose in RWTH-BOSTON-104's layout (2D left hand, right hand, nose)."""
    csv = folder / "hands_condensed.csv"
    csv.write_text("video,frame,left-x,left-y,right-x,right-y,nose-x,nose-y\n" + "v,0,1,2,3,4,5,6\nv,1,2,3,4,5,6,7\n")
    path = folder / "boston.pose"
    write_pose(read_keypoint_csv(csv)["v"], path)
    rows = pd.DataFrame([{"id": "v", "pose_path": str(path), "text": "house", "split": "test"}])
    return write_manifest(rows, folder / "boston.csv"), path


def test_anonymize_names_the_file_of_a_pose_it_cannot_read(model, dataset, model_dir, tmp_path, capsys):
    hands, hands_path = hands_only_manifest(dataset, tmp_path)
    expected = rf"{re.escape(str(hands_path))}: anonymization .* has RIGHT_HAND_LANDMARKS \(21 points, XYZC\)"
    with pytest.raises(PoseLayoutError, match=expected):
        evaluate_model(model, read_manifest(hands), anonymize=True)
    boston, boston_path = boston_like_manifest(tmp_path)
    assert main(["evaluate", "--model", str(model_dir), "--manifest", str(boston), "--anonymize"]) == 1
    err = capsys.readouterr().err
    assert f"{boston_path}: anonymization" in err and "KEYPOINTS_2D (3 points, XYC)" in err
    assert "Traceback" not in err


# ----------------------------------------------------------------------------- zero-shot


def test_zero_shot_evaluates_only_the_test_split(model, dataset, monkeypatch):
    table = read_manifest(dataset)
    in_split = evaluate_model(model, table, split="test")
    seen = recording(model, "embed_poses", monkeypatch)
    report = evaluate_model(model, table, zero_shot=True, data_name="synthetic")
    tests = table[table["split"] == "test"]
    assert len(seen) == len(tests) == report["n_poses"] < len(table)
    assert [np.ma.getdata(p.body.data).shape for p in seen] == [
        np.ma.getdata(p.body.data).shape for p in read_table_poses(tests)
    ]
    assert report["v2t"] == in_split["v2t"] and report["t2v"] == in_split["t2v"]
    assert report["zero_shot"] == {
        "trained_on": "nothing (untrained weights)",
        "evaluated_on": "synthetic",
        "split": "test",
    }


def test_zero_shot_prompts_are_the_evaluated_rows_own(model, dataset, monkeypatch):
    table = read_manifest(dataset).assign(spoken_language="de", signed_language="gsg")
    trained = Provenance("trained", run="runs/asl", data={"dataset": "asl-citizen"}, epochs=1)
    monkeypatch.setattr(model, "provenance", trained)
    texts = recording(model, "embed_texts", monkeypatch)
    report = evaluate_model(model, table, prompt="signclip_v1", zero_shot=True, data_name="dgs-lexicon")
    assert sorted(texts) == ["<de> <gsg> friend", "<de> <gsg> house", "<de> <gsg> tree", "<de> <gsg> water"]
    assert report["zero_shot"]["trained_on"] == "dataset asl-citizen"
    line = "zero-shot: model trained on dataset asl-citizen, evaluated on dgs-lexicon (test split)"
    assert format_report(report)[0] == line
    with pytest.raises(EvaluationError, match="trained on asl-citizen itself"):
        evaluate_model(model, table, zero_shot=True, data_name="asl-citizen")


def test_zero_shot_refuses_what_is_not_zero_shot(model, dataset):
    table = read_manifest(dataset)
    with pytest.raises(EvaluationError, match=r"needs a 'test' split; train.csv has \['train', 'val'\]"):
        evaluate_model(model, table.assign(split=["train", "val"] * 12), zero_shot=True, data_name="train.csv")
    with pytest.raises(EvaluationError, match=r"neighbours.*training rows of x\.csv.*no longer be zero-shot"):
        evaluate_model(model, table, neighbours=Neighbours(weight=1.0), zero_shot=True, data_name="x.csv")
    with pytest.raises(EvaluationError, match="zero-shot evaluation is of the 'test' split, not 'train'"):
        evaluate_model(model, table, split="train", zero_shot=True)


def test_cli_zero_shot(model_dir, dataset, tmp_path, capsys):
    args = ["evaluate", "--model", str(model_dir), "--manifest", str(dataset), "--zero-shot"]
    assert main(args) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"zero-shot: model trained on nothing (untrained weights), evaluated on {dataset} (test split)"
    assert "poses     8" in out[1]
    assert main([*args, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["zero_shot"]["split"] == "test"
    assert main([*args, "--neighbours", "1"]) == 1
    assert "no longer be zero-shot" in capsys.readouterr().err
    assert main([*args, "--few-shot"]) == 1
    assert "--zero-shot does not combine with --few-shot" in capsys.readouterr().err
    no_test = write_manifest(read_manifest(dataset).assign(split="train"), tmp_path / "train-only.csv")
    assert main(["evaluate", "--model", str(model_dir), "--manifest", str(no_test), "--zero-shot"]) == 1
    assert "needs a 'test' split" in capsys.readouterr().err
