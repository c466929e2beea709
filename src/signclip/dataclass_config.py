"""Configuration dataclasses from plain mappings (parsed YAML/JSON), with errors that name the key.

One builder serves the model config, the training configs and the server settings:
`from_mapping(cls, data, source)` rejects unknown keys, missing required keys and values of the
wrong type, and builds sections (fields whose default is itself a dataclass) recursively. A number
written like `3e-4` (a string to PyYAML, which follows YAML 1.1) is read as a float where a float is due.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from signclip.errors import ConfigError


def read_config_mapping(path: str | os.PathLike, what: str) -> dict:
    """Read a YAML (or JSON) file of settings into a dict ({} for an empty file); ConfigError naming the
    file when it is missing (`{path}: no such {what}`), unreadable or not a mapping at the top level."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such {what}")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ConfigError(f"{path}: not a readable YAML/JSON file: {error}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    return data


def apply_override(
    data: dict,
    assignment: str,
    as_section: Callable[[str, Any], Any] | None = None,
    replaces: Mapping[str, str] | None = None,
) -> None:
    """Apply one `--set a.b=value` override to the raw config mapping `data` in place.

    The value is parsed as YAML (an empty value is None); ConfigError, in one line naming the assignment,
    for a missing `=`, a value that is not valid YAML, or a key below a value that is not a section.
    `as_section(dotted path, value)` may turn a non-mapping value on the way into a section (the training
    config's `model: NAME` becomes `{"base": NAME}`); `replaces` maps a dotted key to another that setting
    it removes (a key's former name).
    """
    import yaml

    key, separator, text = assignment.partition("=")
    if not separator or not key.strip():
        raise ConfigError(f"--set expects KEY=VALUE (e.g. epochs=5 or data.root=DIR), got {assignment!r}")
    try:
        value = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError as error:
        problem = " ".join(str(getattr(error, "problem", None) or error).split())
        raise ConfigError(f"--set {assignment!r}: the value is not valid YAML ({problem})") from None
    parts = key.strip().split(".")
    node = data
    for depth, part in enumerate(parts[:-1]):
        path = ".".join(parts[: depth + 1])
        child = node.get(part)
        if as_section is not None and child is not None and not isinstance(child, dict):
            child = as_section(path, child)
        if child is None:
            child = {}
        if not isinstance(child, dict):
            raise ConfigError(f"--set {assignment!r}: {path} is not a section")
        node[part] = child
        node = child
    other = (replaces or {}).get(".".join(parts))
    if other is not None and other.rpartition(".")[0] == ".".join(parts[:-1]):
        node.pop(other.rpartition(".")[2], None)
    node[parts[-1]] = value


def from_mapping(cls: type, data: Any, source: str, skip: frozenset | set = frozenset()) -> Any:
    """Instantiate dataclass `cls` from the mapping `data`; ConfigError naming `source` and the key for an
    unknown key, a missing required key or a value of the wrong type. Fields in `skip` are left to the
    caller (their defaults apply); a field whose default factory is a dataclass is built from its
    sub-mapping (None or absent: its defaults)."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: expected a mapping of settings, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name not in skip}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(
            f"{source}: unknown key {unknown[0]!r}"
            + (f" (and {unknown[1:]})" if unknown[1:] else "")
            + f"; known keys: {sorted(fields)}"
        )
    missing = [
        name
        for name, f in fields.items()
        if name not in data and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ConfigError(f"{source}: missing required key {missing[0]!r}")
    values = {}
    for key, value in data.items():
        section = fields[key].default_factory
        if section is not dataclasses.MISSING and dataclasses.is_dataclass(section):
            values[key] = from_mapping(section, value or {}, f"{source}: {key}")
        elif _has_type(value, hints[key]):
            values[key] = value
        elif _has_type(1.5, hints[key]) and _is_float_text(value):
            values[key] = float(value)
        else:
            raise ConfigError(f"{source}: {key} must be {_type_name(hints[key])}, got {value!r}")
    return cls(**values)


def check_values(config: Any, checks: list[tuple[bool, str, str]], source: str) -> None:
    """Raise ConfigError "SOURCE: KEY PROBLEM, got VALUE" for the first `(ok, key, problem)` of `checks`
    that is not ok; KEY is a field of `config`, dotted for a section's ("text_encoder.max_length")."""
    for ok, key, problem in checks:
        if not ok:
            value = config
            for part in key.split("."):
                value = getattr(value, part)
            raise ConfigError(f"{source}: {key} {problem}, got {value!r}")


def upper_bounds(config: Any, bounds: Mapping[str, float]) -> list[tuple[bool, str, str]]:
    """Checks for `check_values`: each field of `config` named in `bounds` is at most its bound."""
    return [(getattr(config, key) <= high, key, f"must be at most {high}") for key, high in bounds.items()]


def in_range(value: float, low: float, high: float) -> bool:
    """Whether `value` is a number in [low, high] (NaN and infinities are not)."""
    return low <= value <= high


def _has_type(value: Any, hint: Any) -> bool:
    if hint is Any:
        return True
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return any(_has_type(value, h) for h in typing.get_args(hint))
    origin = typing.get_origin(hint) or hint
    if origin is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if origin is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, origin)


def _is_float_text(value: Any) -> bool:
    try:
        return isinstance(value, str) and float(value) == float(value)  # excludes "nan"
    except ValueError:
        return False


def _type_name(hint: Any) -> str:
    return str(hint).replace("typing.", "") if not isinstance(hint, type) else hint.__name__
