"""Segmentation on Ray Data: actors holding one loaded segmenter segment a batch of recordings each.

The records travel as JSON (a manifest row with its pose path) and come back as `SegmentOutcome`s as
JSON, so a recording gives the same segment rows on either engine (both call `segment_record`). The
actors run on GPUs when the cluster has them (one each, the segmenter's network moved onto it), else on
CPUs; a dead actor is restarted and its batch retried (`session.MAX_RETRIES`).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from signclip.cluster.session import RayOptions, cluster_gpus, map_with_actors, ray_session
from signclip.search.segmenting import SegmentOutcome


class SegmentActor:
    """A Ray Data actor: one segmenter, loaded once onto `device`; each call segments the recordings of a batch."""

    def __init__(self, segmenter: str, level: str, device: str):
        import torch

        from signclip.segment import load_segmenter

        if device == "cpu":
            torch.set_num_threads(1)  # one CPU per actor (map_with_actors asks Ray for one)
        self.segmenter = load_segmenter(segmenter).to(device)
        self.level = level

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list]:
        """Segment each record (JSON); returns one JSON `SegmentOutcome` per record."""
        from signclip.search.segmenting import segment_record

        outcomes = [segment_record(json.loads(text), self.segmenter, self.level) for text in batch["record"]]
        return {"outcome": [json.dumps(outcome.to_dict()) for outcome in outcomes]}


def segment_on_ray(
    options: RayOptions,
    records: list[dict[str, Any]],
    segmenter: str,
    level: str,
    actors: int | None = None,
    batch_size: int = 4,
) -> list[SegmentOutcome]:
    """Segment `records` on Ray with the segmenter named or at `segmenter`: `actors` actors (default: the
    cluster's GPUs, else its CPUs), `batch_size` recordings per call; one outcome per record, in order."""
    if not records:
        return []
    with ray_session(options) as ray:
        gpus = cluster_gpus(ray)
        count = min(len(records), actors or gpus or max(1, int(ray.cluster_resources().get("CPU", 1))))
        items = [{"record": json.dumps(record, default=str)} for record in records]
        dataset = ray.data.from_items(items, override_num_blocks=count)
        arguments = (segmenter, level, "cuda" if gpus else "cpu")
        mapped = map_with_actors(dataset, SegmentActor, arguments, count, batch_size, 1.0 if gpus else 0.0)
        outcomes = [SegmentOutcome(**json.loads(row["outcome"])) for row in mapped.iter_rows()]
    by_id = {outcome.id: outcome for outcome in outcomes}
    return [by_id[record["id"]] for record in records]
