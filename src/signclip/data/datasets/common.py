"""What every dataset adapter shares: the adapter record, errors, the problem report, CSV reading, paths."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from signclip.errors import ConfigError, SignclipError

POSE_SUFFIXES = (".pose", ".parquet")
VIDEO_SUFFIXES = (".mp4", ".mpg", ".mpeg", ".mov", ".avi", ".mkv", ".webm", ".m4v")
MAX_LISTED_PROBLEMS = 20


class DatasetError(SignclipError):
    """A dataset folder that cannot become a manifest: wrong layout, unreadable index, bad rows."""


class ProblemReport:
    """Collects per-row problems (missing files, bad names, duplicates) while an adapter reads a dataset.

    With `skip`, the rows are dropped and the problems kept for the caller to print; without it,
    `finish()` raises one DatasetError listing them.
    """

    def __init__(self, source: str, skip: bool = False):
        self.source = source
        self.skip = skip
        self.problems: list[str] = []

    def add(self, message: str) -> None:
        """Record one problem (a message naming the file or row and what is wrong)."""
        self.problems.append(message)

    def finish(self) -> list[str]:
        """Raise DatasetError listing the problems unless skipping; returns the problems."""
        if self.problems and not self.skip:
            listed = "\n".join(f"  - {p}" for p in self.problems[:MAX_LISTED_PROBLEMS])
            more = len(self.problems) - MAX_LISTED_PROBLEMS
            raise DatasetError(
                f"{self.source}: {len(self.problems)} problems (skip_problems / --skip-problems drops "
                f"these rows):\n{listed}" + (f"\n  ... and {more} more" if more > 0 else "")
            )
        return list(self.problems)


@dataclass
class LoadContext:
    """What an adapter gets besides its root: where to write files, its options, the problem report."""

    problems: ProblemReport
    work_dir: Path | None = None
    options: dict[str, str] = field(default_factory=dict)

    def require_work_dir(self, dataset: str) -> Path:
        """Return the work directory; raises ConfigError when the caller gave none."""
        if self.work_dir is None:
            raise ConfigError(f"{dataset} writes pose files: pass work_dir (CLI: --work-dir, default <manifest>/poses)")
        return self.work_dir


@dataclass(frozen=True)
class DatasetAdapter:
    """One dataset: how to turn its folder into manifest rows.

    `load(root, context)` returns a DataFrame with manifest columns, absolute paths, and `split`
    holding the dataset's official split where it has one (else ""). `default_split` is used when
    the caller names none and the data has no official split. `options` maps option names to
    (default, help).
    """

    name: str
    description: str
    layout: str
    load: Callable[[Path, LoadContext], pd.DataFrame]
    default_split: str = "signer"
    options: dict[str, tuple[str, str]] = field(default_factory=dict)


def read_csv_table(path: Path, required: Iterable[str] = (), allowed: Iterable[str] | None = None) -> pd.DataFrame:
    """Read a CSV as strings (no NaN); raises DatasetError if missing, unreadable, or lacking columns.

    `allowed`, when given, lists every accepted column: any other column is an error.
    """
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError, OSError) as error:
        raise DatasetError(f"{path}: not a readable CSV file: {error}") from None
    table.columns = [str(c).strip() for c in table.columns]
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise DatasetError(f"{path}: missing columns {missing} (found {list(table.columns)})")
    if allowed is not None:
        unknown = [c for c in table.columns if c not in set(allowed)]
        if unknown:
            raise DatasetError(f"{path}: unknown columns {unknown}; accepted columns are {sorted(set(allowed))}")
    if table.empty:
        raise DatasetError(f"{path}: the table has no rows")
    return table


def find_first(root: Path, candidates: Iterable[str], what: str) -> Path:
    """Return the first existing `root/<candidate>`; raises DatasetError naming all candidates."""
    candidates = list(candidates)
    for name in candidates:
        if (root / name).exists():
            return root / name
    raise DatasetError(f"{root}: no {what} found (looked for {', '.join(candidates)})")


def media_columns(path: Path) -> dict[str, str]:
    """Return {"pose_path": ...} or {"video_path": ...} for a file, by its suffix."""
    if path.suffix.lower() in POSE_SUFFIXES:
        return {"pose_path": str(path)}
    return {"video_path": str(path)}


def path_id(relative: str | Path) -> str:
    """Turn a path relative to the dataset root into an id: no suffix, `/` -> `-` ("a/b.pose" -> "a-b")."""
    return Path(relative).with_suffix("").as_posix().replace("/", "-")


def parse_options(adapter: DatasetAdapter, options: dict[str, str] | None) -> dict[str, str]:
    """Return the adapter's option defaults updated with `options`; unknown names raise ConfigError."""
    values = {name: default for name, (default, _) in adapter.options.items()}
    for name, value in (options or {}).items():
        if name not in values:
            known = ", ".join(sorted(values)) or "none"
            raise ConfigError(f"dataset {adapter.name} has no option {name!r} (options: {known})")
        values[name] = str(value)
    return values


def relative_paths(table: pd.DataFrame, base: str | os.PathLike) -> pd.DataFrame:
    """Return `table` with pose/video paths inside `base` made relative to it (others stay absolute).

    A manifest written to `base/manifest.csv` then keeps working when the folder moves as a whole.
    """
    base = Path(base).resolve()
    table = table.copy()
    for column in ("pose_path", "video_path"):
        table[column] = [_relative(value, base) for value in table[column].fillna("").astype(str)]
    return table


def _relative(value: str, base: Path) -> str:
    if not value or "://" in value:
        return value
    path = Path(value).resolve()
    return path.relative_to(base).as_posix() if path.is_relative_to(base) else str(path)
