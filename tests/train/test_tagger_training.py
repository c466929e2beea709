"""Tagger training on a manifest of segments of longer recordings, its model directory, and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from signclip.cli import main
from signclip.data.manifest import write_manifest
from signclip.errors import ConfigError
from signclip.poses.io import write_pose
from signclip.segment import load_segmenter
from signclip.segment.compose import compose_recordings, synthetic_signs
from signclip.segment.features import mirror_features
from signclip.segment.tagger import TaggerConfig, TaggerSegmenter, build_member
from signclip.train import TrainingError
from signclip.train.tagger import SegmentTrainConfig, load_segment_train_config, train_tagger


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("composed")
    rows = []
    for recording in compose_recordings(synthetic_signs(glosses=4, signers=2), count=6, seed=1):
        path = write_pose(recording.pose, folder / f"{recording.key}.pose")
        for k, (start, end) in enumerate(recording.signs):
            rows.append(
                {"id": f"{recording.key}-{k}", "pose_path": str(path), "start_ms": start / 25 * 1000,
                 "end_ms": (end + 1) / 25 * 1000, "text": "x", "gloss": "X", "split": "train"}
            )  # fmt: skip
    return str(write_manifest(pd.DataFrame(rows), folder / "manifest.csv"))


def small_config(manifest: str, output_dir, **overrides) -> SegmentTrainConfig:
    values = dict(
        output_dir=str(output_dir), manifest=manifest, epochs=2, batch_size=4, val_fraction=0.34,
        tagger=TaggerConfig(hidden_size=16), thresholds=[50.0], peak_heights=[20.0], peak_distances=[3],
    )  # fmt: skip
    values.update(overrides)
    config = SegmentTrainConfig(**values)
    config.validate()
    return config


def test_training_writes_a_loadable_tagger_directory(manifest, tmp_path):
    result = train_tagger(small_config(manifest, tmp_path / "tagger"), progress=False)
    assert (result.best_dir / "model.safetensors").is_file()
    info = json.loads((result.best_dir / "config.json").read_text())
    assert info["trained"]["data"] == manifest and len(info["trained"]["val_recordings"]) == 2
    segmenter = load_segmenter(result.best_dir)
    levels = segmenter.segment(compose_recordings(synthetic_signs(glosses=2, signers=1), 1, seed=9)[0].pose)
    assert set(levels) == {"sign", "sentence"}


def test_a_seed_ensemble_averages_its_members_probabilities(manifest, tmp_path):
    import numpy as np
    import torch

    config = small_config(manifest, tmp_path / "ensemble", tagger=TaggerConfig(hidden_size=16, members=2))
    result = train_tagger(config, progress=False)
    segmenter = load_segmenter(result.best_dir)
    members = segmenter.network.members
    assert len(members) == 2
    assert not torch.equal(members[0].pose_projection.weight, members[1].pose_projection.weight)
    assert {row["member"] for row in result.history} == {0, 1}
    x = torch.randn(1, 30, config.tagger.input_size)
    with torch.inference_mode():
        mean = sum(m(x)["sign"].exp() for m in members) / 2
        assert torch.allclose(segmenter.network(x)["sign"].exp(), mean, atol=1e-6)
    single = load_segmenter(train_tagger(small_config(manifest, tmp_path / "one"), progress=False).best_dir)
    with torch.inference_mode():  # member 0 is the single tagger of the same seed
        assert np.allclose(single.network(x)["sign"].numpy(), members[0](x)["sign"].numpy(), atol=1e-6)


def test_a_cross_fitted_ensemble_holds_each_recording_out_once(manifest, tmp_path):
    result = train_tagger(small_config(manifest, tmp_path / "folds", folds=3), progress=False)
    trained = json.loads((result.best_dir / "config.json").read_text())["trained"]
    folds = trained["folds"]
    assert len(folds) == 3 and all(len(fold) == 2 for fold in folds)
    assert sorted(key for fold in folds for key in fold) == sorted(trained["train_recordings"])
    assert len(trained["train_recordings"]) == 6 and result.val_metrics["recordings"] == 6
    assert result.val_metrics["held_out"] == "out-of-fold (3 folds)"
    segmenter = load_segmenter(result.best_dir)
    assert segmenter.config.members == 3 and len(segmenter.network.members) == 3
    assert {row["member"] for row in result.history} == {0, 1, 2}


@pytest.mark.parametrize(("folds", "members", "message"), [(1, 1, "folds must be"), (3, 2, "one member per fold")])
def test_folds_that_cannot_work_are_config_errors(manifest, tmp_path, folds, members, message):
    with pytest.raises(ConfigError, match=message):
        small_config(manifest, tmp_path, folds=folds, tagger=TaggerConfig(hidden_size=16, members=members))


def test_mirror_average_averages_the_input_and_its_mirror_image():
    import numpy as np
    import torch

    config = TaggerConfig(hidden_size=8, mirror_average=True)
    torch.manual_seed(0)
    network = build_member(config)
    size = config.input_size
    segmenter = TaggerSegmenter(config, network, np.zeros(size, np.float32), np.ones(size, np.float32))
    inputs = np.random.default_rng(0).normal(size=(20, size)).astype(np.float32)
    with torch.inference_mode():
        views = [network(torch.from_numpy(v)[None])["sign"][0].exp() for v in (inputs, mirror_features(inputs))]
    averaged = np.exp(segmenter.log_probs(inputs)["sign"])
    assert np.allclose(averaged, ((views[0] + views[1]) / 2).numpy(), atol=1e-6)
    assert not np.allclose(averaged, views[0].numpy(), atol=1e-3)
    with pytest.raises(ConfigError, match="mirror_average needs features: hands"):
        TaggerConfig(features="holistic-75", mirror_average=True)


@pytest.mark.parametrize("path", sorted((Path(__file__).parents[2] / "configs" / "segment").glob("*.yaml")))
def test_the_shipped_segment_configs_load_and_validate(path):
    config = load_segment_train_config(path, ["output_dir=unused"])
    assert config.output_dir == "unused" and config.epochs >= 1


def test_a_diverging_loss_is_a_clear_error(manifest, tmp_path):
    with pytest.raises(TrainingError, match="loss became"):
        train_tagger(small_config(manifest, tmp_path / "t", learning_rate=float("inf")), progress=False)


def test_init_from_dgs2023_needs_its_input_layout(manifest, tmp_path):
    with pytest.raises(Exception, match="holistic-75"):
        small_config(manifest, tmp_path, init_from="dgs-2023")


def test_fine_tuning_from_dgs2023_starts_from_its_weights(manifest, tmp_path):
    tagger = TaggerConfig(features="holistic-75", hidden_size=256, num_layers=1)
    result = train_tagger(small_config(manifest, tmp_path / "ft", init_from="dgs-2023", tagger=tagger), progress=False)
    assert load_segmenter(result.best_dir).config.features == "holistic-75"


def test_a_bad_set_value_is_one_line_and_exit_code_1(capsys):
    config = str(Path(__file__).parents[2] / "configs" / "segment" / "boston.yaml")
    assert main(["segment", "train", config, "--set", "epochs=[1"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--set 'epochs=[1'" in err and "not valid YAML" in err
    assert main(["segment", "train", config, "--set", "tagger.hidden_size.x=4"]) == 1
    assert "tagger.hidden_size is not a section" in capsys.readouterr().err
