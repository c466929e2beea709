"""signclip's data folder: `$SIGNCLIP_HOME`, else `~/.local/share/signclip` (models, database, poses)."""

from __future__ import annotations

import os
from pathlib import Path


def signclip_home() -> Path:
    """Return the data folder: `$SIGNCLIP_HOME` when set, else `~/.local/share/signclip` (not created here)."""
    return Path(os.environ.get("SIGNCLIP_HOME") or Path.home() / ".local" / "share" / "signclip").expanduser()
