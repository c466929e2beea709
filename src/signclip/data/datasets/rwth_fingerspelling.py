"""`rwth-fingerspelling`: the RWTH German Fingerspelling Database (Dreuw et al. 2006).

Files `<signer>_<letter>_<session>_<camera>.mpg` anywhere under ROOT: 35 gestures (A-Z, SCH, the
umlauts written ae/oe/ue, and the numbers 1-5) by 20 signers, each twice, filmed by two cameras
(cam1 webcam, cam2 camcorder). Only cam2 by default (option camera=cam1|cam2|all). A `.pose` file
with the same name beside a video (or alone) becomes the row's pose_path.

Official split: the database's 700 training and 700 test sequences per camera are used when the
download says which is which, as `train`/`test` folders in the path or as ROOT/train.txt and
ROOT/test.txt listing file names; otherwise there is no official split and the default is signer.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from signclip.data.datasets.common import DatasetAdapter, DatasetError, LoadContext, find_media, manifest_row
from signclip.data.splits import SPLIT_ALIASES

DESCRIPTION = "RWTH German Fingerspelling Database: <signer>_<letter>_<session>_<camera>.mpg"
LAYOUT = "ROOT/**/<signer>_<letter>_<session>_<camera>.mpg [+ ROOT/train.txt, ROOT/test.txt or train/, test/]"
OPTIONS = {"camera": ("cam2", "which camera's sequences: cam1, cam2 or all")}
FILE_NAME = re.compile(r"^(?P<signer>[^_]+)_(?P<letter>[^_]+)_(?P<session>[^_]+)_(?P<camera>cam\d)$", re.IGNORECASE)
LETTERS = {chr(c): chr(c).upper() for c in range(ord("a"), ord("z") + 1)}
LETTERS.update({"sch": "SCH", "ae": "Ä", "oe": "Ö", "ue": "Ü", "ä": "Ä", "ö": "Ö", "ü": "Ü"})
LETTERS.update({str(n): str(n) for n in range(1, 6)})
CAMERAS = ("cam1", "cam2", "all")
GERMAN = ("de", "gsg")  # (spoken, signed): German, German Sign Language


def load(root: Path, context: LoadContext) -> pd.DataFrame:
    """Find the sequences under `root`, parse their names, and return manifest rows."""
    camera = context.options["camera"].lower()
    if camera not in CAMERAS:
        raise DatasetError(f"rwth-fingerspelling: option camera must be one of {CAMERAS}, got {camera!r}")
    files = find_media(root)
    if not files:
        raise DatasetError(f"{root}: no video or pose files found (expected <signer>_<letter>_<session>_<camera>.mpg)")
    listed = _listed_splits(root)
    rows: dict[str, dict] = {}
    for path, column in files:
        match = FILE_NAME.match(path.stem)
        if match is None:
            context.problems.add(f"{path}: name is not <signer>_<letter>_<session>_<camera>")
            continue
        letter = LETTERS.get(match["letter"].lower())
        if letter is None:
            context.problems.add(f"{path}: unknown gesture {match['letter']!r} (expected a-z, sch, ae, oe, ue, 1-5)")
            continue
        if camera != "all" and match["camera"].lower() != camera:
            continue
        split = _official_split(path.relative_to(root), listed)
        row = rows.setdefault(
            path.stem, manifest_row(path.stem, letter, signer=match["signer"], languages=GERMAN, split=split)
        )
        row[column] = str(path)
    if not rows and not context.problems.problems:
        raise DatasetError(f"{root}: no sequences from camera {camera}")
    return pd.DataFrame(list(rows.values()))


def _listed_splits(root: Path) -> dict[str, str]:
    """Read ROOT/train.txt and ROOT/test.txt (one file name per line) into {stem: split}."""
    listed = {}
    for split in ("train", "test"):
        path = root / f"{split}.txt"
        if path.is_file():
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                if line.strip():
                    listed[Path(line.strip()).stem] = split
    return listed


def _official_split(relative: Path, listed: dict[str, str]) -> str:
    if relative.stem in listed:
        return listed[relative.stem]
    for part in relative.parts[:-1]:
        if part.lower() in SPLIT_ALIASES:
            return SPLIT_ALIASES[part.lower()]
    return ""


ADAPTER = DatasetAdapter("rwth-fingerspelling", DESCRIPTION, LAYOUT, load, default_split="signer", options=OPTIONS)
