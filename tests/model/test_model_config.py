import json
import math

import pytest
import yaml

from signclip.errors import ConfigError
from signclip.model.config import ModelConfig, list_models, model_config
from signclip.model.pose_encoder import PoseEncoderConfig


def test_registry_lists_one_model_per_config_file_and_reads_it():
    assert {"signclip-small", "fingerclip-small"} <= set(list_models())
    config = model_config("signclip-small")
    assert config.name == "signclip-small"
    assert config.architecture == "signclip"
    assert isinstance(config.pose_encoder, PoseEncoderConfig)
    assert config.preprocess == "signclip_v1" and config.input_features == 609
    assert config.logit_scale_init == pytest.approx(math.log(1 / 0.07))
    assert model_config("fingerclip-small").input_features == 63


def test_every_registered_config_is_named_like_its_file():
    for name in list_models():
        assert model_config(name).name == name


def test_an_unknown_top_level_key_is_a_config_error_naming_it():
    data = model_config("signclip-small").to_dict() | {"hidden_size": 3}
    with pytest.raises(ConfigError, match="unknown key 'hidden_size'"):
        ModelConfig.from_dict(data)


def test_an_unknown_key_in_a_section_names_the_section_and_the_key():
    data = model_config("signclip-small").to_dict()
    data["pose_encoder"]["depth"] = 3
    with pytest.raises(ConfigError, match=r"pose_encoder: unknown key 'depth'"):
        ModelConfig.from_dict(data)
    data = model_config("signclip-small").to_dict()
    data["text_encoder"]["tokenizer"] = "x"
    with pytest.raises(ConfigError, match=r"text_encoder: unknown key 'tokenizer'"):
        ModelConfig.from_dict(data)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"tower_dim": "big"}, "tower_dim must be int"),
        ({"freeze_text": "yes"}, "freeze_text must be bool"),
        ({"long_pose": "truncate"}, "long_pose must be one of"),
        ({"max_frames": 0}, "max_frames must be at least 1"),
        ({"architecture": "resnet"}, "unknown architecture 'resnet'"),
        ({"prompt": "signclip_v9"}, "unknown prompt template 'signclip_v9'"),
        ({"pose_encoder": {"conv_kernel": 4}}, "conv_kernel must be odd"),
        ({"text_encoder": {"pooling": "max"}}, "text_encoder.pooling must be one of"),
    ],
)
def test_bad_values_are_config_errors_that_say_what_is_wrong(override, message):
    with pytest.raises(ConfigError, match=message):
        model_config({"base": "signclip-small", **override})


def test_a_missing_name_is_reported():
    with pytest.raises(ConfigError, match="missing required key 'name'"):
        ModelConfig.from_dict({"tower_dim": 8})


def test_overrides_on_a_base_merge_sections_key_by_key():
    config = model_config({"base": "signclip-small", "freeze_text": True, "pose_encoder": {"layers": 2}})
    assert config.freeze_text is True
    assert config.pose_encoder.layers == 2
    assert config.pose_encoder.width == model_config("signclip-small").pose_encoder.width


def test_to_dict_round_trips_through_json_and_yaml_files(tmp_path):
    config = model_config({"base": "signclip-small", "name": "mine", "preprocess": [{"name": "hide_legs"}]})
    (tmp_path / "mine.json").write_text(json.dumps(config.to_dict()))
    (tmp_path / "mine.yaml").write_text(yaml.safe_dump(config.to_dict()))
    assert model_config(tmp_path / "mine.json") == config
    assert model_config(str(tmp_path / "mine.yaml")) == config


def test_an_unknown_model_name_lists_the_known_ones():
    with pytest.raises(ConfigError, match=r"known models: .*signclip-small"):
        model_config("signclip-huge")


def test_an_unreadable_config_file_is_named(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    with pytest.raises(ConfigError, match=r"broken\.json"):
        model_config(path)


def test_tower_dim_is_per_tower_and_the_former_key_embed_dim_overrides_it():
    config = model_config({"base": "signclip-small", "embed_dim": 16, "towers": 3})
    assert config.tower_dim == 16 and "embed_dim" not in config.to_dict()
