"""Named segmenter configs and the one way to get a segmenter: `load_segmenter(name_or_path)`.

Names: `dgs-2023` (the default, MediaPipe Holistic poses), `motion` (no weights, any layout with
hands), `motion-boston` (motion with the parameters chosen by cross-validation on RWTH-BOSTON-104's
train sentences); any other value is a tagger directory written by `signclip segment train`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from signclip.errors import ConfigError
from signclip.segment.base import Segmenter
from signclip.segment.motion import MotionConfig, MotionSegmenter

DEFAULT_SEGMENTER = "dgs-2023"

# Chosen by `signclip segment tune-motion` (5-fold cross-validation over the Boston train videos); see
# docs/segment.md for the command and its figures.
BOSTON_MOTION = MotionConfig(raise_threshold=0.25, rise_ms=100.0, lower_ms=230.0, mean_sign_ms=330.0, cut_weight=-0.3)


def _dgs2023() -> Segmenter:
    from signclip.segment.dgs2023 import DGS2023Segmenter

    return DGS2023Segmenter()


SEGMENTERS: dict[str, Callable[[], Segmenter]] = {
    "dgs-2023": _dgs2023,
    "motion": lambda: MotionSegmenter(MotionConfig()),
    "motion-boston": lambda: MotionSegmenter(BOSTON_MOTION, name="motion-boston"),
}


def segmenter_names() -> list[str]:
    """The registered segmenter names."""
    return list(SEGMENTERS)


def load_segmenter(name_or_path: str | os.PathLike | Segmenter = DEFAULT_SEGMENTER) -> Segmenter:
    """Return a Segmenter: one given as is, a registered name, or a tagger directory (by path).

    Raises ConfigError listing the names for anything else, ModelFileError for a broken directory."""
    if isinstance(name_or_path, Segmenter):
        return name_or_path
    name = str(name_or_path)
    if name in SEGMENTERS:
        return SEGMENTERS[name]()
    path = Path(name)
    if path.is_dir():
        from signclip.segment.tagger import load_tagger

        return load_tagger(path)
    raise ConfigError(f"unknown segmenter {name!r}: not one of {segmenter_names()} nor a tagger directory")
