"""The one exception family of signclip: errors a user can act on, printed by the CLI without a traceback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class SignclipError(Exception):
    """Base class: a problem with the user's input or environment, with a message that names it."""


class PoseFileError(SignclipError):
    """A pose file that cannot be read: missing, empty, truncated, another format, or holding NaNs."""


class PoseLayoutError(SignclipError):
    """A pose whose components or points do not fit what a transform or model needs."""


class ConfigError(SignclipError):
    """A configuration with an unknown key, a bad value or a missing field."""


class ModelFileError(SignclipError):
    """A model directory that cannot be loaded: missing files, or weights missing, extra or wrong-shaped."""


def naming_the_pose(name: str, function: Callable[..., T], *args: Any) -> T:
    """Call `function(*args)`; a PoseLayoutError it raises is raised again starting with `name` (a file)."""
    try:
        return function(*args)
    except PoseLayoutError as error:
        raise PoseLayoutError(f"{name}: {error}") from None
