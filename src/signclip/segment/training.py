"""`signclip segment train`: a per-frame BIO tagger from a manifest of segments of longer recordings.

Two ways to hold recordings out, both by recording and seeded:
- `val_fraction`: one validation part; every member of the ensemble (`tagger.members`, seeds
  `seed + k`) trains on the rest, and the thresholds are chosen on the ensemble's validation output;
- `folds: K` (a cross-fitted ensemble): the recordings fall into K folds; member k trains on the
  other folds and is validated on fold k, so every recording is held out once, and the thresholds are
  chosen on these out-of-fold predictions of all recordings.
Every epoch sees each training recording once, augmented (see `augment`); each member keeps the
weights of its best validation segment F1 (IoU >= 0.5); then the sign and sentence decoding
thresholds are chosen. The test split is never read. The result is a tagger directory (see
`tagger.save_tagger`).
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from tqdm import tqdm

from signclip.dataclass_config import from_mapping, read_config_mapping
from signclip.errors import ConfigError, SignclipError
from signclip.segment.augment import AugmentConfig, augmented_inputs, collate
from signclip.segment.decoding import DecodingConfig, threshold_decode
from signclip.segment.dgs2023 import BIOTagger, load_dgs2023_model
from signclip.segment.metrics import evaluate_spans
from signclip.segment.recordings import Recording, recordings_from_manifest
from signclip.segment.tagger import (
    TaggerConfig,
    TaggerEnsemble,
    TaggerSegmenter,
    build_member,
    save_tagger,
    sign_spans,
)


class TrainingError(SignclipError):
    """Training that cannot go on (a non-finite loss, no recordings)."""


@dataclass
class SegmentTrainConfig:
    """A tagger training run. Data: `manifest` (CSV/Parquet), or `dataset` + `root` (an adapter)."""

    output_dir: str
    manifest: str = ""
    dataset: str = ""
    root: str = ""
    train_splits: list[str] = field(default_factory=lambda: ["train"])
    val_fraction: float = 0.15
    folds: int = 0
    sentence_gap_ms: float = 1000.0
    seed: int = 0
    epochs: int = 60
    batch_size: int = 8
    learning_rate: float = 0.002
    weight_decay: float = 0.0001
    b_weight: float = 2.0
    sentence_weight: float = 0.3
    init_from: str = ""
    max_minutes: float = 5.0
    threads: int = 1
    thresholds: list[float] = field(default_factory=lambda: [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0])
    peak_heights: list[float] = field(default_factory=lambda: [5.0, 10.0, 15.0, 20.0, 30.0, 40.0])
    peak_distances: list[int] = field(default_factory=lambda: [2, 3, 4, 5, 6])
    tagger: TaggerConfig = field(default_factory=TaggerConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)

    def validate(self) -> None:
        """Raise ConfigError for settings that cannot work together."""
        if bool(self.manifest) == bool(self.dataset):
            raise ConfigError("segment training config: give either manifest or dataset (+ root)")
        if self.dataset and not self.root:
            raise ConfigError("segment training config: dataset needs root")
        if not 0 < self.val_fraction < 1:
            raise ConfigError(f"segment training config: val_fraction must be in (0, 1), got {self.val_fraction}")
        if self.folds == 1 or self.folds < 0:
            raise ConfigError(f"segment training config: folds must be 0 (use val_fraction) or >= 2, got {self.folds}")
        if self.folds and self.tagger.members not in (1, self.folds):
            raise ConfigError(
                f"segment training config: with folds {self.folds} the ensemble has one member per fold; "
                f"leave tagger.members at 1 or set it to {self.folds} (got {self.tagger.members})"
            )
        if self.init_from not in ("", "dgs-2023"):
            raise ConfigError(f"segment training config: init_from must be '' or 'dgs-2023', got {self.init_from!r}")
        if self.init_from == "dgs-2023":
            t = self.tagger
            if (t.features, t.hidden_size, t.num_layers) != ("holistic-75", 256, 1):
                raise ConfigError(
                    "init_from: dgs-2023 needs the dgs-2023 input and shape: tagger.features holistic-75, "
                    f"hidden_size 256, num_layers 1 (got {t.features}, {t.hidden_size}, {t.num_layers})"
                )


def apply_override(data: dict, assignment: str) -> None:
    """Apply one `a.b=value` override (value parsed as YAML) to nested config mapping `data`."""
    key, separator, text = assignment.partition("=")
    if not separator or not key.strip():
        raise ConfigError(f"--set {assignment!r}: expected KEY=VALUE, e.g. epochs=5")
    node = data
    parts = key.strip().split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"--set {assignment!r}: {part} is not a section")
    node[parts[-1]] = yaml.safe_load(text)


def load_segment_train_config(
    path: str | os.PathLike, overrides: list[str] | tuple[str, ...] = ()
) -> SegmentTrainConfig:
    """Read a segment training config (YAML), apply `--set` overrides, validate."""
    data = read_config_mapping(path, "segment training config")
    for assignment in overrides:
        apply_override(data, assignment)
    config = from_mapping(SegmentTrainConfig, data, str(path))
    config.validate()
    return config


def load_recordings(config: SegmentTrainConfig, splits: tuple[str, ...]) -> list[Recording]:
    """The recordings of `splits` from the config's manifest or dataset adapter (poses written under
    OUTPUT_DIR/poses for adapters that write them)."""
    if config.manifest:
        table: Any = config.manifest
    else:
        from signclip.data.datasets import prepare_dataset

        table = prepare_dataset(config.dataset, config.root, work_dir=Path(config.output_dir) / "poses")
    return recordings_from_manifest(table, splits, config.sentence_gap_ms)


# ----------------------------------------------------------------------------- training


@dataclass
class TrainResult:
    """Where the tagger went and how it scored on the validation recordings."""

    directory: Path
    val_metrics: dict[str, Any]
    epochs: int
    seconds: float
    history: list[dict[str, float]] = field(default_factory=list)


def split_recordings(recordings: list[Recording], fraction: float, seed: int) -> tuple[list, list]:
    """Divide recordings into (train, validation) by a seeded shuffle; at least one of each."""
    if len(recordings) < 2:
        raise TrainingError(f"need at least 2 recordings to train and validate, got {len(recordings)}")
    order = np.random.default_rng(seed).permutation(len(recordings))
    count = min(len(recordings) - 1, max(1, round(len(recordings) * fraction)))
    val = {int(i) for i in order[:count]}
    return [r for i, r in enumerate(recordings) if i not in val], [r for i, r in enumerate(recordings) if i in val]


def fold_recordings(recordings: list[Recording], folds: int, seed: int) -> list[list[Recording]]:
    """Divide recordings into `folds` parts of near-equal size by a seeded shuffle."""
    if len(recordings) < folds:
        raise TrainingError(f"need at least {folds} recordings for {folds} folds, got {len(recordings)}")
    order = np.random.default_rng(seed).permutation(len(recordings))
    return [[recordings[int(i)] for i in part] for part in np.array_split(order, folds)]


def _predict(segmenter: TaggerSegmenter, inputs: list[np.ndarray]) -> list[dict[str, np.ndarray]]:
    return [segmenter.log_probs(x) for x in inputs]


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


def train_tagger(config: SegmentTrainConfig, progress: bool = True) -> TrainResult:
    """Train a tagger as `config` says and save it to `config.output_dir`; returns the TrainResult.

    Raises TrainingError for a non-finite loss (naming the epoch) or too few recordings.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(max(1, config.threads))  # small LSTMs: more threads only contend on shared CPUs
    try:
        return _train(config, progress)
    finally:
        torch.set_num_threads(threads)


def _fit_member(
    config: SegmentTrainConfig,
    seed: int,
    train: list[Recording],
    val_inputs: list[np.ndarray],
    val_truth: list[list[tuple[int, int]]],
    mean: np.ndarray,
    std: np.ndarray,
    progress: bool,
) -> tuple[BIOTagger, list[dict[str, float]]]:
    """Train one BIOTagger from `seed` (initialization and augmentation); keeps the weights of its best
    validation segment F1; stops after `epochs` or `max_minutes`. Returns it and its per-epoch history."""
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    network = build_member(config.tagger)
    if config.init_from == "dgs-2023":
        network.load_state_dict(load_dgs2023_model().state_dict())
    segmenter = TaggerSegmenter(config.tagger, network, mean, std)
    optimizer = torch.optim.AdamW(network.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.learning_rate, total_steps=config.epochs * math.ceil(len(train) / config.batch_size)
    )
    weights = torch.tensor([1.0, config.b_weight, 1.0])
    best_f1, best_state, history = -1.0, None, []
    bar = tqdm(range(config.epochs), desc=f"segment train (seed {seed})", unit="epoch", disable=not progress)
    for epoch in bar:
        network.train()
        order = rng.permutation(len(train))
        losses = []
        for start in range(0, len(order), config.batch_size):
            chosen = order[start : start + config.batch_size]
            items = [augmented_inputs(train[i], config.tagger, config.augment, rng) for i in chosen]
            x, lengths, sign, sentence = collate(items, mean, std)
            out = network(x, lengths)
            loss = torch.nn.functional.nll_loss(out["sign"].transpose(1, 2), sign, weight=weights)
            loss = loss + config.sentence_weight * torch.nn.functional.nll_loss(
                out["sentence"].transpose(1, 2), sentence, weight=weights
            )
            if not torch.isfinite(loss):
                raise TrainingError(
                    f"the loss became {loss.item()} in epoch {epoch + 1}; lower learning_rate "
                    f"(now {config.learning_rate}) or check the inputs for extreme values"
                )
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(network.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
        probs = _predict(segmenter, val_inputs)
        spans = [sign_spans(p["sign"], config.tagger) for p in probs]
        f1 = evaluate_spans(spans, val_truth, [len(x) for x in val_inputs])["segment"]["f1"]
        history.append({"epoch": epoch + 1, "loss": float(np.mean(losses)), "val_segment_f1": f1})
        bar.set_postfix(loss=f"{np.mean(losses):.3f}", val_f1=f"{f1:.3f}")
        if f1 > best_f1:
            best_f1 = f1
            best_state = {k: v.detach().clone() for k, v in network.state_dict().items()}
        if time.perf_counter() - started > config.max_minutes * 60:
            break
    network.load_state_dict(best_state)
    return network, history


def _plans(config: SegmentTrainConfig, recordings: list[Recording]) -> list[tuple[list, list, int]]:
    """(train recordings, validation recordings, seed) of each ensemble member."""
    if config.folds:
        parts = fold_recordings(recordings, config.folds, config.seed)
        return [
            ([r for j, part in enumerate(parts) if j != k for r in part], parts[k], config.seed + k)
            for k in range(config.folds)
        ]
    train, val = split_recordings(recordings, config.val_fraction, config.seed)
    return [(train, val, config.seed + k) for k in range(config.tagger.members)]


def _standardization(config: SegmentTrainConfig, inputs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The per-feature mean and std (float32) of the clean training `inputs` (each (frames, input_size))."""
    stacked = np.concatenate(inputs)
    mean, std = stacked.mean(axis=0), stacked.std(axis=0) + 1e-6
    if not (np.isfinite(mean).all() and np.isfinite(std).all()):
        raise TrainingError("the training inputs contain non-finite values")
    if config.init_from == "dgs-2023":
        mean, std = np.zeros_like(mean), np.ones_like(std)  # dgs-2023 was trained on raw inputs
    return mean.astype(np.float32), std.astype(np.float32)


def _choose_decoding(
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


def _train(config: SegmentTrainConfig, progress: bool) -> TrainResult:
    started = time.perf_counter()
    recordings = load_recordings(config, tuple(config.train_splits))
    plans = _plans(config, recordings)
    trained = list({r.key: r for train, _, _ in plans for r in train}.values())  # every member's, once
    clean = {r.key: augmented_inputs(r, config.tagger, config.augment, None)[0] for r in recordings}
    mean, std = _standardization(config, [clean[r.key] for r in trained])
    members, history, held_out, held_out_probs = [], [], [], []
    for k, (train, val, seed) in enumerate(plans):
        val_inputs = [clean[r.key] for r in val]
        member, member_history = _fit_member(
            config, seed, train, val_inputs, [r.signs for r in val], mean, std, progress
        )
        members.append(member)
        history += [{"member": k, **row} for row in member_history]
        if config.folds:  # out-of-fold predictions: each recording by the member that did not train on it
            held_out += val
            held_out_probs += _predict(TaggerSegmenter(config.tagger, member, mean, std), val_inputs)
    network = members[0] if len(members) == 1 else TaggerEnsemble(members)
    tagger = replace(config.tagger, members=len(members))
    segmenter = TaggerSegmenter(tagger, network, mean, std)
    if not config.folds:
        held_out = plans[0][1]
        held_out_probs = _predict(segmenter, [clean[r.key] for r in held_out])
    segmenter.config, val_metrics = _choose_decoding(config, tagger, held_out_probs, held_out)
    epoch = max(len([h for h in history if h["member"] == k]) for k in range(len(members))) - 1
    seconds = time.perf_counter() - started
    segmenter.info = {
        "data": config.manifest or f"{config.dataset} at {config.root}",
        "splits": list(config.train_splits),
        "train_recordings": [r.key for r in trained],
        "val_recordings": [r.key for r in held_out] if not config.folds else [],
        "folds": [[r.key for r in val] for _, val, _ in plans] if config.folds else [],
        "epochs": epoch + 1,
        "seconds": round(seconds, 1),
        "val": val_metrics,
        "config": asdict(config),
    }
    directory = save_tagger(segmenter, config.output_dir)
    return TrainResult(directory, val_metrics, epoch + 1, seconds, history)
