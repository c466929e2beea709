import math

import pytest
import torch
import torch.nn.functional as F

from signclip.model.loss import contrastive_loss, positive_mask


def _unit(rows: list[list[float]]) -> torch.Tensor:
    return F.normalize(torch.tensor(rows, dtype=torch.float64), dim=-1)


def test_loss_equals_a_hand_computation_on_two_pairs():
    poses, texts = _unit([[1, 0], [0, 1]]), _unit([[1, 1], [0, 1]])
    scale = 2.0
    s = [[scale * float(poses[i] @ texts[j]) for j in range(2)] for i in range(2)]

    def nll(row: list[float], target: int) -> float:
        return -math.log(math.exp(row[target]) / sum(math.exp(v) for v in row))

    pose_to_text = (nll(s[0], 0) + nll(s[1], 1)) / 2
    text_to_pose = (nll([s[0][0], s[1][0]], 0) + nll([s[0][1], s[1][1]], 1)) / 2
    expected = (pose_to_text + text_to_pose) / 2
    assert float(contrastive_loss(poses, texts, scale)) == pytest.approx(expected, rel=1e-12)


def test_loss_is_symmetric_in_poses_and_texts():
    generator = torch.Generator().manual_seed(0)
    poses = F.normalize(torch.randn(5, 8, generator=generator), dim=-1)
    texts = F.normalize(torch.randn(5, 8, generator=generator), dim=-1)
    assert torch.allclose(contrastive_loss(poses, texts, 10.0), contrastive_loss(texts, poses, 10.0))


def test_multi_positive_loss_reduces_to_the_plain_loss_when_labels_are_unique():
    generator = torch.Generator().manual_seed(1)
    poses = F.normalize(torch.randn(6, 4, generator=generator), dim=-1)
    texts = F.normalize(torch.randn(6, 4, generator=generator), dim=-1)
    plain = contrastive_loss(poses, texts, 14.3)
    multi = contrastive_loss(poses, texts, 14.3, positive_mask(["a", "b", "c", "d", "e", "f"]))
    assert torch.allclose(plain, multi, atol=1e-6)


def test_duplicates_as_positives_are_not_punished_as_false_negatives():
    # Items 0 and 1 share a text (identical text embeddings) and have identical poses.
    poses = _unit([[1, 0, 0], [1, 0, 0], [0, 1, 0]])
    texts = _unit([[1, 0, 0], [1, 0, 0], [0, 0.2, 1]])
    labels = ["house", "house", "sun"]
    plain = contrastive_loss(poses, texts, 20.0)
    multi = contrastive_loss(poses, texts, 20.0, positive_mask(labels))
    assert multi < plain
    # Rows 0 and 1 put all their mass on the two "house" texts: -log(2 e^20 / (2 e^20 + e^0)).
    row = -math.log(2 * math.exp(20) / (2 * math.exp(20) + 1))
    assert float(_multi_positive_row_loss(poses, texts, labels, 0)) == pytest.approx(row, rel=1e-9)


def _multi_positive_row_loss(poses, texts, labels, row):
    logits = 20.0 * poses @ texts.T
    positives = positive_mask(labels)[row]
    return torch.logsumexp(logits[row], 0) - torch.logsumexp(logits[row][positives], 0)


def test_positive_mask_marks_items_that_share_a_label():
    mask = positive_mask(["a", "b", "a"])
    assert mask.tolist() == [[True, False, True], [False, True, False], [True, False, True]]


def test_loss_is_lower_for_matching_pairs_and_its_gradient_reaches_the_scale():
    poses = _unit([[1, 0], [0, 1]])
    logit_scale = torch.tensor(math.log(10.0), dtype=torch.float64, requires_grad=True)
    matched = contrastive_loss(poses, poses, logit_scale.exp())
    swapped = contrastive_loss(poses, poses.flip(0), logit_scale.exp())
    assert matched < swapped
    matched.backward()
    assert logit_scale.grad is not None and logit_scale.grad < 0  # a sharper softmax helps matched pairs


def test_a_mask_without_positives_in_a_row_is_rejected():
    poses = _unit([[1, 0], [0, 1]])
    with pytest.raises(ValueError, match="at least one positive"):
        contrastive_loss(poses, poses, 1.0, torch.zeros(2, 2, dtype=torch.bool))
