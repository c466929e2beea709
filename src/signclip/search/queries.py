"""What a search query needs before a model embeds it: a video's pose, a text wrapped in the prompt template."""

from __future__ import annotations

import os
from pathlib import Path

from signclip.errors import SignclipError


class PromptError(SignclipError):
    """A text query that cannot be wrapped in the model's prompt template (no sign language known), said as
    a fact; each front end adds its way out. `template` is the model's template, `reason` its own complaint."""

    def __init__(self, message: str, template: str, reason: str) -> None:
        super().__init__(message)
        self.template, self.reason = template, reason


def read_video_pose(path: str | os.PathLike):
    """Extract the pose of one video file; raises SignclipError for a missing file or one that is not a video."""
    from signclip.poses.extract import video_to_pose
    from signclip.poses.files import VIDEO_SUFFIXES

    path = Path(path)
    if not path.is_file():
        raise SignclipError(f"{path}: no such video file")
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        raise SignclipError(f"{path}: not a video file (expected one of {', '.join(VIDEO_SUFFIXES)})")
    return video_to_pose(path)


def text_prompt(
    template: str, text: str, languages: list[tuple[str, str, int]], where: dict[str, list[str]] | None = None
) -> str:
    """Wrap `text` in a model's prompt `template` (e.g. "<{spoken}> <{signed}> {text}").

    The languages come from `where` filters (spoken_language/signed_language) when given, else from
    the dataset's most common pair in `languages` ((spoken, signed, items) tuples, most first).
    """
    from signclip.data.prompts import render_prompt
    from signclip.errors import ConfigError

    row = {"text": text}
    for field in ("spoken_language", "signed_language"):
        if (where or {}).get(field):
            row[field] = where[field][0]
    if "signed_language" not in row and languages:
        spoken, signed, _ = languages[0]
        row["signed_language"] = signed
        row.setdefault("spoken_language", spoken)
    try:
        return render_prompt(template, row)
    except ConfigError as error:
        raise PromptError(
            f"cannot wrap the text in the model's prompt template {template!r} ({error}): the dataset has no "
            "sign language and none was given",
            template,
            str(error),
        ) from None
