"""motion on 2D and Holistic poses; ELAN writing, reading and the elan dataset adapter."""

from __future__ import annotations

import pytest

from signclip.data.datasets import prepare_dataset
from signclip.data.datasets.common import DatasetError
from signclip.poses.io import read_keypoint_csv, write_pose
from signclip.segment import load_segmenter, segment_pose_levels
from signclip.segment.compose import compose_recordings, synthetic_signs
from signclip.segment.elan import ElanError, read_eaf, write_eaf
from signclip.segment.segments import make_segment


def test_motion_finds_one_sentence_and_several_signs_in_a_boston_video(boston_dir):
    pose = read_keypoint_csv(boston_dir / "hands_condensed.csv", group_column="video")["2"]
    levels = segment_pose_levels(pose, "motion-boston")
    assert len(levels["sentence"]) == 1
    assert 2 <= len(levels["sign"]) <= 6  # the truth has 3 words
    assert all(s.end_frame < pose.body.data.shape[0] for s in levels["sign"])


def test_motion_segments_composed_holistic_sequences_inside_the_signing():
    recording = compose_recordings(synthetic_signs(glosses=4, signers=1), count=1, seed=3)[0]
    levels = load_segmenter("motion").segment(recording.pose)
    assert levels["sign"]
    first, last = recording.signs[0][0], recording.signs[-1][1]
    assert all(first - 5 <= s.start_frame and s.end_frame <= last + 5 for s in levels["sign"])


def test_motion_reads_the_hands_of_openpose_keypoints(fixtures_dir):
    import numpy as np

    from signclip.poses.io import read_pose
    from signclip.segment.features import hand_tracks

    pose = read_pose(fixtures_dir / "openpose.pose")
    tracks = hand_tracks(pose)  # hand_left/right_keypoints_2d, as `signclip info` counts them
    left = (pose.body.confidence[:, 0, 95:116] > 0).any(axis=1)
    np.testing.assert_array_equal(tracks.present[:, 0], left)
    assert 0.4 < tracks.present[:, 0].mean() < 0.6 and tracks.present[:, 1].all()
    assert load_segmenter("motion").segment(pose)["sign"]  # no more "no hands in any of the 93 frames"


def test_composed_sequences_have_rest_at_both_ends():
    recording = compose_recordings(synthetic_signs(glosses=3, signers=1), count=1, seed=0)[0]
    assert recording.signs[0][0] > 0 and recording.signs[-1][1] < recording.frames - 1
    assert recording.signs == sorted(recording.signs)


def test_eaf_round_trip_with_linked_media(tmp_path):
    segments = {"sign": [make_segment(3, 9, 25.0), make_segment(10, 20, 25.0)], "sentence": [make_segment(3, 20, 25.0)]}
    path = write_eaf(segments, tmp_path / "out.eaf", video_path=tmp_path / "v.mp4", pose_path=tmp_path / "v.pose")
    tiers, media = read_eaf(path)
    assert [(a.start_ms, a.end_ms) for a in tiers["SIGN"]] == [(120, 400), (400, 840)]
    assert len(tiers["SENTENCE"]) == 1
    assert any(m.endswith("v.mp4") for m in media) and any(m.endswith("v.pose") for m in media)


@pytest.mark.parametrize("text", ["", "not xml at all", "<ANNOTATION_DOCUMENT><TIER></ANNOTATION_DOCUMENT>"])
def test_a_malformed_eaf_names_the_file(tmp_path, text):
    path = tmp_path / "broken.eaf"
    path.write_text(text)
    with pytest.raises(ElanError, match=r"broken\.eaf"):
        read_eaf(path)


def test_elan_adapter_turns_annotations_into_rows_and_reports_broken_files(tmp_path):
    pose = synthetic_signs(glosses=1, signers=1)[0]
    write_pose(pose, tmp_path / "story.pose")
    segments = {"sign": [make_segment(0, 9, 25.0), make_segment(12, 20, 25.0), make_segment(22, 25, 25.0)]}
    values = {"sign": ["HOUSE", "TREE", "CAR"]}
    write_eaf(segments, tmp_path / "story.eaf", pose_path=tmp_path / "story.pose", values=values)
    table = prepare_dataset("elan", tmp_path, split_by="random").sort_values("start_ms")
    assert list(table["gloss"]) == ["HOUSE", "TREE", "CAR"]
    assert list(table["start_ms"]) == [0.0, 480.0, 880.0] and table["pose_path"].str.endswith("story.pose").all()
    (tmp_path / "bad.eaf").write_text("<oops")
    with pytest.raises(DatasetError, match=r"bad\.eaf"):
        prepare_dataset("elan", tmp_path, split_by="random")
