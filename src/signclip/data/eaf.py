"""Reading ELAN `.eaf` annotation files (pympi-ling), for dataset adapters and the segment room.

Annotations are in milliseconds. Writing (SIGN and SENTENCE tiers) is `signclip.segment.elan.write_eaf`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from signclip.errors import SignclipError


class ElanError(SignclipError):
    """An `.eaf` file that cannot be read or lacks what is asked of it; the message names the file."""


@dataclass(frozen=True)
class Annotation:
    """One ELAN annotation: its tier, start and end in ms, and its value (e.g. a gloss)."""

    tier: str
    start_ms: int
    end_ms: int
    value: str


def read_eaf(path: str | os.PathLike) -> tuple[dict[str, list[Annotation]], list[str]]:
    """Read an `.eaf`: ({tier: annotations sorted by start}, linked media paths as written).

    Raises ElanError naming the file and the problem for a missing, non-XML or non-ELAN file, or an
    annotation whose end is not after its start."""
    from pympi.Elan import Eaf

    path = Path(path)
    if not path.is_file():
        raise ElanError(f"{path}: no such .eaf file")
    try:
        eaf = Eaf(str(path))
    except Exception as error:  # pympi raises ParseError, KeyError, ValueError... for broken files
        raise ElanError(f"{path}: not a readable ELAN file ({type(error).__name__}: {error})") from None
    tiers: dict[str, list[Annotation]] = {}
    for tier in eaf.get_tier_names():
        try:
            items = eaf.get_annotation_data_for_tier(tier)
        except Exception as error:
            raise ElanError(f"{path}: tier {tier!r} cannot be read ({type(error).__name__}: {error})") from None
        annotations = []
        for item in items:
            start, end, value = int(item[0]), int(item[1]), str(item[2] if len(item) > 2 else "")
            if end <= start:
                raise ElanError(
                    f"{path}: tier {tier!r} has an annotation ending ({end} ms) before it starts ({start} ms)"
                )
            annotations.append(Annotation(tier, start, end, value))
        tiers[tier] = sorted(annotations, key=lambda a: (a.start_ms, a.end_ms))
    media = [m.get("RELATIVE_MEDIA_URL") or m.get("MEDIA_URL", "") for m in eaf.media_descriptors]
    return tiers, media
