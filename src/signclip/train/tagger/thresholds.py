"""Choosing the decoding of a trained tagger: the sign (peak distance, heights, O) and sentence thresholds
with the best segment F1 on held-out predictions."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from signclip.segment.decoding import DecodingConfig, threshold_decode
from signclip.segment.metrics import evaluate_spans
from signclip.segment.recordings import Recording
from signclip.segment.tagger import TaggerConfig, sign_spans
from signclip.train.tagger.config import SegmentTrainConfig


def choose_thresholds(
    log_probs: list[np.ndarray],
    truth: list[list[tuple[int, int]]],
    thresholds: list[float],
    b_thresholds: list[float] | None = None,
    tagger: TaggerConfig | None = None,
) -> tuple[float, float, float]:
    """The (b, o) thresholds with the best segment F1 on the given sequences, and that F1: threshold
    decoding, or the sign decoding of `tagger` (peaks) when given."""
    frames = [len(p) for p in log_probs]
    best = (50.0, 50.0, -1.0)
    for b in b_thresholds or thresholds:
        for o in thresholds:
            if tagger is None:
                spans = [threshold_decode(p, DecodingConfig(b, o)) for p in log_probs]
            else:
                candidate = replace(tagger, sign_b_threshold=b, sign_o_threshold=o)
                spans = [sign_spans(p, candidate) for p in log_probs]
            f1 = evaluate_spans(spans, truth, frames)["segment"]["f1"]
            if f1 > best[2]:
                best = (b, o, f1)
    return best


def choose_decoding(
    config: SegmentTrainConfig, tagger: TaggerConfig, probs: list[dict[str, np.ndarray]], recordings: list[Recording]
) -> tuple[TaggerConfig, dict[str, Any]]:
    """`tagger` with the sign (peak distance, heights, O) and sentence thresholds of the best segment F1
    on `probs` of `recordings` (grids from `config`), and those F1s."""
    truth = [r.signs for r in recordings]
    peaks = tagger.decoding == "peaks"
    sign_f1, b, o, distance = -1.0, 50.0, 50.0, tagger.peak_distance
    for candidate in config.peak_distances if peaks else [distance]:
        candidate_tagger = replace(tagger, peak_distance=candidate)
        found = choose_thresholds(
            [p["sign"] for p in probs],
            truth,
            config.thresholds,
            config.peak_heights if peaks else None,
            candidate_tagger,
        )
        if found[2] > sign_f1:
            b, o, sign_f1, distance = found[0], found[1], found[2], candidate
    sb, so, sentence_f1 = choose_thresholds(
        [p["sentence"] for p in probs], [r.sentences for r in recordings], config.thresholds
    )
    chosen = replace(
        tagger,
        peak_distance=distance,
        sign_b_threshold=b,
        sign_o_threshold=o,
        sentence_b_threshold=sb,
        sentence_o_threshold=so,
    )
    held_out = f"out-of-fold ({config.folds} folds)" if config.folds else "validation split"
    metrics = {"sign_segment_f1": sign_f1, "sentence_segment_f1": sentence_f1, "recordings": len(recordings)}
    return chosen, {**metrics, "held_out": held_out}
