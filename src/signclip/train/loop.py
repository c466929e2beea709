"""The training loop: `train(config)` drives a `Trainer` through its epochs and writes checkpoints.

Read top to bottom:
  the manifest and its train/validation split (signclip.train.data)
  -> every pose read once and kept in memory; each epoch re-preprocesses it with seeded augmentation
  -> the model: fresh, or another model's weights (`init_from`), parts of the pose tower maybe frozen
     (signclip.train.init)
  -> label-unique batches (no two items of a batch share a prompt), text features cached per prompt
     when the text tower is frozen
  -> symmetric InfoNCE over the global batch (embeddings all-gathered across processes, with gradient
     for the local slice: signclip.train.distributed), AdamW, linear warm-up then cosine decay,
     gradient clipping, bf16 on CUDA
  -> per epoch: OUTPUT_DIR/checkpoint.pt (resumable), OUTPUT_DIR/metrics.csv, and OUTPUT_DIR/best/ (a
     model directory) whenever the validation retrieval metric (signclip.train.validation) improves.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.distributed as dist
import yaml
from torch import nn
from tqdm.auto import tqdm

from signclip.data.manifest import write_manifest
from signclip.data.prompts import render_prompts
from signclip.data.sampler import LabelUniqueBatchSampler
from signclip.data.table import read_table_poses
from signclip.errors import naming_the_pose
from signclip.model.hub import save_model
from signclip.model.identity import Provenance, utc_now
from signclip.model.loss import contrastive_loss
from signclip.model.signclip import SignCLIP
from signclip.poses.io import write_bytes_atomically
from signclip.poses.transforms import Pipeline, fitting_preprocess
from signclip.train.checkpoint import load_checkpoint, save_checkpoint, write_metrics
from signclip.train.config import LOWER_IS_BETTER, TrainConfig, TrainingError
from signclip.train.data import PoseTextDataset, collate, load_training_table
from signclip.train.distributed import Distributed, gather_with_grad, setup_distributed
from signclip.train.init import start_model
from signclip.train.result import TrainResult
from signclip.train.validation import Validation, text_features

CHECKPOINT_FILE = "checkpoint.pt"
METRICS_FILE = "metrics.csv"
BEST_DIR = "best"

# ----------------------------------------------------------------------------- the model in training


class ContrastiveStep(nn.Module):
    """What one training step runs (the module DDP wraps): poses and texts -> normalized embeddings.

    With a frozen text tower the texts arrive as cached pooled features (n, D_text) from
    `text_features`, and only the projection runs; otherwise as tokens through the whole tower.
    """

    def __init__(self, model: SignCLIP):
        super().__init__()
        self.model = model

    def forward(self, frames: torch.Tensor, mask: torch.Tensor, texts: torch.Tensor | dict):
        pose = self.model.encode_poses(frames, mask)
        text = self.model.project_texts(texts) if isinstance(texts, torch.Tensor) else self.model.encode_texts(texts)
        return pose, text, self.model.scale()


def global_batch_loss(
    pose_embeddings: torch.Tensor,
    text_embeddings: torch.Tensor,
    scale: torch.Tensor,
    label_ids: torch.Tensor,
    context: Distributed,
    towers: int = 1,
) -> torch.Tensor:
    """The contrastive loss of the global batch: this process's (B, E) embeddings and (B,) labels gathered
    from every process (`gather_with_grad`), items sharing a label as positives; a scalar, the same on
    every process. Its gradient reaches only this process's slice of the embeddings (and a 1/world_size
    share of `scale`, which every process uses whole), so under DDP's gradient averaging
    `(loss * world_size).backward()` gives exactly the single-process gradient of the whole batch."""
    share = 1.0 / context.world_size
    scale = scale * share + scale.detach() * (1.0 - share)  # the same value; 1/world_size of its gradient
    all_labels = gather_with_grad(label_ids, context)
    return contrastive_loss(
        gather_with_grad(pose_embeddings.float(), context),
        gather_with_grad(text_embeddings.float(), context),
        scale.float(),
        positives=all_labels[:, None] == all_labels[None, :],
        towers=towers,
    )


def build_optimizer(model: SignCLIP, config: TrainConfig) -> torch.optim.AdamW:
    """AdamW over the trainable parameters; weight decay only on matrices (not biases, norms, the scale)."""
    trainable = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    decay = [p for name, p in trainable if p.ndim >= 2 and "position" not in name]
    no_decay = [p for name, p in trainable if not (p.ndim >= 2 and "position" not in name)]
    groups = [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=config.lr)


def warmup_cosine(warmup_steps: int, total_steps: int):
    """LR multiplier per step: linear warm-up from 0 to 1 over `warmup_steps`, then cosine decay to 0."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    return factor


# ----------------------------------------------------------------------------- the loop


def trained_model_name(model: Any, base_name: str, output_dir: Path) -> str:
    """The name a trained model carries (in its config.json and in the search store): `model.name` when the
    config sets it, else `<base name>-<output folder name>`, so runs from one base do not share a name."""
    if isinstance(model, Mapping) and model.get("name"):
        return str(model["name"])
    return f"{base_name}-{Path(output_dir).resolve().name}"


def train(config: TrainConfig, resume: bool = False, progress: bool = True) -> TrainResult:
    """Train the model of `config` and write checkpoints, metrics and the best model to `output_dir`.

    With `resume`, continue from OUTPUT_DIR/checkpoint.pt (model, optimizer, scheduler, epoch, history): its
    weights replace `init_from`'s, which give only what a checkpoint leaves out (a frozen text tower).
    Run under torchrun for several processes; every process returns, only rank 0 writes files.
    """
    trainer = Trainer(config, setup_distributed(), progress)
    if resume:
        trainer.restore()
    trainer.write_setup()
    for epoch in range(trainer.start_epoch, config.epochs):
        trainer.finish_epoch(epoch, trainer.train_epoch(epoch))
    return trainer.result()


class Trainer:
    """The state of one run: data, model, optimizer and schedule, history; `train` drives it."""

    def __init__(self, config: TrainConfig, context: Distributed, progress: bool):
        self.config, self.context = config, context
        self.started = time.perf_counter()
        if config.torch_threads:
            torch.set_num_threads(config.torch_threads)
        self.progress = progress and context.is_main
        self.output_dir = Path(config.output_dir)
        self.table = self._load_table()
        train_rows = _split(self.table, config.data.train_split, "data.train_split")
        val_rows = _split(self.table, config.data.val_split, "data.val_split") if config.data.val_split else None

        spec = config.model_config()
        poses = read_table_poses(train_rows, progress=self.progress)
        names = [str(path) for path in train_rows["pose_path"]]
        preprocess, note = naming_the_pose(names[0], fitting_preprocess, spec.preprocess, poses[0])
        if note and context.is_main:
            print(f"note: {note}", file=sys.stderr)
        pipeline = Pipeline.from_config(preprocess, augment=config.augment)
        spec = dataclasses.replace(
            spec,
            preprocess=preprocess,
            input_features=pipeline.feature_size(poses[0]),
            name=trained_model_name(config.model, spec.name, self.output_dir),
        )
        self.model, self.init_from = start_model(config, spec, context.device)
        if config.gradient_checkpointing:
            if not hasattr(self.model.pose_encoder, "gradient_checkpointing"):
                raise TrainingError(
                    f"gradient_checkpointing: the pose encoder {type(self.model.pose_encoder).__name__} has no "
                    "checkpointed layers; set gradient_checkpointing: false"
                )
            self.model.pose_encoder.gradient_checkpointing = True

        prompts = render_prompts(self.model.config.prompt, train_rows)
        self.prompts = sorted(set(prompts))
        index = {prompt: i for i, prompt in enumerate(self.prompts)}
        labels = [index[p] for p in prompts]
        self.cached = text_features(self.model, self.prompts) if self.model.config.freeze_text else None
        self.dataset = PoseTextDataset(poses, names, labels, pipeline, self.model.config.max_frames, config.seed)
        self.sampler = LabelUniqueBatchSampler(
            labels, config.batch_size, config.seed, num_replicas=context.world_size, rank=context.rank
        )
        self.loader = torch.utils.data.DataLoader(
            self.dataset, batch_sampler=self.sampler, collate_fn=collate, num_workers=config.num_workers
        )
        self.validation = (
            Validation(self.model, val_rows, config.val_group_by, self.progress) if val_rows is not None else None
        )

        self.step = ContrastiveStep(self.model)
        if context.world_size > 1:
            device_ids = [context.device.index] if context.device.type == "cuda" else None
            self.step = nn.parallel.DistributedDataParallel(self.step, device_ids=device_ids)
        self.optimizer = build_optimizer(self.model, config)
        self.steps_per_epoch = len(self.sampler)
        warmup = round(config.warmup_epochs * self.steps_per_epoch)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, warmup_cosine(warmup, config.epochs * self.steps_per_epoch)
        )
        self.amp = config.amp and context.device.type == "cuda"
        self.start_epoch, self.best, self.history = 0, None, []
        self.writer = _tensorboard(self.output_dir) if context.is_main else None

    def _load_table(self) -> pd.DataFrame:
        """Rank 0 writes generated data first; then every process reads the same table."""
        if self.context.is_main:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            if self.config.data.synthetic is not None:
                load_training_table(self.config, generate=True)
        if self.context.world_size > 1:
            dist.barrier()
        return load_training_table(self.config, generate=False)

    def restore(self) -> None:
        """Continue from OUTPUT_DIR/checkpoint.pt."""
        path = self.output_dir / CHECKPOINT_FILE
        self.start_epoch, self.best, self.history = load_checkpoint(path, self.model, self.optimizer, self.scheduler)

    def write_setup(self) -> None:
        """Write the resolved config and the split manifest next to the results (rank 0)."""
        if self.context.is_main:
            write_manifest(self.table, self.output_dir / "manifest.csv")
            text = yaml.safe_dump(dataclasses.asdict(self.config), sort_keys=False)
            write_bytes_atomically(text.encode(), self.output_dir / "config.yaml")

    def _texts(self, label_ids: torch.Tensor) -> torch.Tensor | dict[str, torch.Tensor]:
        """The text input of a batch: cached features (frozen text tower) or tokens."""
        if self.cached is not None:
            return self.cached[label_ids]
        tokens = self.model.tokenize([self.prompts[i] for i in label_ids.tolist()])
        return {key: value.to(self.context.device) for key, value in tokens.items()}

    def train_epoch(self, epoch: int) -> dict[str, float]:
        """One pass over the training data; returns the epoch's row of metrics."""
        context, config = self.context, self.config
        torch.manual_seed(int(np.random.SeedSequence([config.seed, epoch, context.rank]).generate_state(1)[0]))
        self.dataset.epoch = epoch
        self.sampler.set_epoch(epoch)
        self.step.train()
        started, seen, losses = time.perf_counter(), 0, []
        description = f"epoch {epoch + 1}/{config.epochs}"
        bar = tqdm(self.loader, desc=description, unit="batch", disable=not self.progress, leave=False)
        for frames, mask, label_ids in bar:
            frames, mask, label_ids = (t.to(context.device) for t in (frames, mask, label_ids))
            with torch.autocast(device_type=context.device.type, dtype=torch.bfloat16, enabled=self.amp):
                pose_embeddings, text_embeddings, scale = self.step(frames, mask, self._texts(label_ids))
            loss = global_batch_loss(
                pose_embeddings, text_embeddings, scale, label_ids, context, self.model.config.towers
            )
            self._check_finite(loss, epoch, len(losses))
            self.optimizer.zero_grad(set_to_none=True)
            (loss * context.world_size).backward()  # DDP averages: the mean of W local slices' grads, times W
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), config.grad_clip)
            self.optimizer.step()
            self.scheduler.step()
            losses.append(loss.item())
            seen += len(label_ids) * context.world_size
            bar.set_postfix(loss=f"{losses[-1]:.3f}", poses_per_s=f"{seen / (time.perf_counter() - started):.0f}")
        return {
            "epoch": epoch + 1,
            "step": (epoch + 1) * self.steps_per_epoch,
            "lr": self.scheduler.get_last_lr()[0],
            "train_loss": float(np.mean(losses)),
            "poses_per_s": seen / (time.perf_counter() - started),
            "logit_scale": float(self.model.scale().detach()),
        }

    def _check_finite(self, loss: torch.Tensor, epoch: int, batch: int) -> None:
        """Stop the run (TrainingError, before the weights change) when the loss is NaN or infinite."""
        if torch.isfinite(loss):
            return
        step = epoch * self.steps_per_epoch + batch + 1
        saved = self.output_dir / BEST_DIR
        kept = (
            f"{saved} holds the best model of the epochs before"
            if self.best is not None and saved.is_dir()
            else "no model was saved as best"
        )
        raise TrainingError(
            f"epoch {epoch + 1}, step {step}: the training loss is {loss.item()} (not finite), so training "
            f"stopped; {kept}. Lower lr (now {self.config.lr:g}) or grad_clip, or look for extreme coordinates "
            "in the data"
        )

    def _save_best(self, epochs: int) -> None:
        """Write the model to OUTPUT_DIR/best with its provenance: this run, its data, `epochs` trained."""
        self.model.provenance = Provenance(
            "trained",
            run=str(self.output_dir.resolve()),
            data=dataclasses.asdict(self.config.data),
            epochs=epochs,
            val_metric=self.config.val_metric if self.best is not None else None,
            val_value=self.best,
            init_from=self.init_from,
            created=utc_now(),
        )
        save_model(self.model, self.output_dir / BEST_DIR)

    def finish_epoch(self, epoch: int, row: dict[str, float]) -> None:
        """Validate when due, then (rank 0) save best/ on improvement, the checkpoint and the metrics."""
        config = self.config
        last = epoch + 1 == config.epochs
        improved = last and self.validation is None  # without validation the final model is the best
        if self.context.is_main and self.validation is not None and ((epoch + 1) % config.eval_every == 0 or last):
            row.update(self.validation.run())
            value = row[f"val_{config.val_metric}"]
            improved = self.best is None or _better(value, self.best, config.val_metric)
            self.best = value if improved else self.best
        self.history.append(row)
        if self.context.is_main:
            if improved:
                self._save_best(epoch + 1)
            save_checkpoint(
                self.output_dir / CHECKPOINT_FILE,
                self.model,
                self.optimizer,
                self.scheduler,
                epoch + 1,
                self.best,
                self.history,
            )
            write_metrics(self.output_dir / METRICS_FILE, self.history)
            if self.writer is not None:
                for key, value in row.items():
                    self.writer.add_scalar(key, value, row["step"])
            if self.progress:
                tqdm.write(_epoch_line(row, config.val_metric))
        if self.context.world_size > 1:
            dist.barrier()

    def result(self) -> TrainResult:
        """Close the logs and return the run's result (best/ written even if training was already complete)."""
        if self.writer is not None:
            self.writer.close()
        best_dir = None
        if self.context.is_main:
            best_dir = self.output_dir / BEST_DIR
            if not best_dir.exists():
                self._save_best(len(self.history))
        metric = f"val_{self.config.val_metric}"
        best_row = next((row for row in reversed(self.history) if row.get(metric) == self.best), {})
        return TrainResult(
            output_dir=self.output_dir,
            best_dir=best_dir,
            best_metric=self.best,
            history=self.history,
            val_metrics={key: value for key, value in best_row.items() if key.startswith("val_")},
            epochs=len(self.history),
            seconds=time.perf_counter() - self.started,
        )


def _split(table: pd.DataFrame, name: str, key: str) -> pd.DataFrame:
    rows = table[table["split"] == name].reset_index(drop=True)
    if rows.empty:
        splits = sorted(set(table["split"]) - {""}) or "none"
        raise TrainingError(f"no rows in split {name!r} ({key}); the data's splits are {splits}")
    return rows


def _better(value: float, best: float, metric: str) -> bool:
    return value < best if metric.endswith(LOWER_IS_BETTER) else value > best


def _epoch_line(row: dict, metric: str) -> str:
    line = f"epoch {row['epoch']}: loss {row['train_loss']:.4f}, {row['poses_per_s']:.0f} poses/s"
    if f"val_{metric}" in row:
        line += f", val {metric} {row[f'val_{metric}']:.4f}"
    return line


def _tensorboard(output_dir: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(str(output_dir / "tensorboard"))
