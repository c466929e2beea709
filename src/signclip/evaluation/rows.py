"""Which rows of a table an evaluation scores and against which: the split's rows and the others, groups,
and the error of an evaluation with nothing to score."""

from __future__ import annotations

import numpy as np
import pandas as pd

from signclip.errors import SignclipError


class EvaluationError(SignclipError):
    """Nothing to evaluate: an empty split or table, rows without poses, too few examples per class."""


def split_rows(table: pd.DataFrame, split: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Return (evaluated rows, reference rows) as index arrays into `table`.

    Without `split` every row is evaluated and there are no reference rows; with it, the rows of that
    split are evaluated and the rows of every other split are the references (the training data).
    """
    if len(table) == 0:
        raise EvaluationError("the manifest has no rows")
    if split is None:
        return np.arange(len(table)), np.arange(0)
    in_split = (table["split"].astype(str) == split).to_numpy()
    if not in_split.any():
        present = sorted(set(table["split"].astype(str)) - {""})
        raise EvaluationError(f"no rows in split {split!r}; the manifest's splits are {present or 'none'}")
    return np.flatnonzero(in_split), np.flatnonzero(~in_split)


def group_values(table: pd.DataFrame, group_by: str | None) -> list[str] | None:
    """The `group_by` column of `table` as strings (None without grouping); EvaluationError if absent."""
    if group_by is None:
        return None
    if group_by not in table.columns:
        raise EvaluationError(f"cannot group by {group_by!r}: not a manifest column ({', '.join(table.columns)})")
    return table[group_by].astype(str).tolist()
