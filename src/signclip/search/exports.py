"""Search hits taken out of signclip: a CSV for a spreadsheet, and ELAN files for annotators.

`write_hits(hits, query, path)` writes by the path's suffix:
- `.csv`: one row per hit: rank, recording, start_ms, end_ms, score, gloss, key, dataset.
- `.eaf`: one ELAN file per recording (`path` itself for hits of one recording, else `<stem>-<recording>.eaf`
  beside it), linked to the recording's video (else its pose), with a SEARCH tier holding one annotation
  per hit (the query, its rank and score as the value) and the recording's indexed segments as tiers of
  their level (SIGN, SENTENCE) with their glosses. A hit that is a whole recording spans its pose.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from signclip.data.eaf import Annotation, write_annotations
from signclip.errors import SignclipError
from signclip.search.recording import WHOLE, item_level, recording_name, recording_of
from signclip.search.relevance import similarity
from signclip.search.service import SearchAnswer, item_pose
from signclip.store.items import StoredItem
from signclip.store.store import Store

FORMATS = (".csv", ".eaf")
CSV_COLUMNS = ("rank", "recording", "start_ms", "end_ms", "score", "gloss", "key", "dataset")
SEARCH_TIER = "SEARCH"


class ExportError(SignclipError):
    """Hits that cannot be written as asked (an unknown format, no hits)."""


@dataclass(frozen=True)
class ExportHit:
    """One hit to export: its rank, the stored item and its score (higher is more similar)."""

    rank: int
    item: StoredItem
    score: float


def answer_hits(answer: SearchAnswer, metric: str = "cosine") -> list[ExportHit]:
    """The hits of a search answer with their scores (`similarity` of the distances under the model's `metric`)."""
    scores = similarity([hit.distance for hit in answer.results], metric)
    return [
        ExportHit(rank, StoredItem.from_record({**hit.to_dict(), "dataset": answer.dataset}), float(score))
        for rank, (hit, score) in enumerate(zip(answer.results, scores, strict=True), start=1)
    ]


def check_export_path(path: str | os.PathLike) -> Path:
    """`path` if its suffix is a format this module writes; ExportError naming the formats otherwise."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise ExportError(
            f"{path}: cannot write hits as {path.suffix or 'a file without a suffix'!r}; use .csv or .eaf"
        )
    return path


def write_hits(store: Store, hits: Sequence[ExportHit], query: str, path: str | os.PathLike) -> list[Path]:
    """Write `hits` of the search for `query` (its text, or a description of the example) to `path` by its
    suffix (see the module doc); returns the files written."""
    path = check_export_path(path)
    if not hits:
        raise ExportError(f"{path}: there are no hits to write")
    if path.suffix.lower() == ".csv":
        return [write_hits_csv(hits, path)]
    return write_hits_eaf(store, hits, query, path)


def write_hits_csv(hits: Sequence[ExportHit], path: str | os.PathLike) -> Path:
    """Write the hits as CSV (CSV_COLUMNS; times in ms, empty for a whole recording); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(CSV_COLUMNS)
        for hit in hits:
            item = hit.item
            writer.writerow(
                [
                    hit.rank,
                    recording_name(item),
                    _ms(item.start_ms),
                    _ms(item.end_ms),
                    f"{hit.score:.4f}",
                    item.gloss,
                    item.key,
                    item.dataset,
                ]
            )
    return path


def write_hits_eaf(store: Store, hits: Sequence[ExportHit], query: str, path: str | os.PathLike) -> list[Path]:
    """Write one ELAN file per recording of `hits` (see the module doc); returns the files in hit order."""
    path = Path(path)
    by_recording: dict[tuple[str, str, str], list[ExportHit]] = {}
    for hit in hits:
        item = hit.item
        by_recording.setdefault((item.dataset, item.pose_path, item.video_path), []).append(hit)
    written = []
    for group in by_recording.values():
        first = group[0].item
        target = path if len(by_recording) == 1 else path.with_name(f"{path.stem}-{_slug(recording_name(first))}.eaf")
        if target in written:
            target = target.with_name(f"{target.stem}-{first.item_id}.eaf")
        recording = recording_of(store, first.item_id)
        annotations = [
            Annotation(f"{item_level(item).upper()}", round(item.start_ms), round(item.end_ms), item.label)
            for item in recording.items
            if item_level(item) != WHOLE and item.start_ms is not None and item.end_ms is not None
        ]
        search = [_search_annotation(hit, query) for hit in group]
        media = [file for file in (first.video_path or first.pose_path,) if file]
        written.append(write_annotations(search + annotations, target, media, tiers=[SEARCH_TIER]))
    return written


def _search_annotation(hit: ExportHit, query: str) -> Annotation:
    item = hit.item
    start, end = item.start_ms, item.end_ms
    if start is None or end is None:  # a whole recording, or a segment open at one end: bound it by its pose
        pose = item_pose(item)
        duration = 1000.0 * pose.body.data.shape[0] / float(pose.body.fps)
        start = 0.0 if start is None else start
        end = start + duration if end is None else end
    value = f"{query} (rank {hit.rank}, score {hit.score:.3f})"
    return Annotation(SEARCH_TIER, round(start), round(end), value)


def _ms(value: float | None) -> str:
    return "" if value is None or value != value else f"{value:.1f}"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._")[:60] or "recording"
