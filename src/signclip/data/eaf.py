"""Reading ELAN `.eaf` annotation files (pympi-ling), for dataset adapters and the segment room.

Annotations are in milliseconds. `write_annotations` writes tiers of annotations linked to media files;
the segment room's SIGN and SENTENCE tiers are `signclip.segment.elan.write_eaf`, search hits'
SEARCH tier `signclip.search.exports`.
"""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Sequence
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


def write_annotations(
    annotations: Sequence[Annotation],
    path: str | os.PathLike,
    media: Sequence[str | os.PathLike] = (),
    author: str = "signclip",
    tiers: Sequence[str] = (),
) -> Path:
    """Write `annotations` to an `.eaf` at `path`, one tier per tier name (`tiers` first, even when empty, then in
    order of first use), linked to each of `media` (a video, or a `.pose` file as application/pose). An
    annotation whose end is not after its start is given 1 ms. Returns the path."""
    from pympi.Elan import Eaf

    eaf = Eaf(author=author)
    for file in media:
        mimetype = "application/pose" if str(file).endswith(".pose") else mimetypes.guess_type(str(file))[0]
        eaf.add_linked_file(Path(file).resolve().as_uri(), relpath=str(file), mimetype=mimetype or "video/mp4")
    if "default" in eaf.tiers:
        eaf.remove_tier("default")
    for tier in tiers:
        eaf.add_tier(tier)
    for annotation in annotations:
        if annotation.tier not in eaf.tiers:
            eaf.add_tier(annotation.tier)
        start, end = round(annotation.start_ms), round(annotation.end_ms)
        eaf.add_annotation(annotation.tier, start, max(end, start + 1), annotation.value)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    eaf.to_file(str(path))
    return path
