"""Dataset adapters: turn a dataset already on disk into the manifest table, with deterministic splits.

`prepare_dataset(name, root, ...)` is the one entry point; `DATASETS` maps each name to its
`DatasetAdapter` (one module per dataset in this package).
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from signclip.data.datasets import (
    asl_citizen,
    asl_signs,
    elan,
    fingerspelling_lexicon,
    folder,
    rwth_boston_104,
    rwth_fingerspelling,
    sem_lex,
    spreadthesign,
    wlasl,
)
from signclip.data.datasets.common import (
    DatasetAdapter,
    DatasetError,
    LoadContext,
    ProblemReport,
    parse_options,
    relative_paths,
)
from signclip.data.manifest import MANIFEST_COLUMNS, normalize_manifest
from signclip.data.splits import SPLIT_METHODS, assign_splits, check_fractions
from signclip.errors import ConfigError, PoseFileError
from signclip.poses.io import read_any_pose

DATASETS: dict[str, DatasetAdapter] = {
    module.ADAPTER.name: module.ADAPTER
    for module in (
        fingerspelling_lexicon,
        folder,
        asl_signs,
        rwth_fingerspelling,
        asl_citizen,
        sem_lex,
        wlasl,
        spreadthesign,
        rwth_boston_104,
        elan,
    )
}

__all__ = [
    "DATASETS",
    "DatasetAdapter",
    "DatasetError",
    "dataset_names",
    "describe_manifest",
    "get_adapter",
    "prepare_dataset",
    "relative_paths",
]


def dataset_names() -> list[str]:
    """Return the registered dataset names, in registry order."""
    return list(DATASETS)


def get_adapter(name: str) -> DatasetAdapter:
    """Return the adapter registered as `name`; raises ConfigError listing the known names."""
    if name not in DATASETS:
        raise ConfigError(f"unknown dataset {name!r}; known datasets: {', '.join(DATASETS)}")
    return DATASETS[name]


def prepare_dataset(
    name: str,
    root: str | os.PathLike,
    split_by: str | None = None,
    seed: int = 0,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    work_dir: str | os.PathLike | None = None,
    options: dict[str, str] | None = None,
    poses_dir: str | os.PathLike | None = None,
    spoken_language: str | None = None,
    signed_language: str | None = None,
    skip_problems: bool = False,
    verify: bool = False,
) -> pd.DataFrame:
    """Read dataset `name` from `root` into a normalized manifest DataFrame (absolute paths).

    split_by: random, signer, language or official; None = the dataset's official split when the
    data carries one, else the adapter's default. work_dir: where adapters that must write poses
    (rwth-boston-104) put them. options: adapter options (e.g. {"camera": "cam1"}). poses_dir: a
    folder of `<video name>.pose` files extracted from the dataset's videos, attached as pose_path.
    spoken_language/signed_language fill rows that have none. text and gloss are Unicode NFC.
    Rows with problems (missing or, with `verify`, unreadable pose files, duplicate ids, empty text,
    bad names) raise one DatasetError listing them, or with `skip_problems` are dropped and listed
    in `table.attrs["problems"]`.
    """
    adapter = get_adapter(name)
    if split_by is not None and split_by not in SPLIT_METHODS:
        raise ConfigError(f"unknown split method {split_by!r}; choose one of {list(SPLIT_METHODS)}")
    check_fractions(val_fraction, test_fraction)
    root = Path(root).expanduser().resolve()
    if not root.exists():
        raise DatasetError(f"{root}: no such dataset folder")
    problems = ProblemReport(f"{name} at {root}", skip=skip_problems)
    context = LoadContext(
        problems=problems,
        work_dir=Path(work_dir).expanduser().resolve() if work_dir is not None else None,
        options=parse_options(adapter, options),
    )
    table = adapter.load(root, context)
    if table.empty:
        problems.finish()
        raise DatasetError(f"{root}: no items found for dataset {name} (expected {adapter.layout})")
    table = _fill_languages(_complete_columns(table), spoken_language, signed_language)
    for column in ("text", "gloss"):
        table[column] = [unicodedata.normalize("NFC", value).strip() for value in table[column]]
    if poses_dir is not None:
        table = _attach_poses(table, Path(poses_dir).expanduser().resolve())
    table = _drop_problem_rows(table, problems, verify)
    found = problems.finish()
    if table.empty:
        raise DatasetError(f"{root}: every row of dataset {name} had a problem; nothing is left")
    if split_by is None:
        split_by = _default_split(table, adapter)
    table = assign_splits(table, split_by, seed=seed, val_fraction=val_fraction, test_fraction=test_fraction)
    table = normalize_manifest(table, source=f"{name} at {root}")
    table.attrs["problems"] = found
    table.attrs["split_by"] = split_by
    return table


def describe_manifest(table: pd.DataFrame) -> list[str]:
    """Return printable lines summarizing a manifest: rows per split, glosses, signers, languages."""
    counts = table["split"].value_counts()
    splits = ", ".join(f"{split} {int(counts[split])}" for split in ("train", "val", "test") if split in counts)
    with_pose = int((table["pose_path"] != "").sum())
    return [
        f"rows: {len(table)} ({splits})",
        f"glosses: {table['gloss'].nunique()}",
        f"signers: {table['signer'][table['signer'] != ''].nunique()}",
        f"signed languages: {', '.join(sorted(set(table['signed_language']) - {''})) or '-'}",
        f"with pose files: {with_pose}, video only: {len(table) - with_pose}",
    ]


def _default_split(table: pd.DataFrame, adapter: DatasetAdapter) -> str:
    """The official split when the rows carry one, else the adapter's default (signer if that is official)."""
    if (table["split"].str.strip() != "").any():
        return "official"
    return "signer" if adapter.default_split == "official" else adapter.default_split


def _complete_columns(table: pd.DataFrame) -> pd.DataFrame:
    """Return `table` with every manifest column present: text columns as strings ("" = none), times NaN."""
    table = table.copy()
    for column in MANIFEST_COLUMNS:
        if column in ("start_ms", "end_ms"):
            table[column] = pd.to_numeric(table.get(column, float("nan")), errors="raise")
        else:
            table[column] = table.get(column, pd.Series("", index=table.index)).fillna("").astype(str)
    return table


def _fill_languages(table: pd.DataFrame, spoken: str | None, signed: str | None) -> pd.DataFrame:
    table = table.copy()
    for column, value in (("spoken_language", spoken), ("signed_language", signed)):
        if value:
            table.loc[table[column].str.strip() == "", column] = value
    return table


def _attach_poses(table: pd.DataFrame, poses_dir: Path) -> pd.DataFrame:
    """Set pose_path to `poses_dir/<video stem>.pose` where that file exists and the row has none."""
    if not poses_dir.is_dir():
        raise DatasetError(f"{poses_dir}: no such poses folder")
    table = table.copy()
    for index, video in table["video_path"].items():
        if video and not table.at[index, "pose_path"]:
            candidate = poses_dir / f"{Path(video).stem}.pose"
            if candidate.is_file():
                table.at[index, "pose_path"] = str(candidate)
    return table


def _drop_problem_rows(table: pd.DataFrame, problems: ProblemReport, verify: bool) -> pd.DataFrame:
    """Report and drop rows with duplicate ids, no text, or missing (or unreadable) files.

    A missing video beside an existing pose file is not a problem: the video path is cleared.
    """
    table = table.copy()
    with_pose = (table["pose_path"] != "") & (table["video_path"] != "")
    dangling = with_pose & ~table["video_path"].map(lambda p: Path(p).is_file())
    table.loc[dangling, "video_path"] = ""
    keep, seen = [], set()
    for row in tqdm(table.to_dict(orient="records"), desc="checking files", unit="row", leave=False, delay=1.0):
        problem = _row_problem(row, seen, verify)
        if problem:
            problems.add(f"id {row['id']!r}: {problem}")
        keep.append(problem is None)
        seen.add(row["id"])
    return table[keep].reset_index(drop=True)


def _row_problem(row: dict[str, str], seen: set[str], verify: bool) -> str | None:
    """Return what is wrong with one row, or None."""
    if not row["id"].strip():
        return "empty id"
    if row["id"] in seen:
        return "duplicate id"
    if not row["text"].strip():
        return "no text/gloss"
    pose, video = row["pose_path"], row["video_path"]
    if not pose and not video:
        return "no pose or video path"
    if pose and not Path(pose).is_file():
        return f"pose file missing: {pose}"
    if video and not pose and not Path(video).is_file():
        return f"video file missing: {video}"
    if verify and pose:
        try:
            read_any_pose(pose, allow_nan=True)
        except PoseFileError as error:
            return f"unreadable pose: {error}"
    return None
