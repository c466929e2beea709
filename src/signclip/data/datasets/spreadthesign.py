"""`spreadthesign`: a Spreadthesign dictionary export, one pose per (word, sign language) video.

A CSV (ROOT/index.csv, ROOT/spreadthesign.csv, or ROOT itself as the .csv) with a pose path column
(pose_path, pose or path; relative to the CSV's folder, or to option pose_dir), a text column (text
or word), and the languages either as signed_language (or sign_language) + spoken_language, or as
one language column holding a Spreadthesign locale ("en.us" -> en + ase) or an ISO 639-3 sign
language code. Optional: id (default: the row number), signer, split. An official split is taken
from the split column or from train.txt/val.txt/test.txt id lists in ROOT or ROOT/splits.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from signclip.data.datasets.common import DatasetAdapter, DatasetError, LoadContext, manifest_row, read_index_csv
from signclip.data.prompts import sign_languages, spreadthesign_locales

DESCRIPTION = "Spreadthesign export: CSV of id, language, text, pose path (+ optional split lists)"
LAYOUT = "ROOT/index.csv (pose_path|path, text|word, language | signed_language+spoken_language[, id, split])"
OPTIONS = {"pose_dir": ("", "folder (relative to the CSV's folder) that the pose paths are relative to")}
INDEX_FILES = ("index.csv", "spreadthesign.csv")
PATH_COLUMNS = ("pose_path", "pose", "path")
TEXT_COLUMNS = ("text", "word")
SIGNED_COLUMNS = ("signed_language", "sign_language")


def load(root: Path, context: LoadContext) -> pd.DataFrame:
    """Read the Spreadthesign CSV into manifest rows."""
    index, table = read_index_csv(root, INDEX_FILES, "Spreadthesign CSV")
    folder = index.parent
    path_column = _pick(table, PATH_COLUMNS, index)
    text_column = _pick(table, TEXT_COLUMNS, index)
    pose_dir = folder / context.options["pose_dir"]
    listed = _listed_splits(folder)
    ids = table["id"] if "id" in table.columns else pd.Series("", index=table.index)
    table["id"] = [value.strip() or str(number) for number, value in enumerate(ids)]  # default: the row number

    def row(record: dict[str, str]) -> dict | str:
        relative = record[path_column].strip()
        if not relative:
            return f"empty {path_column}"
        languages = _languages(record)
        if isinstance(languages, str):
            return languages
        item_id, text, signer = record["id"], record[text_column].strip(), record.get("signer", "").strip()
        split = record.get("split", "").strip() or listed.get(item_id, "")
        return manifest_row(
            item_id, text, signer=signer, languages=languages, split=split, pose_path=str(pose_dir / relative)
        )

    return pd.DataFrame(context.csv_rows(index, table, row))


def _pick(table: pd.DataFrame, names: tuple[str, ...], index: Path) -> str:
    column = next((name for name in names if name in table.columns), None)
    if column is None:
        raise DatasetError(f"{index}: needs one of the columns {list(names)} (found {list(table.columns)})")
    return column


def _languages(record: dict[str, str]) -> tuple[str, str] | str:
    """Return (spoken, signed) for a row, or a message saying why they cannot be told."""
    signed = next((record[c].strip() for c in SIGNED_COLUMNS if record.get(c, "").strip()), "")
    spoken = record.get("spoken_language", "").strip()
    language = record.get("language", "").strip()
    if signed:
        return spoken, signed
    if not language:
        return "no language: give signed_language (+ spoken_language) or a language column"
    locales = spreadthesign_locales()
    if language.lower() in locales:
        locale_spoken, locale_signed = locales[language.lower()]
        return spoken or locale_spoken, locale_signed
    if language.lower() in sign_languages():
        return spoken, language.lower()
    return f"unknown language {language!r}: not a known Spreadthesign locale (en.us, ...) or sign language code"


def _listed_splits(folder: Path) -> dict[str, str]:
    """Read train.txt/val.txt/test.txt (one id per line) from the folder or its splits/ subfolder."""
    listed = {}
    for directory in (folder, folder / "splits"):
        for split in ("train", "val", "test"):
            path = directory / f"{split}.txt"
            if path.is_file():
                for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                    if line.strip():
                        listed[line.strip()] = split
    return listed


ADAPTER = DatasetAdapter("spreadthesign", DESCRIPTION, LAYOUT, load, default_split="random", options=OPTIONS)
