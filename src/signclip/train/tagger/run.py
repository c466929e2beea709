"""`signclip segment train`: a per-frame BIO tagger from a manifest of segments of longer recordings.

Two ways to hold recordings out, both by recording and seeded (folds.py):
- `val_fraction`: one validation part; every member of the ensemble (`tagger.members`, seeds
  `seed + k`) trains on the rest, and the thresholds are chosen on the ensemble's validation output;
- `folds: K` (a cross-fitted ensemble): the recordings fall into K folds; member k trains on the
  other folds and is validated on fold k, so every recording is held out once, and the thresholds are
  chosen on these out-of-fold predictions of all recordings.
Every epoch sees each training recording once, augmented (augment.py); each member keeps the weights
of its best validation segment F1 (IoU >= 0.5; fit.py); then the sign and sentence decoding thresholds
are chosen (thresholds.py). The test split is never read. The result is a tagger directory (see
`signclip.segment.tagger.save_tagger`) and the TrainResult every `signclip` training returns.
"""

from __future__ import annotations

import time
from dataclasses import asdict, replace

import numpy as np
import torch

from signclip.segment.tagger import TaggerEnsemble, TaggerSegmenter, save_tagger
from signclip.train.config import TrainingError
from signclip.train.result import TrainResult
from signclip.train.tagger.augment import augmented_inputs
from signclip.train.tagger.config import SegmentTrainConfig, load_recordings
from signclip.train.tagger.fit import fit_member, predict
from signclip.train.tagger.folds import member_plans
from signclip.train.tagger.thresholds import choose_decoding


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


def _standardization(config: SegmentTrainConfig, inputs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The per-feature mean and std (float32) of the clean training `inputs` (each (frames, input_size))."""
    stacked = np.concatenate(inputs)
    mean, std = stacked.mean(axis=0), stacked.std(axis=0) + 1e-6
    if not (np.isfinite(mean).all() and np.isfinite(std).all()):
        raise TrainingError("the training inputs contain non-finite values")
    if config.init_from == "dgs-2023":
        mean, std = np.zeros_like(mean), np.ones_like(std)  # dgs-2023 was trained on raw inputs
    return mean.astype(np.float32), std.astype(np.float32)


def _train(config: SegmentTrainConfig, progress: bool) -> TrainResult:
    started = time.perf_counter()
    recordings = load_recordings(config, tuple(config.train_splits))
    plans = member_plans(config, recordings)
    trained = list({r.key: r for train, _, _ in plans for r in train}.values())  # every member's, once
    clean = {r.key: augmented_inputs(r, config.tagger, config.augment, None)[0] for r in recordings}
    mean, std = _standardization(config, [clean[r.key] for r in trained])
    members, history, held_out, held_out_probs = [], [], [], []
    for k, (train, val, seed) in enumerate(plans):
        val_inputs = [clean[r.key] for r in val]
        member, member_history = fit_member(
            config, seed, train, val_inputs, [r.signs for r in val], mean, std, progress
        )
        members.append(member)
        history += [{"member": k, **row} for row in member_history]
        if config.folds:  # out-of-fold predictions: each recording by the member that did not train on it
            held_out += val
            held_out_probs += predict(TaggerSegmenter(config.tagger, member, mean, std), val_inputs)
    network = members[0] if len(members) == 1 else TaggerEnsemble(members)
    tagger = replace(config.tagger, members=len(members))
    segmenter = TaggerSegmenter(tagger, network, mean, std)
    if not config.folds:
        held_out = plans[0][1]
        held_out_probs = predict(segmenter, [clean[r.key] for r in held_out])
    segmenter.config, val_metrics = choose_decoding(config, tagger, held_out_probs, held_out)
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
    return TrainResult(
        output_dir=directory,
        best_dir=directory,
        best_metric=val_metrics["sign_segment_f1"],
        history=history,
        val_metrics=val_metrics,
        epochs=epoch + 1,
        seconds=seconds,
    )
