"""dgs-2023: parity with the TorchScript original, its published segments, and bad input."""

from __future__ import annotations

import ast
import warnings
from pathlib import Path

import numpy as np
import pytest

from signclip.errors import PoseLayoutError
from signclip.poses.io import pose_from_array, read_keypoint_csv, read_pose
from signclip.segment import SegmentationWarning, segment_pose, segment_pose_levels
from signclip.segment.dgs2023 import DGS2023Segmenter, prepare_input, weights_path

SIGNS = [(17, 34), (35, 58), (59, 93)]
SENTENCES = [(27, 34), (38, 38), (41, 79), (84, 89)]


@pytest.fixture(scope="module")
def segmenter() -> DGS2023Segmenter:
    return DGS2023Segmenter()


@pytest.fixture(scope="module")
def continuous(require_shared):
    return read_pose(require_shared("fixtures/continuous_signing.pose"))


def test_log_probs_equal_the_torchscript_model(segmenter, continuous, require_shared):
    import torch

    scripted = torch.jit.load(str(require_shared("models/sign-segmentation-2023/model.pth"))).eval()
    inputs = prepare_input(continuous)
    with torch.no_grad():
        theirs = scripted(torch.from_numpy(inputs)[None])
    ours = segmenter.log_probs(inputs)
    for level in ("sign", "sentence"):
        assert np.abs(theirs[level][0].numpy() - ours[level]).max() < 1e-5


def test_segments_are_those_the_model_readme_lists(segmenter, continuous):
    levels = segment_pose_levels(continuous, segmenter)
    assert [(s.start_frame, s.end_frame) for s in levels["sign"]] == SIGNS
    assert [(s.start_frame, s.end_frame) for s in levels["sentence"]] == SENTENCES
    first = levels["sign"][0]
    assert first.start_ms == pytest.approx(17 / 30 * 1000) and first.end_ms == pytest.approx(35 / 30 * 1000)
    assert 0 < first.score <= 1 and first.level == "sign"


def test_the_package_ships_the_weights_and_never_uses_torch_jit():
    assert weights_path().is_file() and 1_700_000 < weights_path().stat().st_size < 1_900_000
    assert (weights_path().parent / "LICENSE.dgs-2023.txt").read_text().startswith("MIT License")
    package = Path(__file__).resolve().parents[2] / "src" / "signclip" / "segment"
    for module in package.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.Attribute) and node.attr == "jit":
                pytest.fail(f"{module.name} uses torch.jit")


def test_a_2d_pose_is_a_clear_error_suggesting_motion(segmenter, boston_dir):
    pose = next(iter(read_keypoint_csv(boston_dir / "hands_condensed.csv", group_column="video").values()))
    with pytest.raises(PoseLayoutError, match=r"x, y, z of the 75.*POSE_LANDMARKS.*motion"):
        segmenter.segment(pose)


def _holistic(frames: int, hands: bool):
    from signclip.data.synthetic import synthetic_pose

    pose = synthetic_pose(0, 0)
    data = np.ma.getdata(pose.body.data)[:frames].copy()
    confidence = pose.body.confidence[:frames].copy()
    if not hands:
        confidence[:, :, -42:] = 0
    return pose_from_array(pose.header, data, pose.body.fps, confidence)


def test_no_hands_and_very_short_poses_give_no_segments_and_a_warning(segmenter):
    for pose in (_holistic(20, hands=False), _holistic(1, hands=True)):
        with pytest.warns(SegmentationWarning):
            assert segment_pose(pose, segmenter) == []


def test_a_pose_with_hands_gives_no_warning(segmenter):
    with warnings.catch_warnings():
        warnings.simplefilter("error", SegmentationWarning)
        segment_pose(_holistic(30, hands=True), segmenter, level="sentence")
