"""Cross-validation over whole groups (e.g. signed languages): train one model per fold with the fold's
groups held out, and score it beside the non-learned DTW baselines on exactly the same held-out rows.

Read top to bottom:
  fold_values: the folds, fixed by the data alone (sorted values dealt round-robin)
  -> per fold: the config with `data.hold_out` = the fold, validated only after the last epoch (nothing
     is selected on the held-out groups), trained (or resumed) under OUTPUT_DIR/fold-<i>
  -> FoldScores: the model's text scores for the held-out poses, its pose-to-training-pose similarities,
     and the DTW distances of every baseline preset, all from one reading of the poses
  -> per method, R@1 within each held-out group: the model, each baseline, and the model fused with the
     nearest training poses (by embedding or by the strongest baseline's DTW). A fusion weight is
     cross-fitted: fold i uses the weight best on the other folds, never one chosen on fold i itself.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from signclip.data.prompts import render_prompts
from signclip.data.table import read_table_poses
from signclip.errors import ConfigError
from signclip.evaluation.dtw import DTWDistances, DTWSettings, dtw_distances
from signclip.evaluation.dtw_baseline import distances_report
from signclip.evaluation.retrieval import (
    embed_table_poses,
    fuse_scores,
    group_values,
    nearest_neighbour_scores,
    retrieval_report,
    split_rows,
)
from signclip.model.hub import load_model
from signclip.poses.transforms.pipeline import preset_steps
from signclip.train.config import TrainConfig
from signclip.train.data import load_training_table
from signclip.train.loop import CHECKPOINT_FILE, train

HELD_OUT = "val"
FUSION_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
CV_FILE = "cv.csv"


@dataclass(frozen=True)
class CrossValidationOptions:
    """`by`: the column whose values are held out together; `folds`: how many folds; `baselines`: DTW
    preprocessing presets scored on the same folds; `fusion_weights`: the grid a fusion weight is
    cross-fitted on; `metric`: the v2t metric reported (R@1: pose -> text within each held-out group)."""

    by: str = "signed_language"
    folds: int = 4
    baselines: tuple[str, ...] = ("fingerclip", "handshape_2d")
    fusion_weights: tuple[float, ...] = FUSION_WEIGHTS
    metric: str = "R@1"


@dataclass
class CrossValidationResult:
    """`folds`: the held-out values of each fold; `table`: one row per (method, fold) with the fold's
    mean over its groups, per-group columns and the fusion `weight` used; `output_dir` where it is kept."""

    folds: list[list[str]]
    table: pd.DataFrame
    output_dir: Path
    strongest_baseline: str = ""
    lines: list[str] = field(default_factory=list)


def fold_values(values: Sequence[str], folds: int) -> list[list[str]]:
    """Deal the sorted unique `values` round-robin into `folds` folds: fold i gets values i, i + k, ...
    ConfigError when there are fewer values than folds or fewer than 2 folds."""
    unique = sorted({str(value) for value in values})
    if folds < 2 or len(unique) < folds:
        raise ConfigError(f"cross-validation needs 2 <= folds <= the {len(unique)} values to hold out, got {folds}")
    return [unique[i::folds] for i in range(folds)]


def fold_config(config: TrainConfig, by: str, held_out: list[str], output_dir: Path) -> TrainConfig:
    """The training config of one fold: `held_out` values of `by` in the validation split, every other row
    in training, validated only after the last epoch (so no epoch is chosen on the held-out rows)."""
    data = dataclasses.replace(config.data, hold_out={by: list(held_out)}, val_split=HELD_OUT)
    return dataclasses.replace(config, data=data, output_dir=str(output_dir), eval_every=config.epochs)


@dataclass
class FoldScores:
    """One fold's held-out rows scored every way: `prompts` (rows,) their texts as the model sees them,
    `groups` (rows,), `text_scores` {prompt: (rows,)}, `pose_similarity` (rows, references) by the model,
    `reference_prompts` (references,), and `dtw` {preset: (rows, references) distances}."""

    prompts: np.ndarray
    groups: list[str]
    text_scores: dict[str, np.ndarray]
    pose_similarity: np.ndarray
    reference_prompts: np.ndarray
    dtw: dict[str, np.ndarray]

    def report(self, method: str, weight: float = 0.0, preset: str = "") -> dict:
        """The retrieval report of `method`: "model", "model+embedding" or "model+dtw" (fused with the
        nearest training poses by the model's similarity or by `preset`'s DTW at `weight`)."""

        def score(candidates: list[str], rows: np.ndarray) -> np.ndarray:
            scores = np.stack([self.text_scores[text][rows] for text in candidates])
            if method == "model":
                return scores
            similarity = self.pose_similarity[rows] if method == "model+embedding" else -self.dtw[preset][rows]
            nearest = nearest_neighbour_scores(similarity, self.reference_prompts, candidates)
            return fuse_scores(scores, nearest, weight)

        return retrieval_report(list(self.prompts), score, self.groups)


def score_fold(model, table: pd.DataFrame, group_by: str, dtw: dict[str, DTWDistances]) -> FoldScores:
    """Score the held-out rows of a fold's `table` with `model`, beside `dtw` (preset -> its `dtw_distances`
    on the same table and split)."""
    rows, references = split_rows(table, HELD_OUT)
    prompts = np.array(render_prompts(model.config.prompt, table), dtype=object)
    embeddings = embed_table_poses(model, read_table_poses(table.iloc[np.concatenate([rows, references])]))
    held, reference_embeddings = embeddings[: len(rows)], embeddings[len(rows) :]
    unique = sorted(set(prompts[rows]))
    text_scores = dict(zip(unique, model.embed_texts(unique) @ held.T, strict=True))
    distances = {preset: found.distances for preset, found in dtw.items()}
    groups = group_values(table.iloc[rows], group_by)
    return FoldScores(prompts[rows], groups, text_scores, held @ reference_embeddings.T, prompts[references], distances)


def cross_fitted(per_fold: list[dict[float, float]]) -> list[float]:
    """For each fold, the weight with the best mean score on the other folds (ties: the smaller weight);
    `per_fold[i]` maps weight -> fold i's score."""
    weights = sorted(per_fold[0])
    chosen = []
    for i in range(len(per_fold)):
        others = [scores for j, scores in enumerate(per_fold) if j != i]
        chosen.append(max(weights, key=lambda w: (np.mean([scores[w] for scores in others]), -w)))
    return chosen


def cross_validate(
    config: TrainConfig, options: CrossValidationOptions = CrossValidationOptions(), progress: bool = True
) -> CrossValidationResult:
    """Run the whole protocol for `config` (see the module docstring); folds already trained under
    OUTPUT_DIR/fold-<i> are resumed, not retrained. Writes OUTPUT_DIR/cv.csv and folds.json and returns
    the per-fold table of every method."""
    output_dir = Path(config.output_dir)
    for preset in options.baselines:
        preset_steps(preset)  # an unknown preset fails now, not after the first fold's training
    table = load_training_table(config)
    if options.by not in table.columns:
        raise ConfigError(f"--cv-by {options.by!r} is not a manifest column; the columns are {list(table.columns)}")
    folds = fold_values(table[options.by], options.folds)
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "folds.json").write_text(json.dumps({"by": options.by, "folds": folds}, indent=2) + "\n")
    rows, fold_scores = [], []
    for i, held_out in enumerate(folds):
        run = fold_config(config, options.by, held_out, output_dir / f"fold-{i}")
        result = train(run, resume=(Path(run.output_dir) / CHECKPOINT_FILE).exists(), progress=progress)
        table = load_training_table(run, generate=False)
        dtw = {preset: dtw_distances(table, HELD_OUT, DTWSettings(preset)) for preset in options.baselines}
        for preset, found in dtw.items():
            rows.append(_row(f"dtw:{preset}", i, distances_report(table, found, options.by), options.metric))
        scores = score_fold(load_model(result.best_dir), table, options.by, dtw)
        rows.append(_row("model", i, scores.report("model"), options.metric))
        fold_scores.append(scores)
    table = pd.DataFrame(rows)
    means = table.groupby("method")["mean"].mean()
    strongest = max(options.baselines, key=lambda preset: means[f"dtw:{preset}"]) if options.baselines else ""
    fusions = [("model+embedding", "")] + ([("model+dtw", strongest)] if strongest else [])
    for method, preset in fusions:
        name = f"{method}:{preset}" if preset else method
        reports = [{w: s.report(method, w, preset) for w in options.fusion_weights} for s in fold_scores]
        values = [{w: r["v2t"][options.metric] for w, r in fold.items()} for fold in reports]
        for i, weight in enumerate(cross_fitted(values)):
            rows.append(_row(name, i, reports[i][weight], options.metric, weight))
    table = pd.DataFrame(rows)
    table.to_csv(output_dir / CV_FILE, index=False)
    result = CrossValidationResult(folds, table, output_dir, strongest)
    result.lines = summary_lines(result, options.metric)
    return result


def _row(method: str, fold: int, report: dict, metric: str, weight: float | None = None) -> dict:
    groups = {name: values["v2t"][metric] for name, values in report["groups"].items()}
    return {"method": method, "fold": fold, "mean": report["v2t"][metric], "weight": weight, **groups}


def summary_lines(result: CrossValidationResult, metric: str) -> list[str]:
    """The per-fold table as text: one line per method with each fold's mean over its held-out groups,
    the mean over folds, and, for learned methods, how many folds beat the strongest baseline."""
    table = result.table
    folds = sorted(table["fold"].unique())
    header = f"{'method':<28}" + "".join(f"{'fold ' + str(i):>9}" for i in folds) + f"{'mean':>9}  folds above"
    lines = [f"v2t {metric} within each held-out group, mean over the fold's groups", header]
    baseline = table[table["method"] == f"dtw:{result.strongest_baseline}"].set_index("fold")["mean"]
    for method, rows in table.groupby("method", sort=False):
        values = rows.set_index("fold")["mean"]
        line = f"{method:<28}" + "".join(f"{values[i]:>9.3f}" for i in folds) + f"{values.mean():>9.3f}"
        if not method.startswith("dtw:") and len(baseline):
            line += f"  {int((values > baseline).sum())}/{len(folds)} vs dtw:{result.strongest_baseline}"
        lines.append(line)
    for i, held in enumerate(result.folds):
        lines.append(f"fold {i}: {', '.join(held)}")
    return lines
