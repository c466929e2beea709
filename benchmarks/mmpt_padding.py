"""The original SignCLIP video tower padded per batch (ours) against padded to max_video_len (the original).

Both passes run the same `MMPTPoseEncoder` (signclip.model.mmpt) at E7.2's sizes (12 BERT layers,
hidden 768, 609 features, max_video_len 256; random weights) on the same pose tensors (lengths
uniform in 30-120 frames, batches of 8). Baseline "original padding": every pose zero-padded to 256
frames, the padding masked, as the original MMPTModel fed its encoder. Ours: each batch padded to its
longest pose, which `SignCLIP.embed_poses` does. Passes alternate (after one warm-up pass each) and the
fastest of each is kept, so both sample the same moments of a shared CPU. Also printed: the largest
difference between the two passes' embeddings (padding is masked, so only float error remains).

    python benchmarks/mmpt_padding.py [--poses 16] [--threads 2] [--rounds 2]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from signclip.model.mmpt import MMPTConfig, MMPTPoseEncoder

FEATURES, BATCH = 609, 8


def embed(encoder: MMPTPoseEncoder, tensors: list[np.ndarray], pad_to: int | None) -> torch.Tensor:
    """Embed (frames, features) arrays in batches of BATCH, padded to `pad_to` frames or the batch's longest."""
    vectors = []
    for start in range(0, len(tensors), BATCH):
        batch = tensors[start : start + BATCH]
        length = pad_to or max(len(t) for t in batch)
        frames = torch.zeros(len(batch), length, FEATURES)
        mask = torch.zeros(len(batch), length, dtype=torch.bool)
        for row, tensor in enumerate(batch):
            frames[row, : len(tensor)] = torch.from_numpy(tensor)
            mask[row, : len(tensor)] = True
        vectors.append(encoder(frames, mask))
    return torch.cat(vectors)


def timed(function) -> tuple[float, torch.Tensor]:
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--poses", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    tensors = [rng.normal(size=(n, FEATURES)).astype(np.float32) for n in rng.integers(30, 121, size=args.poses)]
    config = MMPTConfig()
    encoder = MMPTPoseEncoder(config, FEATURES, cls_token_id=101, sep_token_id=102).eval()
    passes = {"original padding (256 frames)": config.max_video_len, "ours (batch's longest)": None}
    best, outputs = dict.fromkeys(passes, float("inf")), {}
    with torch.inference_mode():
        for pad_to in passes.values():  # warm-up
            embed(encoder, tensors[:BATCH], pad_to)
        for _ in range(args.rounds):
            for name, pad_to in passes.items():
                seconds, outputs[name] = timed(lambda pad_to=pad_to: embed(encoder, tensors, pad_to))
                best[name] = min(best[name], seconds)
    mean_frames = np.mean([len(t) for t in tensors])
    print(f"{args.poses} poses, {mean_frames:.0f} frames on average, batches of {BATCH}, {args.threads} threads")
    for name, seconds in best.items():
        print(f"  {name:<30} {1000 * seconds / args.poses:8.1f} ms/pose")
    baseline, ours = best.values()
    print(f"  speed-up over original padding: {baseline / ours:.2f}x")
    first, second = outputs.values()
    print(f"  largest embedding difference: {float((first - second).abs().max()):.2e}")


if __name__ == "__main__":
    main()
