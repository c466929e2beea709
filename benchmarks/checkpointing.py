"""Peak memory and time of one training step of the signclip-small pose encoder on long poses, with and
without gradient checkpointing. Each mode runs in a fresh process (peak RSS is per process).

    PYTHONPATH=src python benchmarks/checkpointing.py [--frames 1024] [--batch 8]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import torch


def step(checkpointing: bool, frames: int, batch: int) -> dict[str, float]:
    """One forward and backward pass; peak RSS growth (MiB) over the model's and inputs' and the time (s)."""
    from signclip.model.config import model_config
    from signclip.model.pose_encoder import PoseEncoder

    torch.set_num_threads(1)
    spec = model_config("signclip-small")
    encoder = PoseEncoder(spec.pose_encoder, input_features=spec.input_features or 150, max_frames=frames).train()
    encoder.gradient_checkpointing = checkpointing
    x = torch.randn(batch, frames, spec.input_features or 150)
    mask = torch.ones(batch, frames, dtype=torch.bool)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    encoder(x, mask).square().sum().backward()
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "checkpointing": checkpointing,
        "peak_rss_growth_mib": round(peak - before, 1),
        "seconds": round(seconds, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1024)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--mode", choices=["on", "off"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode:
        print(json.dumps(step(args.mode == "on", args.frames, args.batch)))
        return
    for mode in ("off", "on"):
        command = [sys.executable, __file__, "--frames", str(args.frames), "--batch", str(args.batch), "--mode", mode]
        row = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
        print(f"frames {args.frames} batch {args.batch}: {row}")


if __name__ == "__main__":
    main()
