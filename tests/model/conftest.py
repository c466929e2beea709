"""Fixtures for the model tests: a tiny text transformer in a local folder, and small model configs.

The tiny text model is a real (randomly initialised) BERT saved with the all-MiniLM-L6-v2 tokenizer,
so save/load tests write kilobytes-to-megabytes instead of the 90 MB MiniLM weights.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from signclip.data.synthetic import synthetic_pose


@pytest.fixture(scope="session")
def tiny_text_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A local Hugging Face folder: 1-layer BERT (hidden 32) with the MiniLM tokenizer."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    from signclip.model.text_encoder import resolve_text_model

    folder = tmp_path_factory.mktemp("tiny-bert")
    source, _ = resolve_text_model("all-MiniLM-L6-v2")
    tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_config(tiny_text_model: Path) -> dict:
    """A small signclip_v1 model config (as a mapping over signclip-small) using the tiny text model."""
    return {
        "base": "signclip-small",
        "name": "tiny",
        "embed_dim": 16,
        "max_frames": 32,
        "pose_encoder": {"width": 32, "layers": 1, "heads": 2, "conv_blocks": 1},
        "text_encoder": {"name": str(tiny_text_model), "max_length": 16},
    }


@pytest.fixture(scope="session")
def tiny_model(tiny_config: dict):
    from signclip.model.hub import create_model

    return create_model(tiny_config)


@pytest.fixture(scope="session")
def poses() -> list:
    """Six synthetic Holistic poses of different glosses and lengths."""
    return [synthetic_pose(gloss=g, signer=g % 2, seed=g) for g in range(6)]
