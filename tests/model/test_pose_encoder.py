import pytest
import torch

from signclip.errors import ConfigError
from signclip.model.config import model_config
from signclip.model.pose_encoder import PoseEncoder, PoseEncoderConfig
from signclip.model.signclip import pad_pose_tensors
from signclip.poses.transforms import PoseTensor

FEATURES = 12


def _encoder(**sizes) -> PoseEncoder:
    torch.manual_seed(0)
    config = PoseEncoderConfig(**{"width": 32, "layers": 2, "heads": 4, **sizes})
    return PoseEncoder(config, input_features=FEATURES, max_frames=64).eval()


def _sequences(lengths: list[int]) -> list[PoseTensor]:
    generator = torch.Generator().manual_seed(0)
    return [
        PoseTensor(torch.randn(n, FEATURES, generator=generator).numpy(), torch.ones(n, dtype=torch.bool).numpy())
        for n in lengths
    ]


def test_signclip_small_pose_encoder_has_a_few_million_parameters():
    config = model_config("signclip-small")
    encoder = PoseEncoder(config.pose_encoder, config.input_features, config.max_frames)
    count = sum(p.numel() for p in encoder.parameters())
    assert 1_000_000 < count < 10_000_000
    assert encoder.output_dim == config.pose_encoder.width


@pytest.mark.parametrize("stride", [1, 2, 3])
def test_a_sequence_encodes_the_same_alone_and_padded_in_a_batch(stride):
    encoder = _encoder(conv_stride=stride)
    tensors = _sequences([7, 40, 1, 23, 64])
    with torch.no_grad():
        batched = encoder(*pad_pose_tensors(tensors))
        for row, tensor in enumerate(tensors):
            alone = encoder(*pad_pose_tensors([tensor]))
            assert torch.allclose(alone[0], batched[row], atol=1e-5), f"row {row} depends on its batch"


def test_padded_frames_do_not_leak_whatever_they_hold():
    encoder = _encoder()
    frames, mask = pad_pose_tensors(_sequences([10, 30]))
    noisy = frames.clone()
    noisy[0, 10:] = 1000.0  # garbage in the padding of the short sequence
    with torch.no_grad():
        assert torch.allclose(encoder(frames, mask), encoder(noisy, mask), atol=1e-5)


def test_the_output_depends_on_frame_order_and_content():
    encoder = _encoder()
    frames, mask = pad_pose_tensors(_sequences([20]))
    with torch.no_grad():
        original = encoder(frames, mask)
        reversed_ = encoder(frames.flip(1), mask)
    assert not torch.allclose(original, reversed_, atol=1e-4)


def test_one_frame_sequences_give_finite_vectors():
    encoder = _encoder()
    with torch.no_grad():
        out = encoder(*pad_pose_tensors(_sequences([1, 1])))
    assert out.shape == (2, 32) and torch.isfinite(out).all()


def test_more_frames_than_max_frames_is_refused_at_this_level():
    with pytest.raises(ValueError, match="max_frames"):
        _encoder()(torch.zeros(1, 65, FEATURES), torch.ones(1, 65, dtype=torch.bool))


def test_gradients_reach_every_parameter():
    encoder = _encoder().train()
    frames, mask = pad_pose_tensors(_sequences([9, 17]))
    encoder(frames, mask).sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in encoder.parameters())


@pytest.mark.parametrize(
    ("sizes", "key"),
    [({"conv_kernel": 4}, "conv_kernel"), ({"width": 30, "heads": 4}, "width"), ({"dropout": 1.5}, "dropout")],
)
def test_impossible_sizes_are_config_errors_naming_the_key(sizes, key):
    with pytest.raises(ConfigError, match=key):
        PoseEncoderConfig(**sizes).validate()
