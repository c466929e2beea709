"""The Segmenter interface: a pose in, segments per level out."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
from pose_format import Pose

from signclip.segment.segments import LEVELS, Segment, warn


class Segmenter(ABC):
    """Something that finds sign and sentence segments in a continuous pose sequence.

    Subclasses implement `segment_levels`; `segment` adds the common handling of empty and very
    short poses (an empty list and a SegmentationWarning, never a crash).
    """

    name: str = "segmenter"
    levels: tuple[str, ...] = LEVELS
    min_frames: int = 2

    @abstractmethod
    def segment_levels(self, pose: Pose) -> dict[str, list[Segment]]:
        """Return `{level: segments}` for every level in `self.levels` for the first person of `pose`."""

    def segment(self, pose: Pose) -> dict[str, list[Segment]]:
        """Segment `pose`: `{level: [Segment, ...]}` sorted by start; empty lists (and a warning) for a pose
        shorter than `min_frames` frames."""
        frames = int(pose.body.data.shape[0])
        if frames < self.min_frames:
            warn(f"{self.name}: the pose has {frames} frames (fewer than {self.min_frames}); no segments")
            return {level: [] for level in self.levels}
        return self.segment_levels(pose)

    def to(self, device: str) -> Segmenter:
        """Run on `device` ("cpu", "cuda", ...) from now on; returns self. Segmenters without a network ignore it."""
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def hands_present(confidence: np.ndarray) -> bool:
    """True when any hand point is present in any frame; `confidence` is (frames, points) of hand points."""
    return bool((np.asarray(confidence) > 0).any())
