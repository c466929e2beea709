"""Dataset statistics of a manifest (the original SignCLIP's `data_stat_sp.py`): who, what, how long.

`dataset_stats(table)` counts items per signed and spoken language, per concept (and how many signed
languages share each concept), per signer and per split, and measures every item's pose length in
frames and seconds. `write_stats(stats, out_dir)` writes them as CSV files, PNG plots and a short
`summary.md`.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from signclip.errors import SignclipError

STATS_FILES = (
    "languages.csv",
    "concepts.csv",
    "signers.csv",
    "splits.csv",
    "lengths.csv",
    "summary.md",
    "items_per_language.png",
    "languages_per_concept.png",
    "length_histogram.png",
)


@dataclass
class DatasetStats:
    """The tables of `dataset_stats`; `concept_column` is the column concepts were taken from."""

    languages: pd.DataFrame
    concepts: pd.DataFrame
    signers: pd.DataFrame
    splits: pd.DataFrame
    lengths: pd.DataFrame
    concept_column: str
    unreadable: list[tuple[str, str]]


def concept_labels(table: pd.DataFrame) -> tuple[pd.Series, str]:
    """Each row's concept: its gloss when every row has one, else its text; returns (labels, column name)."""
    if (table["gloss"].astype(str) != "").all():
        return table["gloss"].astype(str), "gloss"
    return table["text"].astype(str), "text"


def dataset_stats(table: pd.DataFrame, progress: bool = True) -> DatasetStats:
    """Count and measure the items of a manifest table; pose files are read once each for their length.

    Rows without a readable pose get no length and are listed in `unreadable` as (id, problem).
    Raises SignclipError for an empty table.
    """
    if len(table) == 0:
        raise SignclipError("the manifest has no rows: no statistics to compute")
    table = table.reset_index(drop=True).copy()
    table["concept"], concept_column = concept_labels(table)
    lengths, unreadable = _pose_lengths(table, progress)
    table = table.join(lengths.set_index("id")[["frames", "seconds"]], on="id")
    return DatasetStats(
        languages=_per_language(table),
        concepts=_per_concept(table),
        signers=_count_by(table, "signer"),
        splits=_count_by(table, "split"),
        lengths=lengths,
        concept_column=concept_column,
        unreadable=unreadable,
    )


def _count_by(table: pd.DataFrame, column: str) -> pd.DataFrame:
    grouped = table.groupby(table[column].astype(str).replace("", "(none)"), sort=True)
    return (
        pd.DataFrame(
            {
                "items": grouped.size(),
                "concepts": grouped["concept"].nunique(),
                "signed_languages": grouped["signed_language"].nunique(),
                "signers": grouped["signer"].nunique(),
                "seconds": grouped["seconds"].sum().round(3),
            }
        )
        .rename_axis(column)
        .reset_index()
        .sort_values(["items", column], ascending=[False, True], ignore_index=True)
    )


def _per_language(table: pd.DataFrame) -> pd.DataFrame:
    keys = [table["signed_language"].astype(str), table["spoken_language"].astype(str)]
    grouped = table.groupby(keys, sort=True)
    counts = pd.DataFrame(
        {
            "items": grouped.size(),
            "concepts": grouped["concept"].nunique(),
            "signers": grouped["signer"].nunique(),
            "seconds": grouped["seconds"].sum().round(3),
        }
    )
    counts.index.names = ["signed_language", "spoken_language"]
    return counts.reset_index().sort_values(["items", "signed_language"], ascending=[False, True], ignore_index=True)


def _per_concept(table: pd.DataFrame) -> pd.DataFrame:
    grouped = table.groupby("concept", sort=True)
    concepts = pd.DataFrame(
        {
            "items": grouped.size(),
            "signed_languages": grouped["signed_language"].nunique(),
            "languages": grouped["signed_language"].agg(lambda values: " ".join(sorted(set(map(str, values))))),
        }
    ).reset_index()
    return concepts.sort_values(
        ["signed_languages", "items", "concept"], ascending=[False, False, True], ignore_index=True
    )


def _pose_lengths(table: pd.DataFrame, progress: bool) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """Frames and seconds of each row's pose (its segment when start_ms/end_ms are set)."""
    from signclip.poses.io import read_any_pose

    files: dict[str, tuple[int, float] | str] = {}
    for path in tqdm(sorted(set(table["pose_path"].astype(str)) - {""}), desc="reading poses", disable=not progress):
        try:
            pose = read_any_pose(path, allow_nan=True)
            files[path] = (int(pose.body.data.shape[0]), float(pose.body.fps))
        except SignclipError as error:
            files[path] = str(error)
    rows, unreadable = [], []
    for row in table.itertuples(index=False):
        found = files.get(str(row.pose_path), "no pose file (extract poses first: signclip extract)")
        if isinstance(found, str):
            unreadable.append((str(row.id), found))
            continue
        frames, fps = found
        start = 0.0 if pd.isna(row.start_ms) else float(row.start_ms)
        end = frames / fps * 1000 if pd.isna(row.end_ms) else min(float(row.end_ms), frames / fps * 1000)
        segment_frames = max(0, round((end - start) / 1000 * fps))
        rows.append({"id": row.id, "frames": segment_frames, "seconds": segment_frames / fps, "fps": fps})
    lengths = pd.DataFrame(rows, columns=["id", "frames", "seconds", "fps"])
    return lengths, unreadable


def write_stats(stats: DatasetStats, out_dir: str | os.PathLike) -> list[Path]:
    """Write STATS_FILES into `out_dir` (created); returns their paths."""
    from signclip.poses.io import write_bytes_atomically

    out_dir = Path(out_dir)
    files = {
        "languages.csv": stats.languages.to_csv(index=False).encode(),
        "concepts.csv": stats.concepts.to_csv(index=False).encode(),
        "signers.csv": stats.signers.to_csv(index=False).encode(),
        "splits.csv": stats.splits.to_csv(index=False).encode(),
        "lengths.csv": stats.lengths.to_csv(index=False).encode(),
        "summary.md": summary_markdown(stats).encode(),
        **_plots(stats),
    }
    paths = []
    for name, data in files.items():
        write_bytes_atomically(data, out_dir / name)
        paths.append(out_dir / name)
    return paths


def summary_markdown(stats: DatasetStats) -> str:
    """A short Markdown summary: totals, lengths, the languages and the most widely shared concepts."""
    seconds = stats.lengths["seconds"]
    shared = stats.concepts[stats.concepts["signed_languages"] > 1]
    lines = [
        "# Dataset statistics",
        "",
        f"- items: {int(stats.languages['items'].sum())}",
        f"- signed languages: {stats.languages['signed_language'].nunique()}; "
        f"spoken languages: {stats.languages['spoken_language'].nunique()}",
        f"- concepts (from `{stats.concept_column}`): {len(stats.concepts)}; "
        f"shared by two or more signed languages: {len(shared)}",
        f"- signers: {len(stats.signers)}; splits: {', '.join(stats.splits['split'].astype(str))}",
    ]
    if len(seconds):
        frames = stats.lengths["frames"]
        lines.append(
            f"- pose length: median {frames.median():.0f} frames ({seconds.median():.2f} s), "
            f"min {frames.min()}, max {frames.max()} frames; {seconds.sum() / 3600:.2f} hours in all"
        )
    if stats.unreadable:
        lines.append(
            f"- items without a readable pose (no length): {len(stats.unreadable)}, e.g. {stats.unreadable[0]}"
        )
    lines += ["", "## Per signed language", "", _markdown_table(stats.languages)]
    lines += ["", "## Most shared concepts", "", _markdown_table(stats.concepts.head(10))]
    return "\n".join(lines) + "\n"


def _markdown_table(table: pd.DataFrame) -> str:
    header = "| " + " | ".join(map(str, table.columns)) + " |"
    rule = "| " + " | ".join("---" for _ in table.columns) + " |"
    body = ["| " + " | ".join(map(str, row)) + " |" for row in table.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def _plots(stats: DatasetStats) -> dict[str, bytes]:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    def png(figure) -> bytes:
        buffer = io.BytesIO()
        figure.tight_layout()
        figure.savefig(buffer, format="png", dpi=100)
        plt.close(figure)
        return buffer.getvalue()

    per_language = stats.languages.groupby("signed_language")["items"].sum().sort_values(ascending=False)
    figure, axes = plt.subplots(figsize=(max(4, 0.4 * len(per_language) + 2), 3.5))
    axes.bar(per_language.index.astype(str), per_language.to_numpy())
    axes.set(xlabel="signed language", ylabel="items", title="Items per signed language")
    axes.tick_params(axis="x", rotation=90)
    plots = {"items_per_language.png": png(figure)}

    shared = stats.concepts["signed_languages"].value_counts().sort_index()
    figure, axes = plt.subplots(figsize=(5, 3.5))
    axes.bar(shared.index.astype(int), shared.to_numpy())
    axes.set(xlabel="signed languages sharing the concept", ylabel="concepts", title="Concepts by languages")
    plots["languages_per_concept.png"] = png(figure)

    figure, axes = plt.subplots(figsize=(5, 3.5))
    seconds = stats.lengths["seconds"].to_numpy()
    axes.hist(seconds, bins=min(40, max(1, len(np.unique(seconds)))) if len(seconds) else 1)
    axes.set(xlabel="seconds", ylabel="items", title="Pose lengths")
    plots["length_histogram.png"] = png(figure)
    return plots
