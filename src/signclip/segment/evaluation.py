"""`signclip segment evaluate`: segmenters side by side against ground truth, and motion tuning.

Data: RWTH-BOSTON-104's official test sentences (`boston_recordings`), or continuous sequences
composed from isolated signs (`signclip.segment.compose`). Every segmenter is scored with
`metrics.evaluate_spans` at the sign level (and the sentence level where the truth has sentences),
beside fixed windows of the mean sign length. `tune_motion` picks motion parameters by k-fold
cross-validation over recordings (never the test split).
"""

from __future__ import annotations

import itertools
import json
import os
import warnings
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from signclip.errors import PoseLayoutError
from signclip.segment.base import Segmenter
from signclip.segment.features import hand_tracks
from signclip.segment.metrics import evaluate_spans
from signclip.segment.motion import MotionConfig, MotionSegmenter
from signclip.segment.recordings import Recording, recordings_from_manifest

Span = tuple[int, int]


def boston_recordings(root: str | os.PathLike, work_dir: str | os.PathLike, split: str) -> list[Recording]:
    """The RWTH-BOSTON-104 sentences of `split` (train or test) with their word spans; poses written to
    `work_dir` by the dataset adapter."""
    from signclip.data.datasets import prepare_dataset

    table = prepare_dataset("rwth-boston-104", root, work_dir=work_dir)
    return recordings_from_manifest(table, (split,))


def mean_sign_frames(recordings: list[Recording]) -> float:
    """The mean length of the sign spans of `recordings`, in frames."""
    lengths = [e - s + 1 for r in recordings for s, e in r.signs]
    return float(np.mean(lengths)) if lengths else 10.0


def fixed_windows(frames: int, length: float) -> list[Span]:
    """Consecutive windows of `length` frames (rounded) tiling `0..frames-1`: the no-information baseline."""
    step = max(1, round(length))
    return [(start, min(frames - 1, start + step - 1)) for start in range(0, frames, step)]


def score(predicted: list[list[Span]], recordings: list[Recording], level: str = "sign") -> dict[str, Any]:
    """Metrics of predicted spans against the recordings' sign (or sentence) spans."""
    truth = [r.signs if level == "sign" else r.sentences for r in recordings]
    return evaluate_spans(predicted, truth, [r.frames for r in recordings])


def evaluate_segmenters(
    recordings: list[Recording],
    segmenters: dict[str, Segmenter],
    window_frames: float,
    progress: bool = False,
) -> tuple[dict[str, Any], dict[str, list[list[Span]]]]:
    """Score each segmenter (and `fixed-windows` of `window_frames`) on `recordings`.

    Returns ({name: {"sign": metrics, "sentence": metrics} or {"error": why}}, {name: predicted sign
    spans per recording}). A segmenter that cannot read the layout is reported, not raised."""
    results: dict[str, Any] = {}
    predictions: dict[str, list[list[Span]]] = {}
    windows = [fixed_windows(r.frames, window_frames) for r in recordings]
    results["fixed-windows"] = {"sign": score(windows, recordings), "window_frames": round(window_frames, 2)}
    predictions["fixed-windows"] = windows
    for name, segmenter in segmenters.items():
        signs, sentences = [], []
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for recording in tqdm(recordings, desc=name, unit="rec", leave=False, disable=not progress):
                    levels = segmenter.segment(recording.pose)
                    signs.append([(s.start_frame, s.end_frame) for s in levels["sign"]])
                    sentences.append([(s.start_frame, s.end_frame) for s in levels["sentence"]])
        except PoseLayoutError as error:
            results[name] = {"error": str(error)}
            continue
        results[name] = {"sign": score(signs, recordings), "sentence": score(sentences, recordings, "sentence")}
        predictions[name] = signs
    return results, predictions


MOTION_GRID: dict[str, list[float]] = {
    "raise_threshold": [0.1, 0.25, 0.4],
    "rise_ms": [0.0, 100.0, 170.0],
    "lower_ms": [130.0, 230.0, 330.0],
    "mean_sign_ms": [330.0, 400.0],
    "length_weight": [1.0, 3.0],
    "cut_weight": [-1.0, -0.3, 0.5],
}


def tune_motion(
    recordings: list[Recording],
    grid: dict[str, list[float]] | None = None,
    folds: int = 5,
    seed: int = 0,
    base: MotionConfig | None = None,
) -> dict[str, Any]:
    """Choose motion parameters by `folds`-fold cross-validation over recordings.

    For each fold the grid point with the best sign segment F1 on the other folds is scored on the fold;
    the reported `cv_f1` is the F1 over all held-out predictions. The returned `config` is the grid
    point best on all recordings. Returns {"config", "cv_f1", "train_f1", "folds"}."""
    grid = grid or MOTION_GRID
    base = base or MotionConfig()
    keys = list(grid)
    points = [replace(base, **dict(zip(keys, values, strict=True))) for values in itertools.product(*grid.values())]
    tracks = [hand_tracks(r.pose) for r in recordings]
    spans = [[MotionSegmenter(p).spans(t)[0] for t in tracks] for p in tqdm(points, desc="motion grid", leave=False)]
    order = np.random.default_rng(seed).permutation(len(recordings))
    fold_of = np.empty(len(recordings), dtype=int)
    fold_of[order] = np.arange(len(recordings)) % folds

    def f1(point: int, members: np.ndarray) -> float:
        chosen = [recordings[i] for i in members]
        return score([spans[point][i] for i in members], chosen)["segment"]["f1"]

    held_out: list[list[Span]] = [[] for _ in recordings]
    chosen_points = []
    for fold in range(folds):
        inside, outside = np.flatnonzero(fold_of != fold), np.flatnonzero(fold_of == fold)
        best = max(range(len(points)), key=lambda p: f1(p, inside))
        chosen_points.append(best)
        for i in outside:
            held_out[i] = spans[best][i]
    best_all = max(range(len(points)), key=lambda p: f1(p, np.arange(len(recordings))))
    return {
        "config": points[best_all],
        "cv_f1": score(held_out, recordings)["segment"]["f1"],
        "train_f1": f1(best_all, np.arange(len(recordings))),
        "folds": folds,
        "fold_choices": [asdict(points[p]) for p in chosen_points],
    }


def plot_examples(
    recordings: list[Recording], predictions: dict[str, list[list[Span]]], path: str | os.PathLike, count: int = 4
) -> Path:
    """A PNG of true and predicted sign segments over time for the first `count` recordings."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    count = min(count, len(recordings))
    names = ["truth", *predictions]
    figure, axes = plt.subplots(count, 1, figsize=(12, 1.0 + 0.45 * len(names) * count), squeeze=False)
    for k in range(count):
        axis = axes[k, 0]
        rows = [recordings[k].signs] + [predictions[name][k] for name in predictions]
        for row, spans in enumerate(rows):
            colors = ["tab:green" if row == 0 else "tab:blue", "tab:olive" if row == 0 else "tab:cyan"]
            axis.broken_barh(
                [(s, e - s + 1) for s, e in spans],
                (row - 0.4, 0.8),
                facecolors=[colors[i % 2] for i in range(len(spans))],
            )
        axis.set_yticks(range(len(names)), names)
        axis.set_xlim(0, recordings[k].frames)
        axis.invert_yaxis()
        axis.set_title(f"{recordings[k].key} ({recordings[k].frames} frames)", fontsize=9)
    axes[-1, 0].set_xlabel("frame")
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def write_report(report: dict[str, Any], directory: str | os.PathLike) -> Path:
    """Write `report` as `directory/report.json`; returns the path."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "report.json"
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    return path


def summary_lines(results: dict[str, Any]) -> list[str]:
    """One printable line per segmenter: sign segment F1, boundary F1, frame macro F1, IoU, sentence F1."""
    lines = [f"{'segmenter':<24} {'seg F1':>7} {'bound F1':>8} {'frame F1':>8} {'IoU':>6} {'sent F1':>7}"]
    for name, result in results.items():
        if "error" in result:
            lines.append(f"{name:<24} n/a: {result['error'][:90]}")
            continue
        sign = result["sign"]
        sentence = result.get("sentence", {}).get("segment", {}).get("f1", float("nan"))
        lines.append(
            f"{name:<24} {sign['segment']['f1']:>7.3f} {sign['boundary']['f1']:>8.3f} "
            f"{sign['frame_f1']['macro']:>8.3f} {sign['iou']:>6.3f} {sentence:>7.3f}"
        )
    return lines


def _composed(compose: str, sequences: int, seed: int) -> list[Recording]:
    from signclip.segment.compose import compose_recordings, synthetic_signs

    if compose == "synthetic":
        signs = synthetic_signs(seed=seed)
    else:
        from signclip.data.manifest import read_manifest
        from signclip.poses.io import read_any_pose

        table = read_manifest(compose)
        paths = [p for p in table["pose_path"].astype(str) if p]
        if not paths:
            from signclip.errors import ConfigError

            raise ConfigError(f"{compose}: no pose_path rows to compose sequences from")
        chosen = np.random.default_rng(seed).choice(len(paths), size=min(len(paths), 200), replace=False)
        signs = [read_any_pose(paths[i], allow_nan=True) for i in sorted(chosen)]
        header = signs[0].header
        signs = [s for s in signs if s.header.components == header.components and s.body.data.shape[0] > 2]
    return compose_recordings(signs, sequences, seed=seed)


def run_evaluation(
    segmenters: list[str],
    output: str | os.PathLike,
    boston: str | os.PathLike | None = None,
    compose: str | None = None,
    sequences: int = 40,
    seed: int = 0,
) -> dict[str, Any]:
    """Evaluate `segmenters` (names or tagger dirs) on Boston's test sentences and/or composed sequences;
    writes `output/report.json` and one PNG per data set; returns the report."""
    from signclip.errors import ConfigError
    from signclip.segment.registry import load_segmenter

    if boston is None and compose is None:
        raise ConfigError("segment evaluate needs --boston DIR and/or --compose synthetic|MANIFEST")
    output = Path(output)
    loaded = {str(name): load_segmenter(name) for name in segmenters}
    report: dict[str, Any] = {"segmenters": list(loaded), "data": {}}
    data_sets = []
    if boston is not None:
        work = output / "poses"
        train = boston_recordings(boston, work, "train")
        data_sets.append(("rwth-boston-104-test", boston_recordings(boston, work, "test"), mean_sign_frames(train)))
    if compose is not None:
        recordings = _composed(compose, sequences, seed)
        data_sets.append((f"composed-{Path(compose).stem}", recordings, mean_sign_frames(recordings)))
    for name, recordings, window in data_sets:
        results, predictions = evaluate_segmenters(recordings, loaded, window, progress=True)
        figure = plot_examples(recordings, predictions, output / f"{name}.png")
        report["data"][name] = {
            "recordings": len(recordings),
            "true_signs": sum(len(r.signs) for r in recordings),
            "results": results,
            "summary": summary_lines(results),
            "figure": figure.name,
        }
    write_report(report, output)
    return report
