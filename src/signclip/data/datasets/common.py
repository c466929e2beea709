"""What every dataset adapter shares: the adapter record, errors, the problem report, CSV reading, rows, paths."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from signclip.errors import ConfigError, SignclipError
from signclip.poses.files import MEDIA_SUFFIXES, POSE_SUFFIXES, is_media

MAX_LISTED_PROBLEMS = 20
ASL = ("en", "ase")  # (spoken, signed) language of the American datasets: English glosses, ASL


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
    """What an adapter gets besides its root: where to write files, its options, the problem report.

    `csv_rows` turns a CSV table into manifest rows, adding what is wrong with a record to the problems.
    """

    problems: ProblemReport
    work_dir: Path | None = None
    options: dict[str, str] = field(default_factory=dict)

    def require_work_dir(self, dataset: str) -> Path:
        """Return the work directory; raises ConfigError when the caller gave none."""
        if self.work_dir is None:
            raise ConfigError(f"{dataset} writes pose files: pass work_dir (CLI: --work-dir, default <manifest>/poses)")
        return self.work_dir

    def csv_rows(
        self, path: Path, table: pd.DataFrame, make_row: Callable[[dict[str, str]], dict | str | None]
    ) -> list[dict]:
        """Return `make_row(record)` for each record of a CSV table read from `path`.

        `make_row` returns a manifest row, a message saying what is wrong with the record (added to
        the problems as `<path> line <n>: <message>`, the header being line 1), or None to leave the
        record out silently.
        """
        rows = []
        for line, record in enumerate(table.to_dict(orient="records"), start=2):
            row = make_row(record)
            if isinstance(row, str):
                self.problems.add(f"{path} line {line}: {row}")
            elif row is not None:
                rows.append(row)
        return rows


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


def manifest_row(
    item_id: str,
    text: str,
    *,
    gloss: str | None = None,
    signer: str = "",
    languages: tuple[str, str] = ("", ""),
    split: str = "",
    **media: object,
) -> dict:
    """One manifest row: gloss defaults to text, languages is (spoken, signed), split "" = no official one.

    `media` holds the row's pose_path and/or video_path (absolute) and its start_ms/end_ms, if any.
    """
    spoken, signed = languages
    return {
        "id": item_id,
        **media,
        "text": text,
        "gloss": text if gloss is None else gloss,
        "signer": signer,
        "spoken_language": spoken,
        "signed_language": signed,
        "split": split,
    }


def find_media(root: Path, skip_hidden: bool = False) -> list[tuple[Path, str]]:
    """Return every pose or video file under `root` (any depth), sorted, with the manifest column it
    goes in (pose_path or video_path); `skip_hidden` leaves out names starting with ".".
    """
    files = sorted(
        path
        for path in root.rglob("*")
        if (is_media(path) if skip_hidden else path.is_file() and path.suffix.lower() in MEDIA_SUFFIXES)
    )
    return [(path, media_column(path)) for path in files]


def read_index_csv(
    root: Path, candidates: Iterable[str], what: str, required: Iterable[str] = ()
) -> tuple[Path, pd.DataFrame]:
    """Return the path and table of a dataset's index CSV: `root` itself when it is a file, else the
    first existing `root/<candidate>` (DatasetError naming all candidates if none is); see read_csv_table.
    """
    if root.is_file():
        return root, read_csv_table(root, required=required)
    candidates = list(candidates)
    for name in candidates:
        if (root / name).exists():
            return root / name, read_csv_table(root / name, required=required)
    raise DatasetError(f"{root}: no {what} found (looked for {', '.join(candidates)})")


def media_column(path: Path) -> str:
    """Return the manifest column a file goes in, by its suffix: pose_path for a pose, else video_path."""
    return "pose_path" if path.suffix.lower() in POSE_SUFFIXES else "video_path"


def media_columns(path: Path) -> dict[str, str]:
    """Return {"pose_path": ...} or {"video_path": ...} for a file, by its suffix."""
    return {media_column(path): str(path)}


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
