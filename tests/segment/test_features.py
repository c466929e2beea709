"""Hand tracks and tagger features: mirroring the features equals the features of the mirrored tracks."""

from __future__ import annotations

import numpy as np
import pytest

from signclip.segment.compose import compose_recordings, synthetic_signs
from signclip.segment.features import feature_size, frame_features, hand_tracks, mirror_features, mirror_tracks


@pytest.fixture(scope="module")
def tracks():
    return hand_tracks(compose_recordings(synthetic_signs(glosses=3, signers=1), count=1, seed=4)[0].pose)


@pytest.mark.parametrize("scales", [(1, 2, 4), (1,), (2, 8)])
def test_mirrored_features_are_the_features_of_the_mirrored_tracks(tracks, scales):
    features = frame_features(tracks, 1.0, scales)
    assert features.shape == (tracks.frames, feature_size(scales))
    expected = frame_features(mirror_tracks(tracks), 1.0, scales)
    assert np.allclose(mirror_features(features, scales), expected, atol=1e-5)
    assert not np.allclose(features, expected, atol=1e-3)  # the mirror image differs from the original


def test_mirroring_twice_gives_the_original(tracks):
    features = frame_features(tracks)
    assert np.array_equal(mirror_features(mirror_features(features)), features)
    twice = mirror_tracks(mirror_tracks(tracks))
    assert np.array_equal(twice.positions, tracks.positions) and np.array_equal(twice.present, tracks.present)
