"""Training one ensemble member: a BIOTagger fitted to augmented recordings, keeping the weights of its
best validation segment F1."""

from __future__ import annotations

import math
import time

import numpy as np
import torch
from tqdm import tqdm

from signclip.segment.dgs2023 import load_dgs2023_model
from signclip.segment.metrics import evaluate_spans
from signclip.segment.recordings import Recording
from signclip.segment.tagger import TaggerSegmenter, build_member, sign_spans
from signclip.segment.tagger_net import BIOTagger
from signclip.train.config import TrainingError
from signclip.train.tagger.augment import augmented_inputs, collate
from signclip.train.tagger.config import SegmentTrainConfig


def predict(segmenter: TaggerSegmenter, inputs: list[np.ndarray]) -> list[dict[str, np.ndarray]]:
    """The tagger's log-probabilities {level: (frames, 3)} for each input (frames, input_size)."""
    return [segmenter.log_probs(x) for x in inputs]


def fit_member(
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
        probs = predict(segmenter, val_inputs)
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
