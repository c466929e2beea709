"""Decoding and metrics on hand-made cases."""

from __future__ import annotations

import numpy as np
import pytest

from signclip.segment.decoding import DecodingConfig, peak_decode, threshold_decode
from signclip.segment.metrics import boundary_counts, coverage_iou, evaluate_spans, frame_f1, segment_counts
from signclip.segment.segments import bio_to_spans, make_segment, ms_to_frames, spans_to_bio


def log_probs(rows: list[tuple[float, float, float]]) -> np.ndarray:
    return np.log(np.array(rows, dtype=np.float64) / 100 + 1e-12)


def test_threshold_decode_starts_on_b_and_restarts_on_a_new_b():
    rows = [(90, 5, 5), (10, 80, 10), (10, 20, 70), (10, 20, 70), (10, 80, 10), (10, 10, 80), (90, 5, 5)]
    assert threshold_decode(log_probs(rows), DecodingConfig(60, 50)) == [(1, 3), (4, 5)]


def test_threshold_decode_without_any_b_uses_runs_of_i():
    rows = [(90, 5, 5), (10, 20, 70), (10, 20, 70), (50, 0, 50), (60, 0, 40), (10, 10, 80)]
    assert threshold_decode(log_probs(rows), DecodingConfig(90, 90)) == [(1, 3), (5, 5)]


def test_threshold_decode_open_segment_ends_at_last_frame():
    rows = [(10, 80, 10), (10, 10, 80), (10, 10, 80)]
    assert threshold_decode(log_probs(rows), DecodingConfig(60, 50)) == [(0, 2)]


def test_peak_decode_splits_at_b_peaks_and_stops_at_o():
    rows = [(90, 5, 5), (5, 60, 35), (5, 10, 85), (5, 10, 85), (5, 45, 50), (5, 10, 85), (80, 5, 15)]
    assert peak_decode(log_probs(rows), b_height=20, o_threshold=50, distance=2) == [(1, 3), (4, 5)]


def test_bio_round_trip_and_times():
    spans = [(2, 4), (5, 5), (8, 9)]
    tags = spans_to_bio(spans, 11)
    assert tags.tolist() == [0, 0, 1, 2, 2, 1, 0, 0, 1, 2, 0]
    assert bio_to_spans(tags) == spans
    segment = make_segment(3, 5, fps=25.0)
    assert (segment.start_ms, segment.end_ms) == (120.0, 240.0)
    assert ms_to_frames(segment.start_ms, segment.end_ms, 25.0, 100) == (3, 5)


def test_segment_f1_is_one_to_one():
    true = [(0, 9), (10, 19)]
    assert segment_counts([(0, 9), (0, 9), (10, 19)], true).to_dict()["matched"] == 2
    counts = segment_counts([(0, 9), (1, 10)], [(0, 9)])
    assert (counts.matched, counts.predicted, counts.true) == (1, 2, 1)
    assert counts.f1 == pytest.approx(2 / 3)
    assert segment_counts([(0, 3)], [(0, 9)]).matched == 0  # IoU 0.4 < 0.5


def test_boundary_f1_within_tolerance():
    counts = boundary_counts([(2, 12)], [(0, 9)], tolerance=2)
    assert (counts.matched, counts.predicted, counts.true) == (1, 2, 2)  # the start is 2 off, the end 3


def test_frame_f1_and_coverage_iou():
    scores = frame_f1([[(0, 4)]], [[(0, 4)]], [8])
    assert scores == {"O": 1.0, "B": 1.0, "I": 1.0, "macro": 1.0}
    assert frame_f1([[(1, 4)]], [[(0, 4)]], [8])["B"] == 0.0
    assert coverage_iou([(0, 4)], [(2, 7)], 10) == pytest.approx(3 / 8)
    assert coverage_iou([], [], 10) == 1.0


def test_evaluate_spans_micro_averages_over_sequences():
    result = evaluate_spans([[(0, 9)], []], [[(0, 9)], [(0, 5)]], [20, 20])
    assert result["segment"]["matched"] == 1 and result["segment"]["true"] == 2
    assert result["segment"]["f1"] == pytest.approx(2 / 3, abs=1e-4)
    assert result["segment_ratio"] == 0.5
