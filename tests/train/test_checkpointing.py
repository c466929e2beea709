"""Gradient checkpointing of the pose encoder: off by default, the same loss and gradients when on."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from signclip.model.hub import create_model
from signclip.train import load_train_config
from signclip.train.config import TrainConfig
from signclip.train.distributed import Distributed
from signclip.train.loop import ContrastiveStep, global_batch_loss

SYNTHETIC = Path(__file__).resolve().parents[2] / "configs" / "synthetic.yaml"


def _loss_and_grads(checkpointing: bool, tmp_path) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    config = load_train_config(SYNTHETIC, [f"output_dir={tmp_path}"])
    model = create_model(dataclasses.replace(config.model_config(), input_features=12), seed=0)
    assert model.pose_encoder.gradient_checkpointing is False  # off unless the trainer turns it on
    model.pose_encoder.gradient_checkpointing = checkpointing
    model.train()
    torch.manual_seed(3)  # the same dropout masks: checkpoint replays the RNG state in the recomputation
    frames, texts = torch.randn(6, 64, 12), torch.randn(6, model.text_encoder.output_dim)
    mask = torch.ones(6, 64, dtype=torch.bool)
    mask[:3, 40:] = False
    pose, text, scale = ContrastiveStep(model)(frames, mask, texts)
    loss = global_batch_loss(pose, text, scale, torch.arange(6), Distributed())
    loss.backward()
    return loss.detach(), {n: p.grad for n, p in model.named_parameters() if p.grad is not None}


def test_checkpointing_gives_the_same_loss_and_gradients(tmp_path):
    assert TrainConfig().gradient_checkpointing is False
    loss, grads = _loss_and_grads(False, tmp_path)
    loss_ckpt, grads_ckpt = _loss_and_grads(True, tmp_path)
    torch.testing.assert_close(loss_ckpt, loss)
    assert grads.keys() == grads_ckpt.keys()
    assert any(name.startswith("pose_encoder.transformer_blocks") for name in grads)
    for name, grad in grads.items():
        torch.testing.assert_close(grads_ckpt[name], grad, rtol=1e-5, atol=1e-7, msg=name)
