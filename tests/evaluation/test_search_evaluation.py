"""`search evaluate`'s library side: stored vectors or DTW -> all-against-all metrics -> report files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from embedders import index_table

from signclip.data.manifest import read_manifest
from signclip.errors import SignclipError
from signclip.evaluation import analysis, metrics
from signclip.evaluation.dtw import DTWSettings
from signclip.evaluation.report import REPORT_FILES, write_report
from signclip.evaluation.search import evaluate_dataset


def test_evaluation_of_stored_vectors_equals_the_pure_analysis(store):
    rng = np.random.default_rng(0)
    glosses = [f"G{i % 6}" for i in range(60)] + [""] * 3  # three unlabelled items are left out
    vectors = rng.normal(size=(63, 12)).astype(np.float32)
    vectors[:60] += 2 * np.eye(12, dtype=np.float32)[[i % 6 for i in range(60)]]
    rows = [{"id": f"i{i}", "pose_path": "x.pose", "gloss": gloss} for i, gloss in enumerate(glosses)]
    ids = store.add_items("signs", rows)
    store.add_embeddings("toy", ids, vectors)
    evaluation = evaluate_dataset(store, "signs", "toy", k=5, progress=False)
    expected = analysis.rank_vectors(vectors[:60], glosses[:60], k=5)
    assert evaluation.settings["unlabelled"] == 3
    assert evaluation.result.neighbors.tolist() == expected.neighbors.tolist()
    np.testing.assert_allclose(evaluation.result.average_precision, expected.average_precision)
    assert evaluation.item_keys.tolist() == [f"i{i}" for i in range(60)]


def test_the_report_files(store, tmp_path: Path):
    rng = np.random.default_rng(1)
    ids = store.add_items("signs", [{"id": f"i{i}", "pose_path": "x.pose", "gloss": f"G{i % 4}"} for i in range(40)])
    store.add_embeddings("toy", ids, rng.normal(size=(40, 8)).astype(np.float32))
    evaluation = evaluate_dataset(store, "signs", "toy", k=4, progress=False)
    paths = write_report(evaluation, tmp_path / "out")
    assert sorted(p.name for p in paths) == sorted(REPORT_FILES)
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    summary = metrics.summarize(evaluation.result)
    assert report["summary"] == summary
    per_gloss = pd.read_csv(tmp_path / "out" / "per_gloss.csv")
    assert sorted(per_gloss["gloss"]) == ["G0", "G1", "G2", "G3"]
    assert per_gloss["items"].sum() == 40
    confusions = pd.read_csv(tmp_path / "out" / "confusions.csv")
    assert confusions["total"].sum() == int((~evaluation.result.hits).sum())
    markdown = (tmp_path / "out" / "summary.md").read_text()
    assert f"| precision@4 | {summary['precision_at_k']:.3f} |" in markdown
    for name in ("confusion_heatmap.png", "precision_at_k.png"):
        assert (tmp_path / "out" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_dtw_method_ranks_the_raw_poses(store, synthetic_manifest, embedder):
    index_table(store, "synthetic", read_manifest(synthetic_manifest), embedder, progress=False)
    evaluation = evaluate_dataset(store, "synthetic", method="dtw", k=3, dtw=DTWSettings(max_frames=16), progress=False)
    result = evaluation.result
    assert evaluation.settings["method"] == "dtw"
    assert result.neighbors.shape == (16, 3)
    assert (result.neighbors != np.arange(16)[:, None]).all()  # never itself
    assert result.scores[:, 0].max() < 0  # scores are minus DTW distances
    # The synthetic signs of one gloss share a motion: DTW finds a same-gloss pose first far above chance (3/15).
    assert metrics.precision_curve(result)[0] > 0.5


def test_evaluation_errors(store):
    with pytest.raises(SignclipError, match="no dataset named"):
        evaluate_dataset(store, "nope", "toy", progress=False)
    store.add_items("signs", [{"id": "a", "pose_path": "x.pose", "gloss": "A"}])
    store.register_model("toy", 4)
    with pytest.raises(SignclipError, match="no embeddings by model 'toy'"):
        evaluate_dataset(store, "signs", "toy", progress=False)
    with pytest.raises(SignclipError, match="unknown method"):
        evaluate_dataset(store, "signs", "toy", method="magic", progress=False)
