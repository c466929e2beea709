"""The label-unique batch sampler: no label twice in a batch, every item each epoch, deterministic."""

from collections import Counter

import pytest
import torch

from signclip.data.sampler import LabelUniqueBatchSampler
from signclip.errors import ConfigError

# A skewed label distribution: "a" has 10 items, "b" 5, then 12 labels with 1 or 2 items.
LABELS = ["a"] * 10 + ["b"] * 5 + [f"rare{i}" for i in range(12) for _ in range(1 + i % 2)]


def _batches(sampler: LabelUniqueBatchSampler, epoch: int = 0) -> list[list[int]]:
    sampler.set_epoch(epoch)
    return list(sampler)


@pytest.mark.parametrize("batch_size", [1, 4, 8, 14, 50])
@pytest.mark.parametrize("fill", [True, False])
def test_no_batch_repeats_a_label_and_every_item_appears_each_epoch(batch_size, fill):
    sampler = LabelUniqueBatchSampler(LABELS, batch_size=batch_size, seed=1, fill=fill)
    for epoch in range(3):
        batches = _batches(sampler, epoch)
        assert len(batches) == len(sampler)
        for batch in batches:
            labels = [LABELS[i] for i in batch]
            assert len(labels) == len(set(labels)), f"label repeated in {labels}"
            assert 1 <= len(batch) <= batch_size
        assert set().union(*batches) == set(range(len(LABELS)))


def test_filled_batches_are_full_and_the_extra_items_come_from_rare_labels():
    sampler = LabelUniqueBatchSampler(LABELS, batch_size=8, seed=0)
    batches = _batches(sampler)
    assert all(len(batch) == 8 for batch in batches)
    seen = Counter(i for batch in batches for i in batch)
    repeated_labels = Counter(LABELS[i] for i, times in seen.items() for _ in range(times - 1))
    assert repeated_labels and "a" not in repeated_labels  # the most frequent label is never oversampled
    assert sum(repeated_labels.values()) == 8 * len(batches) - len(LABELS)


def test_batch_size_is_capped_by_the_number_of_labels():
    sampler = LabelUniqueBatchSampler(["x", "y", "x", "y", "z"], batch_size=10)
    assert all(len(batch) == 3 for batch in _batches(sampler))


def test_the_same_seed_and_epoch_give_the_same_batches_and_others_differ():
    first = _batches(LabelUniqueBatchSampler(LABELS, batch_size=6, seed=7), epoch=2)
    assert first == _batches(LabelUniqueBatchSampler(LABELS, batch_size=6, seed=7), epoch=2)
    assert first != _batches(LabelUniqueBatchSampler(LABELS, batch_size=6, seed=8), epoch=2)
    assert first != _batches(LabelUniqueBatchSampler(LABELS, batch_size=6, seed=7), epoch=3)


def test_replicas_split_the_batches_of_an_epoch():
    whole = LabelUniqueBatchSampler(LABELS, batch_size=6, seed=3).batches(0)
    shards = [_batches(LabelUniqueBatchSampler(LABELS, 6, seed=3, num_replicas=3, rank=r)) for r in range(3)]
    assert len({len(shard) for shard in shards}) == 1
    given = [tuple(batch) for shard in shards for batch in shard]
    assert set(given) == {tuple(batch) for batch in whole}  # every batch goes to some rank
    assert len(given) - len(whole) < 3  # padding only to split evenly


def test_a_dataloader_accepts_it():
    dataset = list(range(len(LABELS)))
    loader = torch.utils.data.DataLoader(dataset, batch_sampler=LabelUniqueBatchSampler(LABELS, batch_size=5))
    assert sum(len(batch) for batch in loader) >= len(LABELS)
    expected = LabelUniqueBatchSampler(LABELS, batch_size=5).batches(0)
    assert [batch.tolist() for batch in loader] == expected


def test_the_batches_follow_the_label_counts():
    # 29 items, "a" has 10: at least 10 batches (one "a" each), and 10 batches of 5 hold them all
    sampler = LabelUniqueBatchSampler(LABELS, batch_size=5, seed=0)
    batches = _batches(sampler)
    assert len(sampler) == len(batches) == 10
    assert sorted(LABELS[i] for batch in batches for i in batch if LABELS[i] == "a") == ["a"] * 10
    seen = Counter(i for batch in batches for i in batch)
    assert sum(seen.values()) == 50 and min(seen.values()) == 1
    assert all(seen[i] == 1 for i, label in enumerate(LABELS) if label == "a")  # in every batch already: once
    per_label = Counter(LABELS[i] for batch in batches for i in batch)
    assert all(per_label[f"rare{k}"] >= 2 for k in range(12))  # the rare labels are oversampled


@pytest.mark.parametrize(
    ("arguments", "message"),
    [({"labels": [], "batch_size": 2}, "at least one item"), ({"labels": ["a"], "batch_size": 0}, "batch_size")],
)
def test_bad_arguments_are_config_errors(arguments, message):
    with pytest.raises(ConfigError, match=message):
        LabelUniqueBatchSampler(**arguments)
