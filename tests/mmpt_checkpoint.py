"""A tiny original SignCLIP (fairseq/MMPT) checkpoint and what converts it, for the converter's tests and
the fine-tuning tests (the fixtures over these are in tests/conftest.py; pytest puts tests/ on sys.path).

The checkpoint has the original layout: module names, key names, fp16 tensors, fairseq's `mmmodel.`
prefix, argparse/numpy objects beside the weights. Its text tower reads a WordPiece vocabulary of a few
words and every lower-case letter.
"""

from __future__ import annotations

import argparse
import collections
from pathlib import Path

import numpy as np
import torch
from torch import nn
from transformers import BertConfig, BertModel, BertTokenizerFast

WORDS = ["<", ">", "en", "ase", "gsg", "house", "random", "text", "sun", "police", "how", "are", "you", "?"]
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, *"abcdefghijklmnopqrstuvwxyz"]
HIDDEN, MAX_VIDEO_LEN, TEXT_MAX_LEN = 32, 40, 16  # TEXT_MAX_LEN: the original dataset.max_len


def write_text_folder(folder: Path) -> str:
    """Write a local text model folder: a tiny BERT config and a WordPiece tokenizer of VOCAB; its path."""
    (folder / "vocab.txt").write_text("\n".join(VOCAB) + "\n")
    BertTokenizerFast(vocab=str(folder / "vocab.txt")).save_pretrained(folder)  # transformers 5: vocab=
    bert_config(layers=2).save_pretrained(folder)
    return str(folder)


def bert_config(layers: int) -> BertConfig:
    """The BertConfig of the tiny towers (hidden size HIDDEN) with `layers` layers."""
    return BertConfig(
        vocab_size=len(VOCAB),
        hidden_size=HIDDEN,
        num_hidden_layers=layers,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=64,
    )


def tiny_config(text_folder: str, **pose_encoder) -> dict:
    """The `mmpt` model config of the tiny checkpoint over `text_folder`, `pose_encoder` keys overridden."""
    return {
        "name": "tiny-mmpt",
        "architecture": "mmpt",
        "tower_dim": HIDDEN,
        "input_features": 609,
        "preprocess": "signclip_v1",
        "max_frames": MAX_VIDEO_LEN,
        "long_pose": "windows",
        "similarity": "dot",
        "pose_encoder": {
            "hidden_size": HIDDEN,
            "layers": 3,
            "heads": 4,
            "intermediate_size": 64,
            "vocab_size": len(VOCAB),
            "max_position_embeddings": 64,
            "max_video_len": MAX_VIDEO_LEN,
        }
        | pose_encoder,
        "text_encoder": {"name": text_folder, "max_length": TEXT_MAX_LEN - 1, "pooling": "mean_without_cls"},
    }


def original_modules() -> tuple[nn.Module, BertModel]:
    """The original MMBertForEncoder's parameters (videomlp + bert) and the text BertModel, random."""
    video = nn.Module()
    video.videomlp = nn.Module()
    video.videomlp.linear1 = nn.Linear(609, HIDDEN)
    video.videomlp.LayerNorm = nn.LayerNorm(HIDDEN)
    video.videomlp.linear2 = nn.Linear(HIDDEN, HIDDEN)
    video.bert = BertModel(bert_config(layers=3), add_pooling_layer=True)
    return video, BertModel(bert_config(layers=2), add_pooling_layer=True)


def original_checkpoint(seed: int = 0) -> dict:
    """A fairseq checkpoint dict as MMPT training saved it (fp16 weights, position_ids buffers included)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        video, text = original_modules()
        state = collections.OrderedDict()
        for prefix, module in (("mmmodel.video_encoder.", video), ("mmmodel.text_encoder.", text)):
            for key, value in module.state_dict().items():
                state[prefix + key] = (value + 0.2 * torch.randn_like(value)).half()
        state["mmmodel.video_encoder.bert.embeddings.position_ids"] = torch.arange(64)[None]
        state["mmmodel.text_encoder.embeddings.position_ids"] = torch.arange(64)[None]
    return {
        "args": argparse.Namespace(arch="mmarch", task="mmtask", fp16=True),
        "model": state,
        "optimizer_history": [{"criterion_name": "MMCriterion", "num_updates": 10}],
        "extra_state": {"epoch": 3, "val_loss": np.float64(2.5)},
    }


def write_checkpoint(checkpoint: dict, path: Path) -> str:
    """Save a checkpoint dict with torch.save; its path as a string."""
    torch.save(checkpoint, path)
    return str(path)
