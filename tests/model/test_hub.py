"""Saving and loading model directories: round trip, and precise errors for broken directories."""

import json
import shutil

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from signclip.errors import ConfigError, ModelFileError
from signclip.model.hub import create_model, load_model, save_model
from signclip.model.identity import untrained_warning


@pytest.fixture(scope="module")
def saved(tiny_model, tmp_path_factory):
    return save_model(tiny_model, tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture
def copy(saved, tmp_path):
    return shutil.copytree(saved, tmp_path / "copy")


def test_a_saved_model_loads_back_with_identical_embeddings(tiny_model, saved, poses):
    assert {p.name for p in saved.iterdir()} >= {"config.json", "model.safetensors", "text_encoder"}
    assert (saved / "text_encoder" / "tokenizer.json").is_file()
    loaded = load_model(saved)
    assert loaded.config == tiny_model.config and not loaded.training
    assert np.array_equal(loaded.embed_poses(poses[:3]), tiny_model.embed_poses(poses[:3]))
    texts = ["<en> <ase> house", "sun"]
    assert np.array_equal(loaded.embed_texts(texts), tiny_model.embed_texts(texts))


def test_a_trained_change_survives_the_round_trip(tiny_config, tmp_path, poses):
    model = create_model(tiny_config)
    with torch.no_grad():
        model.pose_projection.weight.mul_(-1)
        model.logit_scale.fill_(3.0)
    loaded = load_model(save_model(model, tmp_path / "changed"))
    assert loaded.logit_scale.item() == 3.0
    assert np.array_equal(loaded.embed_poses(poses[:1]), model.embed_poses(poses[:1]))


def test_the_directory_does_not_need_the_original_text_model(tiny_model, saved, tmp_path):
    config = json.loads((saved / "config.json").read_text())
    assert config["text_encoder"]["name"] == tiny_model.config.text_encoder.name
    moved = shutil.copytree(saved, tmp_path / "elsewhere")
    config["text_encoder"]["name"] = str(tmp_path / "gone")
    (moved / "config.json").write_text(json.dumps(config))
    assert load_model(moved).embed_texts(["a"]).shape == (1, 16)


def test_saving_over_an_existing_model_replaces_it(tiny_config, copy, poses):
    other = create_model(tiny_config, seed=5)
    save_model(other, copy)
    assert np.array_equal(load_model(copy).embed_poses(poses[:1]), other.embed_poses(poses[:1]))
    assert not [p for p in copy.iterdir() if p.name.startswith(".")]


def test_missing_weights_are_named(copy):
    weights = load_file(copy / "model.safetensors")
    del weights["pose_projection.weight"]
    save_file(weights, copy / "model.safetensors")
    with pytest.raises(ModelFileError, match=r"1 missing \(pose_projection.weight\)"):
        load_model(copy)


def test_wrong_shaped_and_unexpected_weights_are_named(copy):
    weights = load_file(copy / "model.safetensors")
    weights["text_projection.weight"] = torch.zeros(3, 3)
    weights["head.bias"] = torch.zeros(2)
    save_file(weights, copy / "model.safetensors")
    with pytest.raises(ModelFileError, match=r"unexpected \(head.bias\).*wrong-shaped \(text_projection.weight"):
        load_model(copy)


def test_a_config_that_disagrees_with_the_weights_names_the_keys(copy):
    config = json.loads((copy / "config.json").read_text())
    config["tower_dim"] = 8
    (copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFileError, match=r"pose_projection\.weight"):
        load_model(copy)


def test_a_config_with_an_unknown_key_is_refused(copy):
    config = json.loads((copy / "config.json").read_text()) | {"colour": "blue"}
    (copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(ConfigError, match="unknown key 'colour'"):
        load_model(copy)


@pytest.mark.parametrize("name", ["config.json", "model.safetensors", "text_encoder"])
def test_a_directory_missing_a_part_says_which(copy, name):
    path = copy / name
    shutil.rmtree(path) if path.is_dir() else path.unlink()
    with pytest.raises(ModelFileError, match=name):
        load_model(copy)


def test_a_corrupt_weights_file_is_reported(copy):
    (copy / "model.safetensors").write_bytes(b"not safetensors at all")
    with pytest.raises(ModelFileError, match="not a readable safetensors file"):
        load_model(copy)


def test_an_unknown_model_name_lists_the_known_names():
    with pytest.raises(ConfigError, match=r"known models: .*signclip-small"):
        load_model("signclip-gigantic")


def test_a_registered_name_loads_an_untrained_model():
    model = load_model("signclip-small")
    assert model.name == "signclip-small" and model.embed_dim == 256


def test_a_model_directory_written_with_the_former_key_embed_dim_loads(copy, saved):
    config = json.loads((copy / "config.json").read_text())
    config["embed_dim"] = config.pop("tower_dim")
    (copy / "config.json").write_text(json.dumps(config))
    loaded = load_model(copy)
    assert loaded.config == load_model(saved).config
    config["tower_dim"] = config["embed_dim"]
    (copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(ConfigError, match="'embed_dim' is the former name of 'tower_dim'"):
        load_model(copy)


def test_a_model_directory_records_its_provenance(tiny_model, saved, copy):
    assert tiny_model.trained is False and load_model(saved).trained is False
    warning = untrained_warning(load_model(saved))
    assert "'tiny' is untrained" in warning
    assert "signclip train CONFIG" in warning and "signclip convert-mmpt" in warning
    assert json.loads((saved / "provenance.json").read_text()) == {"kind": "untrained"}
    (copy / "provenance.json").unlink()
    unknown = load_model(copy)  # written before provenance was recorded: weights of unknown origin
    assert unknown.provenance.kind == "unknown" and unknown.trained is None and untrained_warning(unknown) is None
    (copy / "provenance.json").write_text('{"kind": "bought"}')
    with pytest.raises(ConfigError, match=r"provenance\.json: kind must be one of"):
        load_model(copy)


def test_a_registered_name_without_local_weights_is_untrained(tmp_path, monkeypatch):
    monkeypatch.setenv("SIGNCLIP_HOME", str(tmp_path))
    model = load_model("signclip-small")
    assert model.trained is False and "'signclip-small' is untrained" in untrained_warning(model)
