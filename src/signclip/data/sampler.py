"""Label-unique batches for contrastive training: no two items of a batch share a text.

Two items with the same text in one batch would be false negatives for each other. The sampler
deals every item of the epoch into batches so that each label appears at most once per batch, then
fills batches that came out short with extra items of the rarest labels, round-robin (rare classes
are oversampled, as SignCLIP did). Every item appears at least once per epoch; the batches are a pure
function of (labels, batch_size, seed, epoch).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Iterator, Sequence

import numpy as np

from signclip.errors import ConfigError


class LabelUniqueBatchSampler:
    """Yield lists of dataset indices; a `torch.utils.data.DataLoader(batch_sampler=...)` accepts it.

    `labels[i]` is item i's label (usually its text). Batches hold min(batch_size, number of labels)
    items when `fill` (the default); without it some hold fewer. With `num_replicas` > 1 each `rank`
    gets its share of the batches (the list is padded by wrapping around so all ranks get as many).
    Call `set_epoch(epoch)` before each epoch for a new order.
    """

    def __init__(
        self,
        labels: Sequence[Hashable],
        batch_size: int,
        seed: int = 0,
        fill: bool = True,
        num_replicas: int = 1,
        rank: int = 0,
    ):
        if batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, got {batch_size}")
        if not labels:
            raise ConfigError("the sampler needs at least one item")
        if not 0 <= rank < num_replicas:
            raise ConfigError(f"rank must be in [0, num_replicas={num_replicas}), got {rank}")
        self.labels = list(labels)
        self.seed = seed
        self.fill = fill
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        counts = Counter(self.labels)
        self.batch_size = min(batch_size, len(counts))
        self.num_batches = max(math.ceil(len(self.labels) / self.batch_size), max(counts.values()))

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose batches the next iteration yields."""
        self.epoch = epoch

    def __len__(self) -> int:
        return math.ceil(self.num_batches / self.num_replicas)

    def __iter__(self) -> Iterator[list[int]]:
        batches = self.batches(self.epoch)
        total = len(self) * self.num_replicas
        batches = (batches * math.ceil(total / len(batches)))[:total]
        yield from batches[self.rank :: self.num_replicas]

    def batches(self, epoch: int) -> list[list[int]]:
        """Return all batches of `epoch` (every rank's), each a list of item indices with unique labels."""
        rng = np.random.default_rng([self.seed, epoch])
        groups: dict[Hashable, list[int]] = {}
        for index, label in enumerate(self.labels):
            groups.setdefault(label, []).append(index)
        order = [list(groups)[i] for i in rng.permutation(len(groups))]
        for label in order:
            groups[label] = [groups[label][i] for i in rng.permutation(len(groups[label]))]
        # Deal the items, label after label, into the batches in turn: a label has at most
        # num_batches items, so its consecutive items land in different batches.
        batches: list[list[int]] = [[] for _ in range(self.num_batches)]
        sequence = [index for label in order for index in groups[label]]
        for position, index in enumerate(sequence):
            batches[position % self.num_batches].append(index)
        if self.fill:
            self._fill(batches, groups, order)
        batches = [batches[i] for i in rng.permutation(len(batches))]
        return [[batch[i] for i in rng.permutation(len(batch))] for batch in batches]

    def _fill(self, batches: list[list[int]], groups: dict[Hashable, list[int]], order: list[Hashable]) -> None:
        """Top up short batches with items of the rarest labels, cycling through labels and their items."""
        rarest_first = sorted(order, key=lambda label: len(groups[label]))  # stable: ties keep the random order
        uses = Counter()
        cursor = 0
        for batch in batches:
            present = {self.labels[i] for i in batch}
            while len(batch) < self.batch_size:
                label = rarest_first[cursor % len(rarest_first)]
                cursor += 1
                if label in present:
                    continue
                items = groups[label]
                batch.append(items[uses[label] % len(items)])
                uses[label] += 1
                present.add(label)
