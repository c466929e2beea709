"""Training: config loading and overrides, a real run on generated data, resume, errors, and DDP (2 processes)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from signclip.cli import main
from signclip.errors import ConfigError
from signclip.model.hub import load_model
from signclip.model.identity import untrained_warning
from signclip.model.loss import contrastive_loss
from signclip.poses.transforms import Pipeline
from signclip.train import TrainingError, load_train_config, train
from signclip.train.data import split_pipeline
from signclip.train.loop import warmup_cosine

REPO = Path(__file__).resolve().parents[1]
SYNTHETIC = REPO / "configs" / "synthetic.yaml"
FINGERSPELLING = REPO / "configs" / "fingerspelling.yaml"


def synthetic_config(tmp_path: Path, *overrides: str):
    return load_train_config(SYNTHETIC, [f"output_dir={tmp_path / 'run'}", *overrides])


# ----------------------------------------------------------------------------- configuration


def test_shipped_configs_load():
    config = load_train_config(SYNTHETIC)
    assert config.data.synthetic == {"glosses": 6, "signers": 3, "repetitions": 2}
    fingerspelling = load_train_config(FINGERSPELLING)
    assert fingerspelling.data.dataset == "fingerspelling-lexicon"
    assert fingerspelling.model["base"] == "signclip-small"
    assert fingerspelling.val_group_by == "signed_language"


def test_overrides_are_parsed_as_yaml_scalars(tmp_path):
    config = load_train_config(
        SYNTHETIC,
        ["epochs=7", "lr=0.5", "data.root=/some/where", "data.val_split=null", f"output_dir={tmp_path}"],
    )
    assert config.epochs == 7 and config.lr == 0.5
    assert config.data.root == "/some/where" and config.data.val_split is None
    assert config.output_dir == str(tmp_path)


def test_override_under_a_model_name_makes_a_base_mapping():
    config = load_train_config(None, ["model=signclip-small", "model.embed_dim=16", "data.manifest=m.csv"])
    assert config.model == {"base": "signclip-small", "embed_dim": 16}


@pytest.mark.parametrize(
    ("override", "named"),
    [("learning_rate=0.1", "learning_rate"), ("data.roots=/x", "roots"), ("epochs=0", "epochs")],
)
def test_bad_config_values_name_the_key(override, named):
    with pytest.raises(ConfigError, match=named):
        load_train_config(SYNTHETIC, [override])


def test_unknown_key_in_yaml_file_is_named(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("epochs: 2\nbatchsize: 4\ndata: {manifest: m.csv}\n")
    with pytest.raises(ConfigError, match="'batchsize'") as error:
        load_train_config(path)
    assert str(path) in str(error.value)


def test_exactly_one_data_source_is_required():
    with pytest.raises(ConfigError, match="exactly one data source"):
        load_train_config(SYNTHETIC, ["data.manifest=x.csv"])
    with pytest.raises(ConfigError, match="val_metric"):
        load_train_config(SYNTHETIC, ["val_metric=v2t.R@3"])


def test_warmup_then_cosine_schedule():
    factor = warmup_cosine(warmup_steps=4, total_steps=12)
    assert [factor(s) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert factor(4) == pytest.approx(1.0)
    assert factor(8) == pytest.approx(0.5)
    assert factor(12) == pytest.approx(0.0)
    assert all(factor(s) >= factor(s + 1) for s in range(4, 12))


def test_split_pipeline_cuts_before_the_first_augmentation():
    pipeline = Pipeline.from_config("hands", augment=[{"name": "noise", "std": 0.1}])
    fixed, rest = split_pipeline(pipeline)
    assert not any(step.augmentation for step in fixed.steps)
    assert [type(step).__name__ for step in rest.steps] == ["Noise"]
    assert len(fixed.steps) + len(rest.steps) == len(pipeline.steps)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "model.embed_dim=100000000000",
            "model: embed_dim (the former name of tower_dim) must be at most 65536, got 100000000000",
        ),
        ("model.tower_dim=100000000000", "model: tower_dim must be at most 65536"),
        ("model.pose_encoder.width=1000000000", "model: pose_encoder: width must be at most 65536"),
        ("model.max_frames=100000000000000000000", "model: max_frames must be at most 65536"),
        ("model.towers=1000", "model: towers must be at most 64"),
        ("lr=1e400", "lr must be at most 1000.0, got inf"),
        ("batch_size=10000000000", "batch_size must be at most"),
    ],
)
def test_sizes_beyond_any_machine_are_config_errors_naming_the_key(override, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_train_config(SYNTHETIC, [override])


def test_the_former_key_embed_dim_set_on_the_command_line_replaces_the_files_tower_dim():
    config = load_train_config(SYNTHETIC, ["model.embed_dim=16"])
    assert config.model_config().tower_dim == 16


@pytest.mark.parametrize(
    ("key", "named"), [("embed_dim", "embed_dim (the former name of tower_dim)"), ("tower_dim", "tower_dim")]
)
def test_a_refused_model_key_is_named_as_the_user_set_it(key, named):
    with pytest.raises(ConfigError, match=re.escape(f"{named} must be at most")):
        load_train_config(SYNTHETIC, [f"model.{key}=100000000000"]).model_config()


# ----------------------------------------------------------------------------- real runs


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A 3-epoch run on generated data (module-scoped: several tests read its outputs)."""
    tmp_path = tmp_path_factory.mktemp("trained")
    config = synthetic_config(tmp_path)
    return config, train(config, progress=False)


def test_run_writes_a_loadable_best_model_metrics_and_checkpoint(trained):
    config, result = trained
    output = Path(config.output_dir)
    assert result.best_dir == output / "best"
    model = load_model(result.best_dir)
    assert model.config.input_features == 201  # `hands`: 25 body + 2 x 21 hand points, x y z
    assert model.config.prompt == "plain"
    metrics = pd.read_csv(output / "metrics.csv")
    assert list(metrics["epoch"]) == [1, 2, 3]
    assert metrics["train_loss"].iloc[-1] < metrics["train_loss"].iloc[0]
    assert {"val_v2t.R@1", "val_t2v.P@1", "lr", "poses_per_s"} <= set(metrics.columns)
    assert result.best_metric == pytest.approx(metrics["val_v2t.R@1"].max())
    assert (output / "checkpoint.pt").is_file() and (output / "manifest.csv").is_file()


def test_the_best_model_knows_it_was_trained_and_on_what(trained):
    config, result = trained
    model = load_model(result.best_dir)
    assert model.trained is True and untrained_warning(model) is None
    provenance = model.provenance
    assert provenance.kind == "trained" and provenance.run == str(Path(config.output_dir).resolve())
    assert provenance.data["synthetic"] == {"glosses": 6, "signers": 3, "repetitions": 2}
    assert provenance.epochs == int(pd.read_csv(Path(config.output_dir) / "metrics.csv")["val_v2t.R@1"].idxmax()) + 1
    assert provenance.val_metric == "v2t.R@1" and provenance.val_value == pytest.approx(result.best_metric)
    assert "trained by signclip train" in provenance.describe()


def test_a_non_finite_loss_stops_training_and_saves_no_best_model(tmp_path, monkeypatch, capsys):
    import signclip.train.loop

    calls = []

    def loss_that_explodes(*args, **kwargs):
        calls.append(1)
        loss = contrastive_loss(*args, **kwargs)
        return loss * float("nan") if len(calls) == 2 else loss

    monkeypatch.setattr(signclip.train.loop, "contrastive_loss", loss_that_explodes)
    out_dir = tmp_path / "nan"
    assert main(["train", str(SYNTHETIC), "--set", f"output_dir={out_dir}"]) == 1
    err = capsys.readouterr().err
    assert "epoch 1, step 2: the training loss is nan (not finite)" in err and "Traceback" not in err
    assert "no model was saved as best" in err and "lr" in err
    assert not (out_dir / "best").exists()


def test_best_model_scores_like_the_validation_it_was_chosen_by(trained):
    from signclip.data.manifest import read_manifest
    from signclip.evaluation.retrieval import evaluate_model

    config, result = trained
    table = read_manifest(Path(config.output_dir) / "manifest.csv")
    report = evaluate_model(load_model(result.best_dir), table, split="test")
    assert report["v2t"]["R@1"] == pytest.approx(result.best_metric, abs=1e-6)


def test_resume_continues_from_the_checkpoint(tmp_path):
    first = train(synthetic_config(tmp_path, "epochs=2", "data.val_split=null"), progress=False)
    resumed = train(synthetic_config(tmp_path, "epochs=3", "data.val_split=null"), resume=True, progress=False)
    assert [row["epoch"] for row in resumed.history] == [1, 2, 3]
    assert resumed.history[:2] == first.history
    straight = train(synthetic_config(tmp_path / "straight", "epochs=3", "data.val_split=null"), progress=False)
    # the learning-rate schedule continues where it stopped (epochs=3 changes its length, so compare the last)
    assert resumed.history[-1]["lr"] == pytest.approx(straight.history[-1]["lr"])


def test_resume_without_checkpoint_is_an_error(tmp_path):
    with pytest.raises(TrainingError, match="no checkpoint"):
        train(synthetic_config(tmp_path, "epochs=1"), resume=True, progress=False)


def test_empty_split_is_a_clear_error(tmp_path):
    with pytest.raises(TrainingError, match="no rows in split 'dev'"):
        train(synthetic_config(tmp_path, "data.val_split=dev"), progress=False)


def test_unknown_model_name_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="unknown model 'signclip-huge'"):
        train(synthetic_config(tmp_path, "model=signclip-huge"), progress=False)


def test_cli_names_the_unknown_key_without_traceback(tmp_path, capsys):
    assert main(["train", str(SYNTHETIC), "--set", "optimiser=sgd", "--set", f"output_dir={tmp_path}"]) == 1
    err = capsys.readouterr().err
    assert "optimiser" in err and "Traceback" not in err


def test_cli_trains_with_overrides(tmp_path, capsys):
    out_dir = tmp_path / "cli"
    code = main(["train", str(SYNTHETIC), "--set", f"output_dir={out_dir}", "--set", "epochs=1"])
    assert code == 0
    assert f"best model: {out_dir / 'best'}" in capsys.readouterr().out
    assert (out_dir / "best" / "config.json").is_file()


def test_the_shipped_fingerspelling_config_trains_on_every_language(tmp_path, fingerspelling_dir):
    config = load_train_config(FINGERSPELLING, [f"data.root={fingerspelling_dir}", f"output_dir={tmp_path}"])
    from signclip.train import load_training_table

    table = load_training_table(config)
    assert set(table["split"]) == {"train"} and config.data.val_split is None
    assert table["signed_language"].nunique() == 15 and len(table) == 470


# ----------------------------------------------------------------------------- DDP, two processes


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_processes_agree_on_weights_and_loss_decreases(tmp_path):
    driver = tmp_path / "driver.py"
    driver.write_text(
        "import hashlib, json, os, sys\n"
        "from signclip.train import load_train_config\n"
        "from signclip.train.distributed import setup_distributed\n"
        "from signclip.train.loop import Trainer\n"
        "config = load_train_config(sys.argv[1], sys.argv[2:])\n"
        "trainer = Trainer(config, setup_distributed(), progress=False)\n"
        "for epoch in range(config.epochs):\n"
        "    trainer.finish_epoch(epoch, trainer.train_epoch(epoch))\n"
        "trainer.result()\n"
        "digest = hashlib.sha256()\n"
        "for name, value in sorted(trainer.model.state_dict().items()):\n"
        "    if not name.startswith('text_encoder.'):\n"
        "        digest.update(value.detach().cpu().numpy().tobytes())\n"
        "rank = os.environ['RANK']\n"
        "losses = [row['train_loss'] for row in trainer.history]\n"
        "out = {'digest': digest.hexdigest(), 'losses': losses, 'batches': trainer.steps_per_epoch}\n"
        "open(os.path.join(config.output_dir, f'rank{rank}.json'), 'w').write(json.dumps(out))\n"
    )
    output = tmp_path / "ddp"
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
        "--master_addr", "127.0.0.1", "--master_port", str(_free_port()),
        str(driver), str(SYNTHETIC), f"output_dir={output}", "epochs=4", "data.synthetic.glosses=8",
        "batch_size=8",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=180, env=env, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    ranks = [json.loads((output / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert ranks[0]["digest"] == ranks[1]["digest"]
    assert ranks[0]["batches"] == ranks[1]["batches"] == 2  # 32 training poses, 8 per batch, 2 processes
    assert ranks[0]["losses"][-1] < ranks[0]["losses"][0]
    assert load_model(output / "best").config.tower_dim == 32
    assert torch.isfinite(torch.tensor(ranks[1]["losses"])).all()
    assert np.isfinite(pd.read_csv(output / "metrics.csv")["val_v2t.R@1"]).all()


def test_trained_models_are_named_after_their_run(tmp_path):
    from signclip.train.loop import trained_model_name

    assert trained_model_name("signclip-small", "signclip-small", tmp_path / "fs") == "signclip-small-fs"
    assert trained_model_name({"base": "signclip-small"}, "signclip-small", tmp_path / "a") == "signclip-small-a"
    assert trained_model_name({"base": "signclip-small", "name": "mine"}, "signclip-small", tmp_path) == "mine"


def test_boston_2d_keypoints_train_with_their_layouts_preprocessing(require_shared, tmp_path, capsys):
    from signclip.data.datasets import prepare_dataset
    from signclip.data.manifest import write_manifest

    table = prepare_dataset("rwth-boston-104", require_shared("data/rwth-boston-104"), work_dir=tmp_path / "poses")
    subset = pd.concat([table[table["split"] == "train"].head(60), table[table["split"] == "test"].head(20)])
    manifest = write_manifest(subset, tmp_path / "boston.csv")
    overrides = ["data.synthetic=null", f"data.manifest={manifest}", "epochs=1", f"output_dir={tmp_path / 'run'}"]
    assert main(["train", str(SYNTHETIC), *[part for o in overrides for part in ("--set", o)]]) == 0
    assert "note: preprocessing 'hands' does not fit these poses (" in capsys.readouterr().err
    model = load_model(tmp_path / "run" / "best")
    assert model.config.preprocess == "keypoints_2d" and model.config.input_features == 6  # 3 points, x and y
