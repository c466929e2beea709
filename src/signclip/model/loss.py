"""The contrastive loss: symmetric InfoNCE over a batch of (pose, text) pairs.

Row i of the batch is pose i with text i. Plain InfoNCE takes the diagonal as the only positive.
With a positive mask (items sharing a text), every pair marked positive counts as a match
(MIL-NCE style: -log of the softmax mass on the positives), so duplicates are not false negatives.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import torch
import torch.nn.functional as F


def positive_mask(labels: Sequence[Hashable]) -> torch.Tensor:
    """Return (B, B) bool: True where items i and j share a label (the diagonal always)."""
    ids = {label: index for index, label in enumerate(dict.fromkeys(labels))}
    codes = torch.tensor([ids[label] for label in labels])
    return codes[:, None] == codes[None, :]


def contrastive_loss(
    pose_embeddings: torch.Tensor,
    text_embeddings: torch.Tensor,
    scale: torch.Tensor | float,
    positives: torch.Tensor | None = None,
    towers: int = 1,
) -> torch.Tensor:
    """Symmetric InfoNCE: the mean of the pose->text and text->pose cross-entropies; a scalar.

    Takes L2-normalized pose and text embeddings (B, E), the logit scale (exp(logit_scale), e.g.
    `model.scale()`), and optionally a (B, B) bool mask of positive pairs (see `positive_mask`);
    without it, pair i-i is the only positive of row i and column i. With `towers` K > 1 the embeddings
    are K tower slices of norm 1/sqrt(K) (`SignCLIP.normalize`), and the loss is the mean of each
    tower's own InfoNCE, so the towers learn independently, as the members of an ensemble do.
    """
    if towers > 1:
        poses = pose_embeddings.unflatten(-1, (towers, -1)) * towers**0.5
        texts = text_embeddings.unflatten(-1, (towers, -1)) * towers**0.5
        losses = [contrastive_loss(poses[:, k], texts[:, k], scale, positives) for k in range(towers)]
        return torch.stack(losses).mean()
    logits = scale * pose_embeddings @ text_embeddings.T
    if positives is None:
        targets = torch.arange(len(logits), device=logits.device)
        return (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets)) / 2
    positives = positives.to(device=logits.device, dtype=torch.bool)
    if not positives.any(dim=1).all() or not positives.any(dim=0).all():
        raise ValueError("every row and column of the positive mask needs at least one positive")
    return (_multi_positive_nce(logits, positives) + _multi_positive_nce(logits.T, positives.T)) / 2


def _multi_positive_nce(logits: torch.Tensor, positives: torch.Tensor) -> torch.Tensor:
    """Mean over rows of -log(sum of softmax over the row's positives)."""
    positive_logits = logits.masked_fill(~positives, float("-inf"))
    return (torch.logsumexp(logits, dim=1) - torch.logsumexp(positive_logits, dim=1)).mean()
