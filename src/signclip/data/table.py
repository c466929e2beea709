"""The one data door: where a table of items comes from, and how an item's pose is read.

`load_table(source)` turns a `TableSource` (a manifest file, a dataset adapter over a folder, or the
synthetic signer) into the manifest table; training, evaluation, indexing and the quickstart all call it.
`read_item_pose(row)` reads one row's pose file and cuts it to the row's `start_ms`/`end_ms` segment;
training, evaluation, indexing and serving all call it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pose_format import Pose

from signclip.errors import ConfigError, SignclipError


@dataclass
class TableSource:
    """Where a table of items comes from and how it is split.

    Exactly one source: `dataset` + `root` (a registered dataset adapter), `manifest` (a manifest
    file), or `synthetic` (generate_dataset keyword arguments; written to `<work_dir>/data`).
    `split_by` (random, signer, language, official) re-splits the rows with `seed`, `val_fraction`,
    `test_fraction`; `hold_out` ({column: [values]}) puts the matching rows in `val_split` and all
    others in `train_split` (e.g. {signed_language: [gsg, swl]} for a leave-languages-out split).
    `spoken_language` / `signed_language` fill the rows that have none. `poses_dir` (with `dataset`): a
    folder of `<video name>.pose` files extracted from the dataset's videos, attached to its video rows
    (ASL Citizen and WLASL ship videos only). Relative paths are relative to the working directory.
    """

    dataset: str | None = None
    root: str | None = None
    manifest: str | None = None
    synthetic: dict | None = None
    split_by: str | None = None
    seed: int = 0
    val_fraction: float = 0.1
    test_fraction: float = 0.1
    hold_out: dict | None = None
    train_split: str = "train"
    val_split: str | None = "val"
    spoken_language: str | None = None
    signed_language: str | None = None
    poses_dir: str | None = None

    def adapter_settings(self) -> dict[str, Any]:
        """The settings a dataset adapter takes (`prepare_dataset` keywords): split, seed, fractions, languages,
        the folder of extracted poses."""
        names = ("split_by", "seed", "val_fraction", "test_fraction", "spoken_language", "signed_language", "poses_dir")
        return {name: getattr(self, name) for name in names}

    def check(self, context: str = "data") -> None:
        """Raise ConfigError unless exactly one source is given (with its root for a dataset adapter)."""
        sources = [name for name in ("dataset", "manifest", "synthetic") if getattr(self, name)]
        if len(sources) != 1:
            raise ConfigError(
                f"{context}: give exactly one data source (data.dataset + data.root, data.manifest or "
                f"data.synthetic), got {sources or 'none'}"
            )
        if self.dataset and not self.root:
            raise ConfigError(f"{context}: data.dataset {self.dataset!r} needs data.root")
        if self.poses_dir and not self.dataset:
            raise ConfigError(f"{context}: data.poses_dir goes with data.dataset (a manifest holds its pose paths)")


def load_table(source: TableSource, work_dir: str | os.PathLike | None = None, generate: bool = True) -> pd.DataFrame:
    """Return the manifest table of `source` (columns of signclip.data.manifest), split as it asks.

    Synthetic data is generated into `<work_dir>/data` when `generate`, else read from there. Adapters
    that write pose files (rwth-boston-104) write them to `<work_dir>/data/poses`, or without a
    `work_dir` to `$SIGNCLIP_HOME/datasets/<dataset>/poses`.
    """
    source.check()
    if source.synthetic is not None:
        if work_dir is None:
            raise ConfigError("data.synthetic needs a work folder to write the generated poses to")
        table = _synthetic_table(source.synthetic, Path(work_dir) / "data", generate)
    elif source.manifest is not None:
        from signclip.data.manifest import read_manifest

        table = _fill_languages(read_manifest(source.manifest), source.spoken_language, source.signed_language)
    else:
        from signclip.data.datasets import prepare_dataset
        from signclip.home import signclip_home

        data_dir = Path(work_dir) / "data" if work_dir is not None else signclip_home() / "datasets" / source.dataset
        table = prepare_dataset(source.dataset, source.root, work_dir=data_dir / "poses", **source.adapter_settings())
    if source.split_by and source.dataset is None:
        from signclip.data.splits import assign_splits

        table = assign_splits(table, source.split_by, source.seed, source.val_fraction, source.test_fraction)
    if source.hold_out:
        table = _hold_out(table, source.hold_out, source.train_split, source.val_split or "val")
    return table


def _synthetic_table(options: Mapping[str, Any], folder: Path, generate: bool) -> pd.DataFrame:
    from signclip.data.manifest import read_manifest

    if generate:
        from signclip.data.synthetic import generate_dataset

        try:
            generate_dataset(folder, **options)
        except (TypeError, ValueError) as error:
            raise ConfigError(f"data.synthetic: {error}") from None
    return read_manifest(folder / "manifest.csv")


def _hold_out(table: pd.DataFrame, hold_out: Mapping[str, Any], train_split: str, val_split: str) -> pd.DataFrame:
    held = np.zeros(len(table), dtype=bool)
    for column, values in hold_out.items():
        if column not in table.columns:
            raise ConfigError(f"data.hold_out names {column!r}, which is not a manifest column")
        values = [str(v) for v in (values if isinstance(values, list) else [values])]
        missing = sorted(set(values) - set(table[column].astype(str)))
        if missing:
            raise ConfigError(f"data.hold_out {column}: no rows with {missing}")
        held |= table[column].astype(str).isin(values).to_numpy()
    table = table.copy()
    table["split"] = np.where(held, val_split, train_split)
    return table


def _fill_languages(table: pd.DataFrame, spoken: str | None, signed: str | None) -> pd.DataFrame:
    fills = {column: value for column, value in (("spoken_language", spoken), ("signed_language", signed)) if value}
    if not fills:
        return table
    table = table.copy()
    for column, value in fills.items():
        table.loc[table[column] == "", column] = value
    return table


def _segment_bound(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def read_item_pose(row: Mapping[str, Any], allow_nan: bool = False, pose: Pose | None = None) -> Pose:
    """Read the pose of one item (a manifest or store row with pose_path, start_ms, end_ms).

    Returns the whole pose, or its frames between start_ms and end_ms when the row is a segment.
    `pose`: the row's pose file, already read (segments of one recording read it once).
    Raises SignclipError when the row has no pose file (its video was not extracted yet).
    """
    from signclip.poses.io import read_any_pose
    from signclip.poses.transforms import crop_pose

    if not row.get("pose_path"):
        name = row.get("id", row.get("key", row.get("item_id", "?")))
        raise SignclipError(f"item {name!r} has no pose file (extract poses first: signclip extract)")
    if pose is None:
        pose = read_any_pose(row["pose_path"], allow_nan=allow_nan)
    start, end = _segment_bound(row.get("start_ms")), _segment_bound(row.get("end_ms"))
    if start is None and end is None:
        return pose
    return crop_pose(pose, start, end)


def read_table_poses(table: pd.DataFrame, progress: bool = False) -> list[Pose]:
    """Read the pose of every row of `table` with read_item_pose; returns one Pose per row, in order."""
    from tqdm.auto import tqdm

    rows = table.to_dict(orient="records")
    return [read_item_pose(row) for row in tqdm(rows, desc="reading poses", unit="pose", disable=not progress)]
