"""The one builder of configuration dataclasses: sections, unknown and missing keys, wrong types."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from signclip.dataclass_config import from_mapping
from signclip.errors import ConfigError
from signclip.train import load_train_config


@dataclass
class Section:
    size: int = 1
    name: str | None = None


@dataclass
class Settings:
    rate: float
    section: Section = field(default_factory=Section)
    tags: list = field(default_factory=list)


def test_sections_are_built_recursively_and_defaults_fill_the_rest():
    settings = from_mapping(Settings, {"rate": 2, "section": {"size": 3}}, "test")
    assert settings == Settings(rate=2, section=Section(size=3), tags=[])
    assert from_mapping(Settings, {"rate": 0.5, "section": None}, "test").section == Section()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"rate": 1.0, "speed": 2}, "test: unknown key 'speed'"),
        ({}, "test: missing required key 'rate'"),
        ({"rate": "fast"}, "test: rate must be float, got 'fast'"),
        ({"rate": True}, "test: rate must be float"),
        ({"rate": 1.0, "section": {"size": 2.5}}, "test: section: size must be int, got 2.5"),
        ({"rate": 1.0, "section": {"colour": 1}}, "test: section: unknown key 'colour'"),
        ([1, 2], "test: expected a mapping"),
    ],
)
def test_bad_settings_are_named(data, message):
    with pytest.raises(ConfigError, match=message):
        from_mapping(Settings, data, "test")


def test_exponent_numbers_that_yaml_leaves_as_text_are_read_as_floats(tmp_path):
    assert from_mapping(Settings, {"rate": "3e-4"}, "test").rate == pytest.approx(3e-4)
    assert load_train_config(None, ["data.manifest=m.csv", "lr=3e-4", f"output_dir={tmp_path}"]).lr == pytest.approx(
        3e-4
    )
    with pytest.raises(ConfigError, match=r"test: section: name must be"):
        from_mapping(Settings, {"rate": 1, "section": {"name": 3e-4}}, "test")


def test_a_training_value_of_the_wrong_type_is_named_before_training(tmp_path):
    with pytest.raises(ConfigError, match=r"epochs must be int, got 'many'"):
        load_train_config(None, ["data.manifest=m.csv", "epochs=many", f"output_dir={tmp_path}"])
