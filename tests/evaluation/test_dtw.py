"""The DTW baseline: distances against a plain-Python DTW, warping invariance, and retrieval on real files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from signclip.cli import main
from signclip.data.manifest import read_manifest
from signclip.data.synthetic import generate_dataset
from signclip.errors import PoseLayoutError
from signclip.evaluation.dtw import DTWSettings, dtw_distance_matrix
from signclip.evaluation.dtw_baseline import dtw_report
from signclip.evaluation.rows import EvaluationError
from signclip.poses.transforms import PoseTensor


def tensor(data: np.ndarray) -> PoseTensor:
    return PoseTensor(np.asarray(data, dtype=np.float32), np.ones(len(data), dtype=bool))


def reference_dtw(a: np.ndarray, b: np.ndarray, band: float | None = None) -> float:
    """Textbook DTW, one cell at a time, normalized like dtw_distance_matrix."""
    n, m = len(a), len(b)
    total = np.full((n + 1, m + 1), np.inf)
    total[0, 0] = 0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            if band is not None and abs((i - 1) / max(n - 1, 1) - (j - 1) / max(m - 1, 1)) > band:
                continue
            cost = np.linalg.norm(a[i - 1] - b[j - 1])
            total[i, j] = cost + min(total[i - 1, j - 1], total[i - 1, j], total[i, j - 1])
    return total[n, m] / (n + m)


@pytest.mark.parametrize("band", [None, 0.3])
def test_matches_textbook_dtw_on_random_sequences(band):
    rng = np.random.default_rng(0)
    queries = [rng.normal(size=(rng.integers(2, 9), 3)) for _ in range(4)]
    references = [rng.normal(size=(rng.integers(2, 9), 3)) for _ in range(5)]
    matrix = dtw_distance_matrix([tensor(q) for q in queries], [tensor(r) for r in references], band=band)
    expected = np.array([[reference_dtw(q, r, band) for r in references] for q in queries])
    assert matrix.shape == (4, 5)
    np.testing.assert_allclose(matrix, expected, rtol=1e-5)


def test_a_slowed_down_copy_is_closer_than_another_sequence():
    t = np.linspace(0, 1, 20)
    sign = np.stack([np.sin(2 * np.pi * t), np.cos(2 * np.pi * t)], axis=1)
    slow = np.repeat(sign, 2, axis=0)  # the same movement at half speed
    other = np.stack([t, t], axis=1)
    distances = dtw_distance_matrix([tensor(sign)], [tensor(sign), tensor(slow), tensor(other)])
    assert distances[0, 0] == pytest.approx(0, abs=1e-6)
    assert distances[0, 1] == pytest.approx(0, abs=1e-6)  # time warping absorbs the speed change
    assert distances[0, 2] > 0.1


def test_masked_frames_are_ignored_and_empty_inputs_give_empty_matrices():
    sign = np.arange(12, dtype=np.float32).reshape(6, 2)
    padded = PoseTensor(np.concatenate([sign, np.full((3, 2), 99.0, dtype=np.float32)]), np.arange(9) < 6)
    assert dtw_distance_matrix([tensor(sign)], [padded])[0, 0] == pytest.approx(0, abs=1e-6)
    assert dtw_distance_matrix([], [tensor(sign)]).shape == (0, 1)


@pytest.fixture(scope="module")
def synthetic_manifest(tmp_path_factory):
    return generate_dataset(tmp_path_factory.mktemp("dtw"), glosses=5, signers=2, repetitions=2)


def test_report_on_generated_signs_beats_chance(synthetic_manifest):
    table = read_manifest(synthetic_manifest)
    report = dtw_report(table, split="test", settings=DTWSettings("hands"))
    assert report["references"] == "other splits"
    assert report["n_poses"] == 10 and report["n_texts"] == 5
    assert report["v2t"]["R@1"] > 0.5  # chance is 0.2: each gloss has its own hand shapes and path
    loo = dtw_report(table, settings=DTWSettings("hands"), group_by="signer")
    assert loo["references"] == "leave-one-out"
    assert sorted(loo["groups"]) == ["signer-0", "signer-1"]


def test_cli_json_and_errors(synthetic_manifest, capsys):
    args = ["baseline", "dtw", "--manifest", str(synthetic_manifest), "--preprocess", "hands"]
    assert main([*args, "--split", "test", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {"t2v", "v2t", "groups", "n_poses", "n_texts"} <= set(report)
    assert main([*args, "--split", "nope"]) == 1
    assert "no rows in split 'nope'" in capsys.readouterr().err
    with pytest.raises(EvaluationError, match="no rows"):
        dtw_report(read_manifest(synthetic_manifest).head(0))


def test_fingerspelling_held_out_language_is_matched_across_languages(fingerspelling_dir):
    from signclip.data.datasets import prepare_dataset

    table = prepare_dataset("fingerspelling-lexicon", fingerspelling_dir)
    table["split"] = np.where(table["signed_language"] == "ase", "test", "train")
    report = dtw_report(table, split="test", group_by="signed_language")
    assert report["n_poses"] == 26 and list(report["groups"]) == ["ase"]
    assert report["v2t"]["R@1"] > 0.3  # letters signed alike in other languages; guessing gives 1/26


@pytest.fixture(scope="module")
def boston_table(require_shared, tmp_path_factory):
    from signclip.data.datasets import prepare_dataset

    work_dir = tmp_path_factory.mktemp("boston")
    return prepare_dataset("rwth-boston-104", require_shared("data/rwth-boston-104"), work_dir=work_dir / "poses")


def test_boston_2d_hands_and_nose_get_their_layouts_preprocessing(boston_table):
    report = dtw_report(boston_table, split="test")  # the default, fingerclip, needs 3D hands
    assert report["preprocess"] == "keypoints_2d" and "3D hand normalization needs x, y and z" in report["note"]
    assert report["n_poses"] == 178 and report["references"] == "other splits"
    assert report["v2t"]["R@1"] > 0.5  # 66 words in the test split: guessing gives 0.015
    explicit = dtw_report(boston_table, split="test", settings=DTWSettings("keypoints_2d"))
    assert explicit["v2t"] == report["v2t"] and "note" not in explicit


def test_a_holistic_pose_lacking_points_is_refused_naming_the_file_and_what_to_do(fixtures_dir):
    import pandas as pd

    path = str(fixtures_dir / "mediapipe.pose")  # a Holistic pose reduced upstream: no layout preset applies
    table = pd.DataFrame({"id": ["a", "b"], "pose_path": [path] * 2, "text": ["x", "y"], "split": ""})
    with pytest.raises(PoseLayoutError, match=r"mediapipe\.pose: the pose lacks 25 of the 203 points") as error:
        dtw_report(table, settings=DTWSettings("signclip_v1"))
    assert "missing='zero'" not in str(error.value) and "`missing: zero` to the select step" in str(error.value)
    openpose = table.assign(pose_path=str(fixtures_dir / "openpose.pose"))
    assert dtw_report(openpose)["preprocess"] == "keypoints_2d"  # 2D keypoints without Holistic's components
