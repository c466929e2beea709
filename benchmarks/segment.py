"""Segmentation speed: dgs-2023 (model + decoding) on one hour of 25 fps pose in memory, and reading plus
segmenting a long .pose file beside the time to only read it (the named baseline of each ratio).

    PYTHONPATH=src python benchmarks/segment.py [--minutes 60] [--threads N]

Uses ../shared/fixtures/continuous_signing.pose (repeated) when present, else the synthetic signer.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from signclip.poses.io import pose_from_array, read_pose, write_pose
from signclip.segment import load_segmenter
from signclip.segment.dgs2023 import prepare_input

FIXTURE = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "continuous_signing.pose"


def long_pose(minutes: float, fps: float = 25.0):
    """A Holistic pose of `minutes` at `fps`, made by repeating a real (or synthetic) recording."""
    if FIXTURE.is_file():
        source = read_pose(FIXTURE)
    else:
        from signclip.data.synthetic import synthetic_pose

        source = synthetic_pose(0, 0)
    frames = round(minutes * 60 * fps)
    data = np.ma.getdata(source.body.data)
    repeats = -(-frames // len(data))
    tiled = np.concatenate([data] * repeats)[:frames]
    confidence = np.concatenate([source.body.confidence] * repeats)[:frames]
    return pose_from_array(source.header, tiled, fps, confidence)


def timed(function, repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--file-minutes", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore")
    segmenter = load_segmenter("dgs-2023")
    pose = long_pose(args.minutes)
    frames = pose.body.data.shape[0]
    duration = frames / pose.body.fps
    print(f"pose in memory: {frames} frames = {duration / 60:.0f} min at {pose.body.fps:g} fps; threads {args.threads}")
    inputs = prepare_input(pose)
    prepare = timed(lambda: prepare_input(pose))
    model = timed(lambda: segmenter.log_probs(inputs))
    total = timed(lambda: segmenter.segment(pose))
    print(f"  input preparation            {prepare:7.2f} s")
    print(f"  model (BiLSTM, both heads)   {model:7.2f} s")
    print(
        f"  dgs-2023 segment() in all    {total:7.2f} s  (target < 5 s; baseline real time {duration:.0f} s: "
        f"{duration / total:,.0f}x faster than real time)"
    )
    motion = load_segmenter("motion")
    motion_time = timed(lambda: motion.segment(pose))
    print(f"  motion segment()             {motion_time:7.2f} s  ({motion_time / total:.2f}x dgs-2023)")

    file_pose = long_pose(args.file_minutes)
    with tempfile.TemporaryDirectory() as folder:
        path = write_pose(file_pose, Path(folder) / "long.pose")
        size = path.stat().st_size / 1e6
        read = timed(lambda: read_pose(path), repeat=2)
        both = timed(lambda: segmenter.segment(read_pose(path)), repeat=2)
    print(f"long .pose file: {file_pose.body.data.shape[0]} frames, {size:.0f} MB")
    print(f"  read only (baseline)         {read:7.2f} s")
    print(f"  read + dgs-2023 segment      {both:7.2f} s  ({both / read:.2f}x reading)")


if __name__ == "__main__":
    main()
