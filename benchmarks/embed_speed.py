"""Embedding speed of `signclip-small` against the original SignCLIP video tower, on this CPU.

Baseline ("original tower"): SignCLIP's video encoder as in MMPT: an MLP (609 -> 768, GELU,
LayerNorm, 768 -> 768) over each frame, then a 12-layer BERT-base (transformers BertModel from a
BertConfig, random weights), every pose padded to 256 frames as the original did, mean-pooled over
real frames. Both towers get the same pose tensors (609 features, lengths uniform in 30-120 frames).

The speed ratio comes from one process that alternates timed passes of the two towers (after a
warm-up pass of each) and keeps each one's fastest pass, so both sample the same moments of a shared
CPU. Peak memory (ru_maxrss) is measured in a fresh process per tower, so each figure is its own.

    python benchmarks/embed_speed.py [--poses 64] [--baseline-poses 8] [--threads 2] [--rounds 3]
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

FEATURES = 609
ORIGINAL_FRAMES = 256
ORIGINAL_BATCH = 8
PROMPT_WORDS = ["house", "sun", "police", "how are you?", "thank you very much", "the weather tomorrow"]


def make_tensors(count: int, seed: int = 0) -> list:
    """`count` PoseTensors of 609 features with lengths uniform in [30, 120] frames."""
    import numpy as np

    from signclip.poses.transforms import PoseTensor

    rng = np.random.default_rng(seed)
    lengths = rng.integers(30, 121, size=count)
    return [PoseTensor(rng.normal(size=(n, FEATURES)).astype(np.float32), np.ones(n, dtype=bool)) for n in lengths]


def small_pose_tower(threads: int) -> Callable[[list], object]:
    """signclip-small's pose embedding of PoseTensors (length handling, batching, padding included)."""
    import torch

    from signclip.model.hub import create_model

    torch.set_num_threads(threads)
    model = create_model("signclip-small")
    return lambda tensors: model.embed_pose_tensors(tensors, batch_size=32)


def original_pose_tower(threads: int) -> Callable[[list], object]:
    """The original SignCLIP video tower: frame MLP + BERT-base over poses padded to 256 frames."""
    import torch
    from torch import nn
    from transformers import BertConfig, BertModel

    from signclip.model.signclip import pad_pose_tensors

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    frame_mlp = nn.Sequential(nn.Linear(FEATURES, 768), nn.GELU(), nn.LayerNorm(768), nn.Linear(768, 768)).eval()
    bert = BertModel(BertConfig(hidden_size=768, num_hidden_layers=12, num_attention_heads=12)).eval()

    @torch.inference_mode()
    def embed(tensors: list) -> list:
        pooled = []
        for first in range(0, len(tensors), ORIGINAL_BATCH):
            frames, mask = pad_pose_tensors(tensors[first : first + ORIGINAL_BATCH])
            frames = nn.functional.pad(frames, (0, 0, 0, ORIGINAL_FRAMES - frames.shape[1]))
            mask = nn.functional.pad(mask, (0, ORIGINAL_FRAMES - mask.shape[1]))
            hidden = bert(inputs_embeds=frame_mlp(frames), attention_mask=mask.long()).last_hidden_state
            pooled.append((hidden * mask[..., None]).sum(1) / mask.sum(1, keepdim=True))
        return pooled

    return embed


def timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def speed_ratio(poses: int, baseline_poses: int, rounds: int, threads: int) -> dict:
    """Alternate passes of both towers; return each one's best poses/s."""
    small, original = small_pose_tower(threads), original_pose_tower(threads)
    small_inputs, original_inputs = make_tensors(poses), make_tensors(baseline_poses)
    small(small_inputs)  # warm up
    original(original_inputs)
    small_best, original_best = float("inf"), float("inf")
    for _ in range(rounds):
        original_best = min(original_best, timed(lambda: original(original_inputs)))
        for _ in range(3):
            small_best = min(small_best, timed(lambda: small(small_inputs)))
    return {"small": poses / small_best, "original": baseline_poses / original_best}


def peak_memory(tower: str, poses: int, threads: int) -> float:
    """Peak resident memory (MB) of a process that builds `tower` and embeds `poses` poses once."""
    embed = {"small": small_pose_tower, "original": original_pose_tower, "idle": None}[tower]
    if embed is not None:
        embed(threads)(make_tensors(poses))
    else:
        import signclip.model.hub  # noqa: F401  (torch, transformers and signclip loaded, nothing run)
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def end_to_end_and_texts(poses: int, texts: int, rounds: int, threads: int) -> dict:
    """signclip-small from Pose objects (preprocessing included) and its text tower; best rates."""
    import torch

    from signclip.data.synthetic import synthetic_pose
    from signclip.model.hub import create_model

    torch.set_num_threads(threads)
    model = create_model("signclip-small")
    pose_list = [synthetic_pose(gloss=i % 20, signer=i % 3, seed=i) for i in range(poses)]
    prompts = [f"<en> <ase> {PROMPT_WORDS[i % len(PROMPT_WORDS)]} {i}" for i in range(texts)]
    model.embed_poses(pose_list)  # warm up
    model.embed_texts(prompts)
    pose_best = min(timed(lambda: model.embed_poses(pose_list)) for _ in range(rounds))
    text_best = min(timed(lambda: model.embed_texts(prompts)) for _ in range(rounds))
    frames = sum(p.body.data.shape[0] for p in pose_list) / poses
    return {"poses": poses / pose_best, "texts": texts / text_best, "mean_frames": frames}


def in_fresh_process(function: Callable, *arguments) -> object:
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *arguments).result()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--poses", type=int, default=64, help="poses per signclip-small pass")
    parser.add_argument("--baseline-poses", type=int, default=8, help="poses per original-tower pass (slow)")
    parser.add_argument("--texts", type=int, default=256, help="texts per text-tower pass")
    parser.add_argument("--rounds", type=int, default=3, help="alternating timed rounds (best pass kept)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads in every measurement")
    args = parser.parse_args()

    speed = in_fresh_process(speed_ratio, args.poses, args.baseline_poses, args.rounds, args.threads)
    other = in_fresh_process(end_to_end_and_texts, args.poses, args.texts, args.rounds, args.threads)
    memory = {
        tower: in_fresh_process(peak_memory, tower, args.baseline_poses, args.threads)
        for tower in ("idle", "small", "original")
    }

    print(f"torch threads: {args.threads}; pose lengths uniform in 30-120 frames, {FEATURES} features")
    rows = [
        ("original SignCLIP video tower (BERT-base, padded to 256)", f"{speed['original']:.1f} poses/s"),
        ("signclip-small pose tower (same tensors)", f"{speed['small']:.1f} poses/s"),
        (
            f"signclip-small from Pose objects (preprocessing included, ~{other['mean_frames']:.0f} frames)",
            f"{other['poses']:.1f} poses/s",
        ),
        ("signclip-small text tower (all-MiniLM-L6-v2)", f"{other['texts']:.1f} texts/s"),
        ("peak memory: process with torch + signclip loaded, idle", f"{memory['idle']:.0f} MB"),
        ("peak memory: signclip-small embedding poses", f"{memory['small']:.0f} MB"),
        ("peak memory: original tower embedding poses", f"{memory['original']:.0f} MB"),
    ]
    for label, value in rows:
        print(f"{label:80} {value:>14}")
    print(f"speed-up of signclip-small over the original tower: {speed['small'] / speed['original']:.0f}x")


if __name__ == "__main__":
    main()
