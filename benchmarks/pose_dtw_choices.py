"""How the training-free index's settings serve DTW re-ranking: how often brute-force DTW's own top 10 (the
baseline, computed in the same run) is among the index's top C, for each setting, on each dataset.

Datasets: the shared fingerspelling poses and RWTH-BOSTON-104 words (when ../shared is there) and the
synthetic signer, every item against all the others. Settings: `frames` 16/24/32, the time statistics on
or off, `dim` 256/512/1024.

    python benchmarks/pose_dtw_choices.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from signclip.evaluation.dtw import DTWSettings, dtw_distance_matrix, preprocessed_poses
from signclip.evaluation.rerank import coverage
from signclip.model.pose_dtw import PoseDTWConfig, PoseDTWIndex

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def datasets(work: Path) -> dict:
    """{name: manifest table} of the datasets this machine has."""
    from signclip.data.datasets import prepare_dataset
    from signclip.data.manifest import read_manifest
    from signclip.data.synthetic import generate_dataset

    found = {"synthetic signer": read_manifest(generate_dataset(work / "synthetic", glosses=12, signers=4))}
    if (SHARED / "fingerspelling").is_dir():
        found["fingerspelling"] = prepare_dataset("fingerspelling-lexicon", SHARED / "fingerspelling")
    if (SHARED / "rwth-boston-104").is_dir():
        found["RWTH-BOSTON-104 words"] = prepare_dataset("rwth-boston-104", SHARED / "rwth-boston-104", work_dir=work)
    return found


def main() -> None:
    settings = DTWSettings()
    grid = [(16, True, 256), (24, False, 256), (24, True, 256), (24, True, 512), (24, True, 1024), (32, True, 256)]
    with tempfile.TemporaryDirectory(prefix="signclip-pose-dtw-") as work:
        for name, table in datasets(Path(work)).items():
            tensors, preset, _ = preprocessed_poses(table, settings.preprocess)
            dtw = dtw_distance_matrix(tensors, tensors, settings.band, settings.max_frames).astype(np.float64)
            np.fill_diagonal(dtw, np.inf)
            print(f"{name}: {len(tensors)} items ({preset}); baseline: brute-force DTW's own top 10")
            for frames, statistics, dim in grid:
                index = PoseDTWIndex(PoseDTWConfig(frames=frames, statistics=statistics, dim=dim))
                vectors = np.stack([index.features(tensor) for tensor in tensors])
                squared = (vectors**2).sum(1)
                distances = squared[:, None] + squared[None] - 2 * vectors @ vectors.T
                np.fill_diagonal(distances, np.inf)
                order = np.argsort(distances, axis=1, kind="stable")
                shares = coverage(order, dtw, tuple(c for c in (50, 100, 200) if c < len(tensors)))
                listed = "  ".join(f"C={c}: {share:.3f}" for c, share in shares.items())
                print(f"  frames {frames:2d}, statistics {'on ' if statistics else 'off'}, dim {dim:4d}:  {listed}")


if __name__ == "__main__":
    main()
