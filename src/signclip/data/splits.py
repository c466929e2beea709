"""Deterministic train/val/test splits of a manifest: random, signer-independent, held-out languages, official.

Group splits (`signer`, `language`) put every group (a signer, a signed language) wholly in one
split. Groups are sorted by name and then shuffled with the seed, so the same seed gives the same
split whatever the row order. `random` is the same procedure with every row its own group.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from signclip.errors import ConfigError, SignclipError

SPLIT_METHODS = ("random", "signer", "language", "official")
GROUP_COLUMNS = {"random": "id", "signer": "signer", "language": "signed_language"}
SPLIT_ALIASES = {
    "train": "train",
    "training": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "dev": "val",
    "test": "test",
    "testing": "test",
    "eval": "test",
}


class SplitError(SignclipError):
    """A split that cannot be made: too few signers or languages, or no official split to use."""


def normalize_split_name(name: str) -> str:
    """Map a dataset's split name to train/val/test ("validation", "dev" -> "val"); "" stays ""."""
    key = str(name).strip().lower()
    if not key:
        return ""
    if key not in SPLIT_ALIASES:
        raise SplitError(f"unknown split name {name!r} (expected one of {sorted(SPLIT_ALIASES)})")
    return SPLIT_ALIASES[key]


def check_fractions(val_fraction: float, test_fraction: float) -> None:
    """Raise ConfigError unless both fractions are in [0, 1) and leave a non-empty train share."""
    for label, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0 <= value < 1:
            raise ConfigError(f"{label} must be in [0, 1), got {value}")
    if val_fraction + test_fraction >= 1:
        raise ConfigError(
            f"val_fraction + test_fraction must be below 1 (got {val_fraction} + {test_fraction}): "
            "nothing would be left for training"
        )


def assign_splits(
    table: pd.DataFrame,
    by: str,
    seed: int = 0,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
) -> pd.DataFrame:
    """Return a copy of the manifest `table` with its `split` column set to train/val/test.

    `by`: `random` (rows), `signer` (no signer in two splits), `language` (no signed language in two
    splits) or `official` (keep the dataset's own split column, names normalized). Fractions are
    shares of rows; each split with a non-zero fraction gets at least one group.
    """
    if by not in SPLIT_METHODS:
        raise ConfigError(f"unknown split method {by!r}; choose one of {list(SPLIT_METHODS)}")
    table = table.copy()
    if by == "official":
        return _official(table)
    check_fractions(val_fraction, test_fraction)
    column = GROUP_COLUMNS[by]
    keys = table[column].fillna("").astype(str)
    if by != "random" and (keys.str.strip() == "").any():
        raise SplitError(
            f"a {by} split needs a {column} on every row; {int((keys.str.strip() == '').sum())} rows have none"
        )
    sizes = keys.value_counts().sort_index()
    assignment = _split_groups(sizes, by, seed, val_fraction, test_fraction)
    table["split"] = keys.map(assignment).to_numpy()
    return table


def _official(table: pd.DataFrame) -> pd.DataFrame:
    names = table["split"].fillna("").astype(str)
    if (names.str.strip() == "").all():
        raise SplitError("this dataset has no official split here; use --split-by random, signer or language")
    unsplit = names.str.strip() == ""
    if unsplit.any():
        example = table["id"][unsplit].iloc[0]
        raise SplitError(f"{int(unsplit.sum())} rows are in no official split, e.g. id {example}")
    table["split"] = [normalize_split_name(name) for name in names]
    return table


def _split_groups(sizes: pd.Series, by: str, seed: int, val_fraction: float, test_fraction: float) -> dict[str, str]:
    """Assign each group (index of `sizes`, sorted) to a split; returns {group: split}."""
    wanted = [name for name, fraction in (("test", test_fraction), ("val", val_fraction)) if fraction > 0]
    if len(sizes) < len(wanted) + 1:
        what = "rows" if by == "random" else f"distinct {GROUP_COLUMNS[by]} values"
        raise SplitError(
            f"a {by} split into train{''.join(f'/{w}' for w in reversed(wanted))} needs at least "
            f"{len(wanted) + 1} {what}, found {len(sizes)} ({', '.join(map(str, sizes.index[:5]))})"
        )
    order = np.random.default_rng(seed).permutation(len(sizes))
    groups = sizes.index[order].tolist()
    counts = sizes.to_numpy()[order]
    midpoints = (np.cumsum(counts) - counts / 2) / counts.sum()
    splits = np.where(
        midpoints < test_fraction, "test", np.where(midpoints < test_fraction + val_fraction, "val", "train")
    ).tolist()
    for name in ("train", *wanted):
        if name not in splits:
            _move_one_group(splits, name)
    return dict(zip(groups, splits, strict=True))


def _move_one_group(splits: list[str], name: str) -> None:
    """Move the first group of the split holding the most groups into the empty split `name`."""
    donor_split = max(sorted(set(splits)), key=splits.count)
    splits[splits.index(donor_split)] = name
