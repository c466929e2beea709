"""Cross-validation over held-out groups: the folds, cross-fitted fusion weights, and a whole run on
generated data (folds by signer) whose figures match `evaluate` and `baseline dtw` on each fold."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from signclip.cli import main
from signclip.errors import ConfigError
from signclip.evaluation.dtw import DTWSettings
from signclip.evaluation.dtw_baseline import dtw_report
from signclip.evaluation.retrieval import evaluate_model
from signclip.model.hub import load_model
from signclip.train import load_train_config, load_training_table
from signclip.train.crossval import (
    CrossValidationOptions,
    cross_fitted,
    cross_validate,
    fold_config,
    fold_values,
)

SYNTHETIC = Path(__file__).resolve().parents[2] / "configs" / "synthetic.yaml"
OPTIONS = CrossValidationOptions(by="signer", folds=3, fusion_weights=(0.0, 1.0))


def test_folds_are_the_sorted_values_dealt_round_robin():
    languages = ["ssp", "ase", "gsg", "ase", "bzs", "cse", "csq", "eso"]
    assert fold_values(languages, 3) == [["ase", "csq", "ssp"], ["bzs", "eso"], ["cse", "gsg"]]
    with pytest.raises(ConfigError, match="2 <= folds <= the 2 values"):
        fold_values(["a", "b"], 3)
    with pytest.raises(ConfigError, match="folds"):
        fold_values(["a", "b"], 1)


def test_a_fusion_weight_is_chosen_on_the_other_folds_only():
    per_fold = [{0.0: 0.9, 1.0: 0.1}, {0.0: 0.2, 1.0: 0.5}, {0.0: 0.3, 1.0: 0.6}]
    # fold 0 alone prefers 0.0, but the other two prefer 1.0; folds 1 and 2 see fold 0's strong 0.0
    assert cross_fitted(per_fold) == [1.0, 0.0, 0.0]
    assert cross_fitted([{0.0: 0.5, 1.0: 0.5}, {0.0: 0.5, 1.0: 0.5}]) == [0.0, 0.0]  # ties: the smaller


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (CrossValidationOptions(by="dialect"), "--cv-by 'dialect' is not a manifest column"),
        (CrossValidationOptions(by="signer", folds=3, baselines=("no_such",)), "unknown preprocessing preset"),
    ],
)
def test_a_bad_column_or_baseline_is_refused_before_any_training(tmp_path, options, message):
    config = load_train_config(SYNTHETIC, [f"output_dir={tmp_path}"])
    with pytest.raises(ConfigError, match=message):
        cross_validate(config, options, progress=False)
    assert not list(tmp_path.glob("fold-*"))


def test_a_fold_holds_out_its_values_and_validates_only_after_the_last_epoch(tmp_path):
    config = load_train_config(SYNTHETIC, [f"output_dir={tmp_path}", "epochs=7", "eval_every=1"])
    run = fold_config(config, "signer", ["signer-1"], tmp_path / "fold-0")
    assert run.data.hold_out == {"signer": ["signer-1"]} and run.data.val_split == "val"
    assert run.eval_every == 7 and run.output_dir == str(tmp_path / "fold-0")
    table = load_training_table(run)
    assert set(table.loc[table["split"] == "val", "signer"]) == {"signer-1"}
    assert "signer-1" not in set(table.loc[table["split"] == "train", "signer"])


@pytest.fixture(scope="module")
def crossval(tmp_path_factory):
    output = tmp_path_factory.mktemp("cv")
    config = load_train_config(SYNTHETIC, [f"output_dir={output}", "epochs=2"])
    return cross_validate(config, OPTIONS, progress=False), config


def test_every_method_is_scored_on_every_fold(crossval):
    result, _ = crossval
    assert result.folds == [["signer-0"], ["signer-1"], ["signer-2"]]
    table = pd.read_csv(result.output_dir / "cv.csv")
    methods = {
        "dtw:fingerclip",
        "dtw:handshape_2d",
        "model",
        "model+embedding",
        f"model+dtw:{result.strongest_baseline}",
    }
    assert set(table["method"]) == methods
    assert all(sorted(folds) == [0, 1, 2] for folds in table.groupby("method")["fold"].apply(list))
    assert json.loads((result.output_dir / "folds.json").read_text())["folds"] == result.folds
    fused = table[table["method"].str.startswith("model+")]
    assert fused["weight"].isin([0.0, 1.0]).all()
    means = table.groupby("method")["mean"].mean()
    assert means[f"dtw:{result.strongest_baseline}"] == max(means["dtw:fingerclip"], means["dtw:handshape_2d"])


def test_each_folds_figures_are_those_of_evaluate_and_baseline_dtw(crossval):
    result, config = crossval
    for fold in range(3):
        run = fold_config(config, "signer", result.folds[fold], result.output_dir / f"fold-{fold}")
        table = load_training_table(run, generate=False)
        rows = result.table[result.table["fold"] == fold].set_index("method")["mean"]
        model = evaluate_model(load_model(result.output_dir / f"fold-{fold}" / "best"), table, "val", "signer")
        assert rows["model"] == pytest.approx(model["v2t"]["R@1"])
        baseline = dtw_report(table, "val", "signer", DTWSettings("handshape_2d"))
        assert rows["dtw:handshape_2d"] == pytest.approx(baseline["v2t"]["R@1"])
        history = pd.read_csv(result.output_dir / f"fold-{fold}" / "metrics.csv")
        assert history["val_v2t.R@1"].notna().tolist() == [False, True]  # validated after the last epoch only


def test_a_second_run_reuses_the_trained_folds(crossval):
    result, config = crossval
    best = result.output_dir / "fold-0" / "best" / "model.safetensors"
    written = best.stat().st_mtime_ns
    again = cross_validate(config, OPTIONS, progress=False)
    assert best.stat().st_mtime_ns == written
    pd.testing.assert_frame_equal(again.table, result.table)


def test_the_cli_prints_the_per_fold_table(tmp_path, capsys):
    code = main(
        ["train", str(SYNTHETIC), "--set", f"output_dir={tmp_path}", "--set", "epochs=1", "--cv-by", "signer",
         "--folds", "3", "--baseline", "handshape_2d"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "dtw:handshape_2d" in out and "model+dtw:handshape_2d" in out and "dtw:fingerclip" not in out
    assert "fold 2: signer-2" in out and (tmp_path / "cv.csv").exists()
