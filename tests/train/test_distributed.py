"""Two CPU processes (gloo) each holding half the batch give the single-process loss and gradients."""

from __future__ import annotations

import dataclasses
import os
import socket
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from signclip.model.hub import create_model
from signclip.train import load_train_config
from signclip.train.distributed import Distributed
from signclip.train.loop import ContrastiveStep, global_batch_loss

SYNTHETIC = Path(__file__).resolve().parents[2] / "configs" / "synthetic.yaml"
BATCH, FRAMES, FEATURES = 8, 24, 12


def _model_and_batch(tmp: str):
    config = load_train_config(SYNTHETIC, [f"output_dir={tmp}"])
    model = create_model(dataclasses.replace(config.model_config(), input_features=FEATURES), seed=0)
    generator = torch.Generator().manual_seed(1)
    frames = torch.randn(BATCH, FRAMES, FEATURES, generator=generator)
    mask = torch.ones(BATCH, FRAMES, dtype=torch.bool)
    mask[::2, FRAMES // 2 :] = False
    texts = torch.randn(BATCH, model.text_encoder.output_dim, generator=generator)  # cached text features
    labels = torch.tensor([0, 1, 2, 3, 4, 5, 0, 6])  # a repeated label: positives across processes
    return model, frames, mask, texts, labels


def _grads(model: nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


def _worker(rank: int, port: int, tmp: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=2)
    model, frames, mask, texts, labels = _model_and_batch(tmp)
    context = Distributed(rank=rank, world_size=2)
    step = nn.parallel.DistributedDataParallel(ContrastiveStep(model))
    half = slice(rank * BATCH // 2, (rank + 1) * BATCH // 2)
    pose, text, scale = step(frames[half], mask[half], texts[half])
    loss = global_batch_loss(pose, text, scale, labels[half], context, model.config.towers)
    (loss * context.world_size).backward()  # as Trainer.train_epoch
    torch.save({"loss": loss.detach(), "grads": _grads(model)}, os.path.join(tmp, f"rank{rank}.pt"))
    dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_give_the_single_process_loss_and_gradients(tmp_path):
    mp.spawn(_worker, args=(_free_port(), str(tmp_path)), nprocs=2, join=True)
    model, frames, mask, texts, labels = _model_and_batch(str(tmp_path))
    pose, text, scale = ContrastiveStep(model)(frames, mask, texts)
    loss = global_batch_loss(pose, text, scale, labels, Distributed(), model.config.towers)
    loss.backward()
    expected = _grads(model)
    for rank in (0, 1):
        result = torch.load(tmp_path / f"rank{rank}.pt")
        torch.testing.assert_close(result["loss"], loss.detach(), rtol=1e-5, atol=1e-6)
        assert result["grads"].keys() == expected.keys() and len(expected) > 10
        for name, grad in expected.items():
            torch.testing.assert_close(result["grads"][name], grad, rtol=1e-4, atol=1e-6, msg=name)
