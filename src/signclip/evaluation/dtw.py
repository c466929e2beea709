"""Dynamic time warping (DTW) between preprocessed poses: the distance matrix, the poses as DTW compares them,
and the distances from a table's evaluated rows to its references (the baseline's report is in
dtw_baseline.py; search re-ranks by the same DTW).

References are the rows outside the evaluated split; when there are none (no split given, or every row
is in it), each pose is compared with all the other evaluated poses (leave-one-out).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from signclip.data.table import read_table_poses
from signclip.errors import naming_the_pose
from signclip.evaluation.rows import split_rows
from signclip.poses.transforms import Pipeline, PoseTensor, fit_length, fitting_preprocess

DEFAULT_PREPROCESS = "fingerclip"
CHUNK_CELLS = 20_000_000  # cost-matrix cells computed at once (about 80 MB of float32)


def subsampled_frames(tensor: PoseTensor, max_frames: int | None) -> np.ndarray:
    """The real frames of a tensor (frames, features), evenly subsampled to at most `max_frames`."""
    tensor = PoseTensor(tensor.data[tensor.mask], tensor.mask[tensor.mask])
    if max_frames is not None and tensor.frames > max_frames:
        tensor = fit_length(tensor, max_frames, "subsample")[0]
    return tensor.data.astype(np.float32)


def _padded(sequences: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Stack sequences into (N, T_max, F) zero-padded, plus their lengths (N,)."""
    lengths = np.array([len(s) for s in sequences])
    out = np.zeros((len(sequences), lengths.max(), sequences[0].shape[1]), dtype=np.float32)
    for i, sequence in enumerate(sequences):
        out[i, : len(sequence)] = sequence
    return out, lengths


def dtw_distance_matrix(
    queries: Sequence[PoseTensor],
    references: Sequence[PoseTensor],
    band: float | None = None,
    max_frames: int | None = 64,
    progress: bool = False,
) -> np.ndarray:
    """DTW distances (len(queries), len(references)) float32 between preprocessed poses.

    The local cost is the Euclidean distance between frames; steps are (1,0), (0,1), (1,1); the
    total is divided by len(query) + len(reference) so long signs are not penalized. `band` (a
    fraction of the sequence, e.g. 0.2) restricts the warping path to a Sakoe-Chiba band around the
    diagonal of the two (normalized) time axes. Sequences longer than `max_frames` are subsampled.
    The dynamic programme runs over all pairs of a chunk of queries at once (vectorized numpy).
    """
    if not queries or not references:
        return np.zeros((len(queries), len(references)), dtype=np.float32)
    query_frames, query_lengths = _padded([subsampled_frames(t, max_frames) for t in queries])
    reference_frames, reference_lengths = _padded([subsampled_frames(t, max_frames) for t in references])
    if query_frames.shape[2] != reference_frames.shape[2]:
        raise ValueError(f"queries have {query_frames.shape[2]} features, references {reference_frames.shape[2]}")
    out = np.zeros((len(queries), len(references)), dtype=np.float32)
    cells_per_query = len(references) * query_frames.shape[1] * reference_frames.shape[1]
    chunk = max(1, CHUNK_CELLS // cells_per_query)
    starts = range(0, len(queries), chunk)
    for start in tqdm(starts, desc="DTW", unit="chunk", disable=not progress):
        stop = min(start + chunk, len(queries))
        out[start:stop] = _dtw_chunk(
            query_frames[start:stop], query_lengths[start:stop], reference_frames, reference_lengths, band
        )
    return out


def _dtw_chunk(
    queries: np.ndarray, query_lengths: np.ndarray, references: np.ndarray, reference_lengths: np.ndarray, band
) -> np.ndarray:
    """DTW between queries (Q, Tq, F) and references (R, Tr, F) with their lengths; returns (Q, R)."""
    (q, tq, features), (r, tr, _) = queries.shape, references.shape
    products = (queries.reshape(q * tq, features) @ references.reshape(r * tr, features).T).reshape(q, tq, r, tr)
    squared = (queries**2).sum(-1)[:, :, None, None] + (references**2).sum(-1)[None, None] - 2 * products
    cost = np.sqrt(np.maximum(squared, 0)).transpose(1, 3, 0, 2).reshape(tq, tr, q * r)  # (Tq, Tr, pairs)
    query_length = np.repeat(query_lengths, r)
    reference_length = np.tile(reference_lengths, q)
    if band is not None:
        i = np.arange(cost.shape[0])[:, None, None] / np.maximum(query_length - 1, 1)
        j = np.arange(cost.shape[1])[None, :, None] / np.maximum(reference_length - 1, 1)
        cost = np.where(np.abs(i - j) <= band, cost, np.inf).astype(np.float32)
    # total[i, j]: cheapest path to frames (i - 1, j - 1), row and column 0 the boundary. Cells on one
    # anti-diagonal (i + j = d) depend only on the two diagonals before, so each is one numpy step.
    rows, columns = cost.shape[0], cost.shape[1]
    total = np.full((rows + 1, columns + 1, q * r), np.inf, dtype=np.float32)
    total[0, 0] = 0
    for diagonal in range(2, rows + columns + 1):
        i = np.arange(max(1, diagonal - columns), min(rows, diagonal - 1) + 1)
        j = diagonal - i
        best_previous = np.minimum(np.minimum(total[i - 1, j - 1], total[i - 1, j]), total[i, j - 1])
        total[i, j] = cost[i - 1, j - 1] + best_previous
    ends = total[query_length, reference_length, np.arange(q * r)]  # each pair ends at its own lengths
    return (ends / (query_length + reference_length)).reshape(q, r)


def preprocessed_poses(
    table: pd.DataFrame, preprocess: str | list = DEFAULT_PREPROCESS, progress: bool = False
) -> tuple[list[PoseTensor], str | list, str | None]:
    """Read every row's pose (cut to its segment) and preprocess it: returns (one PoseTensor per row, the
    preprocessing used, a note when `preprocess` did not fit the poses and their layout's preset was used
    instead, else None). PoseLayoutError naming the file when no preprocessing fits."""
    poses = read_table_poses(table, progress)
    if not poses:
        return [], preprocess, None
    names = [str(path) for path in table["pose_path"]]
    preprocess, note = naming_the_pose(names[0], fitting_preprocess, preprocess, poses[0])
    pipeline = Pipeline.from_config(preprocess)
    return [naming_the_pose(name, pipeline, pose) for pose, name in zip(poses, names, strict=True)], preprocess, note


@dataclass(frozen=True)
class DTWSettings:
    """How DTW compares poses: the `preprocess` preset or steps (a layout it does not fit gets its layout's
    preset, see fitting_preprocess), a Sakoe-Chiba `band` (None: none) and `max_frames` per sequence."""

    preprocess: str | list = DEFAULT_PREPROCESS
    band: float | None = None
    max_frames: int | None = 64


@dataclass
class DTWDistances:
    """DTW distances between a table's evaluated rows and its reference rows: `evaluated` and `references`
    (index arrays into the table), `distances` (len(evaluated), len(references)) float32 (inf on the
    diagonal for leave-one-out), `leave_one_out`, the `preprocess` used and the fallback `note` (or None)."""

    evaluated: np.ndarray
    references: np.ndarray
    distances: np.ndarray
    leave_one_out: bool
    preprocess: str | list
    note: str | None


def dtw_distances(
    table: pd.DataFrame, split: str | None = None, settings: DTWSettings = DTWSettings(), progress: bool = False
) -> DTWDistances:
    """DTW distances from the rows of `table` in `split` (all rows without) to the rows of the other
    splits, or, when there are none, to the other evaluated rows (leave-one-out), as `settings` say."""
    evaluated, references = split_rows(table, split)
    leave_one_out = len(references) == 0
    if leave_one_out:
        references = evaluated
    tensors, preprocess, note = preprocessed_poses(table, settings.preprocess, progress)
    distances = dtw_distance_matrix(
        [tensors[i] for i in evaluated], [tensors[i] for i in references], settings.band, settings.max_frames, progress
    )
    if leave_one_out:
        np.fill_diagonal(distances, np.inf)
    return DTWDistances(evaluated, references, distances, leave_one_out, preprocess, note)
