"""The README's main job: a self-contained tour on generated data, no files of the user's needed."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from signclip.data.manifest import read_manifest
from signclip.data.synthetic import generate_dataset
from signclip.poses.io import read_pose, summarize_pose
from signclip.poses.transforms import Pipeline


def run_quickstart(workdir: str | os.PathLike, say: Callable[[str], None] = print) -> Path:
    """Generate a small synthetic dataset in `workdir`, summarize a pose and its preprocessing; returns workdir."""
    workdir = Path(workdir)
    say(f"1. generating a synthetic sign dataset in {workdir}")
    manifest = read_manifest(generate_dataset(workdir / "synthetic", glosses=8, signers=3, repetitions=2))
    say(f"   {len(manifest)} poses, {manifest['gloss'].nunique()} glosses, {manifest['signer'].nunique()} signers")
    first = manifest.iloc[0]
    pose = read_pose(first["pose_path"])
    say(f"2. signclip info {first['pose_path']}")
    for line in summarize_pose(pose).lines():
        say(f"   {line}")
    say("3. preprocessing presets (SignCLIP v1, FingerCLIP, hands):")
    for preset in ("signclip_v1", "fingerclip", "hands"):
        pipeline = Pipeline.from_config(preset)
        tensor = pipeline(pose)
        say(f"   {preset}: {' -> '.join(pipeline.describe())} => tensor {tensor.frames} x {tensor.data.shape[1]}")
    return workdir
