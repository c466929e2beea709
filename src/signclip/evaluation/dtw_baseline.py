"""The non-learned baseline: nearest neighbours by dynamic time warping (DTW) on preprocessed poses.

A pose's score for a text is minus its DTW distance to the nearest reference pose of that text, so the same
retrieval metrics as for SignCLIP apply (`signclip.evaluation.retrieval.retrieval_report`); the references
are those of `signclip.evaluation.dtw.dtw_distances`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from signclip.evaluation.dtw import DTWDistances, DTWSettings, dtw_distances
from signclip.evaluation.retrieval import nearest_neighbour_scores, retrieval_report
from signclip.evaluation.rows import group_values


def dtw_report(
    table: pd.DataFrame,
    split: str | None = None,
    group_by: str | None = None,
    settings: DTWSettings | None = None,
    progress: bool = False,
) -> dict:
    """Evaluate DTW nearest-neighbour retrieval on the rows of `table` in `split` (all rows without).

    Texts are the manifest `text` column. A pose's score for a text is minus the DTW distance to the
    nearest reference pose with that text (texts without references score -inf); the references are
    those of `dtw_distances`. Returns the `retrieval_report` dict plus "references" ("other splits" or
    "leave-one-out"), "preprocess" (the one used) and, after a fallback, "note" (why).
    """
    return distances_report(table, dtw_distances(table, split, settings or DTWSettings(), progress), group_by)


def distances_report(table: pd.DataFrame, found: DTWDistances, group_by: str | None = None) -> dict:
    """The `dtw_report` of distances already computed by `dtw_distances` on `table`."""
    texts = table["text"].astype(str).to_numpy()
    reference_texts = texts[found.references]

    def score(candidates: list[str], rows: np.ndarray) -> np.ndarray:
        return nearest_neighbour_scores(-found.distances[rows], reference_texts, candidates)

    evaluated_table = table.iloc[found.evaluated].reset_index(drop=True)
    report = retrieval_report(texts[found.evaluated], score, group_values(evaluated_table, group_by))
    references_kind = "leave-one-out" if found.leave_one_out else "other splits"
    note = {"note": found.note} if found.note else {}
    return {**report, "references": references_kind, "preprocess": found.preprocess, **note}
