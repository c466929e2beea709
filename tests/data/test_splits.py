"""Deterministic splits: same seed same split, whole groups per split, fractions respected."""

from __future__ import annotations

import pandas as pd
import pytest

from signclip.data.splits import SplitError, assign_splits, normalize_split_name
from signclip.errors import ConfigError


def _table(rows: int = 200, signers: int = 10, languages: int = 8) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [f"item-{i:04d}" for i in range(rows)],
            "signer": [f"signer-{i % signers}" for i in range(rows)],
            "signed_language": [f"l{i % languages}" for i in range(rows)],
            "split": "",
        }
    )


@pytest.mark.parametrize("by", ["random", "signer", "language"])
def test_same_seed_same_split_whatever_the_row_order(by):
    table = _table()
    first = assign_splits(table, by, seed=3).set_index("id")["split"]
    shuffled = assign_splits(table.sample(frac=1, random_state=1), by, seed=3).set_index("id")["split"]
    assert first.sort_index().tolist() == shuffled.sort_index().tolist()
    other = assign_splits(table, by, seed=4).set_index("id")["split"]
    assert not first.equals(other)


@pytest.mark.parametrize(("by", "column"), [("signer", "signer"), ("language", "signed_language")])
def test_group_splits_keep_each_group_in_one_split(by, column):
    for seed in range(5):
        result = assign_splits(_table(), by, seed=seed)
        assert (result.groupby(column)["split"].nunique() == 1).all()
        assert set(result["split"]) == {"train", "val", "test"}


def test_random_split_follows_the_fractions():
    counts = assign_splits(_table(1000), "random", seed=0, val_fraction=0.2, test_fraction=0.1)["split"].value_counts()
    assert counts["val"] == 200
    assert counts["test"] == 100
    assert counts["train"] == 700


def test_zero_fraction_gives_no_such_split():
    result = assign_splits(_table(), "signer", seed=0, val_fraction=0.0, test_fraction=0.3)
    assert set(result["split"]) == {"train", "test"}


def test_few_groups_still_fill_every_split():
    table = _table(rows=30, signers=3)
    for seed in range(10):
        result = assign_splits(table, "signer", seed=seed, val_fraction=0.05, test_fraction=0.05)
        assert sorted(result.groupby("split")["signer"].nunique().tolist()) == [1, 1, 1]


def test_large_fractions_still_leave_training_groups():
    result = assign_splits(_table(rows=20, signers=3), "signer", seed=0, val_fraction=0.45, test_fraction=0.45)
    assert set(result["split"]) == {"train", "val", "test"}


def test_too_few_signers_is_an_error():
    with pytest.raises(SplitError, match="at least 3 distinct signer values, found 1"):
        assign_splits(_table(signers=1), "signer")


def test_rows_without_signer_cannot_be_split_by_signer():
    table = _table()
    table.loc[3, "signer"] = ""
    with pytest.raises(SplitError, match="1 rows have none"):
        assign_splits(table, "signer")


def test_official_split_names_are_normalized():
    table = _table(rows=4)
    table["split"] = ["train", "validation", "dev", "Test"]
    assert assign_splits(table, "official")["split"].tolist() == ["train", "val", "val", "test"]


def test_official_split_missing_or_partial_is_an_error():
    table = _table(rows=4)
    with pytest.raises(SplitError, match="no official split"):
        assign_splits(table, "official")
    table.loc[0, "split"] = "train"
    with pytest.raises(SplitError, match="3 rows are in no official split"):
        assign_splits(table, "official")
    with pytest.raises(SplitError, match="unknown split name"):
        normalize_split_name("holdout")


@pytest.mark.parametrize(("val", "test"), [(0.5, 0.5), (-0.1, 0.1), (0.1, 1.0)])
def test_bad_fractions_are_config_errors(val, test):
    with pytest.raises(ConfigError, match="fraction"):
        assign_splits(_table(), "random", val_fraction=val, test_fraction=test)


def test_unknown_method_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown split method"):
        assign_splits(_table(), "alphabetical")
